/* SPDX-License-Identifier: GPL-2.0 */
/*
 * table.h - the ownership table's entries, private to the files that work on
 * them: table.c (entries), member.c (their devices), listed.c (the
 * reserved and protected names' marks), owner.c (the state),
 * refusal.c (refusal records), notviable.c (reports) and debugfs.c
 * (printing).
 *
 * Locks, outermost first:
 *   bg_table_mutex (table.c)  the xarray's entries, each entry's members,
 *                             the listed names (listed.c); process context
 *   rcu_read_lock()           looking an entry up in atomic context; an
 *                             entry is freed after a grace period
 *   bg_group.lock             the entry's state (struct bg_state); taken in
 *                             atomic context, interrupts off: a
 *                             raw_spinlock_t, which does not sleep on
 *                             PREEMPT_RT either; held for a few copies and
 *                             counts, never around an allocation
 */
#ifndef _BINDGUARD_TABLE_H
#define _BINDGUARD_TABLE_H

#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct device;
struct iommu_group;

/**
 * struct bg_member - one device of an IOMMU group; bg_table_mutex
 * @node:     in bg_group.members
 * @dnode:    in table.c's index of members by device
 * @group:    the entry whose members list holds it
 * @dev:      identity only, never dereferenced once the device is deleted
 * @driver:   name of the bound driver, copied to its length (kstrdup());
 *            NULL when unbound, or when there was no memory to copy it
 * @blocks:   the driver keeps the group from being claimed (not viable):
 *            bg_viable_blocks(), the one rule
 * @user_dma: the driver leaves DMA to userspace (bg_viable_user_dma())
 * @reserved: its name is reserved (counted in the group's st.reserved)
 * @protected: its name is protected (counted in the group's st.protected)
 * @ids:      the device's vendor, device, subsystem vendor and subsystem
 *            device IDs, which a listed name's pinned IDs must match
 * @bdf:      pci_name() of the device, copied to its length
 */
struct bg_member {
	struct list_head node;
	struct hlist_node dnode;
	struct bg_group *group;
	struct device *dev;
	const char *driver;
	bool blocks;
	bool user_dma;
	bool reserved;
	bool protected;
	u16 ids[4];
	char bdf[];
};

/**
 * struct bg_ratelimit - log lines of one kind in one group, limited like
 *                       printk_ratelimit(): a burst per interval
 * @begin: boottime second the current interval began
 * @count: lines asked for in it (those past the burst were suppressed)
 *
 * 8 bytes where struct ratelimit_state takes 32 to 40: one per group and
 * kind, so that a storm in one group hides no line of another. bg_group.lock.
 */
struct bg_ratelimit {
	u32 begin;
	u32 count;
};

/**
 * struct bg_state - ownership state of one group; bg_group.lock
 * @claims:      committed DMA-ownership claims by userspace (group or device)
 * @pending:     claims in flight: already enough to refuse a racing bind
 * @pending_set: claims in flight whose container vfio has set (before
 *               5.19: a group has one container at a time, so a release
 *               now is theirs)
 * @released_early: releases of a claim in flight, seen before its commit
 *               (another thread's VFIO_GROUP_UNSET_CONTAINER): while
 *               pending_set, or when no other claim is known (claims 0, not
 *               presumed); its commit then ends in that release
 * @probing:     kernel-driver probes admitted and not yet returned (counted
 *               before 5.19 only, where a claim must wait for them)
 * @gen:         bumped by every claim, release and commit: a rescan that
 *               raced one of them does not overwrite what it saw
 * @owner_pid:   tgid of the claiming process, 0 when unknown
 * @reserved:    members whose names are reserved (reserve.c): while
 *               non-zero the group is closed to kernel DMA-API drivers;
 *               written under bg_table_mutex and this lock
 * @protected:   members whose names are protected (listed.c): while
 *               non-zero the group is closed to drivers that leave DMA to
 *               userspace; written under bg_table_mutex and this lock
 * @protected_bdf: the name of one protected member, "" if none; written
 *               with @protected
 * @reserved_bdf: the name of one reserved member, "" if none; written with
 *               @reserved
 * @presumed:    found owned by asking the kernel (load-time scan, a missed
 *               kretprobe call), not by seeing the claim; until a claim or a
 *               release of the group is seen
 * @uncounted:   the count may be wrong: found owned by asking the kernel
 *               (or asked while a claim ran) since it last said the group
 *               is free; since 5.19 each release asks the kernel again
 * @rs:          ratelimits this group's refusal log lines (binds, claims)
 * @rs_viable:   ratelimits its "not viable" reports (log line and events)
 * @refused:     binds refused (in audit mode: that would have been)
 * @owner_comm:  comm of its group leader
 * @since_ns:    boottime when the group became user-owned
 * @last_ns:     boottime of the last refusal, 0 if none
 * @probe:       device and driver of the last counted probe, NULL if none
 *               (or none left in names.c's pool)
 * @last:        device and driver of the last refusal, NULL if none (or
 *               none left in names.c's pool)
 */
struct bg_state {
	int claims;
	int pending;
	int pending_set;
	int released_early;
	int probing;
	unsigned int gen;
	pid_t owner_pid;
	u16 reserved;
	u16 protected;
	char protected_bdf[BG_BDF_LEN];
	char reserved_bdf[BG_BDF_LEN];
	bool presumed;
	bool uncounted;
	struct bg_ratelimit rs;
	struct bg_ratelimit rs_viable;
	unsigned long refused;
	char owner_comm[TASK_COMM_LEN];
	u64 since_ns;
	u64 last_ns;
	struct bg_names *probe;
	struct bg_names *last;
};

/* the last events of each group, kept apart from the ring (events.c) */
#define BG_GROUP_EVENTS		8
#define BG_GROUP_EV_NAME	48

/**
 * struct bg_group_event - one event in a group's own history
 * @ns:     boottime of the event
 * @type:   what happened
 * @pid:    the process, 0 if unknown
 * @comm:   its comm, "" if unknown
 * @bdf:    the device, "" if none; cut with "..." past BG_GROUP_EV_NAME - 1
 *          bytes
 * @driver: its driver, "" if none; cut the same way
 */
struct bg_group_event {
	u64 ns;
	enum bg_event_type type;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	char bdf[BG_GROUP_EV_NAME];
	char driver[BG_GROUP_EV_NAME];
};

/**
 * struct bg_group_events - a group's last BG_GROUP_EVENTS events, so that
 *                          a noisy group cannot evict them from the ring;
 *                          bg_events_lock (events.c)
 * @ev:    the events, a ring
 * @head:  the next slot in @ev
 * @count: events recorded for the group since its entry was made
 */
struct bg_group_events {
	struct bg_group_event ev[BG_GROUP_EVENTS];
	unsigned int head;
	unsigned long count;
};

/**
 * struct bg_group - bindguard's view of one IOMMU group
 * @group:   the group, compared by address only; a reference is held
 *           while the entry is in the table
 * @id:      iommu_group_id(), the key in the table
 * @lock:    protects @st; taken in atomic context (raw: PREEMPT_RT)
 * @members: list of struct bg_member; bg_table_mutex
 * @rcu:     frees the entry after a grace period (table.c)
 * @st:      the ownership state
 * @events:  its last events (events.c); bg_events_lock
 */
struct bg_group {
	struct iommu_group *group;
	int id;
	raw_spinlock_t lock;		/* protects st */
	struct list_head members;	/* bg_table_mutex */
	struct rcu_head rcu;
	struct bg_state st;
	struct bg_group_events events;
};

/*
 * Held: userspace owns the group, by a claim bindguard saw committed or by
 * one it found afterwards (presumed). Events and the module reference
 * follow held, not pending.
 */
static inline bool bg_group_held(const struct bg_state *st)
{
	return st->claims > 0 || st->presumed;
}

/*
 * Owned by userspace, a claim in flight included: a bind racing the claim
 * is already refused. Reads the live state locklessly, or a snapshot.
 */
static inline bool bg_group_user_owned(const struct bg_state *st)
{
	return READ_ONCE(st->claims) > 0 || READ_ONCE(st->pending) > 0 ||
	       READ_ONCE(st->presumed);
}

/*
 * A group enters (+1) or leaves (-1) state held. Before 5.19 nothing stands
 * behind bindguard, so each held group holds a reference on this module:
 * rmmod fails with EBUSY while userspace owns a group.
 */
extern raw_spinlock_t bg_table_pins_lock;	/* table.c */
extern int bg_table_held;	/* bg_table_pins_lock: those references */

static inline void bg_group_count_held(int delta)
{
	unsigned long flags;

	if (BG_NATIVE_DMA_OWNER)
		return;
	/* the reference and its count change together: bg_table_pins() */
	raw_spin_lock_irqsave(&bg_table_pins_lock, flags);
	if (delta > 0) {
		__module_get(THIS_MODULE);
		bg_table_held++;
	} else {
		bg_table_held--;
		module_put(THIS_MODULE);
	}
	raw_spin_unlock_irqrestore(&bg_table_pins_lock, flags);
}

/* table.c, for the files that work on entries */
extern struct mutex bg_table_mutex;

struct bg_group *bg_table_next(unsigned long *id);
struct bg_group *bg_table_get_entry(struct device *dev);
struct bg_member *bg_table_member(struct bg_group *g, struct device *dev);
struct bg_member *bg_table_member_of(struct device *dev);
void bg_table_add_member(struct bg_group *g, struct bg_member *m);
void bg_table_del_member(struct bg_member *m);
void bg_table_erase(struct bg_group *g);

/* listed.c: the reserved and protected names' marks, for member.c */
void bg_listed_mark_new(struct bg_group *g, struct bg_member *m);
void bg_listed_mark_gone(struct bg_group *g, struct bg_member *m);

/* refusal.c: a group's log lines of one kind, ratelimited (also notviable.c's) */
bool bg_refusal_ratelimit(struct bg_group *g, struct bg_ratelimit *rl,
			  const char *what);

/* events.c: a group's own history */
unsigned int bg_event_group_snapshot(struct bg_group *g, struct bg_group_event *snap,
				     unsigned long *dropped);

#endif /* _BINDGUARD_TABLE_H */
