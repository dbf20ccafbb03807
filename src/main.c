// SPDX-License-Identifier: GPL-2.0
/*
 * bindguard - refuse kernel-driver binds into user-owned IOMMU groups.
 *
 * One init ladder (bg_steps[]); exit is its exact reverse. The hooks are
 * armed early but not live: they let every call through (or, for a claim
 * before 5.19, fail it closed) and redirect no task into this module's
 * text, so a step that fails later unwinds them safely. The last step
 * cannot fail and makes them live; exit first fails claims closed again.
 * The parts (see docs/design.md):
 *
 *   table.c       the per-IOMMU-group table (member.c: its devices;
 *                 listed.c: the reserved and protected names)
 *   veto.c        the ftrace hook on really_probe() that refuses binds
 *   unbind.c      the ftrace hook on unbind_store() that refuses a sysfs
 *                 unbind of a protected device
 *   claim_*.c     the hooks following userspace's DMA-ownership claims:
 *                 claim_dma_owner.c (5.19+) or claim_vfio.c (before)
 *   refusal.c     refusal records and their log lines
 *   notviable.c   why a group is not viable, told from a work item
 *   scan.c        asking the kernel who owns a group: at load, and the
 *                 rescans the claim hooks queue
 *   notifier.c    the PCI bus notifier
 *   debugfs.c     /sys/kernel/debug/bindguard/
 *   reserve.c     /sys/kernel/bindguard/{reserve,release,protect,unprotect}
 * (params.c holds mode=, allow=, strict=, maxactive=, reserve.c reserve=
 * and protect=.)
 */
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "bindguard.h"

/*
 * The init ladder, in order; exit walks it backwards, and so does a failed
 * init from the step that failed (a test build fails any step after its
 * work: fail_step=). A step without init only has something to undo: the
 * table (the entries the scans made, frees still pending); the rescans and
 * reports the claim hooks queue (so they are cancelled after those hooks are
 * gone, and before the notifier goes: a rescan needs it to follow device
 * removal). The scan at load comes after the claim hooks, so that a claim
 * during the scan is seen by one or the other; it has nothing to undo.
 */
static const struct bg_step {
	const char *name;
	int (*init)(void);
	void (*exit)(void);
} bg_steps[] = {
	{ "params",	bg_param_init,		NULL },
	{ "table",	NULL,			bg_table_exit },
	{ "notifier",	bg_notifier_init,	bg_notifier_exit },
	{ "rescans",	NULL,			bg_scan_exit },
	{ "reports",	NULL,			bg_notviable_exit },
	{ "veto",	bg_veto_init,		bg_veto_exit },
	{ "unbind",	bg_unbind_init,		bg_unbind_exit },
	{ "claim",	bg_claim_init,		bg_claim_exit },
	{ "scan",	bg_scan_init,		NULL },
	{ "debugfs",	bg_debugfs_init,	bg_debugfs_exit },
	{ "reserve",	bg_reserve_init,	bg_reserve_exit },
};

static void bg_unwind(unsigned int n)
{
	while (n--)
		if (bg_steps[n].exit)
			bg_steps[n].exit();
}

#ifdef BG_FAULT_INJECT
/*
 * The test build (Kbuild: BG_FAULT_INJECT=1) fails the load at a step of
 * choice, after that step's work: the unwind of every step done so far,
 * that one included, is what a failed load runs.
 */
static char *bg_fail_step;
module_param_named(fail_step, bg_fail_step, charp, 0400);
MODULE_PARM_DESC(fail_step, "test build only: fail the load after this init step (name or number)");

static int bg_fail_errno = ENOMEM;
module_param_named(fail_errno, bg_fail_errno, int, 0400);
MODULE_PARM_DESC(fail_errno, "test build only: the errno fail_step= fails with (default ENOMEM)");

/* The index of the step fail_step= names, -1 for none, -EINVAL if bad. */
static int bg_fault_index(void)
{
	unsigned int i;

	if (!bg_fail_step || !*bg_fail_step)
		return -1;
	for (i = 0; i < ARRAY_SIZE(bg_steps); i++)
		if (sysfs_streq(bg_fail_step, bg_steps[i].name))
			return i;
	if (!kstrtouint(bg_fail_step, 10, &i) && i < ARRAY_SIZE(bg_steps))
		return i;
	return -EINVAL;
}

static int bg_fault_check(void)
{
	if (bg_fault_index() == -EINVAL || bg_fail_errno <= 0 ||
	    bg_fail_errno >= MAX_ERRNO) {
		pr_err("fail_step=%s fail_errno=%d: no such step, or not an errno\n",
		       bg_fail_step, bg_fail_errno);
		return -EINVAL;
	}
	return 0;
}

/* The error step @i fails with after its work, or 0. */
static int bg_fault_step(unsigned int i)
{
	return bg_fault_index() == (int)i ? -bg_fail_errno : 0;
}
#else
static int bg_fault_check(void)
{
	return 0;
}

static int bg_fault_step(unsigned int i)
{
	return 0;
}
#endif

static int __init bg_init(void)
{
	unsigned int i, done;
	int ret;

	ret = bg_fault_check();
	if (ret)
		return ret;
	for (i = 0; i < ARRAY_SIZE(bg_steps); i++) {
		done = i;
		ret = bg_steps[i].init ? bg_steps[i].init() : 0;
		if (!ret) {
			/* a test build's failure comes after the step's work */
			done = i + 1;
			ret = bg_fault_step(i);
		}
		if (ret) {
			pr_err("cannot load: %s: %d\n", bg_steps[i].name, ret);
			bg_unwind(done);
			return ret;
		}
	}
	/* The last step, which cannot fail: the hooks decide from now on. */
	bg_veto_live();
	bg_unbind_live();
	bg_claim_live(true);
	pr_info("loaded, mode %s\n", bg_param_mode_name());
	return 0;
}

/*
 * A forced unload (rmmod -f: Debian's kernels have MODULE_FORCE_UNLOAD) runs
 * exit while references to this module are held. Those of calls in flight
 * in a wrapper that called the original (before 5.19: a counted probe, a
 * VFIO claim) and of open debugfs files would return tasks into freed text:
 * wait for them. The module is going, so no new one is taken, and
 * meanwhile claims and counted probes fail with -EBUSY while the veto still
 * refuses. The pins of owned groups (before 5.19) are not waited for: the
 * administrator forced the unload, and after it the kernel is as stock. A
 * plain rmmod never waits here (it fails with EBUSY instead). TASK_IDLE: a
 * long wait is no hung task.
 */
static void bg_exit_wait_refs(void)
{
	unsigned long next = jiffies;
	int refs, pins;

	for (;;) {
		pins = bg_table_pins(&refs);
		if (refs <= 0)
			break;
		if (time_after_eq(jiffies, next)) {
			pr_warn("forced unload: waiting for %d references (calls in flight, open debugfs files); claims and kernel-driver probes in tracked groups fail with -EBUSY meanwhile\n",
				refs);
			next = jiffies + 60 * HZ;
		}
		schedule_timeout_idle(HZ / 10);
	}
	if (pins)
		pr_warn("forced unload while %d groups are owned by userspace: nothing refuses a bind into them from now on\n",
			pins);
}

/*
 * Claims fail closed from the first step of exit. The veto keeps deciding
 * until its own step disarms it: what it reads (the table, the reports)
 * goes after it, and a probe it would count fails like a refused one once
 * the module is going (bg_veto_busy_probe()).
 */
static void __exit bg_exit(void)
{
	bg_claim_live(false);
	bg_exit_wait_refs();
	bg_unwind(ARRAY_SIZE(bg_steps));
	pr_info("unloaded\n");
}

module_init(bg_init);
module_exit(bg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Refuse kernel-driver binds into IOMMU groups owned by userspace (VFIO)");
MODULE_AUTHOR("The bindguard developers");
MODULE_VERSION(BINDGUARD_VERSION);	/* from dkms.conf or debian/changelog: Kbuild */
