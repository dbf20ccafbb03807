// SPDX-License-Identifier: GPL-2.0
/*
 * params.c - the module parameters: mode=, allow=, strict= and maxactive=.
 *
 * A bad value fails insmod (or a runtime write to mode) with -EINVAL and one
 * log line naming it; the old value stays.
 */
#include <linux/ctype.h>
#include <linux/device/driver.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/stringify.h>

#include "bindguard.h"

#define BG_ALLOW_MAX 16

static const char * const bg_mode_names[] = {
	[BG_MODE_ENFORCE] = "enforce",
	[BG_MODE_AUDIT] = "audit",
	[BG_MODE_OFF] = "off",
};

static int bg_mode_value = BG_MODE_ENFORCE;

static char bg_allow_names[BG_ALLOW_MAX][BG_NAME_LEN] = {
	"vfio-pci", "pci-stub", "pcieport",
};

static unsigned int bg_allow_count = 3;
static bool bg_strict;

/**
 * bg_param_mode() - the current mode
 *
 * Context: any, lockless.
 * Return: BG_MODE_ENFORCE, BG_MODE_AUDIT or BG_MODE_OFF.
 */
enum bg_mode bg_param_mode(void)
{
	return READ_ONCE(bg_mode_value);
}

/**
 * bg_param_mode_name() - the current mode's name, as mode= takes it
 *
 * Context: any.
 * Return: "enforce", "audit" or "off".
 */
const char *bg_param_mode_name(void)
{
	return bg_mode_names[bg_param_mode()];
}

static int bg_param_mode_set(const char *val, const struct kernel_param *kp)
{
	int mode = sysfs_match_string(bg_mode_names, val);

	if (mode < 0) {
		pr_err("invalid mode '%.*s': expected enforce, audit or off\n",
		       (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	/*
	 * Before 5.19 nothing stands behind bindguard: a kernel driver bound
	 * into a user-owned group ends in vfio's BUG_ON, whenever the group
	 * was claimed. The veto stays armed in every mode (veto.c).
	 */
	if (!BG_NATIVE_DMA_OWNER && mode != BG_MODE_ENFORCE)
		pr_warn("mode %s: this kernel has no DMA-ownership check of its own (before 5.19), so binds into user-owned groups are still refused\n",
			bg_mode_names[mode]);
	WRITE_ONCE(bg_mode_value, mode);
	return 0;
}

static int bg_param_mode_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", bg_param_mode_name());
}

static const struct kernel_param_ops bg_mode_ops = {
	.set = bg_param_mode_set,
	.get = bg_param_mode_get,
};

module_param_cb(mode, &bg_mode_ops, NULL, 0644);
MODULE_PARM_DESC(mode, "enforce (refuse binds), audit (record only) or off; "
		 "before 5.19 audit and off still refuse (nothing else would); "
		 "writable at runtime; default enforce");

static bool bg_param_valid_driver_name(const char *s, size_t len)
{
	size_t i;

	if (!len || len >= BG_NAME_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* allow= is only set at load time (0444), before any reader runs. */
static int bg_param_allow_set(const char *val, const struct kernel_param *kp)
{
	/* too large for the stack; parameter writes are serialized */
	static char names[BG_ALLOW_MAX][BG_NAME_LEN];
	unsigned int count = 0;
	const char *p = val;

	while (*p && *p != '\n') {
		size_t len = strcspn(p, ",\n");

		if (count == BG_ALLOW_MAX || !bg_param_valid_driver_name(p, len)) {
			pr_err("invalid allow list '%.*s': up to %d comma-separated driver names\n",
			       (int)strcspn(val, "\n"), val, BG_ALLOW_MAX);
			return -EINVAL;
		}
		memcpy(names[count], p, len);
		names[count][len] = '\0';
		if (!BG_NATIVE_DMA_OWNER && !bg_viable_vfio_accepts(names[count])) {
			pr_err("invalid allow list: '%s' would end in vfio's BUG_ON on this kernel (before 5.19 only vfio drivers, pci-stub and pcieport may be bound in a held group)\n",
			       names[count]);
			return -EINVAL;
		}
		count++;
		p += len;
		if (*p == ',')
			p++;
	}
	memcpy(bg_allow_names, names, sizeof(names));
	bg_allow_count = count;
	return 0;
}

static int bg_param_allow_get(char *buf, const struct kernel_param *kp)
{
	int len = 0;
	unsigned int i;

	for (i = 0; i < bg_allow_count; i++)
		len += sysfs_emit_at(buf, len, "%s%s", i ? "," : "",
				     bg_allow_names[i]);
	return len + sysfs_emit_at(buf, len, "\n");
}

static const struct kernel_param_ops bg_allow_ops = {
	.set = bg_param_allow_set,
	.get = bg_param_allow_get,
};

module_param_cb(allow, &bg_allow_ops, NULL, 0444);
MODULE_PARM_DESC(allow, "drivers admitted into user-owned groups, up to "
		 __stringify(BG_ALLOW_MAX) " comma-separated names; "
		 "before 5.19 only vfio drivers, pci-stub and pcieport (others end in vfio's BUG_ON); "
		 "default vfio-pci,pci-stub,pcieport");

module_param_named(strict, bg_strict, bool, 0444);
MODULE_PARM_DESC(strict, "admit only the drivers in allow=, not every driver_managed_dma driver; default 0");

#define BG_MAXACTIVE_MAX 4096
static unsigned int bg_maxactive_value = 256;

static int bg_param_maxactive_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;

	if (kstrtouint(val, 0, &n) || !n || n > BG_MAXACTIVE_MAX) {
		pr_err("invalid maxactive '%.*s': expected 1 to %d\n",
		       (int)strcspn(val, "\n"), val, BG_MAXACTIVE_MAX);
		return -EINVAL;
	}
	bg_maxactive_value = n;
	return 0;
}

static const struct kernel_param_ops bg_maxactive_ops = {
	.set = bg_param_maxactive_set,
	.get = param_get_uint,
};

module_param_cb(maxactive, &bg_maxactive_ops, &bg_maxactive_value, 0444);
MODULE_PARM_DESC(maxactive, "1 to " __stringify(BG_MAXACTIVE_MAX)
		 ": calls each claim kretprobe follows at once (they sleep on the group's mutex); "
		 "a miss is logged and ownership re-read; default 256");

/**
 * bg_param_maxactive() - kretprobe instances per claim hook (maxactive=)
 *
 * Context: any.
 * Return: 1 to 4096.
 */
unsigned int bg_param_maxactive(void)
{
	return bg_maxactive_value;
}

/**
 * bg_param_allowed() - may @drv bind to a device of a user-owned group?
 * @drv: the driver about to probe
 *
 * Mirrors the kernel's own rule since 5.19 (really_probe() ->
 * pci_dma_configure() -> iommu_device_use_default_domain(), which only
 * drivers with driver_managed_dma skip), extended by the names in allow=;
 * with strict=1 only the names in allow= are admitted.
 *
 * Context: any, including the ftrace callback; no locks taken.
 * Return: true if the driver is admitted.
 */
bool bg_param_allowed(const struct device_driver *drv)
{
	unsigned int i;

	if (!bg_strict && bg_viable_managed_dma(drv))
		return true;
	for (i = 0; i < bg_allow_count; i++)
		if (!strcmp(drv->name, bg_allow_names[i]))
			return true;
	return false;
}
