// SPDX-License-Identifier: GPL-2.0
/*
 * bgtest - a test PCI driver with no ID table, like pci-stub (bind it through
 * new_id, driver_override or sysfs bind; new_id refuses a driver whose table
 * is present but empty). It counts calls to its probe in
 * /sys/module/bgtest/parameters/probes, so a test can prove that a refused
 * bind never reached the driver. With delay_ms=N its probe sleeps N ms
 * first (a slow driver, like a GPU's), saying "bgtest probing" when it
 * starts. The same driver is registered a second time under a name longer
 * than 32 characters (BGTEST_LONG_NAME), for names that must not be cut.
 * With fail=1 its probe fails with -ENODEV.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/pci.h>

#define BGTEST_LONG_NAME "bgtest-with-a-driver-name-longer-than-thirty-two-characters"

static int probes;
module_param(probes, int, 0444);
MODULE_PARM_DESC(probes, "number of times probe() ran");

static unsigned int delay_ms;
module_param(delay_ms, uint, 0644);
MODULE_PARM_DESC(delay_ms, "sleep this long in probe() first");

static bool fail;
module_param(fail, bool, 0644);
MODULE_PARM_DESC(fail, "probe() fails with -ENODEV (after delay_ms)");

static int bgtest_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	unsigned int ms = READ_ONCE(delay_ms);

	if (ms) {
		dev_info(&pdev->dev, "bgtest probing, %u ms\n", ms);
		msleep(ms);
	}
	WRITE_ONCE(probes, READ_ONCE(probes) + 1);
	dev_info(&pdev->dev, "bgtest probe %d\n", READ_ONCE(probes));
	return READ_ONCE(fail) ? -ENODEV : 0;
}

static void bgtest_remove(struct pci_dev *pdev)
{
}

static struct pci_driver bgtest_driver = {
	.name = "bgtest",
	.probe = bgtest_probe,
	.remove = bgtest_remove,
};

static struct pci_driver bgtest_long_driver = {
	.name = BGTEST_LONG_NAME,
	.probe = bgtest_probe,
	.remove = bgtest_remove,
};

static int __init bgtest_init(void)
{
	int ret = pci_register_driver(&bgtest_driver);

	if (ret)
		return ret;
	ret = pci_register_driver(&bgtest_long_driver);
	if (ret)
		pci_unregister_driver(&bgtest_driver);
	return ret;
}

static void __exit bgtest_exit(void)
{
	pci_unregister_driver(&bgtest_long_driver);
	pci_unregister_driver(&bgtest_driver);
}

module_init(bgtest_init);
module_exit(bgtest_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bindguard test driver: counts probe() calls");
