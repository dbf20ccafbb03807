// SPDX-License-Identifier: GPL-2.0
/*
 * notifier.c - keep the table's members and drivers current.
 *
 * A notifier on the PCI bus follows devices (add/del) and binds
 * (bound/unbound); a scan at load time fills the table for devices that
 * already exist and finds the groups a VFIO user already holds. The same
 * scan runs again from a work item when the claim hooks ask (bg_rescan()):
 * after a kretprobe missed calls, and since 5.19 after a release.
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/notifier.h>
#include <linux/pci.h>
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

static void bg_rescan_fn(struct work_struct *work)
{
	bus_for_each_dev(&pci_bus_type, NULL, NULL, bg_scan_device);
}

static DECLARE_WORK(bg_rescan_work, bg_rescan_fn);

/**
 * bg_rescan() - re-read DMA ownership from the kernel, soon
 *
 * Context: any; queues a work item.
 */
void bg_rescan(void)
{
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
