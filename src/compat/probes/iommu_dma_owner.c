// SPDX-License-Identifier: GPL-2.0
/*
 * 5.19 API change: DMA ownership moves into the driver core (Lu Baolu, "Fix
 * BUG_ON in vfio_iommu_group_notifier()"): iommu_group_claim_dma_owner(),
 * iommu_group_dma_owner_claimed() and pci_driver.driver_managed_dma. With it
 * the kernel itself refuses a kernel-DMA driver in a user-owned group.
 *
 * Since: 5.19
 */
#include <linux/compiler.h>
#include <linux/iommu.h>
#include <linux/pci.h>

static bool __used probe_claimed(struct iommu_group *group,
				 struct pci_driver *drv)
{
	return iommu_group_dma_owner_claimed(group) && drv->driver_managed_dma;
}
