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
 * The ioctl is hooked with ftrace (IPMODIFY) and wrapped by
 * bg_set_container(), which can refuse the claim with -EBUSY while a
 * kernel-driver probe is in flight in the group (the ordering is in
 * table.c) and sees every return: no call is ever missed.
 *
 * Elsewhere a kretprobe per function: the entry handler marks a claim
 * pending (a bind racing the claim is already refused); the return handler
 * commits it when the call returned 0 and reverts it otherwise. Releases
 * count down on return. Handlers run in atomic context: no sleeping, no
 * allocation, no group reference get/put.
 *
 * A kretprobe misses calls when more than maxactive (a parameter) are
 * inside its function at once. Every return handler checks the counts of
 * misses, so a miss is seen as soon as one of the calls that crowded it out
 * returns: it is logged once, and the table is re-read from the kernel
 * (bg_rescan(): exact since 5.19; before 5.19 every group with a member on
 * vfio is presumed owned until a claim or release of it is seen).
 *
 * A claim that fails with -EPERM or -EBUSY (5.19+) is reported like a "not
 * viable" answer to VFIO_GROUP_GET_STATUS (bg_status_queue()): a client
 * that skips that question learns only the errno from the kernel.
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
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "bindguard.h"

/* What the hooked function's first argument is. */
enum bg_claim_arg {
	BG_ARG_IOMMU_GROUP,	/* struct iommu_group * */
	BG_ARG_DEVICE,		/* struct device *, in the group */
	BG_ARG_VFIO_GROUP,	/* struct vfio_group * (before 5.19) */
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
	case BG_ARG_VFIO_GROUP:
		return arg ? bg_vfio_group_id((struct vfio_group *)arg) : -1;
#endif
	default:
		return -1;
	}
	return group ? iommu_group_id(group) : -1;
}

/*
 * "Not viable" answers, from the return handler (atomic) to a work item
 * that reports them (bg_table_report_not_viable() sleeps). A few slots: a
 * question asked again while its answer waits is reported once.
 */
#define BG_STATUS_SLOTS 8
struct bg_status_answer {
	int id;
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

static DEFINE_SPINLOCK(bg_status_lock);
static struct bg_status_answer bg_status_q[BG_STATUS_SLOTS];	/* bg_status_lock */
static unsigned int bg_status_n;				/* bg_status_lock */

static void bg_status_work_fn(struct work_struct *work)
{
	struct bg_status_answer a;
	unsigned long flags;

	for (;;) {
		spin_lock_irqsave(&bg_status_lock, flags);
		if (!bg_status_n) {
			spin_unlock_irqrestore(&bg_status_lock, flags);
			return;
		}
		a = bg_status_q[--bg_status_n];
		spin_unlock_irqrestore(&bg_status_lock, flags);
		bg_table_report_not_viable(a.id, a.pid, a.comm);
	}
}

static DECLARE_WORK(bg_status_work, bg_status_work_fn);

/*
 * The current process was told group @id is not viable (or its claim of it
 * failed). Atomic context.
 */
static void bg_status_queue(int id)
{
	pid_t pid = task_tgid_nr(current);
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&bg_status_lock, flags);
	for (i = 0; i < bg_status_n; i++)
		if (bg_status_q[i].id == id && bg_status_q[i].pid == pid)
			break;
	if (i == bg_status_n && i < BG_STATUS_SLOTS) {
		bg_status_q[i].id = id;
		bg_status_q[i].pid = pid;
		get_task_comm(bg_status_q[i].comm, current->group_leader);
		bg_status_n++;
	}
	spin_unlock_irqrestore(&bg_status_lock, flags);
	schedule_work(&bg_status_work);
}

/* The task in bg_dma_owner_claimed(), whose question is bindguard's own. */
static struct task_struct *bg_query_task;

static struct bg_claim_hook *bg_hook_of(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct bg_claim_hook, krp);
}

static int bg_claim_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct bg_claim_hook *h = bg_hook_of(ri);
	struct bg_claim_call *call = (void *)ri->data;

	/*
	 * bindguard asks iommu_group_dma_owner_claimed() itself (its scan,
	 * bg_dma_owner_claimed()): only other callers' questions are answers
	 * to report. (Not by the return address on the stack: another return
	 * probe on the function, armed later, runs first and replaces it.)
	 */
	if (h->kind == BG_STATUS && READ_ONCE(bg_query_task) == current)
		return 1;
	call->id = bg_claim_group_id(h, regs);
	if (call->id < 0)
		return 1;	/* not a claim: skip the return handler */
	call->dev = (struct device *)regs_get_kernel_argument(regs, 0);
	if (h->kind == BG_CLAIM)
		bg_claim_begin(call->id, false);
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
		/*
		 * A client that skipped VFIO_GROUP_GET_STATUS learns it here:
		 * -EPERM while a kernel driver holds the group (owner_cnt),
		 * -EBUSY for a foreign domain. Say which members block it.
		 */
		if (ret == -EPERM || ret == -EBUSY)
			bg_status_queue(call->id);
		break;
	case BG_RELEASE:
		/*
		 * Since 5.19 ask the kernel again about a group whose count
		 * may be wrong: device claims bindguard found at load (not
		 * counted) may remain, a missed release be counted as held.
		 * That group only: a release costs nothing more when the
		 * kernel said the group was free since it was last found
		 * owned (every claim since was seen, or a miss is reported).
		 */
		if (bg_claim_release(call->id) && BG_NATIVE_DMA_OWNER)
			bg_rescan_group(call->id);
		break;
	case BG_NATIVE_CHECK:
		/*
		 * really_probe() has set dev->driver to the probing driver.
		 * -EBUSY has other causes (a kernel driver's own domain,
		 * PASIDs): only a group bindguard holds as user-owned counts.
		 */
		drv = READ_ONCE(call->dev->driver);
		if (ret == -EBUSY && drv && bg_mode() == BG_MODE_ENFORCE &&
		    bg_dev_user_owned(call->dev))
			bg_record_refusal(call->dev, drv, false);
		break;
	case BG_STATUS:
		/* bool: only the low byte is defined */
		if ((u8)regs_return_value(regs))
			bg_status_queue(call->id);
		break;
	}
	bg_claim_check_missed();
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

#ifdef HAVE_IOMMU_DMA_OWNER
static struct bg_claim_hook bg_claim_hooks[] = {
	BG_CLAIM_HOOK("iommu_group_claim_dma_owner", BG_ARG_IOMMU_GROUP, BG_CLAIM, false),
	BG_CLAIM_HOOK("iommu_group_release_dma_owner", BG_ARG_IOMMU_GROUP, BG_RELEASE, false),
	BG_CLAIM_HOOK("iommu_device_claim_dma_owner", BG_ARG_DEVICE, BG_CLAIM, true),
	BG_CLAIM_HOOK("iommu_device_release_dma_owner", BG_ARG_DEVICE, BG_RELEASE, true),
	BG_CLAIM_HOOK("iommu_device_use_default_domain", BG_ARG_DEVICE, BG_NATIVE_CHECK, true),
	/* vfio's VFIO_GROUP_GET_STATUS: a group is viable unless this is true */
	BG_CLAIM_HOOK("iommu_group_dma_owner_claimed", BG_ARG_IOMMU_GROUP, BG_STATUS, true),
};
#else
static struct bg_claim_hook bg_claim_hooks[] = {
	BG_CLAIM_HOOK("__vfio_group_unset_container", BG_ARG_VFIO_GROUP, BG_RELEASE, false),
};
#endif

static void bg_vfio_show(struct seq_file *m);

/**
 * bg_claim_check_missed() - report kretprobe misses and re-read the table
 *
 * Context: any (the return handlers); no sleeping.
 */
void bg_claim_check_missed(void)
{
	struct bg_claim_hook *h;
	int missed;

	for (h = bg_claim_hooks; h < bg_claim_hooks + ARRAY_SIZE(bg_claim_hooks); h++) {
		missed = READ_ONCE(h->krp.nmissed);
		if (!h->registered || missed == READ_ONCE(h->missed_seen))
			continue;
		WRITE_ONCE(h->missed_seen, missed);
		pr_warn_ratelimited("%s: %d calls missed (maxactive=%u): re-reading DMA ownership from the kernel\n",
				    h->krp.kp.symbol_name, missed, bg_maxactive());
		bg_rescan();
	}
}

/**
 * bg_claim_show() - print the hooks for debugfs "hooks"
 * @m: the seq_file
 *
 * One line per claim hook registered now: "function kind missed", kind one
 * of claim, release, native-check; missed is a kretprobe's count of missed
 * calls, "-" for an ftrace hook (it sees every call).
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
	bg_vfio_show(m);
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
		/* Ready to be registered again (vfio reloaded). */
		h->krp.kp.addr = NULL;
		h->krp.kp.flags = 0;
		h->krp.nmissed = 0;
		h->missed_seen = 0;
		h->registered = false;
	}
}

static int bg_claim_register(void)
{
	struct bg_claim_hook *h;
	int ret;

	for (h = bg_claim_hooks; h < bg_claim_hooks + ARRAY_SIZE(bg_claim_hooks); h++) {
		h->krp.maxactive = bg_maxactive();
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
			return ret;
		}
		h->registered = true;
	}
	return 0;
}

#ifdef HAVE_IOMMU_DMA_OWNER
static void bg_vfio_show(struct seq_file *m)
{
}

/**
 * bg_dma_owner_claimed() - iommu_group_dma_owner_claimed(), asked by bindguard
 * @group: the IOMMU group
 *
 * The status kretprobe reports every "claimed" answer as a process told its
 * group is not viable; bindguard's own questions (the scans) are marked by
 * task so that it skips them. Serialized: one marked task at a time.
 *
 * Context: process; sleeps (a mutex).
 * Return: iommu_group_dma_owner_claimed()'s answer.
 */
bool bg_dma_owner_claimed(struct iommu_group *group)
{
	static DEFINE_MUTEX(bg_query_mutex);
	bool claimed;

	mutex_lock(&bg_query_mutex);
	WRITE_ONCE(bg_query_task, current);
	claimed = iommu_group_dma_owner_claimed(group);
	WRITE_ONCE(bg_query_task, NULL);
	mutex_unlock(&bg_query_mutex);
	return claimed;
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
 * bg_claim_exit() - unregister every claim and release kretprobe
 *
 * Waits for running handlers.
 *
 * Context: process; sleeps.
 */
void bg_claim_exit(void)
{
	bg_claim_unregister();
	/* no handler queues it any more */
	cancel_work_sync(&bg_status_work);
}
#else
static DEFINE_MUTEX(bg_vfio_mutex);	/* arming and disarming */
/* vfio.ko's exports, resolved while it is loaded; bg_vfio_mutex */
static struct vfio_device *(*bg_vfio_device_get)(struct device *dev);
static void (*bg_vfio_device_put)(struct vfio_device *device);
static bool bg_vfio_ioctl_armed;
static bool bg_vfio_exiting;	/* bg_claim_exit() disarmed for good */
/* vfio_group_fops_unl_ioctl()'s address, from the callback's @ip */
static unsigned long bg_vfio_ioctl_ip;

/* A member vfio would not accept, found by bg_vfio_blocker(). */
struct bg_blocker {
	char dev[BG_NAME_LEN];
	char driver[BG_NAME_LEN];
};

/*
 * vfio's own rule, vfio_dev_viable() in 5.10's drivers/vfio/vfio.c: a member
 * may stay as it is in a group userspace takes if it is unbound, on
 * pci-stub, a bridge (not a normal header), or a vfio device. Neither
 * VFIO_GROUP_SET_CONTAINER nor VFIO_SET_IOMMU checks it there: a client that
 * skips VFIO_GROUP_GET_STATUS would put a bound kernel driver's device into
 * its IOMMU domain. (dev->driver is set as really_probe() starts, so this
 * also sees a probe that began before bindguard's veto was armed.)
 */
static int bg_vfio_blocker(struct device *dev, void *data)
{
	struct device_driver *drv = READ_ONCE(dev->driver);
	struct bg_blocker *b = data;
	struct vfio_device *vdev;

	if (!drv || !strcmp(drv->name, "pci-stub"))
		return 0;
	if (dev_is_pci(dev) && to_pci_dev(dev)->hdr_type != PCI_HEADER_TYPE_NORMAL)
		return 0;
	vdev = bg_vfio_device_get(dev);
	if (vdev) {
		bg_vfio_device_put(vdev);
		return 0;
	}
	strscpy(b->dev, dev_name(dev), sizeof(b->dev));
	strscpy(b->driver, drv->name, sizeof(b->driver));
	return 1;
}

/*
 * Runs instead of vfio's group ioctl for VFIO_GROUP_SET_CONTAINER and calls
 * the original (the callback lets that call through). The claim is marked
 * pending first, so that from here on every probe in the group is refused;
 * then it is refused with -EBUSY while a kernel-driver probe is in flight
 * (the ordering is in table.c) or a member has a driver vfio does not
 * accept; otherwise it is committed or reverted on return. Holds the module
 * reference the callback took.
 */
static noinline long bg_set_container(struct file *filep, unsigned int cmd,
				      unsigned long arg)
{
	long (*orig)(struct file *filep, unsigned int cmd, unsigned long arg);
	struct vfio_group *vg = filep->private_data;
	int id = vg ? bg_vfio_group_id(vg) : -1;
	struct bg_blocker *b;
	long ret = -EBUSY;

	orig = (void *)READ_ONCE(bg_vfio_ioctl_ip);
	if (id < 0) {
		ret = orig(filep, cmd, arg);
		goto out;
	}
	if (bg_claim_begin(id, true))
		goto out;
	b = kmalloc(sizeof(*b), GFP_KERNEL);
	if (!b || bg_table_walk_members(id, b, bg_vfio_blocker)) {
		bg_claim_end(id, false);
		if (b)
			bg_claim_refuse_bound(id, b->dev, b->driver);
		ret = b ? -EBUSY : -ENOMEM;
		kfree(b);
		goto out;
	}
	kfree(b);
	ret = orig(filep, cmd, arg);
	bg_claim_end(id, ret == 0);
out:
	module_put(THIS_MODULE);
	return ret;
}

/*
 * Runs instead of vfio's group ioctl for VFIO_GROUP_GET_STATUS and calls the
 * original: when it answered "not viable", say why (bg_status_queue()).
 * Holds the module reference the callback took.
 */
static noinline long bg_get_status(struct file *filep, unsigned int cmd,
				   unsigned long arg)
{
	long (*orig)(struct file *filep, unsigned int cmd, unsigned long arg);
	struct vfio_group_status __user *ustatus = (void __user *)arg;
	struct vfio_group *vg = filep->private_data;
	u32 flags;
	long ret;
	int id;

	orig = (void *)READ_ONCE(bg_vfio_ioctl_ip);
	ret = orig(filep, cmd, arg);
	if (!ret && vg && !get_user(flags, &ustatus->flags) &&
	    !(flags & VFIO_GROUP_FLAGS_VIABLE)) {
		id = bg_vfio_group_id(vg);
		if (id >= 0)
			bg_status_queue(id);
	}
	module_put(THIS_MODULE);
	return ret;
}

/* bindguard is being unloaded and its hooks are still armed: fail closed. */
static noinline long bg_busy_ioctl(struct file *filep, unsigned int cmd,
				   unsigned long arg)
{
	return -EBUSY;
}

static void notrace bg_vfio_ioctl_hook(unsigned long ip, unsigned long parent_ip,
				       struct ftrace_ops *ops,
				       struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	unsigned int cmd;

	if (!regs || within_module(parent_ip, THIS_MODULE))
		return;
	cmd = regs_get_kernel_argument(regs, 1);
	if (cmd != VFIO_GROUP_SET_CONTAINER && cmd != VFIO_GROUP_GET_STATUS)
		return;
	if (!try_module_get(THIS_MODULE)) {
		if (cmd == VFIO_GROUP_SET_CONTAINER)
			instruction_pointer_set(regs, (unsigned long)bg_busy_ioctl);
		return;
	}
	WRITE_ONCE(bg_vfio_ioctl_ip, ip);
	instruction_pointer_set(regs, cmd == VFIO_GROUP_SET_CONTAINER ?
				(unsigned long)bg_set_container :
				(unsigned long)bg_get_status);
}

static struct ftrace_ops bg_vfio_ioctl_ops = {
	.func = bg_vfio_ioctl_hook,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_RECURSION,
};

static void bg_vfio_show(struct seq_file *m)
{
	mutex_lock(&bg_vfio_mutex);
	if (bg_vfio_ioctl_armed)
		seq_puts(m, "vfio_group_fops_unl_ioctl claim -\n");
	mutex_unlock(&bg_vfio_mutex);
}

/**
 * bg_vfio_bound() - is @dev bound to a vfio driver (registered with vfio)?
 * @dev: a device
 *
 * Context: process; takes bg_vfio_mutex.
 * Return: true if vfio is loaded and knows @dev as a vfio device.
 */
bool bg_vfio_bound(struct device *dev)
{
	struct vfio_device *vdev = NULL;

	mutex_lock(&bg_vfio_mutex);
	if (bg_vfio_device_get)
		vdev = bg_vfio_device_get(dev);
	if (vdev)
		bg_vfio_device_put(vdev);
	mutex_unlock(&bg_vfio_mutex);
	return vdev;
}

static void bg_vfio_disarm(void)
{
	if (bg_vfio_ioctl_armed)
		bg_ftrace_disarm(&bg_vfio_ioctl_ops);
	bg_vfio_ioctl_armed = false;
	bg_claim_unregister();
	bg_vfio_group_id = NULL;
	bg_vfio_device_get = NULL;
	bg_vfio_device_put = NULL;
}

/*
 * Arm the hooks in vfio.ko. Caller holds bg_vfio_mutex. Return: 0, -ESRCH
 * if vfio is not loaded, or the error of a hook (nothing left armed).
 */
static int bg_vfio_arm(void)
{
	int ret;

	if (bg_vfio_group_id)
		return 0;
	/*
	 * Resolve without keeping a reference, so that vfio can be unloaded:
	 * the pointers are dropped at MODULE_STATE_GOING, and no group fd (so
	 * no hooked call) outlives vfio.
	 */
	bg_vfio_group_id = symbol_get(vfio_external_user_iommu_id);
	bg_vfio_device_get = symbol_get(vfio_device_get_from_dev);
	bg_vfio_device_put = symbol_get(vfio_device_put);
	if (bg_vfio_group_id)
		symbol_put(vfio_external_user_iommu_id);
	if (bg_vfio_device_get)
		symbol_put(vfio_device_get_from_dev);
	if (bg_vfio_device_put)
		symbol_put(vfio_device_put);
	if (!bg_vfio_group_id || !bg_vfio_device_get || !bg_vfio_device_put) {
		bg_vfio_disarm();
		return -ESRCH;	/* vfio is not loaded */
	}
	ret = bg_ftrace_arm(&bg_vfio_ioctl_ops, "vfio_group_fops_unl_ioctl");
	bg_vfio_ioctl_armed = !ret;
	if (!ret)
		ret = bg_claim_register();
	if (ret)
		bg_vfio_disarm();
	return ret;
}

static int bg_module_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	struct module *mod = data;

	if (strcmp(mod->name, "vfio"))
		return NOTIFY_DONE;
	mutex_lock(&bg_vfio_mutex);
	if (bg_vfio_exiting) {
		mutex_unlock(&bg_vfio_mutex);
		return NOTIFY_DONE;
	}
	if (action == MODULE_STATE_LIVE) {
		if (bg_vfio_arm()) {
			pr_err("vfio loaded, but its container hooks cannot be armed: ownership is not followed\n");
		} else {
			pr_info("vfio loaded: following its containers\n");
			/* a group claimed before the hooks were armed */
			bg_rescan();
		}
	} else if (action == MODULE_STATE_GOING) {
		bg_vfio_disarm();
		mutex_unlock(&bg_vfio_mutex);
		/* no container outlives vfio */
		bg_table_forget_presumed();
		return NOTIFY_DONE;
	}
	mutex_unlock(&bg_vfio_mutex);
	return NOTIFY_DONE;
}

/*
 * Runs before kprobes' own module notifier (priority 0): at vfio's
 * MODULE_STATE_GOING the release kretprobe must be unregistered while it is
 * still live. Once kprobes has marked it gone, unregister_kretprobe() skips
 * the ftrace disarm, and 5.10's kill_kprobe() does not disarm it either (it
 * sets KPROBE_FLAG_GONE before testing kprobe_disabled(); upstream "kprobes:
 * Fix check for probe enabled in kill_kprobe()"): vfio's address would stay
 * in kprobes' ftrace filter, and the next module loaded there would be traced.
 */
static struct notifier_block bg_module_nb = {
	.notifier_call = bg_module_notify,
	.priority = 1,
};

/**
 * bg_claim_init() - follow VFIO containers (before 5.19)
 *
 * Arms the hooks in vfio.ko now if vfio is loaded, and again whenever it is
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
	if (ret == -ESRCH) {
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
	/*
	 * Disarm before the notifier goes: a vfio unload in between would
	 * otherwise reach kprobes' notifier with the kretprobe still armed.
	 */
	mutex_lock(&bg_vfio_mutex);
	bg_vfio_exiting = true;
	bg_vfio_disarm();
	mutex_unlock(&bg_vfio_mutex);
	unregister_module_notifier(&bg_module_nb);
	/* no wrapper queues it any more */
	cancel_work_sync(&bg_status_work);
}
#endif
