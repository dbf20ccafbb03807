// SPDX-License-Identifier: GPL-2.0
/*
 * scan.c - ask the kernel who owns each group: the scan at load time, and
 * rescans when the claim hooks ask for them (after a kretprobe missed
 * calls, when vfio is loaded before 5.19, and since 5.19 after a release
 * of a group found owned earlier: that group alone). What the kernel says
 * goes to owner.c (bg_owner_found()), which keeps whatever a claim hook
 * saw meanwhile.
 *
 * Lock story: the rescans asked for from atomic context wait in a few
 * slots under bg_scan_lock, a leaf raw spinlock (the claim hooks run with
 * preemption off, also on PREEMPT_RT), for one work item that does them.
 * Since 5.19 bindguard's own questions to iommu_group_dma_owner_claimed()
 * are serialized by bg_scan_query_mutex, so that the status kretprobe can
 * tell them from vfio's.
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "bindguard.h"

#ifdef HAVE_IOMMU_DMA_OWNER
/* The task in bg_scan_dma_owner_claimed(): its question is bindguard's own. */
static struct task_struct *bg_scan_query_task;

/**
 * bg_scan_own_query() - is the current task asking the kernel for bindguard?
 *
 * The status kretprobe reports every "claimed" answer of
 * iommu_group_dma_owner_claimed() as a process told its group is not
 * viable, but bindguard's own questions (the scans). Not by the return
 * address on the stack: another return probe on the function, armed later,
 * runs first and replaces it.
 *
 * Context: any.
 * Return: true in bg_scan_dma_owner_claimed()'s question.
 */
bool bg_scan_own_query(void)
{
	return READ_ONCE(bg_scan_query_task) == current;
}

/* iommu_group_dma_owner_claimed(), marked as bindguard's own question. */
static bool bg_scan_dma_owner_claimed(struct iommu_group *group)
{
	static DEFINE_MUTEX(bg_scan_query_mutex);
	bool claimed;

	mutex_lock(&bg_scan_query_mutex);
	WRITE_ONCE(bg_scan_query_task, current);
	claimed = iommu_group_dma_owner_claimed(group);
	WRITE_ONCE(bg_scan_query_task, NULL);
	mutex_unlock(&bg_scan_query_mutex);
	return claimed;
}

/*
 * A member whose driver uses the kernel's DMA API (no driver_managed_dma)
 * holds the group's default domain: the kernel keeps that and a userspace
 * claim exclusive.
 */
static int bg_scan_kernel_dma_member(struct device *dev, void *unused)
{
	struct device_driver *drv = READ_ONCE(dev->driver);

	return drv && !(dev_is_pci(dev) && to_pci_driver(drv)->driver_managed_dma);
}

/*
 * iommu_group_dma_owner_claimed() is also true for groups whose devices
 * merely have host drivers (default-domain users). A group counts as user
 * only when it reads claimed, no member has a kernel-DMA driver, and both
 * answers are the same when asked again. The second round closes a window:
 * a kernel driver being unbound drops its claim (dma_cleanup) before
 * dev->driver is cleared, so the first answer can be that driver's claim
 * and the members then show no driver; and a driver bound meanwhile sets
 * dev->driver before it claims. Each answer is taken under the group's
 * mutex, which orders it around a bind's or unbind's claim change.
 */
static bool bg_scan_claimed_by_user(struct device *dev)
{
	struct iommu_group *group = iommu_group_get(dev);
	bool user;

	if (!group)
		return false;
	user = bg_scan_dma_owner_claimed(group) &&
	       !iommu_group_for_each_dev(group, NULL, bg_scan_kernel_dma_member) &&
	       bg_scan_dma_owner_claimed(group) &&
	       !iommu_group_for_each_dev(group, NULL, bg_scan_kernel_dma_member);
	iommu_group_put(group);
	return user;
}
#else
/**
 * bg_scan_own_query() - is the current task asking the kernel for bindguard?
 *
 * Before 5.19 bindguard asks nothing that a hook follows.
 *
 * Context: any.
 * Return: false.
 */
bool bg_scan_own_query(void)
{
	return false;
}

/*
 * 5.10 has no query for a group's container: vfio_group_get_external_user
 * _from_dev() fails for a container without an IOMMU driver yet, and
 * raises and drops container_users (which can unset the owner's container
 * under it). What can be asked without side effects: is a member a vfio
 * device, and is the group attached to an unmanaged domain (a container
 * with its IOMMU set: vfio type1 allocates one; kernel drivers on x86 use
 * the default DMA or identity domain)? Either presumes the group owned until
 * a claim or release of it is seen. Left out: a container set without an
 * IOMMU yet and without a vfio device in the group.
 */
static int bg_scan_unmanaged_domain(struct device *dev, void *unused)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	return domain && domain->type == IOMMU_DOMAIN_UNMANAGED;
}

/*
 * The domain is read in iommu_group_for_each_dev()'s callback, under the
 * group's mutex that a module cannot take otherwise: vfio detaches and
 * frees the domain under it, so it is not freed while its type is read.
 */
static bool bg_scan_claimed_by_user(struct device *dev)
{
	struct iommu_group *group;
	bool user;

	if (bg_vfio_bound(dev))
		return true;
	group = iommu_group_get(dev);
	if (!group)
		return false;
	user = iommu_group_for_each_dev(group, NULL, bg_scan_unmanaged_domain);
	iommu_group_put(group);
	return user;
}
#endif

static int bg_scan_device(struct device *dev, void *unused)
{
	unsigned int gen;

	bg_member_add(dev);
	gen = bg_owner_gen(dev);
	bg_owner_found(dev, bg_scan_claimed_by_user(dev), gen);
	return 0;
}

/*
 * bg_scan_all() - ask the kernel about every PCI device, now
 *
 * Adds every device to the table (idempotent), then records whether its
 * group is owned by userspace.
 *
 * Context: process; sleeps.
 */
static void bg_scan_all(void)
{
	bus_for_each_dev(&pci_bus_type, NULL, NULL, bg_scan_device);
}

/**
 * bg_scan_init() - the scan at load: fill the table from what exists
 *
 * After the PCI bus notifier is registered (no device missed) and the claim
 * hooks are armed (a claim during the scan is seen by one or the other).
 *
 * Context: process (module init); sleeps.
 * Return: 0.
 */
int bg_scan_init(void)
{
	bg_scan_all();
	return 0;
}

/*
 * Rescans asked for by the claim hooks (atomic context), done by one work
 * item: the whole bus (bg_scan_queue_all()), or single groups
 * (bg_scan_queue_group()),
 * a few at a time; one more than fits makes it the whole bus.
 */
#define BG_RESCAN_SLOTS 8
static DEFINE_RAW_SPINLOCK(bg_scan_lock);
static int bg_scan_ids[BG_RESCAN_SLOTS];	/* bg_scan_lock */
static unsigned int bg_scan_n;		/* bg_scan_lock */
static bool bg_scan_want_all;			/* bg_scan_lock */

/*
 * Ask the kernel about group @id. Its answer is the group's (5.19+, where
 * only releases queue a single group): one member is enough to ask.
 */
static void bg_scan_group(int id)
{
	struct device *dev = bg_member_get(id);
	unsigned int gen;

	if (!dev)
		return;
	gen = bg_owner_gen(dev);
	bg_owner_found(dev, bg_scan_claimed_by_user(dev), gen);
	put_device(dev);
}

static void bg_scan_work_fn(struct work_struct *work)
{
	unsigned long flags;
	bool all;
	int id;

	for (;;) {
		raw_spin_lock_irqsave(&bg_scan_lock, flags);
		all = bg_scan_want_all;
		if (all) {
			bg_scan_want_all = false;
			bg_scan_n = 0;
		} else if (bg_scan_n) {
			id = bg_scan_ids[--bg_scan_n];
		} else {
			raw_spin_unlock_irqrestore(&bg_scan_lock, flags);
			return;
		}
		raw_spin_unlock_irqrestore(&bg_scan_lock, flags);
		if (all)
			bg_scan_all();
		else
			bg_scan_group(id);
	}
}

static DECLARE_WORK(bg_scan_work, bg_scan_work_fn);

/**
 * bg_scan_queue_all() - re-read DMA ownership of every device from the kernel, soon
 *
 * Context: any; queues a work item.
 */
void bg_scan_queue_all(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&bg_scan_lock, flags);
	bg_scan_want_all = true;
	raw_spin_unlock_irqrestore(&bg_scan_lock, flags);
	schedule_work(&bg_scan_work);
}

/**
 * bg_scan_queue_group() - re-read DMA ownership of group @id from the kernel, soon
 * @id: the IOMMU group's id
 *
 * Since 5.19 only: the kernel's answer is then the group's.
 *
 * Context: any; queues a work item.
 */
void bg_scan_queue_group(int id)
{
	unsigned long flags;
	unsigned int i;

	raw_spin_lock_irqsave(&bg_scan_lock, flags);
	for (i = 0; i < bg_scan_n && bg_scan_ids[i] != id; i++)
		;
	if (i == bg_scan_n) {
		if (i < BG_RESCAN_SLOTS)
			bg_scan_ids[bg_scan_n++] = id;
		else
			bg_scan_want_all = true;
	}
	raw_spin_unlock_irqrestore(&bg_scan_lock, flags);
	schedule_work(&bg_scan_work);
}

/**
 * bg_scan_exit() - wait for a queued rescan
 *
 * Call once no claim hook is left to queue one.
 *
 * Context: process; sleeps.
 */
void bg_scan_exit(void)
{
	cancel_work_sync(&bg_scan_work);
}
