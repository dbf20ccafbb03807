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
 * really_probe() runs untouched. Every bus is covered in the groups
 * bindguard tracks (those with a PCI member): 5.10's vfio hits its BUG_ON
 * for a driver bound to any device of a held group, PCI or not.
 *
 * Since 5.19 really_probe() -> pci_dma_configure() ->
 * iommu_device_use_default_domain() refuses such a bind by itself, silently;
 * bindguard's check comes first, says so, and counts it. There the original
 * is never called through a pointer (IBT).
 *
 * Before 5.19 nothing stands behind bindguard, so every mode refuses (audit
 * and off only change what 5.19+ does), and an admitted kernel-driver probe
 * is counted until it returns (bg_counted_probe()), so that a claim racing
 * it waits for it: see the ordering in table.c.
 */
#include <linux/device.h>
#include <linux/ftrace.h>
#include <linux/iommu.h>
#include <linux/kallsyms.h>
#include <linux/module.h>

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

/*
 * Before 5.19, while bindguard is being unloaded and its hook is still
 * armed: a kernel-driver probe it can no longer count fails closed.
 */
static noinline int bg_busy_probe(struct device *dev,
				  const struct device_driver *drv)
{
	return -EBUSY;
}

/* really_probe()'s address, from the callback's @ip (before 5.19 only). */
static unsigned long bg_really_probe_ip;

/*
 * Before 5.19: runs instead of really_probe() for an admitted kernel-driver
 * probe and calls the original, so that every return of it, success or
 * error, counts the probe down (the ordering is in table.c). The callback
 * lets this call through (its parent is in this module). Holds a module
 * reference taken by the callback while the driver probes, which may take
 * seconds: rmmod meanwhile fails with EBUSY instead of freeing this code.
 * The few instructions after module_put() are covered by the RCU grace
 * period free_module() waits for, on kernels without full preemption
 * (Debian's 5.10: PREEMPT_VOLUNTARY).
 * No IBT before 5.18, so the indirect call is fine there; this path is
 * never taken on kernels with DMA ownership (5.19+).
 */
static noinline int bg_counted_probe(struct device *dev,
				     const struct device_driver *drv)
{
	int (*orig)(struct device *dev, const struct device_driver *drv);
	int id = READ_ONCE(dev->iommu_group) ?
		 iommu_group_id(dev->iommu_group) : -1;
	int ret;

	orig = (void *)READ_ONCE(bg_really_probe_ip);
	ret = orig(dev, drv);
	bg_table_probe_done(id);
	module_put(THIS_MODULE);
	return ret;
}

static void notrace bg_really_probe_hook(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *ops,
					 struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	enum bg_mode real = bg_mode();
	/* Before 5.19 nothing else stops the bind: every mode refuses. */
	enum bg_mode mode = BG_NATIVE_DMA_OWNER ? real : BG_MODE_ENFORCE;
	const struct device_driver *drv;
	struct device *dev;
	bool audit;
	int id;

	if (mode == BG_MODE_OFF || !regs)
		return;
	/* bg_counted_probe() calling the original */
	if (!BG_NATIVE_DMA_OWNER && within_module(parent_ip, THIS_MODULE))
		return;
	dev = (struct device *)regs_get_kernel_argument(regs, 0);
	drv = (const struct device_driver *)regs_get_kernel_argument(regs, 1);
	if (!READ_ONCE(dev->iommu_group) || bg_driver_allowed(drv))
		return;

	switch (bg_table_admit_probe(dev, drv, real, !BG_NATIVE_DMA_OWNER, &id, &audit)) {
	case BG_ADMIT:
		if (audit)	/* a reserved group, mode=audit */
			bg_record_refusal(dev, drv, true);
		break;
	case BG_ADMIT_COUNTED:
		if (!try_module_get(THIS_MODULE)) {	/* being unloaded */
			bg_table_probe_done(id);
			instruction_pointer_set(regs, (unsigned long)bg_busy_probe);
			break;
		}
		if (audit)
			bg_record_refusal(dev, drv, true);
		WRITE_ONCE(bg_really_probe_ip, ip);
		instruction_pointer_set(regs, (unsigned long)bg_counted_probe);
		break;
	case BG_REFUSE_RESERVED:
		instruction_pointer_set(regs, (unsigned long)bg_refuse_probe);
		break;
	case BG_REFUSE:
		if (mode == BG_MODE_AUDIT)
			bg_record_refusal(dev, drv, true);
		else
			instruction_pointer_set(regs, (unsigned long)bg_refuse_probe);
		break;
	}
}

static struct ftrace_ops bg_ftrace_ops = {
	.func = bg_really_probe_hook,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_RECURSION | FTRACE_OPS_FL_PERMANENT,
};

/**
 * bg_ftrace_arm() - hook function @sym with @ops (SAVE_REGS, IPMODIFY)
 * @ops: the ftrace_ops, unregistered, with an empty filter
 * @sym: the function's name
 *
 * Only one IPMODIFY user may hook a function (livepatch, another such
 * module): if @sym is taken, this fails.
 *
 * Context: process; sleeps.
 * Return: 0; -ENOENT if @sym is not traceable on this kernel; -EBUSY if
 * another ftrace user already modifies its IP; another errno from ftrace.
 * On error nothing is left registered or allocated.
 */
int bg_ftrace_arm(struct ftrace_ops *ops, const char *sym)
{
	char buf[KSYM_NAME_LEN];	/* ftrace_set_filter() takes no const */
	int ret;

	strscpy(buf, sym, sizeof(buf));
	ret = ftrace_set_filter(ops, buf, strlen(buf), 0);
	if (ret) {
		pr_err("%s() is not traceable on this kernel (%d)\n", sym, ret);
		ftrace_free_filter(ops);
		return ret == -EINVAL ? -ENOENT : ret;
	}
	ret = register_ftrace_function(ops);
	if (ret == -EBUSY)
		pr_err("cannot hook %s(): another ftrace user (a livepatch?) modifies its IP, or ftrace is disabled (kernel.ftrace_enabled=0)\n",
		       sym);
	else if (ret)
		pr_err("cannot hook %s(): %d\n", sym, ret);
	if (ret)
		ftrace_free_filter(ops);
	return ret;
}

/**
 * bg_ftrace_disarm() - undo bg_ftrace_arm()
 * @ops: the ftrace_ops
 *
 * unregister_ftrace_function() waits for running callbacks, and for tasks
 * redirected into this module's stubs that have not slept since (tasks RCU
 * on preemptible kernels; elsewhere the stubs cannot be preempted). The
 * filter hash is freed afterwards (kmemleak reports it otherwise).
 *
 * Context: process; sleeps.
 */
void bg_ftrace_disarm(struct ftrace_ops *ops)
{
	unregister_ftrace_function(ops);
	ftrace_free_filter(ops);
}

/**
 * bg_hook_init() - arm the veto on really_probe()
 *
 * Context: process (module init); sleeps.
 * Return: 0 or the error of bg_ftrace_arm().
 */
int bg_hook_init(void)
{
	return bg_ftrace_arm(&bg_ftrace_ops, "really_probe");
}

/**
 * bg_hook_exit() - disarm the veto
 *
 * Context: process; sleeps.
 */
void bg_hook_exit(void)
{
	bg_ftrace_disarm(&bg_ftrace_ops);
}
