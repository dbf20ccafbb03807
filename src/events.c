// SPDX-License-Identifier: GPL-2.0
/*
 * events.c - what bindguard writes about names: the event ring shown in
 * debugfs "events", its log lines, and the escaping of every name it did not
 * choose itself.
 *
 * The ring holds recent ownership changes and refusals. It is written from
 * atomic context (claim hooks, the ftrace callback in audit mode), so it is
 * a fixed array under a spinlock; the oldest event is dropped when it is
 * full.
 *
 * Names (a process's comm, device and driver names) are escaped wherever
 * bindguard prints them: every byte outside '!'..'~', and the backslash,
 * becomes \ooo (three octal digits), as /proc/mounts writes paths; an empty
 * name is "-", and the name "-" itself is "\055". A field
 * then never holds a space or a newline, and a name a user controls (a VFIO
 * user's comm) cannot forge a line or a field. The kernel's
 * string_escape_str() cannot express this before 5.13 (ESCAPE_APPEND), nor
 * seq_escape_str() before 5.14, hence the few lines here.
 */
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "bindguard.h"

#define CREATE_TRACE_POINTS
#include "bindguard_trace.h"

#define BG_EVENTS 256

struct bg_event {
	u64 ns;
	enum bg_event_type type;
	int group;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	char bdf[BG_NAME_LEN];
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
	[BG_EV_CLAIM_REFUSED] = "claim-refused",
	[BG_EV_NOT_VIABLE] = "not-viable",
	[BG_EV_RESERVE] = "reserve",
	[BG_EV_UNRESERVE] = "release",
};

static bool bg_name_plain(unsigned char c)
{
	return c > ' ' && c <= '~' && c != '\\';
}

/**
 * bg_seq_name() - print a name escaped, or "-" if it is empty
 * @m:    the seq_file
 * @name: a NUL-terminated name, or NULL (printed as "-")
 *
 * Context: any; does not sleep.
 */
void bg_seq_name(struct seq_file *m, const char *name)
{
	const unsigned char *p;

	if (!name)
		name = "";
	p = name;
	if (!strcmp(name, "-")) {
		seq_puts(m, "\\055");
		return;
	}
	if (!*p)
		seq_putc(m, '-');
	for (; *p; p++) {
		if (bg_name_plain(*p))
			seq_putc(m, *p);
		else
			seq_printf(m, "\\%03o", *p);
	}
}

/*
 * In log lines a name is escaped up to about BG_LOG_NAME bytes, then cut
 * with "..." (a printk line holds about 1000 bytes); debugfs keeps names
 * whole.
 */
#define BG_LOG_NAME	160
#define BG_ESC_LEN	(BG_LOG_NAME + 4)

/**
 * bg_escape_into() - escape a name into a buffer, as bg_seq_name() prints it
 * @buf:  where to write; at least 12 bytes
 * @size: its size
 * @name: a NUL-terminated name, or NULL (printed as "-")
 *
 * A name whose escaped form does not fit is cut with "...".
 *
 * Context: any; does not sleep.
 * Return: @buf.
 */
char *bg_escape_into(char *buf, size_t size, const char *name)
{
	const unsigned char *p;
	char *o = buf;

	if (!name)
		name = "";
	p = name;
	if (!strcmp(name, "-")) {
		strscpy(buf, "\\055", size);
		return buf;
	}
	if (!*p)
		*o++ = '-';
	for (; *p; p++) {
		/* room for one escaped byte, "..." and the NUL */
		if (o + 8 > buf + size) {
			strscpy(o, "...", 4);
			return buf;
		}
		if (bg_name_plain(*p))
			*o++ = *p;
		else
			o += sprintf(o, "\\%03o", *p);
	}
	*o = '\0';
	return buf;
}

static char *bg_escape(char *buf, const char *name)
{
	return bg_escape_into(buf, BG_ESC_LEN, name);
}

/* Scratch for log lines: three escaped names (too large for the stack). */
static DEFINE_SPINLOCK(bg_esc_lock);
static char bg_esc[3][BG_ESC_LEN];	/* bg_esc_lock */

/**
 * bg_log_refusal() - log one refused (audit: admitted) bind
 * @audit:  mode=audit: the bind went ahead
 * @dev:    the device's name
 * @driver: the driver's name
 * @group:  IOMMU group id
 * @pid:    owner, 0 if unknown
 * @comm:   owner's comm
 * @reserved: nobody owns the group, it is reserved (reserve.c)
 *
 * The caller ratelimits (per group).
 *
 * Context: any; does not sleep.
 */
void bg_log_refusal(bool audit, const char *dev, const char *driver, int group,
		    pid_t pid, const char *comm, bool reserved)
{
	unsigned long flags;
	char pid_s[12] = "-";

	if (pid)
		snprintf(pid_s, sizeof(pid_s), "%d", pid);
	spin_lock_irqsave(&bg_esc_lock, flags);
	if (reserved)
		pr_warn("%s %s bind to %s: iommu group %d is reserved\n",
			audit ? "audit: would refuse" : "refused",
			bg_escape(bg_esc[0], driver), bg_escape(bg_esc[1], dev), group);
	else
		pr_warn("%s %s bind to %s: iommu group %d owned by userspace (pid %s %s)\n",
			audit ? "audit: would refuse" : "refused",
			bg_escape(bg_esc[0], driver), bg_escape(bg_esc[1], dev), group,
			pid_s, bg_escape(bg_esc[2], pid ? comm : ""));
	spin_unlock_irqrestore(&bg_esc_lock, flags);
}

/**
 * bg_log_claim_refused() - log a claim refused (before 5.19)
 * @group:   IOMMU group id
 * @probing: kernel-driver probes in flight in the group, 0 if the claim was
 *           refused for a bound driver instead
 * @dev:     the device probed (the last one) or bound
 * @driver:  its driver
 *
 * Names the current process as the claimer. The caller ratelimits.
 *
 * Context: any; does not sleep.
 */
void bg_log_claim_refused(int group, int probing, const char *dev,
			  const char *driver)
{
	char comm[TASK_COMM_LEN];
	unsigned long flags;

	get_task_comm(comm, current->group_leader);
	spin_lock_irqsave(&bg_esc_lock, flags);
	if (probing)
		pr_warn("refused claim of iommu group %d by pid %d %s: %s is probing %s (%d kernel-driver probe(s) in flight)\n",
			group, task_tgid_nr(current), bg_escape(bg_esc[0], comm),
			bg_escape(bg_esc[1], driver), bg_escape(bg_esc[2], dev),
			probing);
	else
		pr_warn("refused claim of iommu group %d by pid %d %s: %s is bound to %s\n",
			group, task_tgid_nr(current), bg_escape(bg_esc[0], comm),
			bg_escape(bg_esc[2], dev), bg_escape(bg_esc[1], driver));
	spin_unlock_irqrestore(&bg_esc_lock, flags);
}

/**
 * bg_log_not_viable() - log that a process was told group @group is not viable
 * @group:    IOMMU group id
 * @pid:      the asking process (tgid)
 * @comm:     its comm
 * @blockers: "DEV is bound to DRIVER[, ...]", names already escaped
 *
 * The caller ratelimits (per group).
 *
 * Context: any; does not sleep.
 */
void bg_log_not_viable(int group, pid_t pid, const char *comm,
		       const char *blockers)
{
	unsigned long flags;

	spin_lock_irqsave(&bg_esc_lock, flags);
	pr_warn("iommu group %d not viable for pid %d (%s): %s\n", group, pid,
		bg_escape(bg_esc[0], comm), blockers);
	spin_unlock_irqrestore(&bg_esc_lock, flags);
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
 * Strings are copied. Each event also fires its tracepoint
 * (bindguard_trace.h): bindguard_owner, bindguard_refusal,
 * bindguard_claim_refused, bindguard_not_viable or bindguard_reservation.
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

	switch (type) {
	case BG_EV_USER:
	case BG_EV_KERNEL:
		trace_bindguard_owner(group, type == BG_EV_USER, pid, comm);
		break;
	case BG_EV_REFUSED:
	case BG_EV_AUDIT:
		trace_bindguard_refusal(group, bdf, driver, pid, comm, bg_mode(),
					type == BG_EV_REFUSED);
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
	}
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
	if (ev->bdf[0]) {
		seq_puts(m, " dev=");
		bg_seq_name(m, ev->bdf);
	}
	if (ev->bdf[0] && ev->type != BG_EV_RESERVE && ev->type != BG_EV_UNRESERVE) {
		seq_puts(m, " driver=");
		bg_seq_name(m, ev->driver);
	}
	if (ev->type != BG_EV_KERNEL) {
		if (ev->pid) {
			seq_printf(m, " pid=%d comm=", ev->pid);
			bg_seq_name(m, ev->comm);
		} else {
			seq_puts(m, " pid=- comm=-");
		}
	}
	seq_putc(m, '\n');
}

/**
 * bg_events_show() - print the ring, oldest first, for debugfs "events"
 * @m: the seq_file
 *
 * Format "bindguard-events 2" (README.md; 2 added not-viable, reserve and
 * release): a
 * line naming the format, then a line counting events dropped from a full
 * ring if any, then one line per event: "[seconds.micros] group=N <type>"
 * followed by "dev=<name> driver=<name>" for refusals, audits, refused
 * claims and not-viable answers (the blocker), "dev=<BDF>" for reserve and
 * release (group=-1 when no device has that name), and "pid=<P>
 * comm=<C>" for all but "kernel". Names are escaped (bg_seq_name()).
 *
 * Context: process; sleeps. Copies the ring under bg_events_lock, prints
 * unlocked.
 *
 * Return: 0, or -ENOMEM.
 */
int bg_events_show(struct seq_file *m)
{
	unsigned int i, first, count;
	unsigned long dropped;
	struct bg_event *snap;

	snap = kvmalloc_array(BG_EVENTS, sizeof(*snap), GFP_KERNEL);
	if (!snap)
		return -ENOMEM;
	spin_lock_irq(&bg_events_lock);
	count = bg_events_count;
	dropped = bg_events_dropped;
	first = (bg_events_head + BG_EVENTS - count) % BG_EVENTS;
	for (i = 0; i < count; i++)
		snap[i] = bg_events[(first + i) % BG_EVENTS];
	spin_unlock_irq(&bg_events_lock);

	seq_puts(m, "# bindguard-events 2\n");
	if (dropped)
		seq_printf(m, "# %lu older events dropped\n", dropped);
	for (i = 0; i < count; i++)
		bg_event_show(m, &snap[i]);
	kvfree(snap);
	return 0;
}
