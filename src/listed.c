// SPDX-License-Identifier: GPL-2.0
/*
 * listed.c - the names an admin lists: reservations and protections (the
 * files and parameters are reserve.c's), and the marks they put on the
 * table's members and their groups.
 *
 * Lock story: bg_table_mutex (table.c) for the lists and every walk of the
 * entries; a member's reservation (protection) is also counted in its
 * group's state (st.reserved, st.protected), written under bg_group.lock
 * nested inside the mutex, so that the veto reads it under the group's lock
 * alone. The protected names are also written under bg_listed_protect_lock
 * (a leaf raw spinlock, never nested with a group's lock), which the unbind
 * hook reads them under.
 */
#include <linux/device.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/string.h>

#include "bindguard.h"
#include "table.h"

/*
 * Names an admin keeps: reservations (reserve.c's reserve), BDFs closed to
 * kernel DMA-API drivers, and protections (protect), BDFs whose groups are
 * closed to drivers that leave DMA to userspace and whose sysfs unbind is
 * refused. Kept as names, for a BDF outlives its device (hot-removal,
 * reboot) and may name one not added yet. A group is reserved (protected)
 * while one of its members' names is listed; st.reserved (st.protected)
 * counts those members. The lists are under bg_table_mutex; the counts are
 * written under both locks, so that the veto reads them under g->lock
 * alone. The protected names (and the group each names now, -1 for none)
 * are also written under bg_listed_protect_lock, a leaf raw spinlock, so
 * that the unbind hook (unbind.c, atomic context) reads them under it
 * alone.
 */
struct bg_listed {
	char name[BG_RESERVE_MAX][BG_BDF_LEN];
	int group[BG_RESERVE_MAX];
	unsigned int n;
};

static struct bg_listed bg_listed_lists[BG_PROTECTED + 1];	/* bg_table_mutex */
static DEFINE_RAW_SPINLOCK(bg_listed_protect_lock);	/* and bg_listed_lists[BG_PROTECTED] */

static int bg_listed_index(enum bg_listed_id list, const char *bdf)
{
	unsigned int i;

	lockdep_assert_held(&bg_table_mutex);
	for (i = 0; i < bg_listed_lists[list].n; i++)
		if (!strcmp(bg_listed_lists[list].name[i], bdf))
			return i;
	return -1;
}

/* The group of protected name @bdf is now @group (-1: no device). */
static void bg_listed_protect_group(const char *bdf, int group)
{
	unsigned long flags;
	int i = bg_listed_index(BG_PROTECTED, bdf);

	if (i < 0)
		return;
	raw_spin_lock_irqsave(&bg_listed_protect_lock, flags);
	bg_listed_lists[BG_PROTECTED].group[i] = group;
	raw_spin_unlock_irqrestore(&bg_listed_protect_lock, flags);
}

/**
 * bg_listed_mark() - mark @m reserved or protected (@list) or not, and
 *                    count it in its group
 * @g:    @m's entry
 * @m:    a member
 * @list: BG_RESERVED or BG_PROTECTED
 * @on:   listed or not
 *
 * A protected group's state also names one of its protected members.
 *
 * Context: process; bg_table_mutex held; takes @g's lock.
 */
void bg_listed_mark(struct bg_group *g, struct bg_member *m,
		    enum bg_listed_id list, bool on)
{
	bool *flag = list == BG_PROTECTED ? &m->protected : &m->reserved;
	const char *name = NULL;
	struct bg_member *o;
	unsigned long flags;

	lockdep_assert_held(&bg_table_mutex);
	if (*flag == on)
		return;
	*flag = on;
	if (list == BG_PROTECTED) {
		bg_listed_protect_group(m->bdf, on ? g->id : -1);
		list_for_each_entry(o, &g->members, node)
			if (o->protected) {
				name = o->bdf;
				break;
			}
	}
	raw_spin_lock_irqsave(&g->lock, flags);
	if (list == BG_RESERVED) {
		g->st.reserved += on ? 1 : -1;
	} else {
		g->st.protected += on ? 1 : -1;
		strscpy(g->st.protected_bdf, name ?: "", sizeof(g->st.protected_bdf));
	}
	raw_spin_unlock_irqrestore(&g->lock, flags);
}

/**
 * bg_listed_mark_new() - mark a new member with every list that names it
 * @g: @m's entry
 * @m: a member just added to @g
 *
 * Context: process; bg_table_mutex held.
 */
void bg_listed_mark_new(struct bg_group *g, struct bg_member *m)
{
	bg_listed_mark(g, m, BG_RESERVED, bg_listed_index(BG_RESERVED, m->bdf) >= 0);
	bg_listed_mark(g, m, BG_PROTECTED, bg_listed_index(BG_PROTECTED, m->bdf) >= 0);
}

/*
 * Apply list @list's name @bdf to every member of that name, or take it
 * off, and record the change: one event (and tracepoint) naming the
 * device's group, -1 when no device has that name now.
 */
static void bg_listed_mark_all(enum bg_listed_id list, const char *bdf,
			       bool on)
{
	static const enum bg_event_type ev[BG_PROTECTED + 1][2] = {
		[BG_RESERVED] = { BG_EV_UNRESERVE, BG_EV_RESERVE },
		[BG_PROTECTED] = { BG_EV_UNPROTECT, BG_EV_PROTECT },
	};
	char comm[TASK_COMM_LEN];
	struct bg_member *m;
	struct bg_group *g;
	unsigned long id;
	int group = -1;

	lockdep_assert_held(&bg_table_mutex);
	for (id = 0; (g = bg_table_next(&id)); id++)
		list_for_each_entry(m, &g->members, node)
			if (!strcmp(m->bdf, bdf)) {
				bg_listed_mark(g, m, list, on);
				group = g->id;
			}
	get_task_comm(comm, current->group_leader);
	bg_event_add(ev[list][on], group, task_tgid_nr(current), comm, bdf, NULL);
}

/*
 * Why @bdf cannot go on @list now, into @why (NULL: it can). A reservation
 * and a protection in one group would leave its devices no driver at all
 * (kernel DMA-API drivers refused by the one, vfio and pci-stub by the
 * other); and a device whose group userspace owns, or where a member is
 * already on a driver that leaves DMA to userspace, is not the host's to
 * keep: protecting it would refuse its host driver's return instead.
 */
static bool bg_listed_conflict(enum bg_listed_id list, const char *bdf,
			       char *why, size_t size)
{
	enum bg_listed_id other = list == BG_RESERVED ? BG_PROTECTED : BG_RESERVED;
	const char *what = other == BG_RESERVED ? "reserved" : "protected";
	struct bg_member *m, *n;
	struct bg_group *g;
	unsigned long id, flags;
	bool user, theirs;

	lockdep_assert_held(&bg_table_mutex);
	if (bg_listed_index(other, bdf) >= 0) {
		scnprintf(why, size, "it is %s", what);
		return true;
	}
	for (id = 0; (g = bg_table_next(&id)); id++)
		list_for_each_entry(m, &g->members, node) {
			if (strcmp(m->bdf, bdf))
				continue;
			raw_spin_lock_irqsave(&g->lock, flags);
			theirs = other == BG_RESERVED ? g->st.reserved : g->st.protected;
			user = bg_group_user_owned(&g->st);
			raw_spin_unlock_irqrestore(&g->lock, flags);
			if (theirs) {
				scnprintf(why, size, "iommu group %d has a %s member", g->id, what);
				return true;
			}
			if (list != BG_PROTECTED)
				return false;
			if (user) {
				scnprintf(why, size, "iommu group %d is owned by userspace", g->id);
				return true;
			}
			list_for_each_entry(n, &g->members, node)
				if (n->user_dma) {
					scnprintf(why, size, "%s in iommu group %d is on %s",
						  n->bdf, g->id, n->driver ?: "-");
					return true;
				}
			return false;
		}
	return false;
}

/**
 * bg_listed_add() - reserve or protect the device named @bdf, now and
 *                       whenever a device of that name is added
 * @list: BG_RESERVED (reserve: its group is closed to kernel DMA-API
 *        drivers) or BG_PROTECTED (protect: its group is closed to drivers
 *        that leave DMA to userspace, veto.c, and its sysfs unbind is
 *        refused, unbind.c)
 * @bdf:  a canonical PCI name ("0000:02:02.0"), validated by the caller
 *
 * Context: process; takes bg_table_mutex. Also at module load, from the
 * reserve= and protect= parameters, before the table holds any group.
 * Return: 0, -EEXIST if already listed, -ENOSPC past BG_RESERVE_MAX,
 * -EBUSY (with one log line saying why) if the same group is on the other
 * list, or, to protect, if userspace owns the group or one of its members
 * is on a driver that leaves DMA to userspace.
 */
int bg_listed_add(enum bg_listed_id list, const char *bdf)
{
	struct bg_listed *l = &bg_listed_lists[list];
	unsigned long flags;
	char why[96];
	int ret = 0;

	mutex_lock(&bg_table_mutex);
	if (bg_listed_index(list, bdf) >= 0) {
		ret = -EEXIST;
	} else if (bg_listed_conflict(list, bdf, why, sizeof(why))) {
		pr_warn("cannot %s %s (-EBUSY): %s\n",
			list == BG_RESERVED ? "reserve" : "protect", bdf, why);
		ret = -EBUSY;
	} else if (l->n == BG_RESERVE_MAX) {
		ret = -ENOSPC;
	} else {
		raw_spin_lock_irqsave(&bg_listed_protect_lock, flags);
		strscpy(l->name[l->n], bdf, BG_BDF_LEN);
		l->group[l->n++] = -1;
		raw_spin_unlock_irqrestore(&bg_listed_protect_lock, flags);
		bg_listed_mark_all(list, bdf, true);
	}
	mutex_unlock(&bg_table_mutex);
	return ret;
}

/**
 * bg_listed_del() - end the reservation or protection of @bdf
 * @list: BG_RESERVED or BG_PROTECTED
 * @bdf:  a canonical PCI name
 *
 * Context: process; takes bg_table_mutex.
 * Return: 0, or -ENOENT if @bdf is not listed.
 */
int bg_listed_del(enum bg_listed_id list, const char *bdf)
{
	struct bg_listed *l = &bg_listed_lists[list];
	unsigned long flags;
	int i, ret = 0;

	mutex_lock(&bg_table_mutex);
	i = bg_listed_index(list, bdf);
	if (i < 0) {
		ret = -ENOENT;
	} else {
		bg_listed_mark_all(list, bdf, false);
		raw_spin_lock_irqsave(&bg_listed_protect_lock, flags);
		l->n--;
		memmove(l->name[i], l->name[i + 1], (l->n - i) * sizeof(l->name[0]));
		memmove(&l->group[i], &l->group[i + 1], (l->n - i) * sizeof(l->group[0]));
		raw_spin_unlock_irqrestore(&bg_listed_protect_lock, flags);
	}
	mutex_unlock(&bg_table_mutex);
	return ret;
}

/**
 * bg_listed_names() - the reserved or protected names, in the order listed
 * @list: BG_RESERVED or BG_PROTECTED
 * @buf:  where to write them
 * @size: its size (PAGE_SIZE for sysfs; BG_RESERVE_MAX names fit)
 * @sep:  what follows each name ('\n' for sysfs, ',' for the parameter)
 *
 * Context: process; takes bg_table_mutex.
 * Return: the length written.
 */
int bg_listed_names(enum bg_listed_id list, char *buf, size_t size, char sep)
{
	unsigned int i;
	int len = 0;

	mutex_lock(&bg_table_mutex);
	for (i = 0; i < bg_listed_lists[list].n; i++)
		len += scnprintf(buf + len, size - len, "%s%c",
				 bg_listed_lists[list].name[i], sep);
	mutex_unlock(&bg_table_mutex);
	return len;
}

/**
 * bg_listed_protected_name() - is @name, as written to a sysfs file, a
 *                             protected device's name?
 * @name:  the written name, NUL-terminated; one trailing newline is
 *         ignored, as bus_find_device_by_name() (sysfs_streq()) ignores it
 * @bdf:   set to the protected name that matched (BG_BDF_LEN bytes)
 * @group: set to the group of the device of that name now, -1 if none
 *
 * Mirrors what the driver core's unbind_store() looks up: the device whose
 * name is @name, compared by sysfs_streq().
 *
 * Context: any (the unbind hook: atomic); takes bg_listed_protect_lock.
 * Return: true if @name is protected.
 */
bool bg_listed_protected_name(const char *name, char *bdf, int *group)
{
	struct bg_listed *l = &bg_listed_lists[BG_PROTECTED];
	unsigned long flags;
	bool found = false;
	unsigned int i;

	raw_spin_lock_irqsave(&bg_listed_protect_lock, flags);
	for (i = 0; i < l->n && !found; i++) {
		if (!sysfs_streq(name, l->name[i]))
			continue;
		found = true;
		strscpy(bdf, l->name[i], BG_BDF_LEN);
		*group = l->group[i];
	}
	raw_spin_unlock_irqrestore(&bg_listed_protect_lock, flags);
	return found;
}

struct bg_listed_one {
	char *bdf;
	bool found;
};

static void bg_listed_group_protected_locked(struct bg_group *g, void *data)
{
	struct bg_listed_one *one = data;

	lockdep_assert_held(&g->lock);
	if (g->st.protected) {
		strscpy(one->bdf, g->st.protected_bdf, BG_BDF_LEN);
		one->found = true;
	}
}

/**
 * bg_listed_group_protected() - a protected member of group @id, if any
 * @id:  the IOMMU group's id
 * @bdf: set to its name (BG_BDF_LEN bytes): the one the group's state
 *       names (bg_listed_mark() keeps it current)
 *
 * Context: any; takes rcu_read_lock() and the group's lock.
 * Return: true if group @id has a protected member.
 */
bool bg_listed_group_protected(int id, char *bdf)
{
	struct bg_listed_one one = { .bdf = bdf };

	bg_table_locked(id, bg_listed_group_protected_locked, &one);
	return one.found;
}
