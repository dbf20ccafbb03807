// SPDX-License-Identifier: GPL-2.0
/*
 * member.c - the members of each table entry: which devices a group holds,
 * the driver bound to each and whether it blocks the group (viable.c);
 * the reserved and protected names on them are listed.c's.
 *
 * Lock story: the table's, bg_table_mutex (table.c), in process context for
 * every change and every walk; entries are created and erased through
 * table.c.
 */
#include <linux/device.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bindguard.h"
#include "table.h"

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
	m->user_dma = drv && bg_viable_user_dma(drv);
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
	bg_listed_mark_gone(g, m);
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
	struct pci_dev *pdev;
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
		if (dev_is_pci(dev)) {
			pdev = to_pci_dev(dev);
			m->ids[0] = pdev->vendor;
			m->ids[1] = pdev->device;
			m->ids[2] = pdev->subsystem_vendor;
			m->ids[3] = pdev->subsystem_device;
		}
		bg_table_add_member(g, m);
		bg_listed_mark_new(g, m);
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

struct bg_member_one {
	char *bdf;
	bool found;
};

static void bg_member_protected_locked(struct bg_group *g, void *data)
{
	struct bg_member_one *one = data;

	lockdep_assert_held(&g->lock);
	if (g->st.protected) {
		strscpy(one->bdf, g->st.protected_bdf, BG_BDF_LEN);
		one->found = true;
	}
}

/**
 * bg_member_protected() - a protected member of group @id, if any
 * @id:  the IOMMU group's id
 * @bdf: set to its name (BG_BDF_LEN bytes): the one the group's state
 *       names (listed.c keeps it current)
 *
 * Context: any; takes rcu_read_lock() and the group's lock.
 * Return: true if group @id has a protected member.
 */
bool bg_member_protected(int id, char *bdf)
{
	struct bg_member_one one = { .bdf = bdf };

	bg_table_locked(id, bg_member_protected_locked, &one);
	return one.found;
}
