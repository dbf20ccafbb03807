// SPDX-License-Identifier: GPL-2.0
/*
 * viable.c - the blocks rule: which bound member keeps its IOMMU group from
 * being claimed by userspace (VFIO_GROUP_GET_STATUS: not viable).
 *
 * One rule per kernel, used everywhere bindguard answers that question:
 * the table's member records (debugfs "blockers", the "not viable" log
 * lines) and, before 5.19, the refusal of a claim (claim_vfio.c). It mirrors
 * what the kernel itself answers, which the guest tests compare:
 *
 *  - 5.19+: a member blocks when its driver uses the kernel's DMA API
 *    (really_probe() -> pci_dma_configure() ->
 *    iommu_device_use_default_domain()), i.e. any driver without
 *    driver_managed_dma; iommu_group_dma_owner_claimed() then says so.
 *  - before 5.19: vfio's vfio_dev_viable() (drivers/vfio/vfio.c): a member
 *    is viable when unbound, bound to pci-stub, not a normal-header
 *    function (bridges: pcieport and any other driver of a bridge), or a
 *    vfio device. A PCI device bound to a "vfio" driver (vfio-pci) is a
 *    vfio device once its probe returned (vfio_pci_probe() fails without
 *    vfio_add_group_dev()), so the driver's name stands for it: the rule
 *    needs no call into vfio.ko, and reads the same whether vfio is loaded.
 *
 * No state, no lock.
 */
#include <linux/device.h>
#include <linux/pci.h>
#include <linux/string.h>

#include "bindguard.h"

/**
 * bg_viable_managed_dma() - does @drv manage DMA itself (driver_managed_dma)?
 * @drv: a driver
 *
 * Context: any.
 * Return: pci_driver.driver_managed_dma for a PCI driver since 5.19, else
 * false.
 */
bool bg_viable_managed_dma(const struct device_driver *drv)
{
#ifdef HAVE_IOMMU_DMA_OWNER
	if (drv->bus == &pci_bus_type)
		return container_of(drv, const struct pci_driver, driver)->driver_managed_dma;
#endif
	return false;
}

/**
 * bg_viable_user_dma() - does @drv leave its device's DMA to userspace?
 * @drv: a driver
 *
 * The drivers a group with a protected member is closed to (veto.c): vfio
 * drivers, pci-stub, and since 5.19 every driver with driver_managed_dma
 * (the field the iommu_dma_owner feature probe finds), but pcieport, which
 * sets it because it does no DMA at all: a bridge's port services stay the
 * host's.
 *
 * Context: any.
 * Return: true for such a driver.
 */
bool bg_viable_user_dma(const struct device_driver *drv)
{
	if (!strncmp(drv->name, "vfio", 4) || !strcmp(drv->name, "pci-stub"))
		return true;
	return bg_viable_managed_dma(drv) && strcmp(drv->name, "pcieport");
}

/**
 * bg_viable_vfio_accepts() - may a driver of this name stay bound in a group
 *                            vfio holds, before 5.19?
 * @name: the driver's name
 *
 * Before 5.19 vfio itself decides what may stay bound in a group it holds
 * (vfio_dev_viable(): vfio drivers, pci-stub, any driver of a bridge, such
 * as pcieport); any other driver bound there hits its BUG_ON. allow=
 * cannot name another one (params.c).
 *
 * Context: any.
 * Return: true for a vfio driver, pci-stub or pcieport.
 */
bool bg_viable_vfio_accepts(const char *name)
{
	return !strncmp(name, "vfio", 4) || !strcmp(name, "pci-stub") ||
	       !strcmp(name, "pcieport");
}

/**
 * bg_viable_blocks() - does @dev, bound to @drv, keep its group from being
 *                      claimed by userspace?
 * @dev: a device of the group
 * @drv: its driver, NULL if unbound
 *
 * Context: any; no locks taken.
 * Return: true if the kernel would call the group not viable for this
 * member (see the rule at the top of this file).
 */
bool bg_viable_blocks(struct device *dev, const struct device_driver *drv)
{
	if (!drv)
		return false;
	if (BG_NATIVE_DMA_OWNER)
		return !bg_viable_managed_dma(drv);
	if (dev_is_pci(dev) && to_pci_dev(dev)->hdr_type != PCI_HEADER_TYPE_NORMAL)
		return false;
	/*
	 * vfio_dev_driver_allowed() names pci-stub only: pcieport is accepted
	 * as a bridge's driver (above), not on a normal-header function (a
	 * root complex event collector, 5.11+).
	 */
	return strncmp(drv->name, "vfio", 4) && strcmp(drv->name, "pci-stub");
}
