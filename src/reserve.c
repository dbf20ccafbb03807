// SPDX-License-Identifier: GPL-2.0
/*
 * reserve.c - reservations and protections. A reservation: an admin closes
 * an IOMMU group to kernel DMA-API drivers by naming any of its members'
 * BDFs, whether or not a VM holds it: between a VM's stop and its restart,
 * after a vfio-pci unbind, on a hot-add. Drivers that manage DMA themselves
 * (vfio-pci, pci-stub, allow=) are still admitted; binds already made are
 * not undone. A protection: a device the host needs (its root disk's
 * controller, its management NIC) stays with its host driver: its group is
 * closed to drivers that leave DMA to userspace (veto.c), and a sysfs unbind
 * of it is refused (unbind.c).
 *
 *   /sys/kernel/bindguard/reserve   write BDF[@IDS] to reserve it; read the
 *                                   reserved BDFs, one a line (0600)
 *   /sys/kernel/bindguard/release   write one BDF to end its reservation (0200)
 *   /sys/kernel/bindguard/config_errors   the values refused at load
 *                                   (params.c), one a line (0444)
 *   reserve=BDF[@IDS][,...]         at load, to hold groups from boot
 *   /sys/kernel/bindguard/protect   write BDF[@IDS][ WHY] to protect it;
 *                                   read the protected BDFs, one a line (0600)
 *   /sys/kernel/bindguard/unprotect write one BDF to end its protection (0200)
 *   protect=BDF[@IDS][,...]         at load
 *
 * sysfs, not debugfs: a locked-down kernel refuses writable debugfs files.
 * A write is validated first: anything but one BDF (hex "dddd:bb:dd.f", or
 * "bb:dd.f" in domain 0), optionally pinned to the device's IDS
 * ("vvvv:dddd" or "vvvv:dddd:ssss:ssss", listed.c), for a protection
 * optionally followed by one space and why (1 to 63 printable characters,
 * the first neither a space nor '@'), and by one newline, is -EINVAL with
 * one log line, and changes nothing; listing a listed BDF is -EEXIST,
 * releasing (unprotecting) one that is not -ENOENT, more than
 * BG_RESERVE_MAX in a list -ENOSPC. At load, reserve= and protect= never
 * fail the load: each valid entry is listed, and a bad one (or
 * one past BG_RESERVE_MAX) is refused and left out (params.c). The names
 * are kept in listed.c, which applies them to the groups (and to devices
 * added later).
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
 * Parse one BDF from @buf (@len bytes) into its
 * canonical form "%04x:%02x:%02x.%x" in @bdf (BG_BDF_LEN). -EINVAL if it is
 * anything else.
 */
static int bg_reserve_parse_bdf(const char *buf, size_t len, char *bdf)
{
	unsigned int dom, bus, slot, fn;
	char s[BG_BDF_LEN];
	size_t i;
	int n;

	if (len == 0 || len > BG_BDF_LEN - 1)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isxdigit(buf[i]) && buf[i] != ':' && buf[i] != '.')
			return -EINVAL;
	memcpy(s, buf, len);
	s[len] = '\0';
	/*
	 * Field widths: sscanf() would wrap an overlong field silently. One
	 * colon: "bb:dd.f" in domain 0, as lspci prints it.
	 */
	dom = 0;
	if (strchr(s, ':') == strrchr(s, ':')) {
		if (sscanf(s, "%2x:%2x.%1x%n", &bus, &slot, &fn, &n) != 3)
			return -EINVAL;
	} else if (sscanf(s, "%5x:%2x:%2x.%1x%n", &dom, &bus, &slot, &fn, &n) != 4) {
		return -EINVAL;
	}
	if (n != (int)len || dom > 0xfffff || bus > 0xff || slot > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(bdf, BG_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, slot, fn);
	return 0;
}

/*
 * Parse "BDF[@VVVV:DDDD[:SVVV:SDDD]][ WHY]" from @buf (@len bytes, a
 * trailing newline allowed): the BDF into @bdf (bg_reserve_parse_bdf()),
 * the IDs, 4 hex digits each, into @ids (n 0 if none), the reason (1 to
 * BG_WHY_LEN - 1 printable ASCII bytes after one space, the first neither a
 * space nor '@') into @why ("" if none; @why NULL: no reason allowed).
 * -EINVAL if it is anything else.
 */
static int bg_reserve_parse(const char *buf, size_t len, char *bdf,
			    struct bg_listed_ids *ids, char *why)
{
	const char *sp, *at;
	unsigned int v[4];
	char s[24];
	size_t n, i;
	int k;

	if (len && buf[len - 1] == '\n')
		len--;
	memset(ids, 0, sizeof(*ids));
	sp = memchr(buf, ' ', len);
	if (sp) {
		n = buf + len - (sp + 1);
		/* a leading '@': IDs after a stray space, not a reason */
		if (!why || n == 0 || n > BG_WHY_LEN - 1 || sp[1] == ' ' || sp[1] == '@')
			return -EINVAL;
		for (i = 0; i < n; i++)
			if (sp[1 + i] < 0x20 || sp[1 + i] > 0x7e)
				return -EINVAL;
		memcpy(why, sp + 1, n);
		why[n] = '\0';
		len = sp - buf;
	} else if (why) {
		why[0] = '\0';
	}
	at = memchr(buf, '@', len);
	if (at) {
		n = buf + len - (at + 1);
		if (n != 9 && n != 19)
			return -EINVAL;
		memcpy(s, at + 1, n);
		s[n] = '\0';
		for (i = 0; i < n; i++)
			if (i % 5 == 4 ? s[i] != ':' : !isxdigit(s[i]))
				return -EINVAL;
		ids->n = n == 9 ? 2 : 4;
		k = sscanf(s, "%4x:%4x:%4x:%4x", &v[0], &v[1], &v[2], &v[3]);
		if (k != ids->n)
			return -EINVAL;
		for (k = 0; k < ids->n; k++)
			ids->id[k] = v[k];
		len = at - buf;
	}
	return bg_reserve_parse_bdf(buf, len, bdf);
}

static const char * const bg_reserve_more[] = {
	[BG_RESERVED] = ", optionally @vvvv:dddd[:ssss:ssss]",
	[BG_PROTECTED] = ", optionally @vvvv:dddd[:ssss:ssss], then a space and why",
};

/*
 * One line written to @what: parsed, then added to or taken off @list
 * (listed.c). A bad one is -EINVAL with one log line.
 */
static ssize_t bg_reserve_write(const char *buf, size_t count, const char *what,
				enum bg_listed_id list, bool add)
{
	char bdf[BG_BDF_LEN], why[BG_WHY_LEN], s[96], shown[128];
	size_t len = count && buf[count - 1] == '\n' ? count - 1 : count;
	struct bg_listed_ids ids;
	int ret;

	ret = bg_reserve_parse(buf, count, bdf, &ids,
			       add && list == BG_PROTECTED ? why : NULL);
	if (ret || (!add && ids.n)) {
		len = min(len, sizeof(s) - 1);
		memcpy(s, buf, len);
		s[len] = '\0';
		pr_err("invalid %s '%s': expected one PCI device name (dddd:bb:dd.f)%s\n",
		       what, bg_names_escape(shown, sizeof(shown), s),
		       add ? bg_reserve_more[list] : "");
		return -EINVAL;
	}
	ret = add ? bg_listed_add(list, bdf, &ids, list == BG_PROTECTED ? why : "") :
		    bg_listed_del(list, bdf);
	if (!ret && add && list == BG_PROTECTED && !bg_unbind_armed())
		pr_warn("protected %s, but a sysfs unbind of it is not refused: the hook on unbind_store() is not armed (debugfs hooks)\n",
			bdf);
	return ret ?: count;
}

static ssize_t reserve_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	return bg_reserve_write(buf, count, "reservation", BG_RESERVED, true);
}

static ssize_t reserve_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return bg_listed_names(BG_RESERVED, buf, PAGE_SIZE, '\n');
}

static ssize_t release_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	return bg_reserve_write(buf, count, "release", BG_RESERVED, false);
}

static ssize_t protect_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	return bg_reserve_write(buf, count, "protection", BG_PROTECTED, true);
}

static ssize_t protect_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return bg_listed_names(BG_PROTECTED, buf, PAGE_SIZE, '\n');
}

static ssize_t unprotect_store(struct kobject *kobj, struct kobj_attribute *attr,
			       const char *buf, size_t count)
{
	return bg_reserve_write(buf, count, "unprotect", BG_PROTECTED, false);
}

static ssize_t config_errors_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return bg_param_errors(buf);
}

static struct kobj_attribute bg_reserve_attr = __ATTR(reserve, 0600, reserve_show, reserve_store);
static struct kobj_attribute bg_release_attr = __ATTR_WO(release);
static struct kobj_attribute bg_protect_attr = __ATTR(protect, 0600, protect_show, protect_store);
static struct kobj_attribute bg_unprotect_attr = __ATTR_WO(unprotect);
static struct kobj_attribute bg_config_errors_attr = __ATTR_RO(config_errors);

static struct attribute *bg_reserve_attrs[] = {
	&bg_reserve_attr.attr,
	&bg_release_attr.attr,
	&bg_protect_attr.attr,
	&bg_unprotect_attr.attr,
	&bg_config_errors_attr.attr,
	NULL,
};

static const struct attribute_group bg_reserve_group = {
	.attrs = bg_reserve_attrs,
};

static struct kobject *bg_kobj;

#define BG_RESERVE_OVER(what) "more than " __stringify(BG_RESERVE_MAX) " " what

static const enum bg_listed_id bg_reserve_lists[] = { BG_RESERVED, BG_PROTECTED };
static const char * const bg_reserve_params[] = { "reserve", "protect" };

/*
 * reserve= and protect= at load (kp->arg: the list): each valid entry is
 * listed (a name given twice once); a bad one, or one past BG_RESERVE_MAX,
 * is refused and left out.
 */
static int bg_reserve_param_set(const char *val, const struct kernel_param *kp)
{
	enum bg_listed_id list = *(const enum bg_listed_id *)kp->arg;
	const char *param = bg_reserve_params[list];
	struct bg_listed_ids ids;
	char bdf[BG_BDF_LEN];
	const char *p = val, *s;
	size_t len;

	if (!val) {
		bg_param_refuse(param, "invalid", NULL, 0,
				"expected comma-separated PCI device names", "-");
		return 0;
	}
	while ((s = bg_param_entry(&p, &len))) {
		if (!len)
			continue;
		if (bg_reserve_parse(s, len, bdf, &ids, NULL))
			bg_param_refuse(param, "invalid", s, len,
					"expected a PCI device name (dddd:bb:dd.f), optionally @vvvv:dddd[:ssss:ssss]",
					"-");
		else if (bg_listed_add(list, bdf, &ids, "") == -ENOSPC)
			bg_param_refuse(param, "over-limit", s, len,
					list == BG_RESERVED ? BG_RESERVE_OVER("reservations") :
					BG_RESERVE_OVER("protections"), "-");
	}
	return 0;
}

static int bg_reserve_param_get(char *buf, const struct kernel_param *kp)
{
	enum bg_listed_id list = *(const enum bg_listed_id *)kp->arg;
	int len = bg_listed_names(list, buf, PAGE_SIZE, ',');

	if (len)
		buf[len - 1] = '\n';
	return len;
}

static const struct kernel_param_ops bg_reserve_param_ops = {
	.flags = KERNEL_PARAM_OPS_FL_NOARG,
	.set = bg_reserve_param_set,
	.get = bg_reserve_param_get,
};

/* 0400: the lists are root's, as /sys/kernel/bindguard/{reserve,protect} are */
module_param_cb(reserve, &bg_reserve_param_ops, (void *)&bg_reserve_lists[BG_RESERVED], 0400);
MODULE_PARM_DESC(reserve, "IOMMU groups reserved from load, by a member's BDF (BDF@vvvv:dddd: only that device), up to "
		 __stringify(BG_RESERVE_MAX) " comma-separated; "
		 "at runtime /sys/kernel/bindguard/reserve and release; default none");
module_param_cb(protect, &bg_reserve_param_ops, (void *)&bg_reserve_lists[BG_PROTECTED], 0400);
MODULE_PARM_DESC(protect, "PCI devices protected from load, up to "
		 __stringify(BG_RESERVE_MAX) " comma-separated BDFs or BDF@vvvv:dddd; "
		 "their groups closed to vfio, pci-stub and driver_managed_dma drivers; "
		 "their sysfs unbind refused; "
		 "at runtime /sys/kernel/bindguard/protect and unprotect; default none");

/**
 * bg_reserve_init() - create /sys/kernel/bindguard/{reserve,release,protect,
 *                     unprotect,config_errors}
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
