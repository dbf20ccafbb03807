// SPDX-License-Identifier: GPL-2.0
/*
 * names.c - names bindguard did not choose: how they are escaped wherever
 * they are printed, and the records that keep a device's and a driver's
 * name copied.
 *
 * Names (a process's comm, device and driver names) are escaped wherever
 * bindguard prints them: every byte outside '!'..'~', and the backslash,
 * becomes \ooo (three octal digits), as /proc/mounts writes paths; an empty
 * name is "-", and the name "-" itself is "\055". A field then never holds
 * a space or a newline, and a name a user controls (a VFIO user's comm)
 * cannot forge a line or a field. The kernel's string_escape_str() cannot
 * express this before 5.13 (ESCAPE_APPEND), nor seq_escape_str() before
 * 5.14, hence the few lines here.
 *
 * A names record is part of a group's state, and only used under that
 * group's lock (owner.c, refusal.c, debugfs.c). Records are written in
 * atomic context (the veto, the kretprobe handlers), where nothing may be
 * allocated (on PREEMPT_RT the allocator takes sleeping locks): every
 * record is full-size, a group's first one comes from a small pool, and a
 * work item refills the pool in process context. bg_names_pool_lock, a raw
 * spinlock (leaf, interrupts off), guards the pool.
 */
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "bindguard.h"

static bool bg_name_plain(unsigned char c)
{
	return c > ' ' && c <= '~' && c != '\\';
}

/**
 * bg_names_seq() - print a name escaped, or "-" if it is empty
 * @m:    the seq_file
 * @name: a NUL-terminated name, or NULL (printed as "-")
 *
 * Context: any; does not sleep.
 */
void bg_names_seq(struct seq_file *m, const char *name)
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

/**
 * bg_names_escape() - escape a name into a buffer, as bg_names_seq() prints it
 * @buf:  where to write; at least 12 bytes
 * @size: its size
 * @name: a NUL-terminated name, or NULL (printed as "-")
 *
 * A name whose escaped form does not fit is cut with "...".
 *
 * Context: any; does not sleep.
 * Return: @buf.
 */
char *bg_names_escape(char *buf, size_t size, const char *name)
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

/**
 * bg_names_current_comm() - copy the comm of the current process
 * @comm: TASK_COMM_LEN bytes
 *
 * The comm of current's group leader, as get_task_comm() copies it since
 * 6.13: without task_lock(), which is a spinlock_t (sleeping on
 * PREEMPT_RT) and taken by get_task_comm() up to 6.12, so not usable from
 * the hooks. Safe without it: the task (current's group leader, which
 * lives as long as its group) cannot go away under us, its comm is an
 * array of TASK_COMM_LEN bytes that __set_task_comm() only overwrites with
 * another NUL-padded name, and the copy is cut and NUL-terminated at
 * TASK_COMM_LEN. A rename racing the copy may give a mix of the old and
 * the new name, never bytes from outside the array.
 *
 * Context: any; takes no lock.
 */
void bg_names_current_comm(char *comm)
{
	strscpy_pad(comm, current->group_leader->comm, TASK_COMM_LEN);
}

/**
 * bg_names_dev() - the device's name in a names record
 * @n: the record, or NULL
 *
 * Context: any; the caller serializes the record (a group's state: the
 * group's lock is held around every use).
 * Return: the name, or NULL if @n is NULL (printed as "-").
 */
const char *bg_names_dev(const struct bg_names *n)
{
	return n ? n->dev : NULL;
}

/**
 * bg_names_driver() - the driver's name in a names record
 * @n: the record, or NULL
 *
 * Context: any; the caller serializes the record (a group's state: the
 * group's lock is held around every use).
 * Return: the name, or NULL if @n is NULL (printed as "-").
 */
const char *bg_names_driver(const struct bg_names *n)
{
	return n ? n->driver : NULL;
}

/*
 * Full-size records waiting to be taken by bg_names_set(): a few, for a
 * group's first record only (after that the group reuses its own), so that
 * a burst of first refusals in as many groups still finds one each.
 */
#define BG_NAMES_POOL	4
static DEFINE_RAW_SPINLOCK(bg_names_pool_lock);
static struct bg_names *bg_names_pool[BG_NAMES_POOL];	/* bg_names_pool_lock */
static unsigned int bg_names_pool_n;			/* bg_names_pool_lock */

/**
 * bg_names_fill() - fill the pool of names records
 *
 * Called where an entry is created (table.c) and by the work item that
 * bg_names_set() queues; without memory the pool stays short (a group's
 * first record is then "-" until the pool is filled again).
 *
 * Context: process; sleeps (GFP_KERNEL).
 */
void bg_names_fill(void)
{
	struct bg_names *n;
	bool full;

	for (;;) {
		raw_spin_lock_irq(&bg_names_pool_lock);
		full = bg_names_pool_n == BG_NAMES_POOL;
		raw_spin_unlock_irq(&bg_names_pool_lock);
		if (full)
			return;
		n = kmalloc(sizeof(*n), GFP_KERNEL);
		if (!n)
			return;
		raw_spin_lock_irq(&bg_names_pool_lock);
		if (bg_names_pool_n < BG_NAMES_POOL) {
			bg_names_pool[bg_names_pool_n++] = n;
			n = NULL;
		}
		raw_spin_unlock_irq(&bg_names_pool_lock);
		kfree(n);	/* filled meanwhile by the other filler */
	}
}

static void bg_names_fill_fn(struct work_struct *work)
{
	bg_names_fill();
}

static DECLARE_WORK(bg_names_fill_work, bg_names_fill_fn);

/**
 * bg_names_set() - set a names record to @dev and @driver
 * @np:     the record, *@np NULL if none yet
 * @dev:    the device's name
 * @driver: the driver's name
 *
 * Each name is kept whole up to NAME_MAX bytes (the longest sysfs name,
 * all userspace can see of it), in place: records are full-size. A group's
 * first record is taken from the pool, and the pool's refill queued; an
 * empty pool leaves *@np NULL, the names unknown ("-"). Nothing is
 * allocated here.
 *
 * Context: any; the caller serializes the record (a group's state: the
 * group's lock is held around every use); takes bg_names_pool_lock.
 */
void bg_names_set(struct bg_names **np, const char *dev, const char *driver)
{
	struct bg_names *n = *np;
	unsigned long flags;

	if (!n) {
		raw_spin_lock_irqsave(&bg_names_pool_lock, flags);
		if (bg_names_pool_n)
			n = bg_names_pool[--bg_names_pool_n];
		raw_spin_unlock_irqrestore(&bg_names_pool_lock, flags);
		schedule_work(&bg_names_fill_work);
		*np = n;
		if (!n)
			return;
	}
	strscpy(n->dev, dev, sizeof(n->dev));
	strscpy(n->driver, driver, sizeof(n->driver));
}

/**
 * bg_names_exit() - wait for a refill, free the pool
 *
 * Call once nothing is left to take a record (the hooks are gone).
 *
 * Context: process; sleeps.
 */
void bg_names_exit(void)
{
	cancel_work_sync(&bg_names_fill_work);
	while (bg_names_pool_n)
		kfree(bg_names_pool[--bg_names_pool_n]);
}

/**
 * bg_names_ids() - PCI IDs as debugfs and the log print them
 * @buf: where to write them (BG_IDS_LEN bytes)
 * @id:  vendor, device[, subsystem vendor, subsystem device]
 * @n:   how many: 2 ("vvvv:dddd") or 4 ("vvvv:dddd:ssss:ssss"); 0: "-"
 *
 * Context: any.
 * Return: the IDs as a string: @buf, or "-".
 */
const char *bg_names_ids(char *buf, const u16 *id, unsigned int n)
{
	if (!n)
		return "-";
	if (n == 2)
		snprintf(buf, BG_IDS_LEN, "%04x:%04x", id[0], id[1]);
	else
		snprintf(buf, BG_IDS_LEN, "%04x:%04x:%04x:%04x", id[0], id[1], id[2], id[3]);
	return buf;
}
