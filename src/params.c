// SPDX-License-Identifier: GPL-2.0
/*
 * params.c - the module parameters: mode=, allow=, strict= and maxactive=
 * (reserve= is reserve.c's), and the values refused at load.
 *
 * At run time (a write to mode, the only writable one) a bad value fails
 * with -EINVAL and one log line; the old value stays. At load a bad value
 * never fails the load: a typo in /etc/modprobe.d would boot the host
 * without bindguard, less protected than with any reading of it. It is
 * refused with one log line naming it and what is used instead, listed in
 * /sys/kernel/bindguard/config_errors (bg_param_errors()), and the safest
 * reading stands in: mode enforce, strict 1 (it only refuses more),
 * maxactive its default; from a list (allow=, reserve=) only the bad
 * entries are left out.
 *
 * Load or run time: the kernel parses a module's parameters before its
 * init runs and creates their sysfs files after parsing; init's first step
 * (bg_param_init()) ends the load under the parameters' lock, which every
 * set below runs under. A write in the instant between the files' creation
 * and init counts as at load: a bad value there still ends in enforce.
 * The refused values are written at load only, read-only afterwards.
 */
#include <linux/ctype.h>
#include <linux/device/driver.h>
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/stringify.h>

#include "bindguard.h"

#define BG_ALLOW_MAX 16

/* refused values listed (and logged); more are counted */
#define BG_PARAM_ERRORS 16
/* an escaped refused value: longer ones are cut with "..." */
#define BG_PARAM_SHOWN 96

struct bg_param_error {
	const char *param;
	const char *reason;
	char instead[12];	/* "enforce", "4096", "-" */
	char value[BG_PARAM_SHOWN];
};

static struct bg_param_error bg_param_errs[BG_PARAM_ERRORS];
static unsigned int bg_param_nerrors;
static bool bg_param_loaded;	/* kernel_param_lock(THIS_MODULE) */

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
 * bg_param_refuse() - refuse a bad value at load: one log line, one record
 * @param:   the parameter's name
 * @reason:  a word for config_errors: "invalid", "over-limit" or "unsafe"
 * @val:     the value, or one entry of a list; NULL for none
 * @len:     its length
 * @why:     what was expected, for the log line
 * @instead: what is used instead ("enforce", "256"), "-" for an entry
 *           left out of its list
 *
 * The first BG_PARAM_ERRORS refusals are logged and listed; the others are
 * counted (bg_param_init() logs how many). A later value of the same
 * parameter replaces what stands instead (bg_param_stands()).
 *
 * Context: process, at load only, before module init (the parameters are
 * parsed one at a time).
 */
void bg_param_refuse(const char *param, const char *reason, const char *val,
		     size_t len, const char *why, const char *instead)
{
	/* longer than the escaped form holds: a cut value shows "..." */
	char s[BG_PARAM_SHOWN + 8];
	struct bg_param_error *e;

	if (bg_param_nerrors++ >= BG_PARAM_ERRORS)
		return;
	e = &bg_param_errs[bg_param_nerrors - 1];
	len = val ? min(len, sizeof(s) - 1) : 0;
	if (len)
		memcpy(s, val, len);
	s[len] = '\0';
	bg_names_escape(e->value, sizeof(e->value), s);
	e->param = param;
	e->reason = reason;
	strscpy(e->instead, instead, sizeof(e->instead));
	if (strcmp(instead, "-"))
		pr_err("refused %s value '%s' at load: %s; using %s\n",
		       param, e->value, why, instead);
	else
		pr_err("refused %s value '%s' at load: %s; left out\n",
		       param, e->value, why);
}

/*
 * bg_param_stands() - a one-value parameter set at load: what stands now
 * @param: "mode", "strict" or "maxactive"
 * @value: its value as config_errors shows it
 * @valid: @value was given (not the safe reading of a refused one)
 *
 * The last value given wins (the kernel sets them in order): after
 * "mode=bogus mode=audit" audit stands, not the enforce that replaced
 * bogus, and config_errors says so ("mode invalid bogus audit"); one line
 * says so when a valid value replaced what a refused one left.
 *
 * Context: process, at load only, under kernel_param_lock(THIS_MODULE).
 */
static void bg_param_stands(const char *param, const char *value, bool valid)
{
	unsigned int i, n = min_t(unsigned int, bg_param_nerrors, BG_PARAM_ERRORS);
	bool changed = false;

	lockdep_assert_held(&THIS_MODULE->param_lock);
	for (i = 0; i < n; i++)
		if (!strcmp(bg_param_errs[i].param, param) &&
		    strcmp(bg_param_errs[i].instead, value)) {
			strscpy(bg_param_errs[i].instead, value,
				sizeof(bg_param_errs[i].instead));
			changed = true;
		}
	if (changed && valid)
		pr_info("%s: a later value stands: %s\n", param, value);
}

/**
 * bg_param_entry() - the next entry of a comma-separated list
 * @p:   where the list goes on; moved past the entry and its comma
 * @len: set to the entry's length, blanks (newlines too) around it trimmed
 *
 * Context: any.
 * Return: the entry's first byte, or NULL at the end of the list.
 */
const char *bg_param_entry(const char **p, size_t *len)
{
	const char *s = *p, *e;

	if (!*s)
		return NULL;
	e = s + strcspn(s, ",");
	*p = *e ? e + 1 : e;
	while (s < e && isspace(*s))
		s++;
	while (e > s && isspace(e[-1]))
		e--;
	*len = e - s;
	return s;
}

/**
 * bg_param_errors() - the values refused at load, for config_errors
 * @buf: a sysfs buffer (PAGE_SIZE)
 *
 * One line per refused value, "param reason value instead" (the value
 * escaped as names are), then "# N more refused" past BG_PARAM_ERRORS.
 *
 * Context: process, after load (the records no longer change).
 * Return: the bytes written, 0 when nothing was refused.
 */
int bg_param_errors(char *buf)
{
	unsigned int i, n = min_t(unsigned int, bg_param_nerrors, BG_PARAM_ERRORS);
	int len = 0;

	for (i = 0; i < n; i++)
		len += sysfs_emit_at(buf, len, "%s %s %s %s\n", bg_param_errs[i].param,
				     bg_param_errs[i].reason, bg_param_errs[i].value,
				     bg_param_errs[i].instead);
	if (bg_param_nerrors > n)
		len += sysfs_emit_at(buf, len, "# %u more refused\n", bg_param_nerrors - n);
	return len;
}

/**
 * bg_param_init() - the load is over: from now on a bad value is -EINVAL
 *
 * Context: process (module init, its first step).
 * Return: 0.
 */
int bg_param_init(void)
{
	kernel_param_lock(THIS_MODULE);
	bg_param_loaded = true;
	kernel_param_unlock(THIS_MODULE);
	if (bg_param_nerrors > BG_PARAM_ERRORS)
		pr_err("refused %u more values at load (not logged, not listed)\n",
		       bg_param_nerrors - BG_PARAM_ERRORS);
	return 0;
}

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
	int mode = val ? sysfs_match_string(bg_mode_names, val) : -EINVAL;
	bool bad;

	/* the kernel sets a parameter under its module's kernel_param_lock() */
	lockdep_assert_held(&THIS_MODULE->param_lock);
	if (mode < 0 && bg_param_loaded) {
		pr_err("invalid mode '%.*s': expected enforce, audit or off\n",
		       (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	bad = mode < 0;
	if (bad)
		mode = BG_MODE_ENFORCE;
	if (!bg_param_loaded)
		bg_param_stands("mode", bg_mode_names[mode], !bad);
	if (bad)
		bg_param_refuse("mode", "invalid", val, val ? strlen(val) : 0,
				"expected enforce, audit or off", "enforce");
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

/* NOARG: without it a bare "mode" would fail the load in the kernel's parser */
static const struct kernel_param_ops bg_mode_ops = {
	.flags = KERNEL_PARAM_OPS_FL_NOARG,
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

/*
 * allow= is only set at load (0444), before any reader runs. A bad entry
 * is left out and the valid ones kept, not the default list put back: a
 * name only ever admits, so the admin's valid names admit a part of what
 * was asked for, while the default could admit a driver left out on
 * purpose (pci-stub, with strict=1). An empty list is valid: it admits
 * least.
 */
static int bg_param_allow_set(const char *val, const struct kernel_param *kp)
{
	/*
	 * too large for the stack; parameters are set one at a time at load.
	 * One row more than kept: where the next name is looked at.
	 */
	static char names[BG_ALLOW_MAX + 1][BG_NAME_LEN];
	unsigned int count = 0, i;
	const char *p = val, *s;
	size_t len;

	if (!val) {
		bg_param_refuse("allow", "invalid", NULL, 0,
				"expected comma-separated driver names", "-");
		return 0;
	}
	while ((s = bg_param_entry(&p, &len))) {
		if (!len)
			continue;
		if (!bg_param_valid_driver_name(s, len)) {
			bg_param_refuse("allow", "invalid", s, len,
					"expected a driver name", "-");
			continue;
		}
		memcpy(names[count], s, len);
		names[count][len] = '\0';
		for (i = 0; i < count && strcmp(names[i], names[count]); i++)
			;
		if (i < count)
			continue;	/* named twice */
		if (!BG_NATIVE_DMA_OWNER && !bg_viable_vfio_accepts(names[count])) {
			bg_param_refuse("allow", "unsafe", s, len,
					"would end in vfio's BUG_ON before 5.19 (only vfio drivers, pci-stub and pcieport)",
					"-");
			continue;
		}
		if (count == BG_ALLOW_MAX) {
			bg_param_refuse("allow", "over-limit", s, len,
					"more than " __stringify(BG_ALLOW_MAX) " names", "-");
			continue;
		}
		count++;
	}
	memcpy(bg_allow_names, names, sizeof(bg_allow_names));
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
	.flags = KERNEL_PARAM_OPS_FL_NOARG,
	.set = bg_param_allow_set,
	.get = bg_param_allow_get,
};

module_param_cb(allow, &bg_allow_ops, NULL, 0444);
MODULE_PARM_DESC(allow, "drivers admitted into user-owned groups, up to "
		 __stringify(BG_ALLOW_MAX) " comma-separated names; "
		 "before 5.19 only vfio drivers, pci-stub and pcieport (others end in vfio's BUG_ON); "
		 "default vfio-pci,pci-stub,pcieport");

/*
 * strict= is only set at load (0444). Its spellings are the kernel's for a
 * bool, whole: kstrtobool() alone reads "nonsense" as 0. A bad one reads 1,
 * which refuses every bind 0 refuses, and more.
 */
static const char * const bg_strict_words[] = {
	"0", "1", "n", "y", "N", "Y", "no", "yes", "off", "on",
};

static int bg_param_strict_set(const char *val, const struct kernel_param *kp)
{
	bool on = true;		/* a bare "strict", as for any bool */
	bool bad = val && (sysfs_match_string(bg_strict_words, val) < 0 ||
			   kstrtobool(val, &on));

	if (bad)
		on = true;
	bg_param_stands("strict", on ? "1" : "0", !bad);
	if (bad)
		bg_param_refuse("strict", "invalid", val, strlen(val),
				"expected 0 or 1 (n, y, no, yes, off, on)", "1");
	bg_strict = on;
	return 0;
}

static const struct kernel_param_ops bg_strict_ops = {
	.flags = KERNEL_PARAM_OPS_FL_NOARG,
	.set = bg_param_strict_set,
	.get = param_get_bool,
};

module_param_cb(strict, &bg_strict_ops, &bg_strict, 0444);
MODULE_PARM_DESC(strict, "admit only the drivers in allow=, not every driver_managed_dma driver; default 0");

#define BG_MAXACTIVE_MAX 4096
#define BG_MAXACTIVE_DEFAULT 256
static unsigned int bg_maxactive_value = BG_MAXACTIVE_DEFAULT;

/* maxactive= is only set at load (0444); a bad value reads the default */
static int bg_param_maxactive_set(const char *val, const struct kernel_param *kp)
{
	char shown[12];
	unsigned int n;
	bool bad = !val || kstrtouint(val, 0, &n) || !n || n > BG_MAXACTIVE_MAX;

	if (bad)
		n = BG_MAXACTIVE_DEFAULT;
	snprintf(shown, sizeof(shown), "%u", n);
	bg_param_stands("maxactive", shown, !bad);
	if (bad)
		bg_param_refuse("maxactive", "invalid", val, val ? strlen(val) : 0,
				"expected 1 to " __stringify(BG_MAXACTIVE_MAX),
				__stringify(BG_MAXACTIVE_DEFAULT));
	bg_maxactive_value = n;
	return 0;
}

static const struct kernel_param_ops bg_maxactive_ops = {
	.flags = KERNEL_PARAM_OPS_FL_NOARG,
	.set = bg_param_maxactive_set,
	.get = param_get_uint,
};

module_param_cb(maxactive, &bg_maxactive_ops, &bg_maxactive_value, 0444);
MODULE_PARM_DESC(maxactive, "1 to " __stringify(BG_MAXACTIVE_MAX)
		 ": calls each claim kretprobe follows at once (they sleep on the group's mutex); "
		 "a miss is logged and ownership re-read; default "
		 __stringify(BG_MAXACTIVE_DEFAULT));

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
