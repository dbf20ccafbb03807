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
 * No lock of its own: a names record is part of a group's state, and only
 * used under that group's lock (owner.c, refusal.c, debugfs.c).
 */
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bindguard.h"

/**
 * struct bg_names - a device's and a driver's name, copied to their length
 * @size:  bytes in @names
 * @names: the device's name, its NUL, the driver's name, its NUL
 *
 * Written in atomic context (the veto, the kretprobe handlers) under the
 * owner's lock (the group's): bg_names_set() reuses the record when the
 * names fit and allocates without sleeping otherwise. Freed with kfree().
 */
struct bg_names {
	unsigned int size;
	char names[];
};

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
 * bg_names_dev() - the device's name in a names record
 * @n: the record, or NULL
 *
 * Context: any; the caller serializes the record (a group's state: the
 * group's lock is held around every use).
 * Return: the name, or NULL if @n is NULL (printed as "-").
 */
const char *bg_names_dev(const struct bg_names *n)
{
	return n ? n->names : NULL;
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
	return n ? n->names + strlen(n->names) + 1 : NULL;
}

/**
 * bg_names_set() - set a names record to @dev and @driver, whole
 * @np:     the record, *@np NULL if none yet
 * @dev:    the device's name
 * @driver: the driver's name
 *
 * In place when they fit, else in a new record allocated without sleeping
 * (rounded up, so that the next names most likely fit). No memory: *@np
 * becomes NULL, the names unknown ("-").
 *
 * Context: any; the caller serializes the record (a group's state: the
 * group's lock is held around every use).
 */
void bg_names_set(struct bg_names **np, const char *dev, const char *driver)
{
	size_t ld = strlen(dev) + 1, lr = strlen(driver) + 1;
	struct bg_names *n = *np;

	if (!n || n->size < ld + lr) {
		kfree(n);
		n = kmalloc(round_up(sizeof(*n) + ld + lr, 32),
			    GFP_NOWAIT | __GFP_NOWARN);
		*np = n;
		if (!n)
			return;
		n->size = round_up(sizeof(*n) + ld + lr, 32) - sizeof(*n);
	}
	memcpy(n->names, dev, ld);
	memcpy(n->names + ld, driver, lr);
}
