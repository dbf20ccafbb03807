// SPDX-License-Identifier: GPL-2.0
/*
 * notifier.c - keep the table's members and drivers current: a notifier on
 * the PCI bus follows devices (add/del) and binds (bound/unbound). The scan
 * at load (scan.c) fills the table for devices that already exist.
 *
 * No lock of its own: the driver core serializes the notifier calls of one
 * device, member.c takes the table's mutex.
 */
#include <linux/device.h>
#include <linux/notifier.h>
#include <linux/pci.h>

#include "bindguard.h"

static int bg_notifier_call(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	struct device *dev = data;

	switch (action) {
	case BUS_NOTIFY_ADD_DEVICE:
		bg_member_add(dev);
		break;
	case BUS_NOTIFY_BOUND_DRIVER:
		bg_member_set_driver(dev, dev->driver);
		break;
	case BUS_NOTIFY_UNBOUND_DRIVER:
	case BUS_NOTIFY_DRIVER_NOT_BOUND:	/* a probe failed */
		bg_member_set_driver(dev, NULL);
		break;
	case BUS_NOTIFY_DEL_DEVICE:
	case BUS_NOTIFY_REMOVED_DEVICE:
		/*
		 * Again once the device is off the bus: a scan that met it
		 * in between may have listed it again.
		 */
		bg_member_del(dev);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block bg_notifier_nb = {
	.notifier_call = bg_notifier_call,
};

/**
 * bg_notifier_init() - register the PCI bus notifier
 *
 * Before the scan at load (bg_scan_init()), so that no device is missed;
 * the scan is idempotent. Unregistered after the last rescan is done.
 *
 * Context: process (module init); sleeps.
 * Return: 0 or the error of bus_register_notifier().
 */
int bg_notifier_init(void)
{
	return bus_register_notifier(&pci_bus_type, &bg_notifier_nb);
}

/**
 * bg_notifier_exit() - unregister the PCI bus notifier
 *
 * Context: process; sleeps.
 */
void bg_notifier_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &bg_notifier_nb);
}
