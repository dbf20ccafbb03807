// SPDX-License-Identifier: GPL-2.0
/*
 * table.c - the per-IOMMU-group ownership table.
 *
 * One struct bg_group per IOMMU group that holds a PCI device, in an xarray
 * keyed by group id. Entries are created and freed, and group references
 * taken and dropped, only in process context under bg_table_mutex (bus
 * notifier, load-time scan, module exit); the last put waits for an RCU grace
 * period. The probe path and the claim kretprobes only look entries up under
 * RCU and change their state under the entry's spinlock.
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/ratelimit.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/xarray.h>

#include "bindguard.h"

static DEFINE_MUTEX(bg_table_mutex);
static DEFINE_XARRAY(bg_groups);
/* Groups in state user; before 5.19 each holds a reference on this module. */
static atomic_t bg_nr_user = ATOMIC_INIT(0);

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

	if (!group)
		return NULL;
	g = xa_load(&bg_groups, iommu_group_id(group));
	return g && g->group == group ? g : NULL;
}

/**
 * bg_user_owned() - is the group owned by userspace?
 * @st: the group's state (live, read locklessly, or a snapshot)
 *
 * A claim in flight counts: a bind racing the claim is already refused.
 *
 * Context: any.
 * Return: true if the group is (being) claimed by userspace.
 */
bool bg_user_owned(const struct bg_state *st)
{
	return READ_ONCE(st->claims) > 0 || READ_ONCE(st->pending) > 0;
}

/**
 * bg_table_any_user() - is any group owned by userspace?
 *
 * Context: any.
 * Return: true if at least one group is in state user.
 */
bool bg_table_any_user(void)
{
	return atomic_read(&bg_nr_user) > 0;
}

static struct bg_member *bg_find_member(struct bg_group *g, struct device *dev)
{
	struct bg_member *m;

	list_for_each_entry(m, &g->members, node)
		if (m->dev == dev)
			return m;
	return NULL;
}

/*
 * Entry of @dev's group, created if needed. Takes a group reference for a
 * new entry. Caller holds bg_table_mutex; process context.
 */
static struct bg_group *bg_get_entry(struct device *dev)
{
	struct iommu_group *group = iommu_group_get(dev);
	struct bg_group *g;

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
	spin_lock_init(&g->lock);
	if (xa_err(xa_store(&bg_groups, g->id, g, GFP_KERNEL))) {
		kfree(g);
		goto fail;
	}
	return g;
fail:
	iommu_group_put(group);
	pr_warn_ratelimited("out of memory: not tracking %s\n", dev_name(dev));
	return NULL;
}

/*
 * Count a group entering (+1) or leaving (-1) state user. Before 5.19
 * nothing stands behind bindguard, so each user group pins the module.
 */
static void bg_count_user(int delta)
{
	atomic_add(delta, &bg_nr_user);
	if (BG_NATIVE_DMA_OWNER)
		return;
	if (delta > 0)
		__module_get(THIS_MODULE);
	else
		module_put(THIS_MODULE);
}

static void bg_free_entry(struct bg_group *g)
{
	struct bg_member *m, *tmp;

	list_for_each_entry_safe(m, tmp, &g->members, node)
		kfree(m);
	if (g->st.claims > 0)
		bg_count_user(-1);
	iommu_group_put(g->group);
	kfree(g);
}

/**
 * bg_table_add_device() - record @dev as a member of its IOMMU group
 * @dev: a PCI device
 *
 * Idempotent. Also records the bound driver, if any.
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_table_add_device(struct device *dev)
{
	struct bg_member *m;
	struct device_driver *drv;
	struct bg_group *g;

	mutex_lock(&bg_table_mutex);
	g = bg_get_entry(dev);
	if (!g)
		goto out;
	m = bg_find_member(g, dev);
	if (!m) {
		m = kzalloc(sizeof(*m), GFP_KERNEL);
		if (!m)
			goto out;
		m->dev = dev;
		strscpy(m->bdf, dev_name(dev), sizeof(m->bdf));
		list_add_tail(&m->node, &g->members);
	}
	drv = READ_ONCE(dev->driver);
	strscpy(m->driver, drv ? drv->name : "", sizeof(m->driver));
out:
	mutex_unlock(&bg_table_mutex);
}

/**
 * bg_table_del_device() - forget @dev; free its group's entry with it if it
 *                         was the last member
 * @dev: a PCI device being deleted (BUS_NOTIFY_DEL_DEVICE: dev->iommu_group
 *       is still set; by BUS_NOTIFY_REMOVED_DEVICE the iommu core cleared it)
 *
 * The group reference is dropped after an RCU grace period, so that no
 * lockless reader still sees the entry.
 *
 * Context: process; takes bg_table_mutex; sleeps.
 */
void bg_table_del_device(struct device *dev)
{
	struct bg_group *g;
	struct bg_member *m;

	mutex_lock(&bg_table_mutex);
	g = bg_table_lookup(dev->iommu_group);
	m = g ? bg_find_member(g, dev) : NULL;
	if (m) {
		list_del(&m->node);
		kfree(m);
	}
	if (g && list_empty(&g->members))
		xa_erase(&bg_groups, g->id);
	else
		g = NULL;
	mutex_unlock(&bg_table_mutex);

	if (g) {
		synchronize_rcu();
		bg_free_entry(g);
	}
}

/**
 * bg_table_set_driver() - record the driver now bound to @dev
 * @dev:    a PCI device
 * @driver: the driver's name, or "" after an unbind
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_table_set_driver(struct device *dev, const char *driver)
{
	struct bg_group *g;
	struct bg_member *m;

	mutex_lock(&bg_table_mutex);
	g = bg_table_lookup(dev->iommu_group);
	m = g ? bg_find_member(g, dev) : NULL;
	if (m)
		strscpy(m->driver, driver, sizeof(m->driver));
	mutex_unlock(&bg_table_mutex);
	if (!m)
		bg_table_add_device(dev);
}

/* Called with g->lock held when claims goes 0 -> 1 or 1 -> 0. */
static void bg_set_user(struct bg_group *g, bool user)
{
	if (user) {
		bg_count_user(1);
		g->st.since_ns = ktime_get_boottime_ns();
		bg_event_add(BG_EV_USER, g->id, g->st.owner_pid,
			     g->st.owner_comm, NULL, NULL);
	} else {
		bg_count_user(-1);
		bg_event_add(BG_EV_KERNEL, g->id, 0, NULL, NULL, NULL);
		g->st.owner_pid = 0;
		g->st.owner_comm[0] = '\0';
		g->st.since_ns = 0;
	}
}

/**
 * bg_table_mark_claimed() - count @dev's group as found claimed at load time
 * @dev: a PCI device of the group
 *
 * The claiming process is unknown then; it shows as "-". Does nothing if a
 * claim is already counted.
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_table_mark_claimed(struct device *dev)
{
	struct bg_group *g;

	mutex_lock(&bg_table_mutex);
	g = bg_table_lookup(dev->iommu_group);
	if (g) {
		spin_lock_irq(&g->lock);
		if (g->st.claims == 0) {
			g->st.claims = 1;
			bg_set_user(g, true);
		}
		spin_unlock_irq(&g->lock);
	}
	mutex_unlock(&bg_table_mutex);
}

/**
 * bg_claim_begin() - userspace is claiming DMA ownership of group @id
 * @id:    the IOMMU group's id
 *
 * Marks the claim pending, so that a bind racing it is refused, and records
 * the current process as the owner if the group has none yet.
 *
 * Context: kretprobe entry handler: atomic, no sleeping.
 */
void bg_claim_begin(int id)
{
	struct bg_group *g;
	unsigned long flags;

	rcu_read_lock();
	g = xa_load(&bg_groups, id);
	if (g) {
		spin_lock_irqsave(&g->lock, flags);
		if (g->st.claims == 0 && g->st.pending == 0) {
			g->st.owner_pid = task_tgid_nr(current);
			get_task_comm(g->st.owner_comm, current->group_leader);
		}
		g->st.pending++;
		spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
}

/**
 * bg_claim_end() - a claim of group @id returned
 * @id:      the IOMMU group's id
 * @success: the claim function returned 0
 *
 * Commits a successful claim (state user) or reverts a failed one; claims
 * fail routinely, e.g. with -EPERM while a host driver is bound.
 *
 * Context: kretprobe return handler: atomic, no sleeping.
 */
void bg_claim_end(int id, bool success)
{
	struct bg_group *g;
	unsigned long flags;

	rcu_read_lock();
	g = xa_load(&bg_groups, id);
	if (g) {
		spin_lock_irqsave(&g->lock, flags);
		if (g->st.pending > 0)
			g->st.pending--;
		if (success) {
			if (g->st.claims++ == 0)
				bg_set_user(g, true);
		} else if (!bg_user_owned(&g->st)) {
			g->st.owner_pid = 0;
		}
		spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
}

/**
 * bg_claim_release() - userspace released one DMA-ownership claim of group @id
 * @id:    the IOMMU group's id
 *
 * The group returns to state kernel when its last claim is released: device
 * claims (vfio cdev) are counted, one release does not free a group that
 * other devices still hold.
 *
 * Context: kretprobe return handler: atomic, no sleeping.
 */
void bg_claim_release(int id)
{
	struct bg_group *g;
	unsigned long flags;

	rcu_read_lock();
	g = xa_load(&bg_groups, id);
	if (g) {
		spin_lock_irqsave(&g->lock, flags);
		if (g->st.claims > 0 && --g->st.claims == 0)
			bg_set_user(g, false);
		spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
}

/**
 * bg_record_refusal() - count, log and record a refused bind
 * @dev:   the device
 * @drv:   the driver that was (audit: would have been) refused
 * @audit: only recorded, the bind goes ahead (mode=audit)
 *
 * Logs one ratelimited line per refusal.
 *
 * Context: the refusal stub (process, device lock held) or, for audit, the
 * ftrace callback (atomic); no sleeping.
 */
void bg_record_refusal(struct device *dev, const struct device_driver *drv,
		       bool audit)
{
	char comm[TASK_COMM_LEN] = "-", pid_s[12] = "-";
	struct bg_group *g;
	unsigned long flags;
	pid_t pid = 0;
	int id = -1;

	rcu_read_lock();
	g = bg_table_lookup(dev->iommu_group);
	if (g) {
		spin_lock_irqsave(&g->lock, flags);
		g->st.refused++;
		g->st.last_ns = ktime_get_boottime_ns();
		strscpy(g->st.last_bdf, dev_name(dev), sizeof(g->st.last_bdf));
		strscpy(g->st.last_driver, drv->name, sizeof(g->st.last_driver));
		id = g->id;
		pid = g->st.owner_pid;
		if (pid)
			strscpy(comm, g->st.owner_comm, sizeof(comm));
		spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();

	bg_event_add(audit ? BG_EV_AUDIT : BG_EV_REFUSED, id, pid, comm,
		     dev_name(dev), drv->name);
	if (pid)
		snprintf(pid_s, sizeof(pid_s), "%d", pid);
	pr_warn_ratelimited("%s %s bind to %s: iommu group %d owned by userspace (pid %s %s)\n",
			    audit ? "audit: would refuse" : "refused",
			    drv->name, dev_name(dev), id, pid_s, comm);
}

/**
 * bg_table_show() - print the table for debugfs "groups"
 * @m: the seq_file
 *
 * Format (documented in README.md): a header line, then one line per group:
 * "id state pid comm since refused last_refusal members...", the last
 * refusal as bdf/driver@time, members as bdf=driver, "-" for what is unknown
 * or empty.
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_table_show(struct seq_file *m)
{
	struct bg_member *mem;
	struct bg_state st;
	struct bg_group *g;
	unsigned long id;
	bool user;

	seq_puts(m, "# group state pid comm since refused last_refusal members\n");
	mutex_lock(&bg_table_mutex);
	xa_for_each(&bg_groups, id, g) {
		spin_lock_irq(&g->lock);
		st = g->st;
		spin_unlock_irq(&g->lock);
		user = bg_user_owned(&st);

		seq_printf(m, "%d %s ", g->id, user ? "user" : "kernel");
		if (user && st.owner_pid)
			seq_printf(m, "%d %s ", st.owner_pid, st.owner_comm);
		else
			seq_puts(m, "- - ");
		if (user && st.since_ns)
			bg_seq_time(m, st.since_ns);
		else
			seq_putc(m, '-');
		seq_printf(m, " %lu ", st.refused);
		if (st.last_ns) {
			seq_printf(m, "%s/%s@", st.last_bdf, st.last_driver);
			bg_seq_time(m, st.last_ns);
		} else {
			seq_putc(m, '-');
		}
		list_for_each_entry(mem, &g->members, node)
			seq_printf(m, " %s=%s", mem->bdf,
				   mem->driver[0] ? mem->driver : "-");
		seq_putc(m, '\n');
	}
	mutex_unlock(&bg_table_mutex);
}

/**
 * bg_table_exit() - free every entry and drop every group reference
 *
 * Called last at module exit, when no hook, notifier or reader is left.
 *
 * Context: process; sleeps.
 */
void bg_table_exit(void)
{
	struct bg_group *g;
	unsigned long id;

	rcu_barrier();
	xa_for_each(&bg_groups, id, g) {
		xa_erase(&bg_groups, id);
		bg_free_entry(g);
	}
}
