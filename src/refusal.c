// SPDX-License-Identifier: GPL-2.0
/*
 * refusal.c - what bindguard says when it refuses: a refused bind, a refused
 * claim (before 5.19). Each is counted in its group, recorded as an event
 * (events.c) and logged, ratelimited per group and kind, with what to run
 * to fix it. Why a group is not viable is notviable.c's.
 *
 * Lock story: a group's counters, last refusal and ratelimits are written
 * under its bg_group.lock (from the veto and the claim hooks, atomic
 * context). Log lines escape names into scratch buffers under
 * bg_refusal_esc_lock, a leaf. Both are raw spinlocks (the hooks run with
 * preemption off, also on PREEMPT_RT), held for bounded work: a ratelimit,
 * a copy, a log line of three names cut at BG_LOG_NAME. printk() there only
 * stores the line (PREEMPT_RT prints from the consoles' own threads).
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "bindguard.h"
#include "table.h"

/**
 * bg_refusal_ratelimit() - may group @g log one more line of kind @rl?
 * @g:    the group's entry
 * @rl:   its ratelimit of that kind
 * @what: the kind, for the "suppressed" line
 *
 * Like printk_ratelimit(): DEFAULT_RATELIMIT_BURST lines per
 * DEFAULT_RATELIMIT_INTERVAL, counted in whole seconds of boottime; a new
 * interval first says how many lines the last one suppressed.
 *
 * Context: any; @g's lock held.
 * Return: true if the line may be logged.
 */
bool bg_refusal_ratelimit(struct bg_group *g, struct bg_ratelimit *rl,
			  const char *what)
{
	u32 now = ktime_get_boottime_seconds();

	lockdep_assert_held(&g->lock);
	if (!rl->count || now - rl->begin >= DEFAULT_RATELIMIT_INTERVAL / HZ) {
		if (rl->count > DEFAULT_RATELIMIT_BURST)
			pr_warn("iommu group %d: %u %s log lines suppressed\n",
				g->id, rl->count - DEFAULT_RATELIMIT_BURST, what);
		rl->begin = now;
		rl->count = 0;
	}
	if (rl->count < U32_MAX)
		rl->count++;
	return rl->count <= DEFAULT_RATELIMIT_BURST;
}

/*
 * In log lines a name is escaped up to about BG_LOG_NAME bytes, then cut
 * with "..." (a printk line holds about 1000 bytes); debugfs keeps names
 * whole.
 */
#define BG_LOG_NAME	160
#define BG_ESC_LEN	(BG_LOG_NAME + 4)

static char *bg_refusal_esc(char *buf, const char *name)
{
	return bg_names_escape(buf, BG_ESC_LEN, name);
}

/* Scratch for log lines: three escaped names (too large for the stack). */
static DEFINE_RAW_SPINLOCK(bg_refusal_esc_lock);
static char bg_esc[3][BG_ESC_LEN];	/* bg_refusal_esc_lock */

/*
 * bg_refusal_log_bind() - log one refused (audit: admitted) bind
 * @audit:  mode=audit: the bind went ahead
 * @dev:    the device's name
 * @driver: the driver's name
 * @group:  IOMMU group id
 * @pid:    owner, 0 if unknown
 * @comm:   owner's comm
 * @listed: the group's reserved member (nobody owns the group, it is
 *          reserved, reserve.c), or its protected member (a driver that
 *          leaves DMA to userspace refused there); NULL for a refusal in an
 *          owned group
 * @list:   which of the two @listed is
 *
 * Each line ends with what to run: the write that lifts the reservation or
 * protection, or, in an owned group, how to give the device to vfio-pci
 * instead. The caller ratelimits (per group).
 *
 * Context: any; does not sleep.
 */
static void bg_refusal_log_bind(bool audit, const char *dev, const char *driver,
				int group, pid_t pid, const char *comm,
				const char *listed, enum bg_listed_id list)
{
	const char *what = audit ? "audit: would refuse" : "refused";
	char pid_s[12] = "-", why[BG_WHY_NOTE];
	unsigned long flags;

	if (pid)
		snprintf(pid_s, sizeof(pid_s), "%d", pid);
	if (listed)
		bg_listed_why(list, listed, why);
	else
		why[0] = '\0';
	raw_spin_lock_irqsave(&bg_refusal_esc_lock, flags);
	if (listed && list == BG_PROTECTED)
		pr_warn("%s %s bind to %s: iommu group %d holds protected device %s%s, which a driver leaving DMA to userspace would take from the host; to lift: echo %s > /sys/kernel/bindguard/unprotect\n",
			what, bg_refusal_esc(bg_esc[0], driver), bg_refusal_esc(bg_esc[1], dev),
			group, bg_refusal_esc(bg_esc[2], listed), why, bg_esc[2]);
	else if (listed)
		pr_warn("%s %s bind to %s: iommu group %d is reserved for %s%s; to lift: echo %s > /sys/kernel/bindguard/release\n",
			what, bg_refusal_esc(bg_esc[0], driver), bg_refusal_esc(bg_esc[1], dev),
			group, bg_refusal_esc(bg_esc[2], listed), why, bg_esc[2]);
	else
		pr_warn("%s %s bind to %s: iommu group %d owned by userspace (pid %s %s); to fix: stop the owner first, or leave the device to vfio-pci: echo vfio-pci > /sys/bus/pci/devices/%s/driver_override; echo %s > /sys/bus/pci/drivers_probe\n",
			what, bg_refusal_esc(bg_esc[0], driver), bg_refusal_esc(bg_esc[1], dev),
			group, pid_s, bg_refusal_esc(bg_esc[2], pid ? comm : ""), bg_esc[1],
			bg_esc[1]);
	raw_spin_unlock_irqrestore(&bg_refusal_esc_lock, flags);
}

/**
 * bg_refusal_nodedev() - libvirt's name for PCI device @bdf, what virsh
 *                        nodedev-detach takes ("0000:06:00.1" ->
 *                        "pci_0000_06_00_1")
 * @buf: where to write it (BG_BDF_LEN + 4 bytes)
 * @bdf: the device's name
 *
 * Context: any.
 * Return: @buf.
 */
char *bg_refusal_nodedev(char *buf, const char *bdf)
{
	char *p;

	snprintf(buf, BG_BDF_LEN + 4, "pci_%s", bdf);
	for (p = buf; *p; p++)
		if (*p == ':' || *p == '.')
			*p = '_';
	return buf;
}

/*
 * bg_refusal_log_claim() - log a claim refused (before 5.19)
 * @group:   IOMMU group id
 * @probing: kernel-driver probes in flight in the group, 0 if the claim was
 *           refused for a bound driver instead, -1 for a protected member
 * @dev:     the device probed (the last one) or bound
 * @driver:  its driver
 * @comm:    the claimer's comm (the current process)
 *
 * Names the current process as the claimer. The caller ratelimits.
 *
 * Context: any; does not sleep.
 */
static void bg_refusal_log_claim(int group, int probing, const char *dev,
				 const char *driver, const char *comm)
{
	char why[BG_WHY_NOTE], nodedev[BG_BDF_LEN + 4];
	unsigned long flags;

	if (probing < 0)
		bg_listed_why(BG_PROTECTED, dev, why);
	else
		why[0] = '\0';
	raw_spin_lock_irqsave(&bg_refusal_esc_lock, flags);
	if (probing < 0)
		pr_warn("refused claim of iommu group %d by pid %d %s: it holds protected device %s%s; to lift: echo %s > /sys/kernel/bindguard/unprotect\n",
			group, task_tgid_nr(current), bg_refusal_esc(bg_esc[0], comm),
			bg_refusal_esc(bg_esc[2], dev), why, bg_esc[2]);
	else if (probing)
		pr_warn("refused claim of iommu group %d by pid %d %s: %s is probing %s (%d kernel-driver probe(s) in flight)\n",
			group, task_tgid_nr(current), bg_refusal_esc(bg_esc[0], comm),
			bg_refusal_esc(bg_esc[1], driver), bg_refusal_esc(bg_esc[2], dev),
			probing);
	else
		pr_warn("refused claim of iommu group %d by pid %d %s: %s is bound to %s; to fix: virsh nodedev-detach %s, or echo %s > /sys/bus/pci/devices/%s/driver/unbind\n",
			group, task_tgid_nr(current), bg_refusal_esc(bg_esc[0], comm),
			bg_refusal_esc(bg_esc[2], dev), bg_refusal_esc(bg_esc[1], driver),
			bg_refusal_nodedev(nodedev, dev), bg_esc[2], bg_esc[2]);
	raw_spin_unlock_irqrestore(&bg_refusal_esc_lock, flags);
}

/**
 * bg_refusal_claim() - record and log (ratelimited) a refused claim
 * @g:       the group's entry
 * @probing: kernel-driver probes in flight in it, 0 for a bound driver,
 *           -1 for a protected member
 * @dev:     the device probed (the last one), bound or protected
 * @driver:  its driver
 *
 * The current process is the claimer.
 *
 * Context: any; @g->lock held.
 */
void bg_refusal_claim(struct bg_group *g, int probing, const char *dev,
		      const char *driver)
{
	char comm[TASK_COMM_LEN];

	lockdep_assert_held(&g->lock);
	bg_names_current_comm(comm);
	bg_event_add(BG_EV_CLAIM_REFUSED, g->id, task_tgid_nr(current), comm,
		     dev, driver);
	if (bg_refusal_ratelimit(g, &g->st.rs, "refusal"))
		bg_refusal_log_claim(g->id, probing, dev, driver, comm);
}

struct bg_refusal_bound {
	const char *dev;
	const char *driver;
};

static void bg_refusal_claim_bound_locked(struct bg_group *g, void *data)
{
	const struct bg_refusal_bound *b = data;

	bg_refusal_claim(g, b->driver ? 0 : -1, b->dev, b->driver ?: "");
}

/**
 * bg_refusal_claim_bound() - record a claim refused for a bound driver
 * @id:     the IOMMU group's id
 * @dev:    the member's name
 * @driver: the driver bound to it, which vfio does not accept
 *
 * Context: process (the claim wrapper, before 5.19).
 */
void bg_refusal_claim_bound(int id, const char *dev, const char *driver)
{
	struct bg_refusal_bound b = { .dev = dev, .driver = driver };

	bg_table_locked(id, bg_refusal_claim_bound_locked, &b);
}

/**
 * bg_refusal_claim_protected() - record a claim refused for a protected member
 * @id:            the IOMMU group's id
 * @protected_bdf: the protected member's name
 *
 * Context: process (the claim wrapper, before 5.19).
 */
void bg_refusal_claim_protected(int id, const char *protected_bdf)
{
	struct bg_refusal_bound b = { .dev = protected_bdf, .driver = NULL };

	bg_table_locked(id, bg_refusal_claim_bound_locked, &b);
}

/**
 * bg_refusal_kernel_refused() - log a bind allow= admitted, the kernel refused
 * @dev:   the device
 * @drv:   its driver, admitted by allow=
 * @group: the device's IOMMU group id, owned by userspace
 *
 * Since 5.19 the driver core refuses a kernel driver in a user-owned group
 * itself (really_probe() -> iommu_device_use_default_domain() returns
 * -EBUSY): a driver bindguard admitted on purpose is refused there, so the
 * refusal is the kernel's. Logged, names escaped, not counted; ratelimited
 * for all groups together (such a bind is the admin's own choice).
 *
 * Context: any (the kretprobe's return handler); does not sleep.
 */
void bg_refusal_kernel_refused(struct device *dev, const struct device_driver *drv,
			       int group)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);
	unsigned long flags;

	if (!__ratelimit(&rs))
		return;
	raw_spin_lock_irqsave(&bg_refusal_esc_lock, flags);
	pr_notice("%s bind to %s: admitted by allow=, but refused by the kernel: iommu group %d is owned by userspace\n",
		  bg_refusal_esc(bg_esc[0], drv->name),
		  bg_refusal_esc(bg_esc[1], dev_name(dev)), group);
	raw_spin_unlock_irqrestore(&bg_refusal_esc_lock, flags);
}

/**
 * bg_refusal_bind() - count, log and record a refused bind
 * @dev:   the device
 * @drv:   the driver that was (audit: would have been) refused
 * @audit: only recorded, the bind goes ahead (mode=audit)
 * @protect: refused for the group's protected member (a driver that leaves
 *         DMA to userspace, veto.c), not for its owner or reservation
 *
 * Logs one line per refusal, ratelimited per group. Names are escaped
 * (names.c). Does nothing if bindguard does not track @dev's group.
 *
 * Context: the refusal stub (process, device lock held) or, for audit and
 * the kernel's own refusals, atomic context; no sleeping.
 */
void bg_refusal_bind(struct device *dev, const struct device_driver *drv,
		     bool audit, bool protect)
{
	char comm[TASK_COMM_LEN] = "", listed[BG_BDF_LEN] = "";
	enum bg_listed_id list = BG_RESERVED;
	bool log;
	unsigned long flags;
	struct bg_group *g;
	pid_t pid;
	int id;

	rcu_read_lock();
	g = bg_table_lookup(READ_ONCE(dev->iommu_group));
	if (!g) {
		rcu_read_unlock();
		return;
	}
	raw_spin_lock_irqsave(&g->lock, flags);
	g->st.refused++;
	g->st.last_ns = ktime_get_boottime_ns();
	bg_names_set(&g->st.last, dev_name(dev), drv->name);
	id = g->id;
	pid = g->st.owner_pid;
	if (pid)
		strscpy(comm, g->st.owner_comm, sizeof(comm));
	if (protect) {
		/* "-" if unprotected since the veto's decision: still this line */
		list = BG_PROTECTED;
		strscpy(listed, g->st.protected_bdf[0] ? g->st.protected_bdf : "-",
			sizeof(listed));
	} else if (g->st.reserved && !bg_group_user_owned(&g->st)) {
		strscpy(listed, g->st.reserved_bdf, sizeof(listed));
	}
	log = bg_refusal_ratelimit(g, &g->st.rs, "refusal");
	raw_spin_unlock_irqrestore(&g->lock, flags);
	rcu_read_unlock();

	bg_event_add(audit ? BG_EV_AUDIT : BG_EV_REFUSED, id, pid, comm,
		     dev_name(dev), drv->name);
	if (log)
		bg_refusal_log_bind(audit, dev_name(dev), drv->name, id, pid,
				    comm, listed[0] ? listed : NULL, list);
}
