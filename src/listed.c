// SPDX-License-Identifier: GPL-2.0
/*
 * listed.c - the names an admin lists: reservations and protections (the
 * files and parameters are reserve.c's), and the marks they put on the
 * table's members and their groups.
 *
 * Lock story: bg_table_mutex (table.c) for the lists and every walk of the
 * entries. A member's reservation (protection) is counted in its group's
 * state (st.reserved, st.protected), written under bg_group.lock nested
 * inside the mutex, so that the veto reads it under the group's lock alone.
 * What atomic readers need of a name (the group it applies to, whether it
 * drifts, why it is listed) is also written under bg_listed_lock, a leaf
 * raw spinlock, which the unbind hook and the refusals' log lines read.
 */
#include <linux/device.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "bindguard.h"
#include "table.h"

/*
 * A name an admin keeps: a reservation (reserve.c), a BDF closed to kernel
 * DMA-API drivers, or a protection, a BDF whose group is closed to drivers
 * that leave DMA to userspace and whose sysfs unbind is refused. Kept as a
 * name, for a BDF outlives its device (hot-removal, reboot) and may name
 * one not added yet; pinned to the device's PCI IDs, given (BDF@vvvv:dddd)
 * or recorded from the first device of that name, so that another card at
 * that address (a renumbered bus, a hot-add) is not covered by mistake:
 * that is drift, logged and shown (debugfs "listed"). A group is reserved
 * (protected) while one of its members' names is listed and applies.
 */
struct bg_listed_entry {
	char name[BG_BDF_LEN];
	char why[BG_WHY_LEN];		/* and bg_listed_lock */
	struct bg_listed_ids ids;
	bool drift;			/* and bg_listed_lock */
	int group;			/* and bg_listed_lock */
};

struct bg_listed {
	struct bg_listed_entry e[BG_RESERVE_MAX];
	unsigned int n;
};

static struct bg_listed bg_listed_lists[BG_PROTECTED + 1];	/* bg_table_mutex */
static DEFINE_RAW_SPINLOCK(bg_listed_lock);
static const char * const bg_listed_what[] = { "reservation", "protection" };

static struct bg_listed_entry *bg_listed_entry(enum bg_listed_id list,
					       const char *bdf)
{
	struct bg_listed *l = &bg_listed_lists[list];
	unsigned int i;

	lockdep_assert_held(&bg_table_mutex);
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].name, bdf))
			return &l->e[i];
	return NULL;
}

/*
 * bg_listed_mark() - mark @m reserved or protected (@list) or not, and
 *                    count it in its group
 * @g:    @m's entry
 * @m:    a member
 * @list: BG_RESERVED or BG_PROTECTED
 * @on:   listed (and applying) or not
 *
 * A group's state also names one of its members so marked, for the log
 * lines' fixes (refusal.c).
 *
 * Context: process; bg_table_mutex held; takes @g's lock.
 */
static void bg_listed_mark(struct bg_group *g, struct bg_member *m,
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
	list_for_each_entry(o, &g->members, node)
		if (list == BG_PROTECTED ? o->protected : o->reserved) {
			name = o->bdf;
			break;
		}
	raw_spin_lock_irqsave(&g->lock, flags);
	if (list == BG_RESERVED) {
		g->st.reserved += on ? 1 : -1;
		strscpy(g->st.reserved_bdf, name ?: "", sizeof(g->st.reserved_bdf));
	} else {
		g->st.protected += on ? 1 : -1;
		strscpy(g->st.protected_bdf, name ?: "", sizeof(g->st.protected_bdf));
	}
	raw_spin_unlock_irqrestore(&g->lock, flags);
}

/*
 * Entry @e applies (or not: -1) to a device in group @group now, or
 * drifts from the device of its name (@drift).
 */
static void bg_listed_set(struct bg_listed_entry *e, int group, bool drift)
{
	unsigned long flags;

	lockdep_assert_held(&bg_table_mutex);
	raw_spin_lock_irqsave(&bg_listed_lock, flags);
	e->group = group;
	e->drift = drift;
	raw_spin_unlock_irqrestore(&bg_listed_lock, flags);
}

/*
 * Apply entry @e of @list to member @m of @g, which has its name: if the
 * entry is pinned to other IDs, that is drift: @m is not covered, and one
 * log line says so, with both IDs and the fix. An entry not pinned yet is
 * pinned to @m's IDs.
 */
static void bg_listed_apply(struct bg_group *g, struct bg_member *m,
			    enum bg_listed_id list, struct bg_listed_entry *e)
{
	char want[BG_IDS_LEN], have[BG_IDS_LEN];
	bool drift;

	lockdep_assert_held(&bg_table_mutex);
	if (!e->ids.n) {
		memcpy(e->ids.id, m->ids, sizeof(e->ids.id));
		e->ids.n = 4;
	}
	drift = memcmp(e->ids.id, m->ids, e->ids.n * sizeof(u16));
	bg_listed_mark(g, m, list, !drift);
	bg_listed_set(e, drift ? -1 : g->id, drift);
	if (drift)
		pr_warn_ratelimited("%s of %s@%s does not apply: the device there (iommu group %d) is %s; to fix: echo %s > /sys/kernel/bindguard/%s, then list the device you mean as BDF@vvvv:dddd\n",
				    bg_listed_what[list], e->name,
				    bg_names_ids(want, e->ids.id, e->ids.n), g->id,
				    bg_names_ids(have, m->ids, 4), e->name,
				    list == BG_RESERVED ? "release" : "unprotect");
}

/**
 * bg_listed_mark_new() - apply every list that names a new member to it
 * @g: @m's entry
 * @m: a member just added to @g
 *
 * Context: process; bg_table_mutex held.
 */
void bg_listed_mark_new(struct bg_group *g, struct bg_member *m)
{
	enum bg_listed_id list;
	struct bg_listed_entry *e;

	for (list = BG_RESERVED; list <= BG_PROTECTED; list++) {
		e = bg_listed_entry(list, m->bdf);
		if (e)
			bg_listed_apply(g, m, list, e);
	}
}

/**
 * bg_listed_mark_gone() - take the lists' marks off a member being forgotten
 * @g: @m's entry
 * @m: a member of @g, its device deleted or moved to another group
 *
 * Its names apply to no device until one of that name is added again;
 * whether they drifted is kept till then, for the unbind hook (no mutex)
 * while a device moves to another group (bg_member_record()).
 *
 * Context: process; bg_table_mutex held.
 */
void bg_listed_mark_gone(struct bg_group *g, struct bg_member *m)
{
	enum bg_listed_id list;
	struct bg_listed_entry *e;

	for (list = BG_RESERVED; list <= BG_PROTECTED; list++) {
		bg_listed_mark(g, m, list, false);
		e = bg_listed_entry(list, m->bdf);
		if (e)
			bg_listed_set(e, -1, e->drift);
	}
}

/*
 * Apply entry @e of @list to every member of its name, or take it off, and
 * record the change: one event (and tracepoint) naming the device's group,
 * -1 when no device has that name now (or the entry drifts from it).
 */
static void bg_listed_mark_all(enum bg_listed_id list,
			       struct bg_listed_entry *e, bool on)
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
		list_for_each_entry(m, &g->members, node) {
			if (strcmp(m->bdf, e->name))
				continue;
			if (on)
				bg_listed_apply(g, m, list, e);
			else
				bg_listed_mark(g, m, list, false);
			if (!e->drift)
				group = g->id;
		}
	get_task_comm(comm, current->group_leader);
	bg_event_add(ev[list][on], group, task_tgid_nr(current), comm, e->name, NULL);
}

/*
 * Why @bdf cannot go on @list now, into @why (NULL: it can). A reservation
 * and a protection in one group would leave its devices no driver at all
 * (kernel DMA-API drivers refused by the one, vfio and pci-stub by the
 * other); and a device whose group userspace owns, or where a member is
 * already on a driver that leaves DMA to userspace, is not the host's to
 * keep: protecting it would refuse its host driver's return instead. A
 * device the entry's IDs (@ids) do not fit is not covered: no conflict.
 */
static bool bg_listed_conflict(enum bg_listed_id list, const char *bdf,
			       const struct bg_listed_ids *ids,
			       char *why, size_t size)
{
	enum bg_listed_id other = list == BG_RESERVED ? BG_PROTECTED : BG_RESERVED;
	const char *what = other == BG_RESERVED ? "reserved" : "protected";
	struct bg_member *m, *n;
	struct bg_group *g;
	unsigned long id, flags;
	bool user, theirs;

	lockdep_assert_held(&bg_table_mutex);
	if (bg_listed_entry(other, bdf)) {
		scnprintf(why, size, "it is %s", what);
		return true;
	}
	for (id = 0; (g = bg_table_next(&id)); id++)
		list_for_each_entry(m, &g->members, node) {
			if (strcmp(m->bdf, bdf))
				continue;
			if (memcmp(ids->id, m->ids, ids->n * sizeof(u16)))
				return false;
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
 * @ids:  the PCI IDs the entry is pinned to (@ids->n 0: those of the first
 *        device of that name, now or when one is added)
 * @why:  why it is listed, printed in its refusals; "" for no reason given
 *
 * A device of that name with other IDs is not covered (drift: one log
 * line, and debugfs "listed" shows it).
 *
 * Context: process; takes bg_table_mutex. Also at module load, from the
 * reserve= and protect= parameters, before the table holds any group.
 * Return: 0, -EEXIST if already listed, -ENOSPC past BG_RESERVE_MAX,
 * -EBUSY (with one log line saying why) if the name, or a member of its
 * device's group, is on the other list, or, to protect, if userspace owns
 * the group or one of its members is on a driver that leaves DMA to
 * userspace.
 */
int bg_listed_add(enum bg_listed_id list, const char *bdf,
		  const struct bg_listed_ids *ids, const char *why)
{
	struct bg_listed *l = &bg_listed_lists[list];
	struct bg_listed_entry *e;
	unsigned long flags;
	char busy[96];
	int ret = 0;

	mutex_lock(&bg_table_mutex);
	if (bg_listed_entry(list, bdf)) {
		ret = -EEXIST;
	} else if (bg_listed_conflict(list, bdf, ids, busy, sizeof(busy))) {
		pr_warn("cannot %s %s (-EBUSY): %s\n",
			list == BG_RESERVED ? "reserve" : "protect", bdf, busy);
		ret = -EBUSY;
	} else if (l->n == BG_RESERVE_MAX) {
		ret = -ENOSPC;
	} else {
		/* applied (drift known) before n shows it to the unbind hook */
		e = &l->e[l->n];
		memset(e, 0, sizeof(*e));
		strscpy(e->name, bdf, sizeof(e->name));
		strscpy(e->why, why, sizeof(e->why));
		e->ids = *ids;
		e->group = -1;
		bg_listed_mark_all(list, e, true);
		raw_spin_lock_irqsave(&bg_listed_lock, flags);
		l->n++;
		raw_spin_unlock_irqrestore(&bg_listed_lock, flags);
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
	struct bg_listed_entry *e;
	unsigned long flags;
	int ret = 0;

	mutex_lock(&bg_table_mutex);
	e = bg_listed_entry(list, bdf);
	if (!e) {
		ret = -ENOENT;
	} else {
		bg_listed_mark_all(list, e, false);
		raw_spin_lock_irqsave(&bg_listed_lock, flags);
		l->n--;
		memmove(e, e + 1, (&l->e[l->n] - e) * sizeof(*e));
		raw_spin_unlock_irqrestore(&bg_listed_lock, flags);
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
				 bg_listed_lists[list].e[i].name, sep);
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
 * name is @name, compared by sysfs_streq(). A protection that drifts (the
 * device there has other IDs) does not cover it.
 *
 * Context: any (the unbind hook: atomic); takes bg_listed_lock.
 * Return: true if @name is protected.
 */
bool bg_listed_protected_name(const char *name, char *bdf, int *group)
{
	struct bg_listed *l = &bg_listed_lists[BG_PROTECTED];
	unsigned long flags;
	bool found = false;
	unsigned int i;

	raw_spin_lock_irqsave(&bg_listed_lock, flags);
	for (i = 0; i < l->n && !found; i++) {
		if (!sysfs_streq(name, l->e[i].name) || l->e[i].drift)
			continue;
		found = true;
		strscpy(bdf, l->e[i].name, BG_BDF_LEN);
		*group = l->e[i].group;
	}
	raw_spin_unlock_irqrestore(&bg_listed_lock, flags);
	return found;
}

/**
 * bg_listed_why() - why @bdf is on @list, as the admin said, for a log line
 * @list: BG_RESERVED or BG_PROTECTED
 * @bdf:  a listed name
 * @why:  set to " (REASON)" (BG_WHY_NOTE bytes), "" if no reason was given
 *        or @bdf is not listed (any more)
 *
 * Context: any (the refusals' log lines); takes bg_listed_lock.
 */
void bg_listed_why(enum bg_listed_id list, const char *bdf, char *why)
{
	struct bg_listed *l = &bg_listed_lists[list];
	unsigned long flags;
	unsigned int i;

	why[0] = '\0';
	raw_spin_lock_irqsave(&bg_listed_lock, flags);
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].name, bdf) && l->e[i].why[0]) {
			snprintf(why, BG_WHY_NOTE, " (%s)", l->e[i].why);
			break;
		}
	raw_spin_unlock_irqrestore(&bg_listed_lock, flags);
}

/**
 * bg_listed_show() - debugfs "listed": every entry, what it is pinned to
 *                    and whether it applies
 * @m: the seq_file
 *
 * Format "bindguard-listed 1" (docs/interfaces.md): a line naming the
 * format, a header, then per entry, reservations first, "list name ids
 * found state group why": the IDs it is pinned to ("-": not yet), those of
 * the device of that name now, applies/drift/absent, its group, the reason
 * escaped (bg_names_seq()); "-" for none.
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_listed_show(struct seq_file *m)
{
	static const char * const lists[] = { "reserve", "protect" };
	struct bg_listed_entry *e;
	struct bg_member *mem, *found;
	enum bg_listed_id list;
	char ids[2][BG_IDS_LEN];
	struct bg_group *g;
	unsigned long id;
	unsigned int i;

	seq_puts(m, "# bindguard-listed 1\n# list name ids found state group why\n");
	mutex_lock(&bg_table_mutex);
	for (list = BG_RESERVED; list <= BG_PROTECTED; list++)
		for (i = 0; i < bg_listed_lists[list].n; i++) {
			e = &bg_listed_lists[list].e[i];
			found = NULL;
			for (id = 0; !found && (g = bg_table_next(&id)); id++)
				list_for_each_entry(mem, &g->members, node)
					if (!strcmp(mem->bdf, e->name)) {
						found = mem;
						break;
					}
			seq_printf(m, "%s %s %s %s %s ", lists[list], e->name,
				   bg_names_ids(ids[0], e->ids.id, e->ids.n),
				   found ? bg_names_ids(ids[1], found->ids, 4) : "-",
				   !found ? "absent" : e->drift ? "drift" : "applies");
			if (found)
				seq_printf(m, "%d ", found->group->id);
			else
				seq_puts(m, "- ");
			bg_names_seq(m, e->why);
			seq_putc(m, '\n');
		}
	mutex_unlock(&bg_table_mutex);
}
