// SPDX-License-Identifier: GPL-2.0
/*
 * hook.c - where a bind is refused.
 *
 * An ftrace hook on really_probe() (drivers/base/dd.c), the one function
 * every bind path goes through: sysfs bind, drivers_probe, autoprobe when a
 * driver registers, driver_override, new_id. The ftrace callback only
 * decides. To refuse, it points the saved instruction pointer at
 * bg_refuse_probe(), a function with really_probe()'s signature that records
 * the refusal and returns -EBUSY, so the driver's probe never runs; otherwise
 * really_probe() runs untouched. The original is never called through a
 * pointer (IBT).
 *
 * Since 5.19 really_probe() -> pci_dma_configure() ->
 * iommu_device_use_default_domain() refuses such a bind by itself, silently;
 * bindguard's check comes first, says so, and counts it.
 */
#include <linux/device.h>
#include <linux/ftrace.h>
#include <linux/kallsyms.h>
#include <linux/pci.h>

#include "bindguard.h"

/*
 * Runs instead of really_probe(): process context, device lock held. The
 * driver core takes -EBUSY like any probe error (sysfs bind returns it).
 * Must not sleep: module exit waits for tasks in here via tasks RCU, which
 * a voluntary sleep would satisfy early.
 */
static noinline int bg_refuse_probe(struct device *dev,
				    const struct device_driver *drv)
{
	bg_record_refusal(dev, drv, false);
	return -EBUSY;
}

/* Is binding @drv to @dev a kernel driver entering a user-owned group? */
static bool notrace bg_bind_hazard(struct device *dev,
				   const struct device_driver *drv)
{
	struct iommu_group *group = READ_ONCE(dev->iommu_group);
	struct bg_group *g;
	bool owned;

	if (!group || !dev_is_pci(dev) || bg_driver_allowed(drv))
		return false;
	rcu_read_lock();
	g = bg_table_lookup(group);
	owned = g && bg_user_owned(&g->st);
	rcu_read_unlock();
	return owned;
}

static void notrace bg_really_probe_hook(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *ops,
					 struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct device *dev;
	const struct device_driver *drv;
	enum bg_mode mode = bg_mode();

	if (mode == BG_MODE_OFF || !regs)
		return;
	dev = (struct device *)regs_get_kernel_argument(regs, 0);
	drv = (const struct device_driver *)regs_get_kernel_argument(regs, 1);
	if (!bg_bind_hazard(dev, drv))
		return;
	if (mode == BG_MODE_AUDIT)
		bg_record_refusal(dev, drv, true);
	else
		instruction_pointer_set(regs, (unsigned long)bg_refuse_probe);
}

static struct ftrace_ops bg_ftrace_ops = {
	.func = bg_really_probe_hook,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_RECURSION | FTRACE_OPS_FL_PERMANENT,
};

/**
 * bg_hook_init() - arm the veto on really_probe()
 *
 * Only one IPMODIFY user may hook a function (livepatch, another such
 * module): if really_probe() is taken, loading fails.
 *
 * Context: process (module init); sleeps.
 * Return: 0; -ENOENT if really_probe() is not traceable on this kernel;
 * -EBUSY if another ftrace user already modifies its IP; another errno
 * from ftrace.
 */
int bg_hook_init(void)
{
	char sym[] = "really_probe";	/* ftrace_set_filter() takes no const */
	int ret;

	ret = ftrace_set_filter(&bg_ftrace_ops, sym, strlen(sym), 0);
	if (ret) {
		pr_err("really_probe() is not traceable on this kernel (%d)\n", ret);
		ftrace_free_filter(&bg_ftrace_ops);
		return ret == -EINVAL ? -ENOENT : ret;
	}
	ret = register_ftrace_function(&bg_ftrace_ops);
	if (ret == -EBUSY)
		pr_err("cannot hook really_probe(): another ftrace user (a livepatch?) modifies its IP\n");
	else if (ret)
		pr_err("cannot hook really_probe(): %d\n", ret);
	if (ret)
		ftrace_free_filter(&bg_ftrace_ops);
	return ret;
}

/**
 * bg_hook_exit() - disarm the veto
 *
 * unregister_ftrace_function() waits for running callbacks and, through
 * tasks RCU, for tasks redirected into bg_refuse_probe(). The filter hash is
 * freed afterwards (kmemleak reports it otherwise).
 *
 * Context: process; sleeps.
 */
void bg_hook_exit(void)
{
	unregister_ftrace_function(&bg_ftrace_ops);
	ftrace_free_filter(&bg_ftrace_ops);
}
