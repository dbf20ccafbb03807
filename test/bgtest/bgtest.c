// SPDX-License-Identifier: GPL-2.0
/*
 * bgtest - a test PCI driver with no ID table, like pci-stub (bind it through
 * new_id, driver_override or sysfs bind; new_id refuses a driver whose table
 * is present but empty). It counts calls to its probe in
 * /sys/module/bgtest/parameters/probes, so a test can prove that a refused
 * bind never reached the driver.
 */
#include <linux/module.h>
#include <linux/pci.h>

static int probes;
module_param(probes, int, 0444);
MODULE_PARM_DESC(probes, "number of times probe() ran");

static int bgtest_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	WRITE_ONCE(probes, READ_ONCE(probes) + 1);
	dev_info(&pdev->dev, "bgtest probe %d\n", READ_ONCE(probes));
	return 0;
}

static void bgtest_remove(struct pci_dev *pdev)
{
}

static struct pci_driver bgtest_driver = {
	.name = "bgtest",
	.probe = bgtest_probe,
	.remove = bgtest_remove,
};
module_pci_driver(bgtest_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bindguard test driver: counts probe() calls");
