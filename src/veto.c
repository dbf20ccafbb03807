// SPDX-License-Identifier: GPL-2.0
/*
 * veto.c - where a bind is refused.
 *
 * An ftrace hook on really_probe() (drivers/base/dd.c), the one function
 * every bind path goes through: sysfs bind, drivers_probe, autoprobe when a
 * driver registers, driver_override, new_id. The ftrace callback only
 * decides. To refuse, it points the saved instruction pointer at
 * bg_veto_refuse_probe(), a function with really_probe()'s signature that
 * records the refusal and returns what really_probe() returns for a probe
 * that failed with -EBUSY (BG_PROBE_FAILED, compat.h), so the driver's probe
 * never runs; otherwise really_probe() runs untouched. A refusal is a failed
 * probe: the bus goes on to its next driver (a reserved group's device still
 * reaches vfio-pci after its host driver was refused), and sysfs bind says
 * -EBUSY (-ENODEV before 5.14, as for any failed probe there). In a group
 * with a protected member (listed.c) the other way round: a driver that
 * leaves DMA to userspace (vfio drivers, pci-stub, driver_managed_dma:
 * bg_viable_user_dma()) is refused in mode enforce, recorded in audit, and
 * host drivers are admitted as anywhere. Every bus is covered in the groups
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
 * is counted until it returns (bg_veto_counted_probe()), so that a claim
 * racing it waits for it: see the ordering in owner.c. And while vfio is
 * loaded but claim_vfio.c's hooks in it are not armed (bg_vfio_followed()),
 * a vfio driver's bind is refused: a group without a vfio device cannot be
 * claimed, so no claim goes unseen.
 *
 * The hook is armed at load with its "live" static key off: the callback
 * then lets every call through, so that a load that fails after arming
 * leaves no task redirected into this module's text. The last step of the
 * load, which cannot fail, makes it live (bg_veto_live()). It stays live
 * until unloading disarms it: a probe it would count then fails with
 * -EBUSY (bg_veto_busy_probe()).
 *
 * No lock of its own: the decision is owner.c's, under the group's lock.
 */
#include <linux/device.h>
#include <linux/ftrace.h>
#include <linux/jump_label.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/ratelimit.h>
#include <linux/string.h>

#include "bindguard.h"

/*
 * Runs instead of really_probe(): process context, device lock held. The
 * driver core takes the refusal like any failed probe: autoprobe tries the
 * next driver, sysfs bind returns -EBUSY (-ENODEV before 5.14). Must not
 * sleep: module exit waits for tasks in here via tasks RCU, which a
 * voluntary sleep would satisfy early.
 */
static noinline int bg_veto_refuse_probe(struct device *dev,
					 const struct device_driver *drv)
{
	device_lock_assert(dev);
	bg_refusal_bind(dev, drv, false, false);
	return BG_PROBE_FAILED(EBUSY);
}

/*
 * Runs instead of really_probe() for a driver that leaves DMA to userspace
 * in a group with a protected member: as bg_veto_refuse_probe(), the log
 * line naming the protected device and how to lift the protection.
 */
static noinline int bg_veto_refuse_protected(struct device *dev,
					     const struct device_driver *drv)
{
	device_lock_assert(dev);
	bg_refusal_bind(dev, drv, false, true);
	return BG_PROBE_FAILED(EBUSY);
}

/*
 * Before 5.19, while bindguard is being unloaded and its hook is still
 * armed: a kernel-driver probe it can no longer count fails closed.
 */
static noinline int bg_veto_busy_probe(struct device *dev,
				       const struct device_driver *drv)
{
	return BG_PROBE_FAILED(EBUSY);
}

/*
 * Before 5.19, while vfio is loaded but claim_vfio.c's hooks in it are not
 * armed: a vfio driver's bind fails closed, for a claim of its group would
 * go unseen. No record (the group may not be tracked yet): a log line.
 * Unlike a refusal, -EBUSY as a bus error: the bus tries no further driver
 * for the device (the next one could be another vfio driver), and sysfs
 * bind says -EBUSY.
 */
static noinline int bg_veto_unfollowed_probe(struct device *dev,
					     const struct device_driver *drv)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);
	char name[2][64];

	if (__ratelimit(&rs))
		pr_warn("refused %s bind to %s (-EBUSY): vfio's container hooks are not armed, a claim of its group would go unseen\n",
			bg_names_escape(name[0], sizeof(name[0]), drv->name),
			bg_names_escape(name[1], sizeof(name[1]), dev_name(dev)));
	return -EBUSY;
}

/* really_probe()'s address, from the callback's @ip (before 5.19 only). */
static unsigned long bg_veto_really_probe_ip;

/*
 * Before 5.19: runs instead of really_probe() for an admitted kernel-driver
 * probe and calls the original, so that every return of it, success or
 * error, counts the probe down (the ordering is in owner.c). The callback
 * lets this call through (its parent is in this module). Holds a module
 * reference taken by the callback while the driver probes, which may take
 * seconds: rmmod meanwhile fails with EBUSY instead of freeing this code.
 * The few instructions after module_put() are covered by the RCU grace
 * period free_module() waits for, on kernels without full preemption
 * (Debian's 5.10: PREEMPT_VOLUNTARY).
 * No IBT before 5.18, so the indirect call is fine there; this path is
 * never taken on kernels with DMA ownership (5.19+).
 */
static noinline int bg_veto_counted_probe(struct device *dev,
					  const struct device_driver *drv)
{
	int (*orig)(struct device *dev, const struct device_driver *drv);
	int id = READ_ONCE(dev->iommu_group) ?
		 iommu_group_id(dev->iommu_group) : -1;
	int ret;

	orig = (void *)READ_ONCE(bg_veto_really_probe_ip);
	ret = orig(dev, drv);
	bg_owner_probe_done(id);
	module_put(THIS_MODULE);
	return ret;
}

/* The hook decides (live), or lets every call through (armed only). */
static DEFINE_STATIC_KEY_FALSE(bg_veto_key);

static void notrace bg_veto_hook(unsigned long ip,
				 unsigned long parent_ip,
					 struct ftrace_ops *ops,
					 struct ftrace_regs *fregs)
{
	enum bg_mode real = bg_param_mode();
	/* Before 5.19 nothing else stops the bind: every mode refuses. */
	enum bg_mode mode = BG_NATIVE_DMA_OWNER ? real : BG_MODE_ENFORCE;
	const struct device_driver *drv;
	struct device *dev;
	bool audit;
	int id;

	if (!static_branch_likely(&bg_veto_key) || mode == BG_MODE_OFF ||
	    !bg_fregs_ok(fregs))
		return;
	/* bg_veto_counted_probe() calling the original */
	if (!BG_NATIVE_DMA_OWNER && within_module(parent_ip, THIS_MODULE))
		return;
	dev = (struct device *)bg_fregs_arg(fregs, 0);
	drv = (const struct device_driver *)bg_fregs_arg(fregs, 1);
	/* before 5.19: no vfio device, so no claim, that nothing follows */
	if (!bg_vfio_followed() && !strncmp(drv->name, "vfio", 4)) {
		bg_fregs_set_ip(fregs, (unsigned long)bg_veto_unfollowed_probe);
		return;
	}
	if (!READ_ONCE(dev->iommu_group))
		return;
	/* a protected member's group: no driver that hands DMA to userspace */
	if (bg_viable_user_dma(drv)) {
		if (bg_owner_refuse_user_dma(dev, real, &audit)) {
			bg_fregs_set_ip(fregs, (unsigned long)bg_veto_refuse_protected);
			return;
		}
		if (audit)
			bg_refusal_bind(dev, drv, true, true);
	}
	if (bg_param_allowed(drv))
		return;

	switch (bg_owner_admit_probe(dev, drv, real, !BG_NATIVE_DMA_OWNER, &id, &audit)) {
	case BG_ADMIT:
		if (audit)	/* a reserved group, mode=audit */
			bg_refusal_bind(dev, drv, true, false);
		break;
	case BG_ADMIT_COUNTED:
		if (!try_module_get(THIS_MODULE)) {	/* being unloaded */
			bg_owner_probe_done(id);
			bg_fregs_set_ip(fregs, (unsigned long)bg_veto_busy_probe);
			break;
		}
		if (audit)
			bg_refusal_bind(dev, drv, true, false);
		WRITE_ONCE(bg_veto_really_probe_ip, ip);
		bg_fregs_set_ip(fregs, (unsigned long)bg_veto_counted_probe);
		break;
	case BG_REFUSE_RESERVED:
		bg_fregs_set_ip(fregs, (unsigned long)bg_veto_refuse_probe);
		break;
	case BG_REFUSE:
		if (mode == BG_MODE_AUDIT)
			bg_refusal_bind(dev, drv, true, false);
		else
			bg_fregs_set_ip(fregs, (unsigned long)bg_veto_refuse_probe);
		break;
	}
}

static struct ftrace_ops bg_veto_ops = {
	.func = bg_veto_hook,
	.flags = BG_FTRACE_OPS_FL_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_RECURSION | FTRACE_OPS_FL_PERMANENT,
};

/**
 * bg_veto_init() - arm the veto on really_probe(), not live yet
 *
 * Context: process (module init); sleeps.
 * Return: 0 or the error of bg_ftrace_arm().
 */
int bg_veto_init(void)
{
	return bg_ftrace_arm(&bg_veto_ops, "really_probe");
}

/**
 * bg_veto_live() - make the armed veto decide
 *
 * The last step of the load. Nothing makes it pass-through again: it
 * decides until bg_veto_exit() disarms it.
 *
 * Context: process; sleeps (static key update). Cannot fail.
 */
void bg_veto_live(void)
{
	static_branch_enable(&bg_veto_key);
}

/**
 * bg_veto_exit() - disarm the veto
 *
 * Context: process; sleeps.
 */
void bg_veto_exit(void)
{
	bg_ftrace_disarm(&bg_veto_ops);
}
