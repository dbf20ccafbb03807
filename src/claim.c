// SPDX-License-Identifier: GPL-2.0
/*
 * claim.c - follow userspace's DMA-ownership claims and releases.
 *
 * Since 5.19 (drivers/iommu/iommu.c): vfio claims a group for userspace when
 * a VFIO group is attached to a container (vfio_container_attach_group() ->
 * iommu_group_claim_dma_owner()); the vfio device cdev and iommufd claim
 * single devices (iommu_device_claim_dma_owner(), 6.2+, optional here). The
 * claim is released when the container or device fd is closed, also when the
 * owner process dies.
 *
 * Before 5.19 (drivers/vfio/vfio.c, in vfio.ko): vfio's BUG_ON fires as soon
 * as a group's container_users is non-zero, which VFIO_GROUP_SET_CONTAINER
 * makes it (vfio_group_set_container() is inlined into the group fd's ioctl);
 * __vfio_group_unset_container() ends it, for the ioctl, the last fd and
 * KVM's external users alike. These hooks are armed while vfio is loaded.
 *
 * A kretprobe per function: the entry handler marks a claim pending (a bind
 * racing the claim is already refused); the return handler commits it when
 * the call returned 0 and reverts it otherwise. Releases count down on
 * return. Handlers run in atomic context: no sleeping, no allocation, no
 * group reference get/put.
 *
 * One more (5.19+, optional): the kernel's own check,
 * iommu_device_use_default_domain() from really_probe() -> dma_configure.
 * A probe that passed the veto just before a claim began reaches it after
 * the claim: the kernel then refuses it with -EBUSY, silently. bindguard
 * records that refusal like its own, so that its count is every bind refused
 * because the group was owned.
 */
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/ptrace.h>
#include <linux/vfio.h>

#include "bindguard.h"

/* What the hooked function's first argument is. */
enum bg_claim_arg {
	BG_ARG_IOMMU_GROUP,	/* struct iommu_group * */
	BG_ARG_DEVICE,		/* struct device *, in the group */
	BG_ARG_VFIO_GROUP,	/* struct vfio_group * (before 5.19) */
	BG_ARG_VFIO_GROUP_FILE,	/* a VFIO group fd; ioctl cmd second (before 5.19) */
};

enum bg_claim_kind {
	BG_CLAIM,		/* takes ownership */
	BG_RELEASE,		/* gives it back */
	BG_NATIVE_CHECK,	/* the kernel's own check at probe (5.19+) */
};

struct bg_claim_hook {
	enum bg_claim_arg arg;
	enum bg_claim_kind kind;
	bool optional;		/* absent on some kernels */
	bool registered;
	struct kretprobe krp;
};

/* Per-call data, between the entry and the return handler. */
struct bg_claim_call {
	int id;			/* the IOMMU group's id */
	struct device *dev;	/* BG_ARG_DEVICE: the device */
};

#ifndef HAVE_IOMMU_DMA_OWNER
/* vfio_external_user_iommu_id() while vfio is loaded; see bg_vfio_arm(). */
static int (*bg_vfio_group_id)(struct vfio_group *group);
#endif

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
#ifndef HAVE_IOMMU_DMA_OWNER
	case BG_ARG_VFIO_GROUP_FILE:
		if (regs_get_kernel_argument(regs, 1) != VFIO_GROUP_SET_CONTAINER)
			return -1;
		arg = (unsigned long)((struct file *)arg)->private_data;
		fallthrough;
	case BG_ARG_VFIO_GROUP:
		return arg ? bg_vfio_group_id((struct vfio_group *)arg) : -1;
#endif
	default:
		return -1;
	}
	return group ? iommu_group_id(group) : -1;
}

static struct bg_claim_hook *bg_hook_of(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct bg_claim_hook, krp);
}

static int bg_claim_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct bg_claim_hook *h = bg_hook_of(ri);
	struct bg_claim_call *call = (void *)ri->data;

	call->id = bg_claim_group_id(h, regs);
	if (call->id < 0)
		return 1;	/* not a claim: skip the return handler */
	call->dev = (struct device *)regs_get_kernel_argument(regs, 0);
	if (h->kind == BG_CLAIM)
		bg_claim_begin(call->id);
	return 0;
}

static int bg_claim_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct bg_claim_call *call = (void *)ri->data;
	/* every hooked function returns int (or void): the low 32 bits */
	int ret = (int)regs_return_value(regs);
	struct device_driver *drv;

	switch (bg_hook_of(ri)->kind) {
	case BG_CLAIM:
		bg_claim_end(call->id, ret == 0);
		break;
	case BG_RELEASE:
		bg_claim_release(call->id);
		break;
	case BG_NATIVE_CHECK:
		/* really_probe() has set dev->driver to the probing driver. */
		drv = READ_ONCE(call->dev->driver);
		if (ret == -EBUSY && drv && bg_mode() == BG_MODE_ENFORCE)
			bg_record_refusal(call->dev, drv, false);
		break;
	}
	return 0;
}

#define BG_CLAIM_HOOK(_sym, _arg, _kind, _opt) {			\
	.arg = _arg, .kind = _kind, .optional = _opt,			\
	.krp = {							\
		.kp.symbol_name = _sym,					\
		.entry_handler = bg_claim_entry,			\
		.handler = bg_claim_return,				\
		.data_size = sizeof(struct bg_claim_call),		\
		.maxactive = 64,					\
	},								\
}

#ifdef HAVE_IOMMU_DMA_OWNER
static struct bg_claim_hook bg_claim_hooks[] = {
	BG_CLAIM_HOOK("iommu_group_claim_dma_owner", BG_ARG_IOMMU_GROUP, BG_CLAIM, false),
	BG_CLAIM_HOOK("iommu_group_release_dma_owner", BG_ARG_IOMMU_GROUP, BG_RELEASE, false),
	BG_CLAIM_HOOK("iommu_device_claim_dma_owner", BG_ARG_DEVICE, BG_CLAIM, true),
	BG_CLAIM_HOOK("iommu_device_release_dma_owner", BG_ARG_DEVICE, BG_RELEASE, true),
	BG_CLAIM_HOOK("iommu_device_use_default_domain", BG_ARG_DEVICE, BG_NATIVE_CHECK, true),
};
#else
static struct bg_claim_hook bg_claim_hooks[] = {
	BG_CLAIM_HOOK("vfio_group_fops_unl_ioctl", BG_ARG_VFIO_GROUP_FILE, BG_CLAIM, false),
	BG_CLAIM_HOOK("__vfio_group_unset_container", BG_ARG_VFIO_GROUP, BG_RELEASE, false),
};
#endif

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
		/* Ready to be registered again (vfio reloaded). */
		h->krp.kp.addr = NULL;
		h->krp.kp.flags = 0;
		h->krp.nmissed = 0;
		h->registered = false;
	}
}

static int bg_claim_register(void)
{
	struct bg_claim_hook *h;
	int ret;

	for (h = bg_claim_hooks; h < bg_claim_hooks + ARRAY_SIZE(bg_claim_hooks); h++) {
		ret = register_kretprobe(&h->krp);
		if (ret && h->optional) {
			pr_info("%s not hooked (%d): this kernel has no such claims\n",
				h->krp.kp.symbol_name, ret);
			continue;
		}
		if (ret) {
			pr_err("cannot hook %s: %d\n", h->krp.kp.symbol_name, ret);
			bg_claim_unregister();
			return ret;
		}
		h->registered = true;
	}
	return 0;
}

#ifdef HAVE_IOMMU_DMA_OWNER
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
 * bg_claim_exit() - unregister every claim and release kretprobe
 *
 * Waits for running handlers.
 *
 * Context: process; sleeps.
 */
void bg_claim_exit(void)
{
	bg_claim_unregister();
}
#else
static DEFINE_MUTEX(bg_vfio_mutex);	/* arming and disarming */

/* Arm the hooks in vfio.ko, if it is loaded. Caller holds bg_vfio_mutex. */
static int bg_vfio_arm(void)
{
	int (*id_fn)(struct vfio_group *group);
	int ret;

	if (bg_vfio_group_id)
		return 0;
	/*
	 * Resolve without keeping a reference, so that vfio can be unloaded:
	 * the pointer is dropped at MODULE_STATE_GOING, and no group fd (so
	 * no hooked call) outlives vfio.
	 */
	id_fn = symbol_get(vfio_external_user_iommu_id);
	if (!id_fn)
		return -ENOENT;
	symbol_put(vfio_external_user_iommu_id);
	bg_vfio_group_id = id_fn;
	ret = bg_claim_register();
	if (ret)
		bg_vfio_group_id = NULL;
	return ret;
}

static void bg_vfio_disarm(void)
{
	bg_claim_unregister();
	bg_vfio_group_id = NULL;
}

static int bg_module_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	struct module *mod = data;

	if (strcmp(mod->name, "vfio"))
		return NOTIFY_DONE;
	mutex_lock(&bg_vfio_mutex);
	if (action == MODULE_STATE_LIVE) {
		if (bg_vfio_arm())
			pr_err("vfio loaded, but its container hooks cannot be armed: ownership is not followed\n");
		else
			pr_info("vfio loaded: following its containers\n");
	} else if (action == MODULE_STATE_GOING) {
		bg_vfio_disarm();
	}
	mutex_unlock(&bg_vfio_mutex);
	return NOTIFY_DONE;
}

static struct notifier_block bg_module_nb = {
	.notifier_call = bg_module_notify,
};

/**
 * bg_claim_init() - follow VFIO containers (before 5.19)
 *
 * Arms kretprobes in vfio.ko now if vfio is loaded, and again whenever it is
 * loaded (a module notifier).
 *
 * Context: process (module init); sleeps.
 * Return: 0, or the error of register_module_notifier() or of a hook.
 */
int bg_claim_init(void)
{
	int ret = register_module_notifier(&bg_module_nb);

	if (ret)
		return ret;
	mutex_lock(&bg_vfio_mutex);
	ret = bg_vfio_arm();
	mutex_unlock(&bg_vfio_mutex);
	if (ret == -ENOENT) {
		pr_info("vfio is not loaded: its containers are followed once it loads\n");
		ret = 0;
	}
	if (ret)
		unregister_module_notifier(&bg_module_nb);
	return ret;
}

/**
 * bg_claim_exit() - stop following VFIO containers
 *
 * Context: process; sleeps.
 */
void bg_claim_exit(void)
{
	unregister_module_notifier(&bg_module_nb);
	mutex_lock(&bg_vfio_mutex);
	bg_vfio_disarm();
	mutex_unlock(&bg_vfio_mutex);
}
#endif
