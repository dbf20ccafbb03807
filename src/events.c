// SPDX-License-Identifier: GPL-2.0
/*
 * events.c - a bounded ring of recent ownership changes and refusals, shown
 * in debugfs "events". Written from atomic context (claim kretprobes, the
 * ftrace callback in audit mode), so the ring is a fixed array under a
 * spinlock; the oldest event is dropped when it is full.
 */
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "bindguard.h"

#define BG_EVENTS 256

struct bg_event {
	u64 ns;
	enum bg_event_type type;
	int group;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	char bdf[BG_BDF_LEN];
	char driver[BG_NAME_LEN];
};

static DEFINE_SPINLOCK(bg_events_lock);
static struct bg_event bg_events[BG_EVENTS];	/* bg_events_lock */
static unsigned int bg_events_head;		/* next slot to write */
static unsigned int bg_events_count;
static unsigned long bg_events_dropped;

static const char * const bg_event_names[] = {
	[BG_EV_USER] = "user",
	[BG_EV_KERNEL] = "kernel",
	[BG_EV_REFUSED] = "refused",
	[BG_EV_AUDIT] = "audit",
};

/**
 * bg_event_add() - append an event, dropping the oldest if the ring is full
 * @type:   what happened
 * @group:  IOMMU group id
 * @pid:    owner process, 0 if unknown or not applicable
 * @comm:   owner comm, or NULL
 * @bdf:    device (refusals), or NULL
 * @driver: driver (refusals), or NULL
 *
 * Strings are copied.
 *
 * Context: any; takes bg_events_lock with interrupts disabled.
 */
void bg_event_add(enum bg_event_type type, int group, pid_t pid,
		  const char *comm, const char *bdf, const char *driver)
{
	struct bg_event *ev;
	unsigned long flags;

	spin_lock_irqsave(&bg_events_lock, flags);
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
	spin_unlock_irqrestore(&bg_events_lock, flags);
}

/**
 * bg_seq_time() - print a boottime stamp as seconds.micros, like dmesg
 * @m:  the seq_file
 * @ns: boottime in nanoseconds
 *
 * Context: process.
 */
void bg_seq_time(struct seq_file *m, u64 ns)
{
	u32 rem_ns;
	u64 sec = div_u64_rem(ns, NSEC_PER_SEC, &rem_ns);

	seq_printf(m, "%llu.%06u", sec, (u32)(rem_ns / NSEC_PER_USEC));
}

static void bg_event_show(struct seq_file *m, const struct bg_event *ev)
{
	seq_putc(m, '[');
	bg_seq_time(m, ev->ns);
	seq_printf(m, "] group=%d %s", ev->group, bg_event_names[ev->type]);
	if (ev->bdf[0])
		seq_printf(m, " dev=%s driver=%s", ev->bdf, ev->driver);
	if (ev->type != BG_EV_KERNEL) {
		if (ev->pid)
			seq_printf(m, " pid=%d comm=%s", ev->pid, ev->comm);
		else
			seq_puts(m, " pid=- comm=-");
	}
	seq_putc(m, '\n');
}

/**
 * bg_events_show() - print the ring, oldest first, for debugfs "events"
 * @m: the seq_file
 *
 * Format (documented in README.md): "[seconds.micros] group=N <type>"
 * followed by "dev=<bdf> driver=<name>" for refusals and audits and
 * "pid=<P> comm=<C>" for all but "kernel"; a first line counts events
 * dropped from a full ring.
 *
 * Context: process. Copies the ring under bg_events_lock, prints unlocked.
 */
void bg_events_show(struct seq_file *m)
{
	static struct bg_event snap[BG_EVENTS];	/* serialized by the mutex */
	static DEFINE_MUTEX(snap_mutex);
	unsigned int i, first, count;
	unsigned long dropped;

	mutex_lock(&snap_mutex);
	spin_lock_irq(&bg_events_lock);
	count = bg_events_count;
	dropped = bg_events_dropped;
	first = (bg_events_head + BG_EVENTS - count) % BG_EVENTS;
	for (i = 0; i < count; i++)
		snap[i] = bg_events[(first + i) % BG_EVENTS];
	spin_unlock_irq(&bg_events_lock);

	if (dropped)
		seq_printf(m, "# %lu older events dropped\n", dropped);
	for (i = 0; i < count; i++)
		bg_event_show(m, &snap[i]);
	mutex_unlock(&snap_mutex);
}
