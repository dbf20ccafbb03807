// SPDX-License-Identifier: GPL-2.0
/*
 * bindguard - refuse kernel-driver binds into user-owned IOMMU groups.
 *
 * The parts, in the order they are armed:
 *   table.c     the per-IOMMU-group ownership table
 *   claim.c     hooks following userspace's DMA-ownership claims (and,
 *               before 5.19, refusing a claim while a probe runs)
 *   notifier.c  PCI bus notifier, the load-time scan and rescans
 *   debugfs.c   /sys/kernel/debug/bindguard/
 *   hook.c      the ftrace hook on really_probe() that refuses binds
 *   reserve.c   /sys/kernel/bindguard/{reserve,release}: reservations
 * (params.c holds mode=, allow=, strict=, maxactive=, reserve.c reserve=;
 * events.c the event ring, the log lines and the escaping of names.)
 * Exit undoes them in reverse; the table goes last.
 */
#include <linux/module.h>

#include "bindguard.h"

static int __init bg_init(void)
{
	int ret;

	ret = bg_claim_init();
	if (ret)
		return ret;
	ret = bg_notifier_init();
	if (ret)
		goto err_claim;
	bg_debugfs_init();
	ret = bg_hook_init();
	if (ret)
		goto err_hook;
	ret = bg_reserve_init();
	if (ret)
		goto err_reserve;
	pr_info("loaded, mode %s\n", bg_mode_name());
	return 0;

err_reserve:
	bg_hook_exit();
err_hook:
	bg_debugfs_exit();
	bg_claim_exit();	/* before the notifier: its handlers queue rescans */
	bg_notifier_exit();
	bg_table_exit();
	return ret;
err_claim:
	bg_claim_exit();
	bg_notifier_exit();	/* a rescan queued by the claim hooks */
	bg_table_exit();
	return ret;
}

static void __exit bg_exit(void)
{
	bg_reserve_exit();
	bg_hook_exit();
	bg_claim_exit();
	bg_notifier_exit();
	bg_debugfs_exit();
	bg_table_exit();
	pr_info("unloaded\n");
}

module_init(bg_init);
module_exit(bg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Refuse kernel-driver binds into IOMMU groups owned by userspace (VFIO)");
MODULE_AUTHOR("The bindguard developers");
MODULE_VERSION(BINDGUARD_VERSION);	/* from dkms.conf or debian/changelog: Kbuild */
