// SPDX-License-Identifier: GPL-2.0
/*
 * claim.c - follow userspace's DMA-ownership claims and releases.
 *
 * vfio claims a group for userspace when a VFIO group is attached to a
 * container (vfio_container_attach_group() -> iommu_group_claim_dma_owner(),
 * drivers/iommu/iommu.c, 5.19+); the vfio device cdev and iommufd claim single
 * devices (iommu_device_claim_dma_owner(), 6.2+, optional here). The claim is
 * released when the container or device fd is closed, also when the owner
 * process dies.
 *
 * A kretprobe per function: the entry handler marks a claim pending (a bind
 * racing the claim is already refused); the return handler commits it when
 * the call returned 0 and reverts it otherwise. Releases count down on
 * return. Handlers run in atomic context: no sleeping, no allocation, no
 * group reference get/put.
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/kprobes.h>
#include <linux/ptrace.h>

#include "bindguard.h"

struct bg_claim_hook {
	bool device_arg;	/* first argument is a struct device * */
	bool release;
	bool optional;		/* absent on older kernels */
	bool registered;
	struct kretprobe krp;
};

/* Per-call data, between the entry and the return handler. */
struct bg_claim_call {
	struct iommu_group *group;
};

static struct bg_claim_hook *bg_hook_of(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct bg_claim_hook, krp);
}

static int bg_claim_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct bg_claim_hook *h = bg_hook_of(ri);
	struct bg_claim_call *call = (void *)ri->data;
	unsigned long arg = regs_get_kernel_argument(regs, 0);

	if (h->device_arg)
		call->group = arg ? READ_ONCE(((struct device *)arg)->iommu_group) : NULL;
	else
		call->group = (struct iommu_group *)arg;
	if (!call->group)
		return 1;	/* nothing to follow: skip the return handler */
	if (!h->release)
		bg_claim_begin(call->group);
	return 0;
}

static int bg_claim_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct bg_claim_call *call = (void *)ri->data;

	if (bg_hook_of(ri)->release)
		bg_claim_release(call->group);
	else
		bg_claim_end(call->group, regs_return_value(regs) == 0);
	return 0;
}

#define BG_CLAIM_HOOK(_sym, _dev, _rel, _opt) {			\
	.device_arg = _dev, .release = _rel, .optional = _opt,		\
	.krp = {							\
		.kp.symbol_name = _sym,					\
		.entry_handler = bg_claim_entry,			\
		.handler = bg_claim_return,				\
		.data_size = sizeof(struct bg_claim_call),		\
		.maxactive = 64,					\
	},								\
}

static struct bg_claim_hook bg_claim_hooks[] = {
	BG_CLAIM_HOOK("iommu_group_claim_dma_owner", false, false, false),
	BG_CLAIM_HOOK("iommu_group_release_dma_owner", false, true, false),
	BG_CLAIM_HOOK("iommu_device_claim_dma_owner", true, false, true),
	BG_CLAIM_HOOK("iommu_device_release_dma_owner", true, true, true),
};

/**
 * bg_claim_exit() - unregister every claim and release kretprobe
 *
 * Waits for running handlers.
 *
 * Context: process; sleeps.
 */
void bg_claim_exit(void)
{
	struct bg_claim_hook *h;

	for (h = bg_claim_hooks; h < bg_claim_hooks + ARRAY_SIZE(bg_claim_hooks); h++) {
		if (!h->registered)
			continue;
		unregister_kretprobe(&h->krp);
		if (h->krp.nmissed)
			pr_warn("%s: %d calls missed\n", h->krp.kp.symbol_name, h->krp.nmissed);
		h->registered = false;
	}
}

/**
 * bg_claim_init() - register the claim and release kretprobes
 *
 * Hooks a kernel lacks are skipped when optional (device claims, 6.2+).
 * On kernels without DMA ownership in the driver core (before 5.19) there is
 * nothing to hook here and ownership is not followed.
 *
 * Context: process (module init); sleeps.
 * Return: 0, or the error of a required hook's register_kretprobe().
 */
int bg_claim_init(void)
{
	struct bg_claim_hook *h;
	int ret;

	if (!BG_NATIVE_DMA_OWNER) {
		pr_warn("this kernel has no DMA ownership API (5.19+): ownership is not followed\n");
		return 0;
	}
	for (h = bg_claim_hooks; h < bg_claim_hooks + ARRAY_SIZE(bg_claim_hooks); h++) {
		ret = register_kretprobe(&h->krp);
		if (ret && h->optional) {
			pr_info("%s not hooked (%d): this kernel has no such claims\n",
				h->krp.kp.symbol_name, ret);
			continue;
		}
		if (ret) {
			pr_err("cannot hook %s: %d\n", h->krp.kp.symbol_name, ret);
			bg_claim_exit();
			return ret;
		}
		h->registered = true;
	}
	return 0;
}
