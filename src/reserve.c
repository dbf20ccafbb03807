// SPDX-License-Identifier: GPL-2.0
/*
 * reserve.c - reservations: an admin closes an IOMMU group to kernel DMA-API
 * drivers by naming any of its members' BDFs, whether or not a VM holds it:
 * between a VM's stop and its restart, after a vfio-pci unbind, on a
 * hot-add. Drivers that manage DMA themselves (vfio-pci, pci-stub, allow=)
 * are still admitted; binds already made are not undone.
 *
 *   /sys/kernel/bindguard/reserve   write one BDF to reserve it; read the
 *                                   reserved BDFs, one a line (0600)
 *   /sys/kernel/bindguard/release   write one BDF to end its reservation (0200)
 *   reserve=BDF[,BDF...]            at load, to hold groups from boot
 *
 * sysfs, not debugfs: a locked-down kernel refuses writable debugfs files.
 * A write is validated first: anything but one BDF (hex "dddd:bb:dd.f",
 * optionally followed by a newline) is -EINVAL with one log line, and
 * changes nothing; reserving a reserved BDF is -EEXIST, releasing one that
 * is not -ENOENT, more than BG_RESERVE_MAX -ENOSPC. The names are kept in
 * member.c, which applies them to the groups (and to devices added later).
 */
#include <linux/ctype.h>
#include <linux/kobject.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/stringify.h>
#include <linux/sysfs.h>

#include "bindguard.h"

/*
 * Parse one BDF from @buf (@len bytes, a trailing newline allowed) into its
 * canonical form "%04x:%02x:%02x.%x" in @bdf (BG_BDF_LEN). -EINVAL if it is
 * anything else; @what names the interface in the log line.
 */
static int bg_reserve_parse_bdf(const char *buf, size_t len, char *bdf, const char *what)
{
	unsigned int dom, bus, slot, fn;
	char s[BG_BDF_LEN + 1], shown[64];
	size_t i;
	int n;

	if (len && buf[len - 1] == '\n')
		len--;
	if (len == 0 || len > BG_BDF_LEN - 1)
		goto bad;
	for (i = 0; i < len; i++)
		if (!isxdigit(buf[i]) && buf[i] != ':' && buf[i] != '.')
			goto bad;
	memcpy(s, buf, len);
	s[len] = '\0';
	/* field widths: sscanf() would wrap an overlong field silently */
	if (sscanf(s, "%5x:%2x:%2x.%1x%n", &dom, &bus, &slot, &fn, &n) != 4 ||
	    n != (int)len || dom > 0xfffff || bus > 0xff || slot > 0x1f || fn > 7)
		goto bad;
	snprintf(bdf, BG_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, slot, fn);
	return 0;
bad:
	memcpy(s, buf, min(len, sizeof(s) - 1));
	s[min(len, sizeof(s) - 1)] = '\0';
	pr_err("invalid %s '%s': expected one PCI device name (dddd:bb:dd.f)\n",
	       what, bg_names_escape(shown, sizeof(shown), s));
	return -EINVAL;
}

/* One BDF written to @what: parsed, then handed to @apply (member.c). */
static ssize_t bg_reserve_write(const char *buf, size_t count, const char *what,
				int (*apply)(const char *bdf))
{
	char bdf[BG_BDF_LEN];
	int ret;

	ret = bg_reserve_parse_bdf(buf, count, bdf, what);
	if (!ret)
		ret = apply(bdf);
	return ret ?: count;
}

static ssize_t reserve_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	return bg_reserve_write(buf, count, "reservation", bg_member_reserve);
}

static ssize_t reserve_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return bg_member_reservations(buf, PAGE_SIZE, '\n');
}

static ssize_t release_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	return bg_reserve_write(buf, count, "release", bg_member_unreserve);
}

static struct kobj_attribute bg_reserve_attr = __ATTR(reserve, 0600, reserve_show, reserve_store);
static struct kobj_attribute bg_release_attr = __ATTR_WO(release);

static struct attribute *bg_reserve_attrs[] = {
	&bg_reserve_attr.attr,
	&bg_release_attr.attr,
	NULL,
};

static const struct attribute_group bg_reserve_group = {
	.attrs = bg_reserve_attrs,
};

static struct kobject *bg_kobj;

/*
 * reserve= at load: every name is checked before any is reserved, so that
 * a bad list fails insmod with -EINVAL and reserves nothing.
 */
static int bg_reserve_param_set(const char *val, const struct kernel_param *kp)
{
	/* too large for the stack; parameters are set one at a time at load */
	static char bdf[BG_RESERVE_MAX][BG_BDF_LEN];
	unsigned int count = 0, i;
	const char *p = val;
	size_t len;
	int ret;

	while (*p && *p != '\n') {
		len = strcspn(p, ",\n");
		if (count == BG_RESERVE_MAX)
			return -ENOSPC;
		ret = bg_reserve_parse_bdf(p, len, bdf[count], "reserve= entry");
		if (ret)
			return ret;
		count++;
		p += len;
		if (*p == ',')
			p++;
	}
	for (i = 0; i < count; i++) {
		ret = bg_member_reserve(bdf[i]);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

static int bg_reserve_param_get(char *buf, const struct kernel_param *kp)
{
	int len = bg_member_reservations(buf, PAGE_SIZE, ',');

	if (len)
		buf[len - 1] = '\n';
	return len;
}

static const struct kernel_param_ops bg_reserve_param_ops = {
	.set = bg_reserve_param_set,
	.get = bg_reserve_param_get,
};

/* 0400: the list is root's, as /sys/kernel/bindguard/reserve is */
module_param_cb(reserve, &bg_reserve_param_ops, NULL, 0400);
MODULE_PARM_DESC(reserve, "IOMMU groups reserved from load, by a member's BDF, up to "
		 __stringify(BG_RESERVE_MAX) " comma-separated; "
		 "at runtime /sys/kernel/bindguard/reserve and release; default none");

/**
 * bg_reserve_init() - create /sys/kernel/bindguard/{reserve,release}
 *
 * Context: process (module init).
 * Return: 0 or -ENOMEM, or sysfs_create_group()'s error.
 */
int bg_reserve_init(void)
{
	int ret;

	bg_kobj = kobject_create_and_add(KBUILD_MODNAME, kernel_kobj);
	if (!bg_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(bg_kobj, &bg_reserve_group);
	if (ret) {
		kobject_put(bg_kobj);
		bg_kobj = NULL;
	}
	return ret;
}

/**
 * bg_reserve_exit() - remove the sysfs files; waits for writers in them
 *
 * Context: process; sleeps.
 */
void bg_reserve_exit(void)
{
	if (!bg_kobj)
		return;
	sysfs_remove_group(bg_kobj, &bg_reserve_group);
	kobject_put(bg_kobj);
	bg_kobj = NULL;
}
