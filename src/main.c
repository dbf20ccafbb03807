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
 *   table.c       the per-IOMMU-group table (member.c: its devices)
 *   veto.c        the ftrace hook on really_probe() that refuses binds
 *   claim_*.c     the hooks following userspace's DMA-ownership claims:
 *                 claim_dma_owner.c (5.19+) or claim_vfio.c (before)
 *   refusal.c     refusal records and the "not viable" reports they queue
 *   scan.c        asking the kernel who owns a group: at load, and the
 *                 rescans the claim hooks queue
 *   notifier.c    the PCI bus notifier
 *   debugfs.c     /sys/kernel/debug/bindguard/
 *   reserve.c     /sys/kernel/bindguard/{reserve,release}
 * (params.c holds mode=, allow=, strict=, maxactive=, reserve.c reserve=.)
 */
#include <linux/module.h>

#include "bindguard.h"

/*
 * The init ladder, in order; exit walks it backwards, and so does a failed
 * init from the step that failed (the one place a test could make step N
 * fail). A step without init only has something to undo: the table (the
 * entries the scans made, frees still pending); the rescans and reports the
 * claim hooks queue (so they are cancelled after those hooks are gone, and
 * before the notifier goes: a rescan needs it to follow device removal). The
 * scan at load comes after the claim hooks, so that a claim during the scan
 * is seen by one or the other; it has nothing to undo.
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
	{ "reports",	NULL,			bg_refusal_exit },
	{ "veto",	bg_veto_init,		bg_veto_exit },
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

static int __init bg_init(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bg_steps); i++) {
		ret = bg_steps[i].init ? bg_steps[i].init() : 0;
		if (ret) {
			pr_err("cannot load: %s: %d\n", bg_steps[i].name, ret);
			bg_unwind(i);
			return ret;
		}
	}
	/* The last step, which cannot fail: the hooks decide from now on. */
	bg_veto_live();
	bg_claim_live(true);
	pr_info("loaded, mode %s\n", bg_param_mode_name());
	return 0;
}

/*
 * Claims fail closed from the first step of exit. The veto keeps deciding
 * until its own step disarms it: what it reads (the table, the reports)
 * goes after it, and a probe it would count fails with -EBUSY once the
 * module is going (bg_veto_busy_probe()).
 */
static void __exit bg_exit(void)
{
	bg_claim_live(false);
	bg_unwind(ARRAY_SIZE(bg_steps));
	pr_info("unloaded\n");
}

module_init(bg_init);
module_exit(bg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Refuse kernel-driver binds into IOMMU groups owned by userspace (VFIO)");
MODULE_AUTHOR("The bindguard developers");
MODULE_VERSION(BINDGUARD_VERSION);	/* from dkms.conf or debian/changelog: Kbuild */
