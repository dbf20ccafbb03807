// SPDX-License-Identifier: GPL-2.0
/*
 * events.c - the event ring: recent ownership changes, refusals and
 * reservations, which debugfs "events" prints, and their tracepoints
 * (bindguard_trace.h), fired from the same call so that the ring and the
 * trace never disagree.
 *
 * Each event is also kept in its group's own history (struct
 * bg_group_events in the table entry, the last BG_GROUP_EVENTS), so that one
 * noisy group cannot evict every other group's events from the ring. The
 * entry is found under rcu_read_lock() (it is freed after a grace period).
 *
 * Lock: bg_events_lock, a leaf raw spinlock with interrupts off (taken by
 * the hooks with preemption off, also on PREEMPT_RT), for the ring and
 * every group's history. Both are written from atomic context (claim hooks,
 * the veto in audit mode), so both are fixed arrays, nothing is allocated;
 * the oldest event is dropped when one is full.
 */
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "bindguard.h"
#include "table.h"

#define CREATE_TRACE_POINTS
#include "bindguard_trace.h"

static DEFINE_RAW_SPINLOCK(bg_events_lock);
static struct bg_event bg_events[BG_EVENTS];	/* bg_events_lock */
static unsigned int bg_events_head;		/* bg_events_lock: next slot */
static unsigned int bg_events_count;		/* bg_events_lock */
static unsigned long bg_events_dropped;		/* bg_events_lock */

static const char * const bg_event_names[] = {
	[BG_EV_USER] = "user",
	[BG_EV_KERNEL] = "kernel",
	[BG_EV_REFUSED] = "refused",
	[BG_EV_AUDIT] = "audit",
	[BG_EV_CLAIM_REFUSED] = "claim-refused",
	[BG_EV_NOT_VIABLE] = "not-viable",
	[BG_EV_RESERVE] = "reserve",
	[BG_EV_UNRESERVE] = "release",
	[BG_EV_PROTECT] = "protect",
	[BG_EV_UNPROTECT] = "unprotect",
	[BG_EV_UNBIND_REFUSED] = "unbind-refused",
};

/**
 * bg_event_name() - an event type's name, as debugfs "events" prints it
 * @type: the type
 *
 * Context: any.
 * Return: the name.
 */
const char *bg_event_name(enum bg_event_type type)
{
	return bg_event_names[type];
}

/* a name into a group's history: whole, or cut with "..." */
static void bg_event_cut(char *dst, size_t size, const char *src)
{
	if (strscpy(dst, src ?: "", size) < 0)
		memcpy(dst + size - 4, "...", 4);
}

/* the event also into its group's history; bg_events_lock held */
static void bg_event_add_group(const struct bg_event *ev)
{
	struct bg_group_events *h;
	struct bg_group_event *e;
	struct bg_group *g;

	lockdep_assert_held(&bg_events_lock);
	if (ev->group < 0)
		return;
	rcu_read_lock();
	g = bg_table_find(ev->group);
	if (g) {
		h = &g->events;
		e = &h->ev[h->head];
		h->head = (h->head + 1) % BG_GROUP_EVENTS;
		h->count++;
		e->ns = ev->ns;
		e->type = ev->type;
		e->pid = ev->pid;
		strscpy(e->comm, ev->comm, sizeof(e->comm));
		bg_event_cut(e->bdf, sizeof(e->bdf), ev->bdf);
		bg_event_cut(e->driver, sizeof(e->driver), ev->driver);
	}
	rcu_read_unlock();
}

/**
 * bg_event_add() - append an event, dropping the oldest if the ring is full
 * @type:   what happened
 * @group:  IOMMU group id
 * @pid:    owner process, 0 if unknown or not applicable
 * @comm:   owner comm, or NULL
 * @bdf:    device (refusals), or NULL
 * @driver: driver (refusals), or NULL
 *
 * Strings are copied. The event also goes into its group's history (the
 * last BG_GROUP_EVENTS of the group, names cut past BG_GROUP_EV_NAME - 1
 * bytes), if bindguard tracks the group. Each event also fires its tracepoint
 * (bindguard_trace.h): bindguard_owner, bindguard_refusal,
 * bindguard_claim_refused, bindguard_not_viable or bindguard_reservation;
 * protect, unprotect and unbind-refused have none.
 *
 * Context: any; takes bg_events_lock with interrupts disabled.
 */
void bg_event_add(enum bg_event_type type, int group, pid_t pid,
		  const char *comm, const char *bdf, const char *driver)
{
	struct bg_event *ev;
	unsigned long flags;

	raw_spin_lock_irqsave(&bg_events_lock, flags);
	ev = &bg_events[bg_events_head];
	bg_events_head = (bg_events_head + 1) % BG_EVENTS;
	if (bg_events_count < BG_EVENTS)
		bg_events_count++;
	else
		bg_events_dropped++;
	ev->ns = ktime_get_boottime_ns();
	ev->type = type;
	ev->group = group;
	ev->pid = pid;
	strscpy(ev->comm, comm ?: "", sizeof(ev->comm));
	strscpy(ev->bdf, bdf ?: "", sizeof(ev->bdf));
	strscpy(ev->driver, driver ?: "", sizeof(ev->driver));
	bg_event_add_group(ev);
	raw_spin_unlock_irqrestore(&bg_events_lock, flags);

	switch (type) {
	case BG_EV_USER:
	case BG_EV_KERNEL:
		trace_bindguard_owner(group, type == BG_EV_USER, pid, comm);
		break;
	case BG_EV_REFUSED:
	case BG_EV_AUDIT:
		trace_bindguard_refusal(group, bdf, driver, pid, comm,
					bg_param_mode(), type == BG_EV_REFUSED);
		break;
	case BG_EV_CLAIM_REFUSED:
		trace_bindguard_claim_refused(group, pid, comm, bdf, driver);
		break;
	case BG_EV_NOT_VIABLE:
		trace_bindguard_not_viable(group, pid, comm, bdf, driver);
		break;
	case BG_EV_RESERVE:
	case BG_EV_UNRESERVE:
		trace_bindguard_reservation(bdf, group, type == BG_EV_RESERVE, pid, comm);
		break;
	case BG_EV_PROTECT:
	case BG_EV_UNPROTECT:
	case BG_EV_UNBIND_REFUSED:
		break;	/* no tracepoint: debugfs "events" only */
	}
}

/* events copied per hold of bg_events_lock: interrupts go off for a few µs */
#define BG_EVENTS_CHUNK 16

/**
 * bg_event_snapshot() - copy the ring, oldest first
 * @snap:    room for BG_EVENTS events
 * @dropped: set to the number of events recorded before the first copied
 *
 * The ring as it was when called, copied BG_EVENTS_CHUNK events at a time
 * so that the hooks, which take bg_events_lock with interrupts off, never
 * wait for the whole ring (a PREEMPT_RT kernel's latency); an event that
 * new ones overwrite before it is copied counts as dropped. Event number k
 * (counted from the load) is in slot k % BG_EVENTS while fewer than
 * BG_EVENTS events follow it. The copy is one run of events: when new
 * ones overwrite it meanwhile, it starts again from the newest (after two
 * such restarts, in one hold of the lock).
 *
 * Context: process; takes bg_events_lock with interrupts disabled.
 * Return: the number of events copied.
 */
unsigned int bg_event_snapshot(struct bg_event *snap, unsigned long *dropped)
{
	unsigned long total, now, k;
	unsigned int n = 0, i, restarts = 0;

	raw_spin_lock_irq(&bg_events_lock);
	total = bg_events_dropped + bg_events_count;
	raw_spin_unlock_irq(&bg_events_lock);
	k = total - min_t(unsigned long, total, BG_EVENTS);
	while (k < total) {
		raw_spin_lock_irq(&bg_events_lock);
		now = bg_events_dropped + bg_events_count;
		if (now - k > BG_EVENTS) {
			/*
			 * Overwritten meanwhile (a storm): copy the newest
			 * events instead, the last time in one hold.
			 */
			total = now;
			k = now - BG_EVENTS;
			n = 0;
			restarts++;
		}
		for (i = 0; (i < BG_EVENTS_CHUNK || restarts > 2) && k < total; i++, k++)
			snap[n++] = bg_events[k % BG_EVENTS];
		raw_spin_unlock_irq(&bg_events_lock);
	}
	*dropped = total - n;
	return n;
}

/**
 * bg_event_group_snapshot() - copy a group's history, oldest first
 * @g:       the group's entry
 * @snap:    room for BG_GROUP_EVENTS events
 * @dropped: set to the number of the group's events no longer kept
 *
 * Context: process; bg_table_mutex held (the entry stays); takes
 * bg_events_lock with interrupts disabled.
 * Return: the number of events copied.
 */
unsigned int bg_event_group_snapshot(struct bg_group *g, struct bg_group_event *snap,
				     unsigned long *dropped)
{
	const struct bg_group_events *h = &g->events;
	unsigned int i, first, count;

	lockdep_assert_held(&bg_table_mutex);
	raw_spin_lock_irq(&bg_events_lock);
	count = min_t(unsigned long, h->count, BG_GROUP_EVENTS);
	*dropped = h->count - count;
	first = (h->head + BG_GROUP_EVENTS - count) % BG_GROUP_EVENTS;
	for (i = 0; i < count; i++)
		snap[i] = h->ev[(first + i) % BG_GROUP_EVENTS];
	raw_spin_unlock_irq(&bg_events_lock);
	return count;
}
