// SPDX-License-Identifier: GPL-2.0
/*
 * member.c - the members of each table entry: which devices a group holds,
 * the driver bound to each and whether it blocks the group (viable.c), and
 * the reserved and protected names applied to them.
 *
 * Lock story: the table's, bg_table_mutex (table.c), in process context for
 * every change and every walk; entries are created and erased through
 * table.c. A member's reservation (protection) is also counted in its
 * group's state (st.reserved, st.protected), written under bg_group.lock
 * nested inside the mutex, so that the veto reads it under the group's lock
 * alone. The protected names are also written under bg_member_protect_lock
 * (a leaf raw spinlock, never nested with a group's lock), which the unbind
 * hook reads them under.
 */
#include <linux/device.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/slab.h>
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
 * are also written under bg_member_protect_lock, a leaf raw spinlock, so
 * that the unbind hook (unbind.c, atomic context) reads them under it
 * alone.
 */
struct bg_member_list {
	char name[BG_RESERVE_MAX][BG_BDF_LEN];
	int group[BG_RESERVE_MAX];
	unsigned int n;
};

static struct bg_member_list bg_lists[BG_PROTECTED + 1];	/* bg_table_mutex */
static DEFINE_RAW_SPINLOCK(bg_member_protect_lock);	/* and bg_lists[BG_PROTECTED] */

static int bg_member_list_index(enum bg_member_list_id list, const char *bdf)
{
	unsigned int i;

	lockdep_assert_held(&bg_table_mutex);
	for (i = 0; i < bg_lists[list].n; i++)
		if (!strcmp(bg_lists[list].name[i], bdf))
			return i;
	return -1;
}

/* The group of protected name @bdf is now @group (-1: no device). */
static void bg_member_protect_group(const char *bdf, int group)
{
	unsigned long flags;
	int i = bg_member_list_index(BG_PROTECTED, bdf);

	if (i < 0)
		return;
	raw_spin_lock_irqsave(&bg_member_protect_lock, flags);
	bg_lists[BG_PROTECTED].group[i] = group;
	raw_spin_unlock_irqrestore(&bg_member_protect_lock, flags);
}

/*
 * Mark @m reserved or protected (@list) or not, and count it in its group.
 * A protected group's state also names one of its protected members.
 */
static void bg_member_mark(struct bg_group *g, struct bg_member *m,
			   enum bg_member_list_id list, bool on)
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
		bg_member_protect_group(m->bdf, on ? g->id : -1);
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

/* Mark a new member @m with every list that names it. */
static void bg_member_mark_new(struct bg_group *g, struct bg_member *m)
{
	bg_member_mark(g, m, BG_RESERVED, bg_member_list_index(BG_RESERVED, m->bdf) >= 0);
	bg_member_mark(g, m, BG_PROTECTED, bg_member_list_index(BG_PROTECTED, m->bdf) >= 0);
}

/*
 * Apply list @list's name @bdf to every member of that name, or take it
 * off, and record the change: one event (and tracepoint) naming the
 * device's group, -1 when no device has that name now.
 */
static void bg_member_mark_all(enum bg_member_list_id list, const char *bdf,
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
				bg_member_mark(g, m, list, on);
				group = g->id;
			}
	get_task_comm(comm, current->group_leader);
	bg_event_add(ev[list][on], group, task_tgid_nr(current), comm, bdf, NULL);
}

/**
 * bg_member_name_add() - reserve or protect the device named @bdf, now and
 *                       whenever a device of that name is added
 * @list: BG_RESERVED (reserve: its group is closed to kernel DMA-API
 *        drivers) or BG_PROTECTED (protect: its group is closed to drivers
 *        that leave DMA to userspace, veto.c, and its sysfs unbind is
 *        refused, unbind.c)
 * @bdf:  a canonical PCI name ("0000:02:02.0"), validated by the caller
 *
 * Context: process; takes bg_table_mutex. Also at module load, from the
 * reserve= and protect= parameters, before the table holds any group.
 * Return: 0, -EEXIST if already listed, -ENOSPC past BG_RESERVE_MAX.
 */
int bg_member_name_add(enum bg_member_list_id list, const char *bdf)
{
	struct bg_member_list *l = &bg_lists[list];
	unsigned long flags;
	int ret = 0;

	mutex_lock(&bg_table_mutex);
	if (bg_member_list_index(list, bdf) >= 0) {
		ret = -EEXIST;
	} else if (l->n == BG_RESERVE_MAX) {
		ret = -ENOSPC;
	} else {
		raw_spin_lock_irqsave(&bg_member_protect_lock, flags);
		strscpy(l->name[l->n], bdf, BG_BDF_LEN);
		l->group[l->n++] = -1;
		raw_spin_unlock_irqrestore(&bg_member_protect_lock, flags);
		bg_member_mark_all(list, bdf, true);
	}
	mutex_unlock(&bg_table_mutex);
	return ret;
}

/**
 * bg_member_name_del() - end the reservation or protection of @bdf
 * @list: BG_RESERVED or BG_PROTECTED
 * @bdf:  a canonical PCI name
 *
 * Context: process; takes bg_table_mutex.
 * Return: 0, or -ENOENT if @bdf is not listed.
 */
int bg_member_name_del(enum bg_member_list_id list, const char *bdf)
{
	struct bg_member_list *l = &bg_lists[list];
	unsigned long flags;
	int i, ret = 0;

	mutex_lock(&bg_table_mutex);
	i = bg_member_list_index(list, bdf);
	if (i < 0) {
		ret = -ENOENT;
	} else {
		bg_member_mark_all(list, bdf, false);
		raw_spin_lock_irqsave(&bg_member_protect_lock, flags);
		l->n--;
		memmove(l->name[i], l->name[i + 1], (l->n - i) * sizeof(l->name[0]));
		memmove(&l->group[i], &l->group[i + 1], (l->n - i) * sizeof(l->group[0]));
		raw_spin_unlock_irqrestore(&bg_member_protect_lock, flags);
	}
	mutex_unlock(&bg_table_mutex);
	return ret;
}

/**
 * bg_member_names() - the reserved or protected names, in the order listed
 * @list: BG_RESERVED or BG_PROTECTED
 * @buf:  where to write them
 * @size: its size (PAGE_SIZE for sysfs; BG_RESERVE_MAX names fit)
 * @sep:  what follows each name ('\n' for sysfs, ',' for the parameter)
 *
 * Context: process; takes bg_table_mutex.
 * Return: the length written.
 */
int bg_member_names(enum bg_member_list_id list, char *buf, size_t size, char sep)
{
	unsigned int i;
	int len = 0;

	mutex_lock(&bg_table_mutex);
	for (i = 0; i < bg_lists[list].n; i++)
		len += scnprintf(buf + len, size - len, "%s%c",
				 bg_lists[list].name[i], sep);
	mutex_unlock(&bg_table_mutex);
	return len;
}

/**
 * bg_member_protected_name() - is @name, as written to a sysfs file, a
 *                             protected device's name?
 * @name:  the written name, NUL-terminated; one trailing newline is
 *         ignored, as bus_find_device_by_name() (sysfs_streq()) ignores it
 * @bdf:   set to the protected name that matched (BG_BDF_LEN bytes)
 * @group: set to the group of the device of that name now, -1 if none
 *
 * Mirrors what the driver core's unbind_store() looks up: the device whose
 * name is @name, compared by sysfs_streq().
 *
 * Context: any (the unbind hook: atomic); takes bg_member_protect_lock.
 * Return: true if @name is protected.
 */
bool bg_member_protected_name(const char *name, char *bdf, int *group)
{
	struct bg_member_list *l = &bg_lists[BG_PROTECTED];
	unsigned long flags;
	bool found = false;
	unsigned int i;

	raw_spin_lock_irqsave(&bg_member_protect_lock, flags);
	for (i = 0; i < l->n && !found; i++) {
		if (!sysfs_streq(name, l->name[i]))
			continue;
		found = true;
		strscpy(bdf, l->name[i], BG_BDF_LEN);
		*group = l->group[i];
	}
	raw_spin_unlock_irqrestore(&bg_member_protect_lock, flags);
	return found;
}

/**
 * bg_member_group_protected() - a protected member of group @id, if any
 * @id:  the IOMMU group's id
 * @bdf: set to its name (BG_BDF_LEN bytes)
 *
 * Context: process; takes bg_table_mutex.
 * Return: true if group @id has a protected member.
 */
bool bg_member_group_protected(int id, char *bdf)
{
	struct bg_member *m;
	struct bg_group *g;
	bool found = false;

	mutex_lock(&bg_table_mutex);
	g = bg_table_find(id);
	if (g)
		list_for_each_entry(m, &g->members, node)
			if (m->protected) {
				strscpy(bdf, m->bdf, BG_BDF_LEN);
				found = true;
				break;
			}
	mutex_unlock(&bg_table_mutex);
	return found;
}

/*
 * Record @drv (NULL: none) as @m's driver, its name copied, and whether it
 * blocks the group (the one rule, viable.c). No memory: the name is unknown
 * ("-"), the rest is still right.
 */
static void bg_member_driver(struct bg_member *m,
			     const struct device_driver *drv)
{
	lockdep_assert_held(&bg_table_mutex);
	m->blocks = bg_viable_blocks(m->dev, drv);
	if (drv && m->driver && !strcmp(m->driver, drv->name))
		return;
	kfree(m->driver);
	m->driver = NULL;
	if (drv)
		m->driver = kstrdup(drv->name, GFP_KERNEL);
}

/* Forget member @m; erase its entry with its last member. */
static void bg_member_forget(struct bg_member *m)
{
	struct bg_group *g = m->group;

	lockdep_assert_held(&bg_table_mutex);
	bg_member_mark(g, m, BG_RESERVED, false);
	bg_member_mark(g, m, BG_PROTECTED, false);
	bg_table_del_member(m);
	if (list_empty(&g->members))
		bg_table_erase(g);
}

/*
 * Record @dev in its group's entry, on driver @drv. A device listed in
 * another group's entry is forgotten there first: it left that group with
 * no bus event of its own (vfio's no-IOMMU groups: vfio-pci's remove takes
 * the device out of the group its probe made; an IOMMU's removal), and its
 * next event finds it here, so that the entry and its group reference go
 * and the kernel frees that group as it would without bindguard.
 */
static void bg_member_record(struct device *dev, const struct device_driver *drv)
{
	struct bg_member *m;
	struct bg_group *g;
	size_t len;

	mutex_lock(&bg_table_mutex);
	g = bg_table_get_entry(dev);
	m = bg_table_member_of(dev);
	if (m && m->group != g) {
		bg_member_forget(m);
		m = NULL;
	}
	if (!g)
		goto out;
	if (!m) {
		len = strlen(dev_name(dev)) + 1;
		m = kzalloc(struct_size(m, bdf, len), GFP_KERNEL);
		if (!m) {
			if (list_empty(&g->members))
				bg_table_erase(g);
			goto out;
		}
		m->dev = dev;
		memcpy(m->bdf, dev_name(dev), len);
		bg_table_add_member(g, m);
		bg_member_mark_new(g, m);
	}
	bg_member_driver(m, drv);
out:
	mutex_unlock(&bg_table_mutex);
}

/**
 * bg_member_add() - record @dev as a member of its IOMMU group
 * @dev: a PCI device
 *
 * Idempotent. Also records the bound driver, if any; moves the device's
 * record if it is listed under a group it has left (bg_member_record()).
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_member_add(struct device *dev)
{
	bg_member_record(dev, READ_ONCE(dev->driver));
}

/**
 * bg_member_del() - forget @dev; erase its group's entry with it if
 *                         it was the last member
 * @dev: a PCI device being deleted: BUS_NOTIFY_DEL_DEVICE, and again at
 *       BUS_NOTIFY_REMOVED_DEVICE (a scan that met the device between the
 *       two may have listed it again)
 *
 * Wherever @dev is listed, also under a group it has left (vfio's no-IOMMU
 * groups), so that no member outlives its device. The entry itself is
 * freed after an RCU grace period (call_rcu()), so that no lockless reader
 * still sees it; this does not wait for it.
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_member_del(struct device *dev)
{
	struct bg_member *m;

	mutex_lock(&bg_table_mutex);
	m = bg_table_member_of(dev);
	if (m)
		bg_member_forget(m);
	mutex_unlock(&bg_table_mutex);
}

/**
 * bg_member_set_driver() - record the driver now bound to @dev, and whether it
 *                         keeps the group from being claimed
 * @dev: a PCI device
 * @drv: the driver bound (BUS_NOTIFY_BOUND_DRIVER), or NULL after an unbind
 *       or a failed probe
 *
 * Context: process (the bus notifier, @dev's lock held); takes bg_table_mutex.
 */
void bg_member_set_driver(struct device *dev, const struct device_driver *drv)
{
	struct bg_group *g;
	struct bg_member *m;

	device_lock_assert(dev);
	mutex_lock(&bg_table_mutex);
	g = bg_table_lookup(dev->iommu_group);
	m = g ? bg_table_member(g, dev) : NULL;
	if (m)
		bg_member_driver(m, drv);
	mutex_unlock(&bg_table_mutex);
	if (!m)
		bg_member_record(dev, drv);
}

/**
 * bg_member_get() - a member of group @id, to ask the kernel about it
 * @id: the IOMMU group's id
 *
 * Context: process; takes bg_table_mutex.
 * Return: the first member's device with a reference taken (put_device()
 * it), or NULL if bindguard does not track group @id.
 */
struct device *bg_member_get(int id)
{
	struct device *dev = NULL;
	struct bg_member *m;
	struct bg_group *g;

	mutex_lock(&bg_table_mutex);
	g = bg_table_find(id);
	if (g) {
		m = list_first_entry_or_null(&g->members, struct bg_member, node);
		if (m)
			dev = get_device(m->dev);
	}
	mutex_unlock(&bg_table_mutex);
	return dev;
}

/**
 * bg_member_walk() - call @fn for each member of group @id
 * @id:   the IOMMU group's id
 * @data: passed to @fn
 * @fn:   called with each member device (PCI) until it returns non-zero
 *
 * Context: process; takes bg_table_mutex (@fn may sleep, must not take it).
 * Return: the first non-zero value @fn returned, or 0.
 */
int bg_member_walk(int id, void *data,
		   int (*fn)(struct device *dev, void *data))
{
	struct bg_member *m;
	struct bg_group *g;
	int ret = 0;

	mutex_lock(&bg_table_mutex);
	g = bg_table_find(id);
	if (g) {
		list_for_each_entry(m, &g->members, node) {
			ret = fn(m->dev, data);
			if (ret)
				break;
		}
	}
	mutex_unlock(&bg_table_mutex);
	return ret;
}

