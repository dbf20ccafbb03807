// SPDX-License-Identifier: GPL-2.0
/*
 * table.c - the per-IOMMU-group table: its entries, how they are found,
 * and how they are freed. Their members are kept by member.c.
 *
 * One struct bg_group (table.h) per IOMMU group that holds a PCI device, in
 * an xarray keyed by group id. Lock story:
 *
 *  - bg_table_mutex: entries are created and erased, and their members
 *    (member.c) added, changed and removed, only in process context under
 *    it (bus notifier, scans, reservations, module exit). Whoever walks
 *    entries or members holds it.
 *  - RCU: the veto and the claim hooks look entries up under
 *    rcu_read_lock() alone (bg_table_lookup(), bg_table_find()). An erased
 *    entry is freed by call_rcu(), never waited for in line: removing N
 *    groups costs no grace period of the caller, and bg_table_exit()'s
 *    rcu_barrier() waits for every free still pending.
 *  - bg_group.lock guards the entry's state (owner.c); not taken here.
 *
 * Members (member.c) are linked here, in their entry's list and in an index
 * by device (bg_table_devices), so that where a device is listed is one
 * lookup, whatever group it is in now.
 *
 * Creating an entry also fills names.c's pool of name records, which the
 * hooks take from (they allocate nothing).
 */
#include <linux/device.h>
#include <linux/hashtable.h>
#include <linux/iommu.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/xarray.h>

#include "bindguard.h"
#include "table.h"

/* entries, members and reserved names: see table.h */
DEFINE_MUTEX(bg_table_mutex);
static DEFINE_XARRAY(bg_groups);	/* bg_table_mutex; RCU to read */
static DEFINE_HASHTABLE(bg_table_devices, 8);	/* bg_table_mutex: members by device */
/*
 * bg_table_held counts the module references held groups take; the count
 * and the reference change together under bg_table_pins_lock (a leaf raw
 * spinlock: bg_group_count_held() runs under a group's lock), so that a
 * reader sees both at one moment.
 */
DEFINE_RAW_SPINLOCK(bg_table_pins_lock);
int bg_table_held;

/**
 * bg_table_pins() - the module references that held groups take now
 * @others: set to every other reference on this module at the same moment
 *
 * Before 5.19 each group held by userspace holds a reference on this
 * module (bg_group_count_held()); a forced unload waits for every other
 * reference (main.c). Since 5.19 none. The two are read under the lock
 * that changes them together: read apart, a claim committed or a group
 * released in between would make the others look one fewer.
 *
 * Context: any; takes bg_table_pins_lock with interrupts off.
 * Return: the number of those references.
 */
int bg_table_pins(int *others)
{
	unsigned long flags;
	int pins;

	raw_spin_lock_irqsave(&bg_table_pins_lock, flags);
	pins = bg_table_held;
	*others = module_refcount(THIS_MODULE) - pins;
	raw_spin_unlock_irqrestore(&bg_table_pins_lock, flags);
	return pins;
}

/* The lookups' contract: a reader under RCU, or a writer under the mutex. */
static void bg_table_assert_reader(void)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_held() && !lockdep_is_held(&bg_table_mutex),
			 "bindguard: table read outside RCU and bg_table_mutex");
}

/**
 * bg_table_lookup() - find the entry of an IOMMU group
 * @group: the group, may be NULL
 *
 * Context: rcu_read_lock() held, or bg_table_mutex; any context.
 * Return: the entry, or NULL if bindguard does not track @group.
 */
struct bg_group *bg_table_lookup(struct iommu_group *group)
{
	struct bg_group *g;

	bg_table_assert_reader();
	if (!group)
		return NULL;
	g = xa_load(&bg_groups, iommu_group_id(group));
	return g && g->group == group ? g : NULL;
}

/**
 * bg_table_find() - find the entry of the IOMMU group with id @id
 * @id: the group's id
 *
 * Context: rcu_read_lock() held, or bg_table_mutex; any context.
 * Return: the entry, or NULL if bindguard does not track group @id.
 */
struct bg_group *bg_table_find(int id)
{
	bg_table_assert_reader();
	return xa_load(&bg_groups, id);
}

/**
 * bg_table_locked() - run @fn on the entry of group @id, under its lock
 * @id:   the group's id
 * @fn:   called with the entry's g->lock held (interrupts off): no sleeping
 * @data: passed to @fn
 *
 * Does nothing if bindguard does not track group @id.
 *
 * Context: any; takes rcu_read_lock() and g->lock.
 */
void bg_table_locked(int id, void (*fn)(struct bg_group *g, void *data), void *data)
{
	unsigned long flags;
	struct bg_group *g;

	rcu_read_lock();
	g = bg_table_find(id);
	if (g) {
		raw_spin_lock_irqsave(&g->lock, flags);
		fn(g, data);
		raw_spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
}

/**
 * bg_table_next() - the first entry whose group id is *@id or more
 * @id: where to start; set to the entry's id
 *
 * Context: process; bg_table_mutex held.
 * Return: the entry, or NULL past the last one.
 */
struct bg_group *bg_table_next(unsigned long *id)
{
	lockdep_assert_held(&bg_table_mutex);
	return xa_find(&bg_groups, id, ULONG_MAX, XA_PRESENT);
}

/**
 * bg_table_member_of() - where @dev is listed: its member record, in
 *                        whatever entry (->group) holds it
 * @dev: a device
 *
 * Context: process; bg_table_mutex held.
 * Return: the member, or NULL if no entry lists @dev.
 */
struct bg_member *bg_table_member_of(struct device *dev)
{
	struct bg_member *m;

	lockdep_assert_held(&bg_table_mutex);
	hash_for_each_possible(bg_table_devices, m, dnode, (unsigned long)dev)
		if (m->dev == dev)
			return m;
	return NULL;
}

/**
 * bg_table_member() - @dev's member record in entry @g
 * @g:   the entry
 * @dev: a device
 *
 * Context: process; bg_table_mutex held.
 * Return: the member, or NULL if @g does not list @dev.
 */
struct bg_member *bg_table_member(struct bg_group *g, struct device *dev)
{
	struct bg_member *m = bg_table_member_of(dev);

	return m && m->group == g ? m : NULL;
}

/**
 * bg_table_add_member() - list @m in entry @g, and index it by its device
 * @g: the entry
 * @m: a new member, its @dev set; no entry lists that device yet
 *
 * Context: process; bg_table_mutex held.
 */
void bg_table_add_member(struct bg_group *g, struct bg_member *m)
{
	lockdep_assert_held(&bg_table_mutex);
	m->group = g;
	list_add_tail(&m->node, &g->members);
	hash_add(bg_table_devices, &m->dnode, (unsigned long)m->dev);
}

/**
 * bg_table_del_member() - unlink @m from its entry and the index; free it
 * @m: a member
 *
 * Context: process; bg_table_mutex held.
 */
void bg_table_del_member(struct bg_member *m)
{
	lockdep_assert_held(&bg_table_mutex);
	list_del(&m->node);
	hash_del(&m->dnode);
	kfree(m->driver);
	kfree(m);
}

/**
 * bg_table_get_entry() - the entry of @dev's group, created if needed
 * @dev: a device
 *
 * Takes a group reference for a new entry.
 *
 * Context: process; bg_table_mutex held.
 * Return: the entry, or NULL if @dev has no group (or no memory).
 */
struct bg_group *bg_table_get_entry(struct device *dev)
{
	struct iommu_group *group = iommu_group_get(dev);
	struct bg_group *g;

	lockdep_assert_held(&bg_table_mutex);
	if (!group)
		return NULL;
	g = bg_table_lookup(group);
	if (g) {
		iommu_group_put(group);
		return g;
	}
	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		goto fail;
	g->group = group;
	g->id = iommu_group_id(group);
	INIT_LIST_HEAD(&g->members);
	raw_spin_lock_init(&g->lock);
	if (xa_err(xa_store(&bg_groups, g->id, g, GFP_KERNEL))) {
		kfree(g);
		goto fail;
	}
	bg_names_fill();
	return g;
fail:
	iommu_group_put(group);
	pr_warn_ratelimited("out of memory: not tracking %s\n", dev_name(dev));
	return NULL;
}

/*
 * After the grace period: no reader is left in the entry. Atomic context
 * (softirq): the names records, the module reference of a held group and
 * the entry itself.
 */
static void bg_table_free_rcu(struct rcu_head *rcu)
{
	struct bg_group *g = container_of(rcu, struct bg_group, rcu);

	kfree(g->st.probe);
	kfree(g->st.last);
	if (bg_group_held(&g->st))
		bg_group_count_held(-1);
	kfree(g);
}

/**
 * bg_table_erase() - erase @g from the table, free it after a grace period
 * @g: the entry
 *
 * Members go now (only bg_table_mutex holders see them), and the group
 * reference too: a reader that still finds the entry only compares
 * @g->group's address. The entry goes by call_rcu(): no waiting here.
 *
 * Context: process; bg_table_mutex held.
 */
void bg_table_erase(struct bg_group *g)
{
	struct bg_member *m, *tmp;

	lockdep_assert_held(&bg_table_mutex);
	xa_erase(&bg_groups, g->id);
	list_for_each_entry_safe(m, tmp, &g->members, node)
		bg_table_del_member(m);
	iommu_group_put(g->group);
	call_rcu(&g->rcu, bg_table_free_rcu);
}

/**
 * bg_table_exit() - erase every entry, and wait until all are freed
 *
 * Called last at module exit (and on a failed load), when no hook,
 * notifier or reader is left. The rcu_barrier() waits for every call_rcu()
 * of this table, those of earlier device removals included, before the
 * module's text (bg_table_free_rcu()) goes; then names.c's pool goes.
 *
 * Context: process; sleeps.
 */
void bg_table_exit(void)
{
	struct bg_group *g;
	unsigned long id;

	mutex_lock(&bg_table_mutex);
	xa_for_each(&bg_groups, id, g)
		bg_table_erase(g);
	mutex_unlock(&bg_table_mutex);
	rcu_barrier();
	bg_names_exit();
}
