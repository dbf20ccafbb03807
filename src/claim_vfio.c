// SPDX-License-Identifier: GPL-2.0
/*
 * claim_vfio.c - follow userspace's claims of IOMMU groups on kernels
 * without DMA ownership in the iommu core (before 5.19; built when the
 * iommu_dma_owner feature probe fails, see Kbuild), and refuse a claim that
 * would end in vfio's BUG_ON.
 *
 * In 5.10 (drivers/vfio/vfio.c, in vfio.ko) vfio's BUG_ON fires as soon as a
 * group's container_users is non-zero, which VFIO_GROUP_SET_CONTAINER makes
 * it (vfio_group_set_container() is inlined into the group fd's ioctl);
 * __vfio_group_unset_container() ends it, for the ioctl, the last fd and
 * KVM's external users alike. These hooks are armed while vfio is loaded
 * (a module notifier):
 *
 *  - The group ioctl, hooked with ftrace (IPMODIFY): SET_CONTAINER is
 *    wrapped by bg_claim_set_container() (no call is ever missed),
 *    GET_STATUS by bg_claim_get_status(), to say why a group is not
 *    viable. Until bg_claim_live() the hook redirects no call into this
 *    module but bg_claim_busy_ioctl(), which fails SET_CONTAINER closed: a
 *    load that fails strands no task in this module's text, and no claim
 *    goes unseen while the module loads or unloads.
 *  - A kretprobe on __vfio_group_unset_container(): the release. It misses
 *    calls when more than maxactive are inside at once; a miss is logged
 *    and the table re-read from the kernel (bg_scan_queue_all(): every
 *    group with a member on vfio is then presumed owned until a claim or
 *    release of it is seen).
 *
 * vfio's load cannot be refused (a module notifier's return is ignored). If
 * arming fails when vfio loads, claims would go unseen and a later bind reach
 * vfio's BUG_ON: so while the hooks are not armed (bg_vfio_followed()), the
 * veto refuses every vfio driver's bind, and with it every claim.
 *
 * Lock story: bg_claim_mutex serializes arming and disarming (module
 * notifier, init, exit). The wrappers run in the caller's process context
 * holding a module reference; the state is owner.c's.
 */
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/ftrace.h>
#include <linux/jump_label.h>
#include <linux/kprobes.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/ptrace.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "bindguard.h"

static DEFINE_MUTEX(bg_claim_mutex);	/* arming and disarming */
static bool bg_claim_armed;		/* bg_claim_mutex: hooks in vfio.ko */
static bool bg_claim_exiting;		/* bg_claim_mutex: disarmed for good */
/* vfio_group_fops_unl_ioctl()'s address, from the callback's @ip */
static unsigned long bg_claim_ioctl_ip;
/* The ioctl hook wraps calls (live) or fails claims closed (armed only). */
static DEFINE_STATIC_KEY_FALSE(bg_claim_key);

/* The release kretprobe: the group id, from the entry to the return. */
static int bg_claim_release_entry(struct kretprobe_instance *ri,
				  struct pt_regs *regs)
{
	struct vfio_group *vg = (void *)regs_get_kernel_argument(regs, 0);
	int *id = (int *)ri->data;

	*id = vg ? bg_vfio_group_id(vg) : -1;
	return *id < 0;		/* not a group: skip the return handler */
}

static int bg_claim_missed_seen;	/* bg_claim_release.nmissed reported */

static int bg_claim_release_return(struct kretprobe_instance *ri,
				   struct pt_regs *regs);

static struct kretprobe bg_claim_release = {
	.kp.symbol_name = "__vfio_group_unset_container",
	.entry_handler = bg_claim_release_entry,
	.handler = bg_claim_release_return,
	.data_size = sizeof(int),
};

static int bg_claim_release_return(struct kretprobe_instance *ri,
				   struct pt_regs *regs)
{
	int missed = READ_ONCE(bg_claim_release.nmissed);

	bg_owner_release(*(int *)ri->data);
	if (missed != READ_ONCE(bg_claim_missed_seen)) {
		WRITE_ONCE(bg_claim_missed_seen, missed);
		pr_warn_ratelimited("%s: %d calls missed (maxactive=%u): re-reading DMA ownership from the kernel\n",
				    bg_claim_release.kp.symbol_name, missed,
				    bg_param_maxactive());
		bg_scan_queue_all();
	}
	return 0;
}

/* A member whose driver blocks the claim (bg_viable_blocks()), by name. */
struct bg_claim_blocker {
	char dev[BG_NAME_LEN];
	char driver[BG_NAME_LEN];
};

/*
 * The one rule (viable.c) on the driver bound now (dev->driver is set as
 * really_probe() starts: also a probe begun before the veto was live). 5.10
 * checks no viability at SET_CONTAINER or SET_IOMMU itself.
 */
static int bg_claim_blocker(struct device *dev, void *data)
{
	struct device_driver *drv = READ_ONCE(dev->driver);
	struct bg_claim_blocker *b = data;

	if (!bg_viable_blocks(dev, drv))
		return 0;
	strscpy(b->dev, dev_name(dev), sizeof(b->dev));
	strscpy(b->driver, drv->name, sizeof(b->driver));
	return 1;
}

#ifdef BG_FAULT_INJECT
/* The test build (Kbuild): fail_arm=, fail_delay_ms= (UNSET_CONTAINER first) */
static bool bg_claim_fail_arm;
module_param_named(fail_arm, bg_claim_fail_arm, bool, 0600);
MODULE_PARM_DESC(fail_arm, "test build only: arming the hooks in vfio.ko fails with -ENOMEM");
static unsigned int bg_claim_fail_delay_ms;
module_param_named(fail_delay_ms, bg_claim_fail_delay_ms, uint, 0600);
MODULE_PARM_DESC(fail_delay_ms, "test build only: a claim's commit waits this long after vfio set the container");

static int bg_claim_fault_arm(void)
{
	return READ_ONCE(bg_claim_fail_arm) ? -ENOMEM : 0;
}

static void bg_claim_fault_delay(void)
{
	unsigned int ms = READ_ONCE(bg_claim_fail_delay_ms);

	if (ms)
		msleep(ms);
}
#else
static int bg_claim_fault_arm(void)
{
	return 0;
}

static void bg_claim_fault_delay(void)
{
}
#endif

/*
 * Runs instead of vfio's group ioctl for VFIO_GROUP_SET_CONTAINER and calls
 * the original (the callback lets that call through). The claim is marked
 * pending first, so that from here on every probe in the group is refused;
 * then it is refused with -EBUSY while a kernel-driver probe is in flight
 * (the ordering is in owner.c), a member is protected (mode enforce:
 * listed.c) or a member has a driver that blocks it (viable.c); otherwise
 * it is committed or reverted on return. Holds the module reference the
 * callback took.
 */
static noinline long bg_claim_set_container(struct file *filep, unsigned int cmd,
					    unsigned long arg)
{
	long (*orig)(struct file *filep, unsigned int cmd, unsigned long arg);
	struct vfio_group *vg = filep->private_data;
	int id = vg ? bg_vfio_group_id(vg) : -1;
	struct bg_claim_blocker *b;
	long ret = -EBUSY;

	orig = (void *)READ_ONCE(bg_claim_ioctl_ip);
	if (id < 0) {
		ret = orig(filep, cmd, arg);
		goto out;
	}
	if (bg_owner_claim_begin(id, true))
		goto out;
	b = kmalloc(sizeof(*b), GFP_KERNEL);
	/* a protected member's group (mode enforce), even with no blocker */
	if (b && bg_param_mode() == BG_MODE_ENFORCE &&
	    bg_member_protected(id, b->dev)) {
		bg_owner_claim_end(id, false);
		bg_refusal_claim_protected(id, b->dev);
		kfree(b);
		goto out;
	}
	if (!b || bg_member_walk(id, b, bg_claim_blocker)) {
		bg_owner_claim_end(id, false);
		if (b)
			bg_refusal_claim_bound(id, b->dev, b->driver);
		ret = b ? -EBUSY : -ENOMEM;
		kfree(b);
		goto out;
	}
	kfree(b);
	ret = orig(filep, cmd, arg);
	if (!ret)
		bg_owner_claim_set(id);
	bg_claim_fault_delay();
	/*
	 * Another thread's UNSET_CONTAINER may have released it already: then
	 * it ends here (5.10 has no exact question to ask the kernel instead).
	 */
	bg_owner_claim_end(id, ret == 0);
out:
	module_put(THIS_MODULE);
	return ret;
}

/*
 * Runs instead of vfio's group ioctl for VFIO_GROUP_GET_STATUS and calls the
 * original: when it answered "not viable", say why (bg_notviable()).
 * Holds the module reference the callback took.
 */
static noinline long bg_claim_get_status(struct file *filep, unsigned int cmd,
					 unsigned long arg)
{
	long (*orig)(struct file *filep, unsigned int cmd, unsigned long arg);
	struct vfio_group_status __user *ustatus = (void __user *)arg;
	struct vfio_group *vg = filep->private_data;
	u32 flags;
	long ret;
	int id;

	orig = (void *)READ_ONCE(bg_claim_ioctl_ip);
	ret = orig(filep, cmd, arg);
	if (!ret && vg && !get_user(flags, &ustatus->flags) &&
	    !(flags & VFIO_GROUP_FLAGS_VIABLE)) {
		id = bg_vfio_group_id(vg);
		if (id >= 0)
			bg_notviable(id);
	}
	module_put(THIS_MODULE);
	return ret;
}

/*
 * Not live (loading, unloading) or no module reference: fail closed. A claim
 * seen by neither the scan at load nor the wrapper would leave its group
 * unguarded.
 */
static noinline long bg_claim_busy_ioctl(struct file *filep, unsigned int cmd,
					 unsigned long arg)
{
	pr_warn_ratelimited("refused a VFIO claim by pid %d while loading or unloading (-EBUSY): try again\n",
			    task_tgid_nr(current));
	return -EBUSY;
}

static void notrace bg_claim_ioctl_hook(unsigned long ip, unsigned long parent_ip,
					struct ftrace_ops *ops,
				       struct ftrace_regs *fregs)
{
	unsigned int cmd;

	if (!bg_fregs_ok(fregs) || within_module(parent_ip, THIS_MODULE))
		return;
	cmd = bg_fregs_arg(fregs, 1);
	if (cmd != VFIO_GROUP_SET_CONTAINER && cmd != VFIO_GROUP_GET_STATUS)
		return;
	if (!static_branch_likely(&bg_claim_key) || !try_module_get(THIS_MODULE)) {
		if (cmd == VFIO_GROUP_SET_CONTAINER)
			bg_fregs_set_ip(fregs, (unsigned long)bg_claim_busy_ioctl);
		return;
	}
	WRITE_ONCE(bg_claim_ioctl_ip, ip);
	bg_fregs_set_ip(fregs, cmd == VFIO_GROUP_SET_CONTAINER ?
			(unsigned long)bg_claim_set_container :
			(unsigned long)bg_claim_get_status);
}

static struct ftrace_ops bg_claim_ioctl_ops = {
	.func = bg_claim_ioctl_hook,
	.flags = BG_FTRACE_OPS_FL_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_RECURSION,
};

/*
 * The release kretprobe, ready to be registered again: kprobes keeps the
 * address it resolved (also when registering failed), and refuses a probe
 * that names both a symbol and an address.
 */
static void bg_claim_release_reset(void)
{
	bg_claim_release.kp.addr = NULL;
	bg_claim_release.kp.flags = 0;
	bg_claim_release.nmissed = 0;
	bg_claim_missed_seen = 0;
}

/* Disarm the hooks in vfio.ko and forget its exports. */
static void bg_claim_disarm(void)
{
	lockdep_assert_held(&bg_claim_mutex);
	if (!bg_claim_armed)
		return;
	bg_vfio_set_followed(false);
	bg_ftrace_disarm(&bg_claim_ioctl_ops);
	unregister_kretprobe(&bg_claim_release);
	if (bg_claim_release.nmissed)
		pr_warn("%s: %d calls missed\n", bg_claim_release.kp.symbol_name,
			bg_claim_release.nmissed);
	bg_claim_release_reset();	/* vfio may be loaded again */
	bg_vfio_put();
	bg_claim_armed = false;
}

/*
 * Arm the hooks in vfio.ko. Return: 0, -ESRCH if vfio is not loaded, or the
 * error of a hook (nothing left armed).
 */
static int bg_claim_arm(void)
{
	int ret;

	lockdep_assert_held(&bg_claim_mutex);
	if (bg_claim_armed)
		return 0;
	ret = bg_vfio_get();
	if (ret)
		return ret;
	ret = bg_ftrace_arm(&bg_claim_ioctl_ops, "vfio_group_fops_unl_ioctl");
	if (ret)
		goto err_vfio;
	ret = bg_claim_fault_arm();
	if (ret)
		goto err_ioctl;
	bg_claim_release.maxactive = bg_param_maxactive();
	ret = register_kretprobe(&bg_claim_release);
	if (ret) {
		pr_err("cannot hook %s: %d\n", bg_claim_release.kp.symbol_name, ret);
		bg_claim_release_reset();
		goto err_ioctl;
	}
	bg_claim_armed = true;
	bg_vfio_set_followed(true);
	return 0;

err_ioctl:
	bg_ftrace_disarm(&bg_claim_ioctl_ops);
err_vfio:
	bg_vfio_put();
	return ret;
}

static int bg_claim_module_notify(struct notifier_block *nb,
				  unsigned long action, void *data)
{
	struct module *mod = data;
	bool gone = false;
	int ret;

	if (strcmp(mod->name, "vfio"))
		return NOTIFY_DONE;
	mutex_lock(&bg_claim_mutex);
	if (bg_claim_exiting) {
		/* bg_claim_exit() disarmed for good */
	} else if (action == MODULE_STATE_LIVE) {
		ret = bg_claim_arm();
		if (ret) {
			/* vfio's load cannot be refused: fail closed (veto.c) */
			pr_err("vfio loaded, but its container hooks cannot be armed (%d): vfio drivers' binds are refused, so no group can be claimed, until vfio is loaded again\n",
			       ret);
		} else {
			pr_info("vfio loaded: following its containers\n");
			/* a group claimed before the hooks were armed */
			bg_scan_queue_all();
		}
	} else if (action == MODULE_STATE_GOING) {
		bg_claim_disarm();
		gone = true;
	}
	mutex_unlock(&bg_claim_mutex);
	/* no container outlives vfio */
	if (gone)
		bg_owner_forget_presumed();
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
static struct notifier_block bg_claim_module_nb = {
	.notifier_call = bg_claim_module_notify,
	.priority = 1,
};

/**
 * bg_claim_show() - print the hooks for debugfs "hooks"
 * @m: the seq_file
 *
 * One line per hook armed now: "function kind missed"; missed is the
 * kretprobe's count of missed calls, "-" for the ftrace hook (it sees every
 * call).
 *
 * Context: process; takes bg_claim_mutex.
 */
void bg_claim_show(struct seq_file *m)
{
	mutex_lock(&bg_claim_mutex);
	if (bg_claim_armed) {
		seq_printf(m, "%s release %d\n", bg_claim_release.kp.symbol_name,
			   READ_ONCE(bg_claim_release.nmissed));
		seq_puts(m, "vfio_group_fops_unl_ioctl claim -\n");
	}
	mutex_unlock(&bg_claim_mutex);
}

/**
 * bg_claim_init() - follow VFIO containers, not live yet
 *
 * Arms the hooks in vfio.ko now if vfio is loaded, and again whenever it is
 * loaded (a module notifier). Until bg_claim_live() a container cannot be
 * set (SET_CONTAINER fails with -EBUSY); releases are followed.
 *
 * Context: process (module init); sleeps.
 * Return: 0, or the error of register_module_notifier() or of a hook.
 */
int bg_claim_init(void)
{
	int ret = register_module_notifier(&bg_claim_module_nb);

	if (ret)
		return ret;
	mutex_lock(&bg_claim_mutex);
	ret = bg_claim_arm();
	mutex_unlock(&bg_claim_mutex);
	if (ret == -ESRCH) {
		pr_info("vfio is not loaded: its containers are followed once it loads\n");
		ret = 0;
	}
	if (ret)
		unregister_module_notifier(&bg_claim_module_nb);
	return ret;
}

/**
 * bg_claim_live() - let the ioctl hook wrap claims, or fail them closed
 * @live: wrap (the last step of the load) or not (the first of the exit)
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
	mutex_lock(&bg_claim_mutex);
	bg_claim_exiting = true;
	bg_claim_disarm();
	mutex_unlock(&bg_claim_mutex);
	unregister_module_notifier(&bg_claim_module_nb);
}
