// SPDX-License-Identifier: GPL-2.0
/*
 * unbind.c - where a sysfs unbind of a protected device is refused.
 *
 * "echo BDF > /sys/bus/pci/drivers/DRV/unbind" is the step that takes a
 * host's disk or NIC away (libvirt's managed detach and driverctl both make
 * it). Its store, unbind_store() (drivers/base/bus.c), is static and calls
 * device_driver_detach(), which returns void: a hook there could only skip
 * silently while the write reports success. So the hook is on
 * unbind_store() itself, an IP-modifying ftrace hook like the veto's: the
 * callback decides from the written name alone, as bus_find_device_by_name()
 * would match it (sysfs_streq(): one trailing newline ignored), against the
 * protected names (listed.c, under their raw lock), and to refuse points
 * the saved IP at bg_unbind_refuse(), which logs and returns -EBUSY. Only
 * that file is refused: a driver's unload (rmmod), a device's sysfs remove,
 * hot-unplug and surprise removal detach through other paths and always
 * proceed. A name that is not bound to that driver is -EBUSY too, where the
 * kernel would say -ENODEV. An unbind from a driver that leaves DMA to
 * userspace (vfio-pci, pci-stub: bg_viable_user_dma()) always proceeds:
 * it hands the device back toward its host driver.
 *
 * unbind_store() is found by address, not by name: idxd (and any other
 * code) may have a static unbind_store of its own. The "unbind" file of a
 * PCI driver's sysfs directory (pcieport, or if the host has none a driver
 * registered here for the moment) is a struct driver_attribute whose store
 * is the driver core's unbind_store() (kernfs_node.priv is the attribute);
 * kallsyms must name that address unbind_store+0x0 in the core kernel's
 * text. Its signature is the same on every kernel bindguard builds for
 * (5.10 to 7.x): ssize_t (struct device_driver *, const char *, size_t).
 *
 * A hook that cannot be armed (not found, another IPMODIFY user, no
 * kallsyms) does not fail the load: the rest of bindguard (the veto, the
 * claims, the reservations) protects as much as it did before, where
 * failing the load would leave the host with none of it. It is logged as an
 * error, "hooks" in debugfs has no unbind_store line, and each protect write
 * says that its unbind is not refused.
 *
 * Armed at load with its "live" static key off (pass-through), made live by
 * the load's last step (bg_unbind_live()), like the veto. The mode applies:
 * enforce refuses, audit logs "would refuse" and lets the unbind through,
 * off lets it through. No lock of its own: the names are listed.c's.
 */
#include <linux/device.h>
#include <linux/ftrace.h>
#include <linux/jump_label.h>
#include <linux/kallsyms.h>
#include <linux/kernfs.h>
#include <linux/kobject.h>
#include <linux/pci.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "bindguard.h"

static DEFINE_STATIC_KEY_FALSE(bg_unbind_key);
/* Set at load, before the hook is live; read-only afterwards. */
static bool bg_unbind_is_armed;

/*
 * One log line per refused (audit: recorded) unbind, ratelimited for all
 * devices together: only root writes unbind. Any context; no sleeping.
 */
static void bg_unbind_log(bool audit, const char *bdf, const char *driver)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);
	char name[2][64], why[BG_WHY_NOTE];

	if (!__ratelimit(&rs))
		return;
	bg_listed_why(BG_PROTECTED, bdf, why);
	pr_warn("%s unbind of %s from %s (-EBUSY): the device is protected%s; to lift: echo %s > /sys/kernel/bindguard/unprotect\n",
		audit ? "audit: would refuse" : "refused",
		bg_names_escape(name[0], sizeof(name[0]), bdf),
		bg_names_escape(name[1], sizeof(name[1]), driver), why, name[0]);
}

/*
 * Record an unbind of protected device @bdf from @driver: an event
 * (unbind-refused, or audit when mode=audit lets it through) and a log
 * line. Any context; no sleeping.
 */
static void bg_unbind_record(bool audit, const char *bdf, int group,
			     const char *driver)
{
	char comm[TASK_COMM_LEN];

	bg_names_current_comm(comm);
	bg_event_add(audit ? BG_EV_AUDIT : BG_EV_UNBIND_REFUSED, group,
		     task_tgid_nr(current), comm, bdf, driver);
	bg_unbind_log(audit, bdf, driver);
}

/*
 * Runs instead of unbind_store(): process context, a kernfs active
 * reference on the file held. Must not sleep: module exit waits for tasks
 * in here via tasks RCU (bg_ftrace_disarm()), which a voluntary sleep would
 * satisfy early. The name is looked up again for the log line and the
 * event; the refusal stands whatever it finds.
 */
static noinline ssize_t bg_unbind_refuse(struct device_driver *drv,
					 const char *buf, size_t count)
{
	char bdf[BG_BDF_LEN];
	int group = -1;

	if (!bg_listed_protected_name(buf, bdf, &group))
		strscpy(bdf, "-", sizeof(bdf));
	bg_unbind_record(false, bdf, group, drv->name);
	return -EBUSY;
}

static void notrace bg_unbind_hook(unsigned long ip, unsigned long parent_ip,
				   struct ftrace_ops *ops,
				   struct ftrace_regs *fregs)
{
	enum bg_mode mode = bg_param_mode();
	struct device_driver *drv;
	char bdf[BG_BDF_LEN];
	const char *buf;
	int group;

	if (!static_branch_likely(&bg_unbind_key) || mode == BG_MODE_OFF ||
	    !bg_fregs_ok(fregs))
		return;
	drv = (struct device_driver *)bg_fregs_arg(fregs, 0);
	buf = (const char *)bg_fregs_arg(fregs, 1);
	/* a driver that leaves DMA to userspace gives the device back */
	if (drv->bus != &pci_bus_type || bg_viable_user_dma(drv) ||
	    !bg_listed_protected_name(buf, bdf, &group))
		return;
	if (mode == BG_MODE_AUDIT)
		bg_unbind_record(true, bdf, group, drv->name);
	else
		bg_fregs_set_ip(fregs, (unsigned long)bg_unbind_refuse);
}

/* PERMANENT, as the veto's: ftrace cannot be switched off under it */
static struct ftrace_ops bg_unbind_ops = {
	.func = bg_unbind_hook,
	.flags = BG_FTRACE_OPS_FL_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_RECURSION | FTRACE_OPS_FL_PERMANENT,
};

/*
 * Registered for a moment only if the host has no pcieport driver, for its
 * unbind file. No ID table: it matches only a device whose driver_override
 * names it, and refuses that one.
 */
static int bg_unbind_drv_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	return -ENODEV;
}

static struct pci_driver bg_unbind_drv = {
	.name = KBUILD_MODNAME "-unbind",
	.probe = bg_unbind_drv_probe,
};

/* The store of driver @name's unbind file on the PCI bus, or 0. */
static unsigned long bg_unbind_store_of(const char *name)
{
	struct kernfs_node *drivers, *dir = NULL, *file = NULL;
	struct driver_attribute *attr;
	unsigned long addr = 0;

	drivers = kernfs_find_and_get(bus_get_kset(&pci_bus_type)->kobj.sd, "drivers");
	if (drivers)
		dir = kernfs_find_and_get(drivers, name);
	if (dir)
		file = kernfs_find_and_get(dir, "unbind");
	if (file && kernfs_type(file) == KERNFS_FILE && file->priv) {
		attr = container_of((struct attribute *)file->priv,
				    struct driver_attribute, attr);
		addr = (unsigned long)attr->store;
	}
	kernfs_put(file);
	kernfs_put(dir);
	kernfs_put(drivers);
	return addr;
}

/* unbind_store()'s address, checked against kallsyms, or 0. */
static unsigned long bg_unbind_find(void)
{
	char sym[KSYM_SYMBOL_LEN];
	unsigned long addr;

	addr = bg_unbind_store_of("pcieport");
	if (!addr && !pci_register_driver(&bg_unbind_drv)) {
		addr = bg_unbind_store_of(bg_unbind_drv.name);
		pci_unregister_driver(&bg_unbind_drv);
	}
	if (!addr) {
		pr_err("cannot find unbind_store(): no PCI driver's unbind file\n");
		return 0;
	}
	/* "unbind_store+0x0/0x..." in the core kernel: no " [module]" */
	sprint_symbol(sym, addr);
	if (strncmp(sym, "unbind_store+0x0/", 17) || strchr(sym, '[')) {
		pr_err("cannot find unbind_store(): the PCI unbind file's store is %s\n",
		       sym);
		return 0;
	}
	return addr;
}

/**
 * bg_unbind_init() - arm the hook on unbind_store(), not live yet
 *
 * Never fails the load: a hook that cannot be armed is logged as an error
 * and left out (the top of this file says why); bg_unbind_armed() then says
 * false.
 *
 * Context: process (module init); sleeps.
 * Return: 0.
 */
int bg_unbind_init(void)
{
	unsigned long addr = bg_unbind_find();

	if (addr && !bg_ftrace_arm_ip(&bg_unbind_ops, addr, "unbind_store"))
		bg_unbind_is_armed = true;
	else
		pr_err("a sysfs unbind of a protected device is NOT refused: the hook on unbind_store() cannot be armed; binds and claims are still refused\n");
	return 0;
}

/**
 * bg_unbind_armed() - is a sysfs unbind of a protected device refused?
 *
 * Context: any, after bg_unbind_init().
 * Return: true if the hook on unbind_store() is armed.
 */
bool bg_unbind_armed(void)
{
	return bg_unbind_is_armed;
}

/**
 * bg_unbind_live() - make the armed hook decide
 *
 * Part of the load's last step; it decides until bg_unbind_exit().
 *
 * Context: process; sleeps (static key update). Cannot fail.
 */
void bg_unbind_live(void)
{
	static_branch_enable(&bg_unbind_key);
}

/**
 * bg_unbind_show() - print the hook for debugfs "hooks", if armed
 * @m: the seq_file
 *
 * Context: process.
 */
void bg_unbind_show(struct seq_file *m)
{
	if (bg_unbind_is_armed)
		seq_puts(m, "unbind_store unbind -\n");
}

/**
 * bg_unbind_exit() - disarm the hook, if armed
 *
 * Context: process; sleeps.
 */
void bg_unbind_exit(void)
{
	if (bg_unbind_is_armed)
		bg_ftrace_disarm(&bg_unbind_ops);
	bg_unbind_is_armed = false;
}
