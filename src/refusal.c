// SPDX-License-Identifier: GPL-2.0
/*
 * refusal.c - what bindguard says when it refuses: a refused bind, a refused
 * claim (before 5.19), and why a group is not viable. Each is counted in its
 * group, recorded as an event (events.c) and logged, ratelimited per group
 * and kind.
 *
 * Lock story: a group's counters, last refusal and ratelimits are written
 * under its bg_group.lock (from the veto and the claim hooks, atomic
 * context); the "not viable" report walks the members under
 * bg_table_mutex, from a work item, for the hooks that learn of it cannot
 * sleep (bg_refusal_queue_lock guards the few answers waiting for it). Log
 * lines escape names into scratch buffers under bg_refusal_esc_lock, a leaf.
 * All three are raw spinlocks (the hooks run with preemption off, also on
 * PREEMPT_RT), held for bounded work: a ratelimit, a copy, a log line of
 * three names cut at BG_LOG_NAME. printk() there only stores the line
 * (PREEMPT_RT prints from the consoles' own threads).
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

/*
 * May group @g log one more line of this kind (@rl)? DEFAULT_RATELIMIT_BURST
 * lines per DEFAULT_RATELIMIT_INTERVAL, counted in whole seconds of
 * boottime; a new interval first says how many lines the last one
 * suppressed. Any context.
 */
static bool bg_refusal_ratelimit(struct bg_group *g, struct bg_ratelimit *rl,
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
 * @reserved: nobody owns the group, it is reserved (reserve.c)
 * @protected_bdf: the group's protected member, for a driver that leaves
 *          DMA to userspace refused there; NULL for any other refusal
 *
 * The caller ratelimits (per group).
 *
 * Context: any; does not sleep.
 */
static void bg_refusal_log_bind(bool audit, const char *dev, const char *driver,
				int group, pid_t pid, const char *comm,
				bool reserved, const char *protected_bdf)
{
	unsigned long flags;
	char pid_s[12] = "-";

	if (pid)
		snprintf(pid_s, sizeof(pid_s), "%d", pid);
	raw_spin_lock_irqsave(&bg_refusal_esc_lock, flags);
	if (protected_bdf)
		pr_warn("%s %s bind to %s: iommu group %d holds protected device %s, which a driver leaving DMA to userspace would take from the host; to lift: echo %s > /sys/kernel/bindguard/unprotect\n",
			audit ? "audit: would refuse" : "refused",
			bg_refusal_esc(bg_esc[0], driver), bg_refusal_esc(bg_esc[1], dev), group,
			bg_refusal_esc(bg_esc[2], protected_bdf), bg_esc[2]);
	else if (reserved)
		pr_warn("%s %s bind to %s: iommu group %d is reserved\n",
			audit ? "audit: would refuse" : "refused",
			bg_refusal_esc(bg_esc[0], driver), bg_refusal_esc(bg_esc[1], dev), group);
	else
		pr_warn("%s %s bind to %s: iommu group %d owned by userspace (pid %s %s)\n",
			audit ? "audit: would refuse" : "refused",
			bg_refusal_esc(bg_esc[0], driver), bg_refusal_esc(bg_esc[1], dev), group,
			pid_s, bg_refusal_esc(bg_esc[2], pid ? comm : ""));
	raw_spin_unlock_irqrestore(&bg_refusal_esc_lock, flags);
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
	unsigned long flags;

	raw_spin_lock_irqsave(&bg_refusal_esc_lock, flags);
	if (probing < 0)
		pr_warn("refused claim of iommu group %d by pid %d %s: it holds protected device %s; to lift: echo %s > /sys/kernel/bindguard/unprotect\n",
			group, task_tgid_nr(current), bg_refusal_esc(bg_esc[0], comm),
			bg_refusal_esc(bg_esc[2], dev), bg_esc[2]);
	else if (probing)
		pr_warn("refused claim of iommu group %d by pid %d %s: %s is probing %s (%d kernel-driver probe(s) in flight)\n",
			group, task_tgid_nr(current), bg_refusal_esc(bg_esc[0], comm),
			bg_refusal_esc(bg_esc[1], driver), bg_refusal_esc(bg_esc[2], dev),
			probing);
	else
		pr_warn("refused claim of iommu group %d by pid %d %s: %s is bound to %s\n",
			group, task_tgid_nr(current), bg_refusal_esc(bg_esc[0], comm),
			bg_refusal_esc(bg_esc[2], dev), bg_refusal_esc(bg_esc[1], driver));
	raw_spin_unlock_irqrestore(&bg_refusal_esc_lock, flags);
}

/*
 * bg_refusal_log_not_viable() - log that a process was told group @group is not viable
 * @group:    IOMMU group id
 * @pid:      the asking process (tgid)
 * @comm:     its comm
 * @blockers: "DEV is bound to DRIVER[, ...]", names already escaped
 *
 * The caller ratelimits (per group).
 *
 * Context: any; does not sleep.
 */
static void bg_refusal_log_not_viable(int group, pid_t pid, const char *comm,
				      const char *blockers)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&bg_refusal_esc_lock, flags);
	pr_warn("iommu group %d not viable for pid %d (%s): %s\n", group, pid,
		bg_refusal_esc(bg_esc[0], comm), blockers);
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
	char comm[TASK_COMM_LEN] = "", prot[BG_BDF_LEN] = "";
	bool log, reserved;
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
	reserved = g->st.reserved && !bg_group_user_owned(&g->st);
	if (protect)
		strscpy(prot, g->st.protected_bdf, sizeof(prot));
	log = bg_refusal_ratelimit(g, &g->st.rs, "refusal");
	raw_spin_unlock_irqrestore(&g->lock, flags);
	rcu_read_unlock();

	bg_event_add(audit ? BG_EV_AUDIT : BG_EV_REFUSED, id, pid, comm,
		     dev_name(dev), drv->name);
	if (log)
		bg_refusal_log_bind(audit, dev_name(dev), drv->name, id, pid,
				    comm, reserved, protect ? prot : NULL);
}

/* One log line of blockers: "DEV is bound to DRIVER, ..." (escaped names) */
#define BG_BLOCKERS_LINE	512

/*
 * Say why group @id is not viable: one log line and one "not-viable" event
 * per blocking member, ratelimited per group. To @pid (tgid), @comm. Nothing
 * is said if bindguard knows no blocker (a member's driver changed since;
 * the group has another owner). Process context (the work item).
 */
static void bg_refusal_report(int id, pid_t pid, const char *comm)
{
	bool full = false, limited;
	struct bg_member *mem;
	struct bg_group *g;
	size_t len = 0;
	char *line;

	line = kmalloc(BG_BLOCKERS_LINE, GFP_KERNEL);
	if (!line)
		return;
	line[0] = '\0';
	mutex_lock(&bg_table_mutex);
	g = bg_table_find(id);
	/*
	 * Anyone holding the group's fd may ask again and again: the log line
	 * and the events are limited together, apart from the refusals'.
	 */
	if (!g)
		goto out;
	raw_spin_lock_irq(&g->lock);
	limited = !bg_refusal_ratelimit(g, &g->st.rs_viable, "not-viable");
	raw_spin_unlock_irq(&g->lock);
	if (limited)
		goto out;
	list_for_each_entry(mem, &g->members, node) {
		if (!mem->blocks)
			continue;
		bg_event_add(BG_EV_NOT_VIABLE, id, pid, comm, mem->bdf, mem->driver);
		if (full)
			continue;
		/*
		 * each part below fits in what is left: no truncation (64 for
		 * the names, and a protected member's way to lift it)
		 */
		if (BG_BLOCKERS_LINE - len < 64 + (mem->protected ? 64 : 0)) {
			strscpy(line + len, ", ...", BG_BLOCKERS_LINE - len);
			full = true;
			continue;
		}
		if (len)
			len += strscpy(line + len, ", ", BG_BLOCKERS_LINE - len);
		bg_names_escape(line + len, (BG_BLOCKERS_LINE - len) / 2, mem->bdf);
		len += strlen(line + len);
		len += strscpy(line + len, " is bound to ", BG_BLOCKERS_LINE - len);
		bg_names_escape(line + len, (BG_BLOCKERS_LINE - len) / 2, mem->driver);
		len += strlen(line + len);
		if (mem->protected)
			len += scnprintf(line + len, BG_BLOCKERS_LINE - len,
					 " (protected: echo %s > /sys/kernel/bindguard/unprotect)",
					 mem->bdf);
	}
	if (len)
		bg_refusal_log_not_viable(id, pid, comm, line);
out:
	mutex_unlock(&bg_table_mutex);
	kfree(line);
}

/*
 * "Not viable" answers, from the hooks (atomic) to a work item that reports
 * them (bg_refusal_report() sleeps). A few slots: a question asked again
 * while its answer waits is reported once.
 */
#define BG_STATUS_SLOTS 8
struct bg_refusal_status_answer {
	int id;
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

static DEFINE_RAW_SPINLOCK(bg_refusal_queue_lock);
/* Both under bg_refusal_queue_lock: */
static struct bg_refusal_status_answer bg_refusal_status_q[BG_STATUS_SLOTS];
static unsigned int bg_refusal_status_n;

static void bg_refusal_status_work_fn(struct work_struct *work)
{
	struct bg_refusal_status_answer a;
	unsigned long flags;

	for (;;) {
		raw_spin_lock_irqsave(&bg_refusal_queue_lock, flags);
		if (!bg_refusal_status_n) {
			raw_spin_unlock_irqrestore(&bg_refusal_queue_lock, flags);
			return;
		}
		a = bg_refusal_status_q[--bg_refusal_status_n];
		raw_spin_unlock_irqrestore(&bg_refusal_queue_lock, flags);
		bg_refusal_report(a.id, a.pid, a.comm);
	}
}

static DECLARE_WORK(bg_refusal_status_work, bg_refusal_status_work_fn);

/**
 * bg_refusal_not_viable() - the current process was told group @id is not
 *                           viable (or its claim of it failed): say why, soon
 * @id: the IOMMU group's id
 *
 * Called when the kernel answered VFIO_GROUP_GET_STATUS with a group that
 * is not viable, the question QEMU, libvirt and DPDK ask before a claim,
 * and (5.19+) when a claim failed with -EPERM or -EBUSY, what a client that
 * skipped the question sees. The report is made by a work item.
 *
 * Context: any; queues a work item.
 */
void bg_refusal_not_viable(int id)
{
	pid_t pid = task_tgid_nr(current);
	unsigned long flags;
	unsigned int i;

	raw_spin_lock_irqsave(&bg_refusal_queue_lock, flags);
	for (i = 0; i < bg_refusal_status_n; i++)
		if (bg_refusal_status_q[i].id == id && bg_refusal_status_q[i].pid == pid)
			break;
	if (i == bg_refusal_status_n && i < BG_STATUS_SLOTS) {
		bg_refusal_status_q[i].id = id;
		bg_refusal_status_q[i].pid = pid;
		bg_names_current_comm(bg_refusal_status_q[i].comm);
		bg_refusal_status_n++;
	}
	raw_spin_unlock_irqrestore(&bg_refusal_queue_lock, flags);
	schedule_work(&bg_refusal_status_work);
}

/**
 * bg_refusal_exit() - wait for the "not viable" reports still queued
 *
 * Call once no claim hook is left to queue one.
 *
 * Context: process; sleeps.
 */
void bg_refusal_exit(void)
{
	cancel_work_sync(&bg_refusal_status_work);
}
