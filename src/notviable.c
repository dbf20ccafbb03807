// SPDX-License-Identifier: GPL-2.0
/*
 * notviable.c - why a group is not viable, told when a process is told so:
 * one log line naming each blocking member and its driver, with what to run
 * to fix it, and one "not-viable" event per blocker, ratelimited per group.
 *
 * Lock story: the hooks that learn of a "not viable" answer run in atomic
 * context, so they queue it (bg_notviable_lock, a leaf raw spinlock, guards
 * the few answers waiting) for a work item, which walks the members under
 * bg_table_mutex and takes the group's lock for its ratelimit.
 */
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "bindguard.h"
#include "table.h"

/* an escaped name in the log line: a BDF or a comm, escaped (x4), cut */
#define BG_NOTVIABLE_NAME	68

/*
 * One log line of blockers: "DEV is bound to DRIVER, ..." (escaped names),
 * then the fix
 */
#define BG_BLOCKERS_LINE	512
#define BG_FIX_LINE		(160 + 3 * BG_NOTVIABLE_NAME)

/*
 * Say why group @id is not viable: one log line and one "not-viable" event
 * per blocking member, ratelimited per group. To @pid (tgid), @comm. Nothing
 * is said if bindguard knows no blocker (a member's driver changed since;
 * the group has another owner). Process context (the work item).
 */
static void bg_notviable_report(int id, pid_t pid, const char *comm)
{
	char nodedev[BG_BDF_LEN + 4], esc[BG_NOTVIABLE_NAME], comm_esc[BG_NOTVIABLE_NAME];
	const char *first = NULL;
	bool full = false, prot = false, limited;
	struct bg_member *mem;
	struct bg_group *g;
	size_t len = 0;
	char *line;

	line = kmalloc(BG_BLOCKERS_LINE + BG_FIX_LINE, GFP_KERNEL);
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
		prot |= mem->protected;
		if (!mem->blocks)
			continue;
		bg_event_add(BG_EV_NOT_VIABLE, id, pid, comm, mem->bdf, mem->driver);
		if (full)
			continue;
		/*
		 * room for a BDF and a short driver name (each escaped into
		 * at most half of what is left, cut with "..." past it), and a
		 * protected member's way to lift it; else "..." ends the list
		 */
		if (BG_BLOCKERS_LINE - len < 64 + (mem->protected ? 72 : 0)) {
			len += scnprintf(line + len, BG_BLOCKERS_LINE - len, ", ...");
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
		else if (!first)
			first = mem->bdf;
	}
	/*
	 * the fix: the first blocker's detach, and where the rest is told;
	 * none while a member is protected (vfio-pci is refused there: the
	 * protection's own line says how to lift it)
	 */
	if (len && first && !prot)
		scnprintf(line + len, BG_FIX_LINE,
			  "; to fix, detach each: virsh nodedev-detach %s (or echo %s > /sys/bus/pci/devices/%s/driver/unbind); all of it: bindguard-status --explain %d",
			  bg_refusal_nodedev(nodedev, first),
			  bg_names_escape(esc, sizeof(esc), first), esc, id);
	if (len)
		pr_warn("iommu group %d not viable for pid %d (%s): %s\n", id, pid,
			bg_names_escape(comm_esc, sizeof(comm_esc), comm), line);
out:
	mutex_unlock(&bg_table_mutex);
	kfree(line);
}

/*
 * "Not viable" answers, from the hooks (atomic) to a work item that reports
 * them (bg_notviable_report() sleeps). A few slots: a question asked again
 * while its answer waits is reported once.
 */
#define BG_STATUS_SLOTS 8
struct bg_notviable_status_answer {
	int id;
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

static DEFINE_RAW_SPINLOCK(bg_notviable_lock);
/* Both under bg_notviable_lock: */
static struct bg_notviable_status_answer bg_notviable_status_q[BG_STATUS_SLOTS];
static unsigned int bg_notviable_status_n;

static void bg_notviable_status_work_fn(struct work_struct *work)
{
	struct bg_notviable_status_answer a;
	unsigned long flags;

	for (;;) {
		raw_spin_lock_irqsave(&bg_notviable_lock, flags);
		if (!bg_notviable_status_n) {
			raw_spin_unlock_irqrestore(&bg_notviable_lock, flags);
			return;
		}
		a = bg_notviable_status_q[--bg_notviable_status_n];
		raw_spin_unlock_irqrestore(&bg_notviable_lock, flags);
		bg_notviable_report(a.id, a.pid, a.comm);
	}
}

static DECLARE_WORK(bg_notviable_status_work, bg_notviable_status_work_fn);

/**
 * bg_notviable() - the current process was told group @id is not
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
void bg_notviable(int id)
{
	pid_t pid = task_tgid_nr(current);
	unsigned long flags;
	unsigned int i;

	raw_spin_lock_irqsave(&bg_notviable_lock, flags);
	for (i = 0; i < bg_notviable_status_n; i++)
		if (bg_notviable_status_q[i].id == id && bg_notviable_status_q[i].pid == pid)
			break;
	if (i == bg_notviable_status_n && i < BG_STATUS_SLOTS) {
		bg_notviable_status_q[i].id = id;
		bg_notviable_status_q[i].pid = pid;
		bg_names_current_comm(bg_notviable_status_q[i].comm);
		bg_notviable_status_n++;
	}
	raw_spin_unlock_irqrestore(&bg_notviable_lock, flags);
	schedule_work(&bg_notviable_status_work);
}

/**
 * bg_notviable_exit() - wait for the "not viable" reports still queued
 *
 * Call once no claim hook is left to queue one.
 *
 * Context: process; sleeps.
 */
void bg_notviable_exit(void)
{
	cancel_work_sync(&bg_notviable_status_work);
}
