// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs.c - /sys/kernel/debug/bindguard/, root-only: every file, its
 * format and the format's version. It only prints: the state is read
 * through the lock that guards it (bg_table_mutex for the entries and
 * members, each group's lock for its state, a copy of the event ring).
 *
 *   groups    "bindguard-groups 3": one line per group, who owns it
 *   blockers  "bindguard-blockers 1": members that keep a group from being
 *             claimed (the rule of viable.c)
 *   events    "bindguard-events 3": the event ring (events.c)
 *   history   "bindguard-history 1": each group's last events (events.c)
 *   hooks     "bindguard-hooks 1": the hooks armed, and their misses
 *   listed    "bindguard-listed 1": reservations and protections, the IDs
 *             each is pinned to, and whether it applies (listed.c)
 *
 * The formats are documented in README.md. Names are escaped (names.c): no
 * field holds a space or a newline.
 */
#include <linux/debugfs.h>
#include <linux/lockdep.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "bindguard.h"
#include "table.h"

static struct dentry *bg_debugfs_dir;

/*
 * bg_debugfs_time() - print a boottime stamp as seconds.micros, like dmesg
 * @m:  the seq_file
 * @ns: boottime in nanoseconds
 *
 * Context: process.
 */
static void bg_debugfs_time(struct seq_file *m, u64 ns)
{
	u32 rem_ns;
	u64 sec = div_u64_rem(ns, NSEC_PER_SEC, &rem_ns);

	seq_printf(m, "%llu.%06u", sec, (u32)(rem_ns / NSEC_PER_USEC));
}

/*
 * debugfs "groups" and "blockers" walk the table as seq_file iterators, one
 * group per record, so that a read costs what it prints: position 0 is the
 * header, position N > 0 the first group whose id is N - 1 or more (group ids
 * are the xarray's keys). bg_table_mutex is held from start to stop.
 */
static void *bg_debugfs_seq_group(loff_t pos)
{
	unsigned long id = pos - 1;

	return bg_table_next(&id);
}

static void *bg_debugfs_seq_start(struct seq_file *m, loff_t *pos)
{
	mutex_lock(&bg_table_mutex);
	return *pos ? bg_debugfs_seq_group(*pos) : SEQ_START_TOKEN;
}

static void *bg_debugfs_seq_next(struct seq_file *m, void *v, loff_t *pos)
{
	*pos = v == SEQ_START_TOKEN ? 1 : ((struct bg_group *)v)->id + 2;
	return bg_debugfs_seq_group(*pos);
}

static void bg_debugfs_seq_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&bg_table_mutex);
}

/*
 * debugfs "groups". Format "bindguard-groups 3" (README.md; 2 added the
 * state "reserved": a group nobody owns that a reservation closes; 3 the
 * state "protected": a group nobody owns with a protected member, which
 * goes before "reserved"): a line
 * naming the format, a header, then one line per group: "id state pid comm
 * since refused last_refusal members...", the last refusal as
 * dev/driver@time, members as dev=driver, "-" for what is unknown or empty.
 * Names are escaped (bg_names_seq()): no field holds a space or a newline.
 * Each group's state is copied under its lock (a raw spinlock: only the
 * copy, not the printing, runs with interrupts off), then printed.
 */
static struct bg_names bg_debugfs_last;	/* bg_table_mutex: a state's copy */

static int bg_debugfs_groups_show(struct seq_file *m, void *v)
{
	const struct bg_state *st;
	struct bg_state snap;
	struct bg_member *mem;
	struct bg_group *g = v;
	bool user;

	lockdep_assert_held(&bg_table_mutex);
	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "# bindguard-groups 3\n");
		seq_puts(m, "# group state pid comm since refused last_refusal members\n");
		return 0;
	}
	raw_spin_lock_irq(&g->lock);
	snap = g->st;
	if (snap.last)
		bg_debugfs_last = *snap.last;
	raw_spin_unlock_irq(&g->lock);
	if (snap.last)
		snap.last = &bg_debugfs_last;
	snap.probe = NULL;	/* not printed, not copied */
	st = &snap;
	user = bg_group_user_owned(st);
	seq_printf(m, "%d %s ", g->id,
		   user ? "user" : st->protected ? "protected" :
		   st->reserved ? "reserved" : "kernel");
	if (user && st->owner_pid) {
		seq_printf(m, "%d ", st->owner_pid);
		bg_names_seq(m, st->owner_comm);
	} else {
		seq_puts(m, "- -");
	}
	seq_putc(m, ' ');
	if (user && st->since_ns)
		bg_debugfs_time(m, st->since_ns);
	else
		seq_putc(m, '-');
	seq_printf(m, " %lu ", st->refused);
	if (st->last_ns) {
		bg_names_seq(m, bg_names_dev(st->last));
		seq_putc(m, '/');
		bg_names_seq(m, bg_names_driver(st->last));
		seq_putc(m, '@');
		bg_debugfs_time(m, st->last_ns);
	} else {
		seq_putc(m, '-');
	}
	list_for_each_entry(mem, &g->members, node) {
		seq_putc(m, ' ');
		bg_names_seq(m, mem->bdf);
		seq_putc(m, '=');
		bg_names_seq(m, mem->driver);
	}
	seq_putc(m, '\n');
	return 0;
}

static const struct seq_operations bg_debugfs_groups_sops = {
	.start = bg_debugfs_seq_start,
	.next = bg_debugfs_seq_next,
	.stop = bg_debugfs_seq_stop,
	.show = bg_debugfs_groups_show,
};

/*
 * debugfs "blockers": every member that keeps its group from being claimed,
 * with its driver. Format "bindguard-blockers 1": "group dev driver", names
 * escaped as in "groups". A group with no line here is viable:
 * VFIO_GROUP_GET_STATUS reports VFIO_GROUP_FLAGS_VIABLE for it
 * (bg_viable_blocks(), the one rule, mirrors the kernel's), as the guest
 * tests check against the kernel.
 */
static int bg_debugfs_blockers_show(struct seq_file *m, void *v)
{
	struct bg_member *mem;
	struct bg_group *g = v;

	lockdep_assert_held(&bg_table_mutex);
	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "# bindguard-blockers 1\n# group dev driver\n");
		return 0;
	}
	list_for_each_entry(mem, &g->members, node) {
		if (!mem->blocks)
			continue;
		seq_printf(m, "%d ", g->id);
		bg_names_seq(m, mem->bdf);
		seq_putc(m, ' ');
		bg_names_seq(m, mem->driver);
		seq_putc(m, '\n');
	}
	return 0;
}

static const struct seq_operations bg_debugfs_blockers_sops = {
	.start = bg_debugfs_seq_start,
	.next = bg_debugfs_seq_next,
	.stop = bg_debugfs_seq_stop,
	.show = bg_debugfs_blockers_show,
};

/*
 * One event, in the grammar of "bindguard-events 2" (below), from the ring
 * (struct bg_event) or a group's history (struct bg_group_event).
 */
static void bg_debugfs_event_line(struct seq_file *m, u64 ns, int group,
				  enum bg_event_type type, pid_t pid,
				  const char *comm, const char *bdf,
				  const char *driver)
{
	seq_putc(m, '[');
	bg_debugfs_time(m, ns);
	seq_printf(m, "] group=%d %s", group, bg_event_name(type));
	if (bdf[0]) {
		seq_puts(m, " dev=");
		bg_names_seq(m, bdf);
	}
	if (bdf[0] && type != BG_EV_RESERVE && type != BG_EV_UNRESERVE &&
	    type != BG_EV_PROTECT && type != BG_EV_UNPROTECT) {
		seq_puts(m, " driver=");
		bg_names_seq(m, driver);
	}
	if (type != BG_EV_KERNEL) {
		if (pid) {
			seq_printf(m, " pid=%d comm=", pid);
			bg_names_seq(m, comm);
		} else {
			seq_puts(m, " pid=- comm=-");
		}
	}
	seq_putc(m, '\n');
}

static void bg_debugfs_event_show(struct seq_file *m, const struct bg_event *ev)
{
	bg_debugfs_event_line(m, ev->ns, ev->group, ev->type, ev->pid,
			      ev->comm, ev->bdf, ev->driver);
}

/*
 * bg_debugfs_events_show() - print the ring, oldest first, for debugfs "events"
 *
 * Format "bindguard-events 3" (README.md; 2 added not-viable, reserve and
 * release; 3 protect, unprotect and unbind-refused): a
 * line naming the format, then a line counting events dropped from a full
 * ring if any, then one line per event: "[seconds.micros] group=N <type>"
 * followed by "dev=<name> driver=<name>" for refusals, audits, refused
 * claims, not-viable answers (the blocker) and refused unbinds,
 * "dev=<BDF>" for reserve, release, protect and unprotect (group=-1 when no
 * device has that name), and "pid=<P>
 * comm=<C>" for all but "kernel". Names are escaped (names.c).
 *
 * Copies the ring (bg_event_snapshot()), prints unlocked. Process context.
 */
static int bg_debugfs_events_show(struct seq_file *m, void *unused)
{
	unsigned int i, count;
	unsigned long dropped;
	struct bg_event *snap;

	snap = kvmalloc_array(BG_EVENTS, sizeof(*snap), GFP_KERNEL);
	if (!snap)
		return -ENOMEM;
	count = bg_event_snapshot(snap, &dropped);

	seq_puts(m, "# bindguard-events 3\n");
	if (dropped)
		seq_printf(m, "# %lu older events dropped\n", dropped);
	for (i = 0; i < count; i++)
		bg_debugfs_event_show(m, &snap[i]);
	kvfree(snap);
	return 0;
}

/*
 * debugfs "history". Format "bindguard-history 1": a line naming the
 * format, then per group (by id) a line "# group N: D older events" if it
 * had more than BG_GROUP_EVENTS, then its last BG_GROUP_EVENTS events,
 * oldest first, each line as in "events" (device and driver names cut with
 * "..." past BG_GROUP_EV_NAME - 1 bytes). Kept apart from the ring: a noisy
 * group cannot evict another's. The events are copied under bg_events_lock
 * (bg_event_group_snapshot()) and printed unlocked.
 */
static int bg_debugfs_history_show(struct seq_file *m, void *v)
{
	struct bg_group_event *snap, *e;
	unsigned long dropped;
	struct bg_group *g = v;
	unsigned int i, count;

	lockdep_assert_held(&bg_table_mutex);
	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "# bindguard-history 1\n");
		return 0;
	}
	snap = kmalloc_array(BG_GROUP_EVENTS, sizeof(*snap), GFP_KERNEL);
	if (!snap)
		return -ENOMEM;
	count = bg_event_group_snapshot(g, snap, &dropped);
	if (dropped)
		seq_printf(m, "# group %d: %lu older events\n", g->id, dropped);
	for (i = 0; i < count; i++) {
		e = &snap[i];
		bg_debugfs_event_line(m, e->ns, g->id, e->type, e->pid,
				      e->comm, e->bdf, e->driver);
	}
	kfree(snap);
	return 0;
}

static const struct seq_operations bg_debugfs_history_sops = {
	.start = bg_debugfs_seq_start,
	.next = bg_debugfs_seq_next,
	.stop = bg_debugfs_seq_stop,
	.show = bg_debugfs_history_show,
};

DEFINE_SEQ_ATTRIBUTE(bg_debugfs_groups);
DEFINE_SEQ_ATTRIBUTE(bg_debugfs_blockers);
DEFINE_SHOW_ATTRIBUTE(bg_debugfs_events);
DEFINE_SEQ_ATTRIBUTE(bg_debugfs_history);

/* Format "bindguard-hooks 1": "function kind missed", see bg_claim_show(). */
static int bg_debugfs_hooks_show(struct seq_file *m, void *unused)
{
	seq_puts(m, "# bindguard-hooks 1\n# function kind missed\n");
	seq_puts(m, "really_probe veto -\n");
	bg_unbind_show(m);
	bg_claim_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bg_debugfs_hooks);

/* Format "bindguard-listed 1": see bg_listed_show(). */
static int bg_debugfs_listed_show(struct seq_file *m, void *unused)
{
	bg_listed_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bg_debugfs_listed);

/**
 * bg_debugfs_init() - create the debugfs directory and files
 *
 * debugfs failures are not fatal (debugfs may be absent or locked down).
 *
 * Context: process (module init).
 * Return: 0.
 */
int bg_debugfs_init(void)
{
	bg_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("groups", 0400, bg_debugfs_dir, NULL, &bg_debugfs_groups_fops);
	debugfs_create_file("blockers", 0400, bg_debugfs_dir, NULL, &bg_debugfs_blockers_fops);
	debugfs_create_file("events", 0400, bg_debugfs_dir, NULL, &bg_debugfs_events_fops);
	debugfs_create_file("history", 0400, bg_debugfs_dir, NULL, &bg_debugfs_history_fops);
	debugfs_create_file("hooks", 0400, bg_debugfs_dir, NULL, &bg_debugfs_hooks_fops);
	debugfs_create_file("listed", 0400, bg_debugfs_dir, NULL, &bg_debugfs_listed_fops);
	return 0;
}

/**
 * bg_debugfs_exit() - remove the debugfs directory; waits for open readers
 *
 * Context: process; sleeps.
 */
void bg_debugfs_exit(void)
{
	debugfs_remove(bg_debugfs_dir);
}
