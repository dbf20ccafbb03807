// SPDX-License-Identifier: GPL-2.0
/*
 * notifier.c - keep the table's members and drivers current.
 *
 * A notifier on the PCI bus follows devices (add/del) and binds
 * (bound/unbound); a scan at load time fills the table for devices that
 * already exist and finds the groups a VFIO user already holds. The same
 * scan runs again from a work item when the claim hooks ask (bg_rescan()):
 * after a kretprobe missed calls, and when vfio is loaded (before 5.19).
 * Since 5.19 a release that frees a group found owned earlier asks the
 * kernel about that group alone (bg_rescan_group()).
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "bindguard.h"

static int bg_bus_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	struct device *dev = data;

	switch (action) {
	case BUS_NOTIFY_ADD_DEVICE:
		bg_table_add_device(dev);
		break;
	case BUS_NOTIFY_BOUND_DRIVER:
		bg_table_set_driver(dev, dev->driver);
		break;
	case BUS_NOTIFY_UNBOUND_DRIVER:
		bg_table_set_driver(dev, NULL);
		break;
	case BUS_NOTIFY_DEL_DEVICE:
		/* By BUS_NOTIFY_REMOVED_DEVICE, dev->iommu_group is cleared. */
		bg_table_del_device(dev);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block bg_bus_nb = {
	.notifier_call = bg_bus_notify,
};

#ifdef HAVE_IOMMU_DMA_OWNER
/*
 * A member whose driver uses the kernel's DMA API (no driver_managed_dma)
 * holds the group's default domain: the kernel keeps that and a userspace
 * claim exclusive.
 */
static int bg_kernel_dma_member(struct device *dev, void *unused)
{
	struct device_driver *drv = READ_ONCE(dev->driver);

	return drv && !(dev_is_pci(dev) && to_pci_driver(drv)->driver_managed_dma);
}

/*
 * iommu_group_dma_owner_claimed() is also true for groups whose devices
 * merely have host drivers (default-domain users). A group counts as user
 * only when it reads claimed and no member has a kernel-DMA driver.
 */
static bool bg_claimed_by_user(struct device *dev)
{
	struct iommu_group *group = iommu_group_get(dev);
	bool user;

	if (!group)
		return false;
	user = bg_dma_owner_claimed(group) &&
	       !iommu_group_for_each_dev(group, NULL, bg_kernel_dma_member);
	iommu_group_put(group);
	return user;
}
#else
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
static bool bg_claimed_by_user(struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	return bg_vfio_bound(dev) ||
	       (domain && domain->type == IOMMU_DOMAIN_UNMANAGED);
}
#endif

static int bg_scan_device(struct device *dev, void *unused)
{
	unsigned int gen;

	bg_table_add_device(dev);
	gen = bg_table_gen(dev);
	bg_table_found(dev, bg_claimed_by_user(dev), gen);
	return 0;
}

/*
 * Rescans asked for by the claim hooks (atomic context), done by one work
 * item: the whole bus (bg_rescan()), or single groups (bg_rescan_group()),
 * a few at a time; one more than fits makes it the whole bus.
 */
#define BG_RESCAN_SLOTS 8
static DEFINE_SPINLOCK(bg_rescan_lock);
static int bg_rescan_ids[BG_RESCAN_SLOTS];	/* bg_rescan_lock */
static unsigned int bg_rescan_n;		/* bg_rescan_lock */
static bool bg_rescan_all;			/* bg_rescan_lock */

/*
 * Ask the kernel about group @id. Its answer is the group's (5.19+, where
 * only releases queue a single group): one member is enough to ask.
 */
static void bg_scan_group(int id)
{
	struct device *dev = bg_table_get_member(id);
	unsigned int gen;

	if (!dev)
		return;
	gen = bg_table_gen(dev);
	bg_table_found(dev, bg_claimed_by_user(dev), gen);
	put_device(dev);
}

static void bg_rescan_fn(struct work_struct *work)
{
	unsigned long flags;
	bool all;
	int id;

	for (;;) {
		spin_lock_irqsave(&bg_rescan_lock, flags);
		all = bg_rescan_all;
		if (all) {
			bg_rescan_all = false;
			bg_rescan_n = 0;
		} else if (bg_rescan_n) {
			id = bg_rescan_ids[--bg_rescan_n];
		} else {
			spin_unlock_irqrestore(&bg_rescan_lock, flags);
			return;
		}
		spin_unlock_irqrestore(&bg_rescan_lock, flags);
		if (all)
			bus_for_each_dev(&pci_bus_type, NULL, NULL, bg_scan_device);
		else
			bg_scan_group(id);
	}
}

static DECLARE_WORK(bg_rescan_work, bg_rescan_fn);

/**
 * bg_rescan() - re-read DMA ownership of every device from the kernel, soon
 *
 * Context: any; queues a work item.
 */
void bg_rescan(void)
{
	unsigned long flags;

	spin_lock_irqsave(&bg_rescan_lock, flags);
	bg_rescan_all = true;
	spin_unlock_irqrestore(&bg_rescan_lock, flags);
	schedule_work(&bg_rescan_work);
}

/**
 * bg_rescan_group() - re-read DMA ownership of group @id from the kernel, soon
 * @id: the IOMMU group's id
 *
 * Since 5.19 only: the kernel's answer is then the group's.
 *
 * Context: any; queues a work item.
 */
void bg_rescan_group(int id)
{
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&bg_rescan_lock, flags);
	for (i = 0; i < bg_rescan_n && bg_rescan_ids[i] != id; i++)
		;
	if (i == bg_rescan_n) {
		if (i < BG_RESCAN_SLOTS)
			bg_rescan_ids[bg_rescan_n++] = id;
		else
			bg_rescan_all = true;
	}
	spin_unlock_irqrestore(&bg_rescan_lock, flags);
	schedule_work(&bg_rescan_work);
}

/**
 * bg_notifier_init() - register the PCI bus notifier, then scan what exists
 *
 * The notifier goes first so that no device is missed; the scan is
 * idempotent. Call after the claim hooks are armed, so that a claim during
 * the scan is seen by one or the other.
 *
 * Context: process (module init); sleeps.
 * Return: 0 or the error of bus_register_notifier().
 */
int bg_notifier_init(void)
{
	int ret = bus_register_notifier(&pci_bus_type, &bg_bus_nb);

	if (ret)
		return ret;
	bus_for_each_dev(&pci_bus_type, NULL, NULL, bg_scan_device);
	return 0;
}

/**
 * bg_notifier_exit() - unregister the PCI bus notifier, cancel a rescan
 *
 * Call after the claim hooks are gone (nothing queues a rescan then).
 *
 * Context: process; sleeps.
 */
void bg_notifier_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &bg_bus_nb);
	cancel_work_sync(&bg_rescan_work);
}
