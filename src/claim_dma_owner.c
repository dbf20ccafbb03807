// SPDX-License-Identifier: GPL-2.0
/*
 * claim_dma_owner.c - follow userspace's DMA-ownership claims and releases,
 * on kernels with DMA ownership in the iommu core (5.19+; built when the
 * iommu_dma_owner feature probe compiles, see Kbuild).
 *
 * vfio claims a group for userspace when a VFIO group is attached to a
 * container (vfio_container_attach_group() -> iommu_group_claim_dma_owner());
 * the vfio device cdev and iommufd claim single devices
 * (iommu_device_claim_dma_owner(), 6.2+, optional here). The claim is
 * released when the container or device fd is closed, also when the owner
 * process dies.
 *
 * A kretprobe per function: the entry handler marks a claim pending (a bind
 * racing the claim is already refused); the return handler commits it when
 * the call returned 0 and reverts it otherwise. Releases count down on
 * return. Handlers run in atomic context (preemption off, PREEMPT_RT
 * included): no sleeping, no sleeping lock (only raw spinlocks: owner.c,
 * events.c, refusal.c, scan.c), no allocation (a refusal's name record
 * comes from names.c's pool), no group reference get/put; what needs
 * process context is queued (scan.c, refusal.c, names.c). They redirect
 * nothing, and unregister_kretprobe() waits for them, so they follow
 * claims from the moment they are armed
 * (the load-time scan relies on it); only their reports ("not viable", the
 * kernel's own refusals) wait for bg_claim_live().
 *
 * A kretprobe misses calls when more than maxactive (a parameter) are
 * inside its function at once. Every return handler checks the counts of
 * misses, so a miss is seen as soon as one of the calls that crowded it out
 * returns: it is logged once, and the table is re-read from the kernel
 * (bg_scan_queue_all(), exact here). A call crowded out while the last
 * busy call's handler runs counts its miss after that check: so every
 * call, leaving, also pushes a check a moment later (bg_claim_recheck),
 * which sees it even if no call follows.
 *
 * A claim that fails with -EPERM or -EBUSY is reported like a "not viable"
 * answer to VFIO_GROUP_GET_STATUS (bg_notviable()): a client that
 * skips that question learns only the errno from the kernel.
 *
 * One more (optional): the kernel's own check,
 * iommu_device_use_default_domain() from really_probe() -> dma_configure.
 * A probe that passed the veto just before a claim began reaches it after
 * the claim: the kernel then refuses it with -EBUSY, silently. bindguard
 * records that refusal like its own, so that its count is every bind refused
 * because the group was owned; but a driver allow= admitted is the kernel's
 * refusal alone, and its log line says so.
 *
 * No lock of its own: the hooks array is written at init and exit only; the
 * state is owner.c's.
 */
#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/jump_label.h>
#include <linux/ptrace.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/workqueue.h>

#include "bindguard.h"

/* What the hooked function's first argument is. */
enum bg_claim_arg {
	BG_ARG_IOMMU_GROUP,	/* struct iommu_group * */
	BG_ARG_DEVICE,		/* struct device *, in the group */
};

enum bg_claim_kind {
	BG_CLAIM,		/* takes ownership */
	BG_RELEASE,		/* gives it back */
	BG_NATIVE_CHECK,	/* the kernel's own check at probe (5.19+) */
	BG_STATUS,		/* vfio asks whether a group is viable (5.19+) */
};

struct bg_claim_hook {
	enum bg_claim_arg arg;
	enum bg_claim_kind kind;
	bool optional;		/* absent on some kernels */
	bool registered;
	int missed_seen;	/* krp.nmissed already reported */
	struct kretprobe krp;
};

/* Per-call data, between the entry and the return handler. */
struct bg_claim_call {
	int id;			/* the IOMMU group's id */
	struct device *dev;	/* BG_ARG_DEVICE: the device */
};

/* The IOMMU group id the call is about, or -1 if it is not a claim. */
static int bg_claim_group_id(struct bg_claim_hook *h, struct pt_regs *regs)
{
	unsigned long arg = regs_get_kernel_argument(regs, 0);
	struct iommu_group *group = NULL;

	switch (h->arg) {
	case BG_ARG_IOMMU_GROUP:
		group = (struct iommu_group *)arg;
		break;
	case BG_ARG_DEVICE:
		group = arg ? READ_ONCE(((struct device *)arg)->iommu_group) : NULL;
		break;
	default:
		return -1;
	}
	return group ? iommu_group_id(group) : -1;
}

/* Reports wait for the last step of the load (bg_claim_live()). */
static DEFINE_STATIC_KEY_FALSE(bg_claim_key);

static struct bg_claim_hook *bg_claim_hook_of(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct bg_claim_hook, krp);
}

static void bg_claim_check_missed(void);

static void bg_claim_recheck_fn(struct work_struct *work)
{
	bg_claim_check_missed();
}

static DECLARE_DELAYED_WORK(bg_claim_recheck, bg_claim_recheck_fn);

/*
 * A call gives its instance back (after its handlers): a call crowded out
 * this very moment counts its miss after this call's check, so check again
 * a moment later (each call pushes the check on). Any context.
 */
static void bg_claim_leave(void)
{
	mod_delayed_work(system_wq, &bg_claim_recheck, HZ / 10 + 1);
}

static int bg_claim_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct bg_claim_hook *h = bg_claim_hook_of(ri);
	struct bg_claim_call *call = (void *)ri->data;

	/* reports, not yet live; or bindguard's own question (scan.c) */
	if (h->kind >= BG_NATIVE_CHECK &&
	    (!static_branch_likely(&bg_claim_key) || bg_scan_own_query()))
		goto skip;
	call->id = bg_claim_group_id(h, regs);
	if (call->id < 0)
		goto skip;	/* not a claim */
	call->dev = (struct device *)regs_get_kernel_argument(regs, 0);
	if (h->kind == BG_CLAIM)
		bg_owner_claim_begin(call->id, false);
	return 0;

skip:
	bg_claim_leave();
	return 1;	/* skip the return handler */
}

static int bg_claim_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct bg_claim_hook *h = bg_claim_hook_of(ri);
	struct bg_claim_call *call = (void *)ri->data;
	/* every hooked function returns int (or void): the low 32 bits */
	int ret = (int)regs_return_value(regs);
	struct device_driver *drv;

	switch (h->kind) {
	case BG_CLAIM:
		/* its release overtook the commit: the kernel's answer is exact */
		if (bg_owner_claim_end(call->id, ret == 0))
			bg_scan_queue_group(call->id);
		/*
		 * A client that skipped VFIO_GROUP_GET_STATUS learns it here:
		 * -EPERM while a kernel driver holds the group (owner_cnt),
		 * -EBUSY for a foreign domain. Say which members block it.
		 */
		if ((ret == -EPERM || ret == -EBUSY) &&
		    static_branch_likely(&bg_claim_key))
			bg_notviable(call->id);
		break;
	case BG_RELEASE:
		/*
		 * Ask the kernel again about a group whose count
		 * may be wrong: device claims bindguard found at load (not
		 * counted) may remain, a missed release be counted as held.
		 * That group only: a release costs nothing more when the
		 * kernel said the group was free since it was last found
		 * owned (every claim since was seen, or a miss is reported).
		 */
		if (bg_owner_release(call->id))
			bg_scan_queue_group(call->id);
		break;
	case BG_NATIVE_CHECK:
		/*
		 * really_probe() has set dev->driver to the probing driver.
		 * -EBUSY has other causes (a kernel driver's own domain,
		 * PASIDs): only a group bindguard holds as user-owned counts.
		 */
		drv = READ_ONCE(call->dev->driver);
		if (ret != -EBUSY || !drv || bg_param_mode() != BG_MODE_ENFORCE ||
		    !bg_owner_dev_user(call->dev))
			break;
		/*
		 * A driver in allow= passed the veto on purpose: the refusal
		 * is the kernel's, not bindguard's. Say so; count nothing.
		 */
		if (bg_param_allowed(drv))
			bg_refusal_kernel_refused(call->dev, drv, call->id);
		else
			bg_refusal_bind(call->dev, drv, false, false);
		break;
	case BG_STATUS:
		/* bool: only the low byte is defined */
		if ((u8)regs_return_value(regs))
			bg_notviable(call->id);
		break;
	}
	bg_claim_check_missed();
	bg_claim_leave();
	return 0;
}

#define BG_CLAIM_HOOK(_sym, _arg, _kind, _opt) {			\
	.arg = _arg, .kind = _kind, .optional = _opt,			\
	.krp = {							\
		.kp.symbol_name = _sym,					\
		.entry_handler = bg_claim_entry,			\
		.handler = bg_claim_return,				\
		.data_size = sizeof(struct bg_claim_call),		\
	},								\
}

static struct bg_claim_hook bg_claim_hooks[] = {
	BG_CLAIM_HOOK("iommu_group_claim_dma_owner", BG_ARG_IOMMU_GROUP, BG_CLAIM, false),
	BG_CLAIM_HOOK("iommu_group_release_dma_owner", BG_ARG_IOMMU_GROUP, BG_RELEASE, false),
	BG_CLAIM_HOOK("iommu_device_claim_dma_owner", BG_ARG_DEVICE, BG_CLAIM, true),
	BG_CLAIM_HOOK("iommu_device_release_dma_owner", BG_ARG_DEVICE, BG_RELEASE, true),
	BG_CLAIM_HOOK("iommu_device_use_default_domain", BG_ARG_DEVICE, BG_NATIVE_CHECK, true),
	/* vfio's VFIO_GROUP_GET_STATUS: a group is viable unless this is true */
	BG_CLAIM_HOOK("iommu_group_dma_owner_claimed", BG_ARG_IOMMU_GROUP, BG_STATUS, true),
};

/*
 * Report kretprobe misses and re-read the table. Any context: the handlers
 * and bg_claim_recheck race to report a count, one wins.
 */
static void bg_claim_check_missed(void)
{
	struct bg_claim_hook *h;
	int missed, seen;

	for (h = bg_claim_hooks; h < bg_claim_hooks + ARRAY_SIZE(bg_claim_hooks); h++) {
		if (!READ_ONCE(h->registered))
			continue;
		/* the newest count wins; an older one lost to it */
		seen = READ_ONCE(h->missed_seen);
		do {
			missed = READ_ONCE(h->krp.nmissed);
			if (missed == seen)
				break;
		} while (!try_cmpxchg(&h->missed_seen, &seen, missed));
		if (missed == seen)
			continue;
		pr_warn_ratelimited("%s: %d calls missed (maxactive=%u): re-reading DMA ownership from the kernel\n",
				    h->krp.kp.symbol_name, missed, bg_param_maxactive());
		bg_scan_queue_all();
	}
}

/**
 * bg_claim_show() - print the hooks for debugfs "hooks"
 * @m: the seq_file
 *
 * One line per claim hook registered now: "function kind missed", kind one
 * of claim, release, native-check, status; missed is the kretprobe's count
 * of missed calls.
 *
 * Context: process.
 */
void bg_claim_show(struct seq_file *m)
{
	static const char * const kinds[] = {
		[BG_CLAIM] = "claim",
		[BG_RELEASE] = "release",
		[BG_NATIVE_CHECK] = "native-check",
		[BG_STATUS] = "status",
	};
	struct bg_claim_hook *h;

	for (h = bg_claim_hooks; h < bg_claim_hooks + ARRAY_SIZE(bg_claim_hooks); h++) {
		if (h->registered)
			seq_printf(m, "%s %s %d\n", h->krp.kp.symbol_name,
				   kinds[h->kind], READ_ONCE(h->krp.nmissed));
	}
}

static void bg_claim_unregister(void)
{
	struct bg_claim_hook *h;

	for (h = bg_claim_hooks; h < bg_claim_hooks + ARRAY_SIZE(bg_claim_hooks); h++) {
		if (!h->registered)
			continue;
		unregister_kretprobe(&h->krp);
		if (h->krp.nmissed)
			pr_warn("%s: %d calls missed\n", h->krp.kp.symbol_name,
				h->krp.nmissed);
		h->registered = false;
	}
}

static int bg_claim_register(void)
{
	struct bg_claim_hook *h;
	int ret;

	for (h = bg_claim_hooks; h < bg_claim_hooks + ARRAY_SIZE(bg_claim_hooks); h++) {
		h->krp.maxactive = bg_param_maxactive();
		ret = register_kretprobe(&h->krp);
		/* Only a missing symbol means "no such claims here". */
		if (ret == -ENOENT && h->optional) {
			pr_info("%s not hooked: this kernel has no such function\n",
				h->krp.kp.symbol_name);
			continue;
		}
		if (ret) {
			pr_err("cannot hook %s: %d\n", h->krp.kp.symbol_name, ret);
			bg_claim_unregister();
			cancel_delayed_work_sync(&bg_claim_recheck);
			return ret;
		}
		h->registered = true;
	}
	return 0;
}

/**
 * bg_claim_init() - register the claim and release kretprobes
 *
 * Hooks a kernel lacks are skipped when optional (device claims, 6.2+).
 *
 * Context: process (module init); sleeps.
 * Return: 0, or the error of a required hook's register_kretprobe().
 */
int bg_claim_init(void)
{
	return bg_claim_register();
}

/**
 * bg_claim_live() - let the kretprobes report, or not
 * @live: report (the last step of the load) or not (the first of the exit)
 *
 * Claims and releases are followed from arming on, live or not.
 *
 * Context: process; sleeps (static key update). Cannot fail.
 */
void bg_claim_live(bool live)
{
	if (live)
		static_branch_enable(&bg_claim_key);
	else
		static_branch_disable(&bg_claim_key);
}

/**
 * bg_claim_exit() - unregister every claim and release kretprobe
 *
 * Waits for running handlers.
 *
 * Context: process; sleeps.
 */
void bg_claim_exit(void)
{
	bg_claim_unregister();
	/* no handler is left to queue it */
	cancel_delayed_work_sync(&bg_claim_recheck);
}
