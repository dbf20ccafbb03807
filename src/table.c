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
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/xarray.h>

#include "bindguard.h"

static DEFINE_MUTEX(bg_table_mutex);
static DEFINE_XARRAY(bg_groups);

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

/*
 * Held: userspace owns the group, by a claim bindguard saw committed or by
 * one it found afterwards (presumed).
 */
static bool bg_held(const struct bg_state *st)
{
	return st->claims > 0 || st->presumed;
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
	return READ_ONCE(st->claims) > 0 || READ_ONCE(st->pending) > 0 ||
	       READ_ONCE(st->presumed);
}

/**
 * bg_dev_user_owned() - is @dev's IOMMU group owned by userspace?
 * @dev: any device
 *
 * Context: any; takes rcu_read_lock().
 * Return: true if bindguard's table holds @dev's group as (being) claimed.
 */
bool bg_dev_user_owned(struct device *dev)
{
	struct bg_group *g;
	bool owned;

	rcu_read_lock();
	g = bg_table_lookup(READ_ONCE(dev->iommu_group));
	owned = g && bg_user_owned(&g->st);
	rcu_read_unlock();
	return owned;
}

static struct bg_member *bg_find_member(struct bg_group *g, struct device *dev)
{
	struct bg_member *m;

	list_for_each_entry(m, &g->members, node)
		if (m->dev == dev)
			return m;
	return NULL;
}

/**
 * bg_names_dev() - the device's name in a names record
 * @n: the record, or NULL
 *
 * Context: any; the record's owner (the group's lock) held.
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
 * Context: any; the record's owner (the group's lock) held.
 * Return: the name, or NULL if @n is NULL (printed as "-").
 */
const char *bg_names_driver(const struct bg_names *n)
{
	return n ? n->names + strlen(n->names) + 1 : NULL;
}

/*
 * Set *@np to @dev and @driver, whole: in place when they fit, else in a
 * new record allocated without sleeping (rounded up, so that the next names
 * most likely fit). No memory: *@np becomes NULL, names unknown ("-").
 * Caller holds the group's lock; any context.
 */
static void bg_names_set(struct bg_names **np, const char *dev,
			 const char *driver)
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

/*
 * May group @g log one more line of this kind (@rl)? DEFAULT_RATELIMIT_BURST
 * lines per DEFAULT_RATELIMIT_INTERVAL, counted in whole seconds of
 * boottime; a new interval first says how many lines the last one
 * suppressed. Caller holds g->lock; any context.
 */
static bool bg_ratelimit(struct bg_group *g, struct bg_ratelimit *rl,
			 const char *what)
{
	u32 now = ktime_get_boottime_seconds();

	if (!rl->count || now - rl->begin >= DEFAULT_RATELIMIT_INTERVAL / HZ) {
		if (rl->count > DEFAULT_RATELIMIT_BURST)
			pr_warn("iommu group %d: %u %s log lines suppressed\n",
				g->id, rl->count - DEFAULT_RATELIMIT_BURST, what);
		rl->begin = now;
		rl->count = 0;
	}
	if (rl->count < U32_MAX)
		rl->count++;
	return rl->count <= DEFAULT_RATELIMIT_BURST;
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
 * A group enters (+1) or leaves (-1) state user. Before 5.19 nothing stands
 * behind bindguard, so each user group holds a reference on this module.
 */
static void bg_count_user(int delta)
{
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

	list_for_each_entry_safe(m, tmp, &g->members, node) {
		kfree(m->driver);
		kfree(m);
	}
	kfree(g->st.probe);
	kfree(g->st.last);
	if (bg_held(&g->st))
		bg_count_user(-1);
	iommu_group_put(g->group);
	kfree(g);
}

/*
 * Reservations: BDFs an admin closed to kernel DMA-API drivers (reserve.c),
 * kept as names, for a BDF outlives its device (hot-removal, reboot) and
 * may name one not added yet. A group is reserved while one of its
 * members' names is listed; st.reserved counts those members. The list is
 * under bg_table_mutex; st.reserved is written under both locks, so that
 * the veto reads it under g->lock alone.
 */
static char bg_reserved[BG_RESERVE_MAX][BG_BDF_LEN];	/* bg_table_mutex */
static unsigned int bg_reserved_n;			/* bg_table_mutex */

static int bg_reserved_index(const char *bdf)
{
	unsigned int i;

	for (i = 0; i < bg_reserved_n; i++)
		if (!strcmp(bg_reserved[i], bdf))
			return i;
	return -1;
}

/* Mark @m reserved or not, and count it in its group. bg_table_mutex held. */
static void bg_member_reserve(struct bg_group *g, struct bg_member *m, bool on)
{
	unsigned long flags;

	if (m->reserved == on)
		return;
	m->reserved = on;
	spin_lock_irqsave(&g->lock, flags);
	g->st.reserved += on ? 1 : -1;
	spin_unlock_irqrestore(&g->lock, flags);
}

/*
 * (Un)reserve every member named @bdf and record the change: one event (and
 * tracepoint) naming the device's group, -1 when no device has that name
 * now. bg_table_mutex held.
 */
static void bg_reserve_members(const char *bdf, bool on)
{
	char comm[TASK_COMM_LEN];
	struct bg_member *m;
	struct bg_group *g;
	unsigned long id;
	int group = -1;

	xa_for_each(&bg_groups, id, g)
		list_for_each_entry(m, &g->members, node)
			if (!strcmp(m->bdf, bdf)) {
				bg_member_reserve(g, m, on);
				group = g->id;
			}
	get_task_comm(comm, current->group_leader);
	bg_event_add(on ? BG_EV_RESERVE : BG_EV_UNRESERVE, group,
		     task_tgid_nr(current), comm, bdf, NULL);
}

/**
 * bg_table_reserve() - reserve the group of the device named @bdf, now and
 *                      whenever a device of that name is added
 * @bdf: a canonical PCI name ("0000:02:02.0"), validated by the caller
 *
 * Context: process; takes bg_table_mutex. Also at module load, from the
 * reserve= parameter, before the table holds any group.
 * Return: 0, -EEXIST if already reserved, -ENOSPC past BG_RESERVE_MAX.
 */
int bg_table_reserve(const char *bdf)
{
	int ret = 0;

	mutex_lock(&bg_table_mutex);
	if (bg_reserved_index(bdf) >= 0) {
		ret = -EEXIST;
	} else if (bg_reserved_n == BG_RESERVE_MAX) {
		ret = -ENOSPC;
	} else {
		strscpy(bg_reserved[bg_reserved_n++], bdf, BG_BDF_LEN);
		bg_reserve_members(bdf, true);
	}
	mutex_unlock(&bg_table_mutex);
	return ret;
}

/**
 * bg_table_unreserve() - end the reservation of @bdf
 * @bdf: a canonical PCI name
 *
 * Context: process; takes bg_table_mutex.
 * Return: 0, or -ENOENT if @bdf is not reserved.
 */
int bg_table_unreserve(const char *bdf)
{
	int i, ret = 0;

	mutex_lock(&bg_table_mutex);
	i = bg_reserved_index(bdf);
	if (i < 0) {
		ret = -ENOENT;
	} else {
		bg_reserve_members(bdf, false);
		bg_reserved_n--;
		memmove(bg_reserved[i], bg_reserved[i + 1],
			(bg_reserved_n - i) * sizeof(bg_reserved[0]));
	}
	mutex_unlock(&bg_table_mutex);
	return ret;
}

/**
 * bg_table_reservations() - the reserved names, in the order reserved
 * @buf:  where to write them
 * @size: its size (PAGE_SIZE for sysfs; BG_RESERVE_MAX names fit)
 * @sep:  what follows each name ('\n' for sysfs, ',' for the parameter)
 *
 * Context: process; takes bg_table_mutex.
 * Return: the length written.
 */
int bg_table_reservations(char *buf, size_t size, char sep)
{
	unsigned int i;
	int len = 0;

	mutex_lock(&bg_table_mutex);
	for (i = 0; i < bg_reserved_n; i++)
		len += scnprintf(buf + len, size - len, "%s%c", bg_reserved[i], sep);
	mutex_unlock(&bg_table_mutex);
	return len;
}

/*
 * Does @dev, bound to @drv, keep its group from being claimed by userspace
 * (VFIO_GROUP_GET_STATUS: not viable)? The kernel's rule: since 5.19 every
 * driver without driver_managed_dma uses the kernel's DMA API
 * (pci_dma_configure() -> iommu_device_use_default_domain()), which
 * iommu_group_dma_owner_claimed() then reports; before 5.19 vfio's
 * vfio_dev_viable() accepts pci-stub, any driver of a device that is not a
 * normal-header function (bridges), and devices bound to a vfio driver.
 */
static bool bg_member_blocks(struct device *dev, const struct device_driver *drv)
{
	if (!drv)
		return false;
	if (BG_NATIVE_DMA_OWNER)
		return !bg_driver_managed_dma(drv);
	if (dev_is_pci(dev) && to_pci_dev(dev)->hdr_type != PCI_HEADER_TYPE_NORMAL)
		return false;
	return !bg_vfio_accepts(drv->name);
}

/*
 * Record @drv (NULL: none) as @m's driver, its name copied. No memory: the
 * name is unknown ("-"), the rest is still right. bg_table_mutex held.
 */
static void bg_member_set_driver(struct bg_member *m,
				 const struct device_driver *drv)
{
	m->blocks = bg_member_blocks(m->dev, drv);
	if (drv && m->driver && !strcmp(m->driver, drv->name))
		return;
	kfree(m->driver);
	m->driver = NULL;
	if (drv)
		m->driver = kstrdup(drv->name, GFP_KERNEL);
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
	size_t len;

	mutex_lock(&bg_table_mutex);
	g = bg_get_entry(dev);
	if (!g)
		goto out;
	m = bg_find_member(g, dev);
	if (!m) {
		len = strlen(dev_name(dev)) + 1;
		m = kzalloc(struct_size(m, bdf, len), GFP_KERNEL);
		if (!m)
			goto out;
		m->dev = dev;
		memcpy(m->bdf, dev_name(dev), len);
		list_add_tail(&m->node, &g->members);
		bg_member_reserve(g, m, bg_reserved_index(m->bdf) >= 0);
	}
	drv = READ_ONCE(dev->driver);
	bg_member_set_driver(m, drv);
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
		bg_member_reserve(g, m, false);
		list_del(&m->node);
		kfree(m->driver);
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
 * bg_table_set_driver() - record the driver now bound to @dev, and whether it
 *                         keeps the group from being claimed
 * @dev: a PCI device
 * @drv: the driver bound (BUS_NOTIFY_BOUND_DRIVER), or NULL after an unbind
 *
 * Context: process (the bus notifier, @dev's lock held); takes bg_table_mutex.
 */
void bg_table_set_driver(struct device *dev, const struct device_driver *drv)
{
	struct bg_group *g;
	struct bg_member *m;

	mutex_lock(&bg_table_mutex);
	g = bg_table_lookup(dev->iommu_group);
	m = g ? bg_find_member(g, dev) : NULL;
	if (m)
		bg_member_set_driver(m, drv);
	mutex_unlock(&bg_table_mutex);
	if (!m)
		bg_table_add_device(dev);
}

/*
 * Record a change of bg_held(): call with g->lock held, with what it was
 * before the change. Events and the user count follow held, not pending.
 */
static void bg_held_changed(struct bg_group *g, bool was)
{
	bool held = bg_held(&g->st);

	if (held == was)
		return;
	if (held) {
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
 * bg_table_gen() - the claim generation of @dev's group, for bg_table_found()
 * @dev: a device
 *
 * Context: process.
 * Return: a value that changes with every claim, commit and release.
 */
unsigned int bg_table_gen(struct device *dev)
{
	struct bg_group *g;
	unsigned int gen = 0;

	rcu_read_lock();
	g = bg_table_lookup(READ_ONCE(dev->iommu_group));
	if (g)
		gen = READ_ONCE(g->st.gen);
	rcu_read_unlock();
	return gen;
}

/**
 * bg_table_get_member() - a member of group @id, to ask the kernel about it
 * @id: the IOMMU group's id
 *
 * Context: process; takes bg_table_mutex.
 * Return: the first member's device with a reference taken (put_device()
 * it), or NULL if bindguard does not track group @id.
 */
struct device *bg_table_get_member(int id)
{
	struct device *dev = NULL;
	struct bg_member *m;
	struct bg_group *g;

	mutex_lock(&bg_table_mutex);
	g = xa_load(&bg_groups, id);
	if (g) {
		m = list_first_entry_or_null(&g->members, struct bg_member, node);
		if (m)
			dev = get_device(m->dev);
	}
	mutex_unlock(&bg_table_mutex);
	return dev;
}

/**
 * bg_table_found() - what asking the kernel found about @dev's group
 * @dev:   a device of the group
 * @owned: the kernel says userspace owns it (5.19+: exactly; before 5.19:
 *         a member is bound to vfio, which is all that can be asked)
 * @gen:   bg_table_gen() read before asking
 *
 * A group found owned that bindguard does not hold is presumed owned, owner
 * unknown ("-"). Since 5.19 the answer is exact, and a group bindguard holds
 * that the kernel says is not owned (a claim counted twice, a release
 * missed) returns to the kernel. Before 5.19 nothing is ever released this
 * way: only a seen claim or release ends a presumption. Nothing changes if a
 * claim, commit or release ran since @gen was read, or one is in flight:
 * the hooks know better.
 *
 * A group found owned, or asked about while a claim ran, is "uncounted"
 * until the kernel says it is free: claims may be held that bindguard did
 * not see, or a release it missed may be counted as held. Since 5.19 each
 * release of such a group asks the kernel again (bg_claim_release()).
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_table_found(struct device *dev, bool owned, unsigned int gen)
{
	struct bg_group *g;
	bool was;

	mutex_lock(&bg_table_mutex);
	g = bg_table_lookup(dev->iommu_group);
	if (g) {
		spin_lock_irq(&g->lock);
		was = bg_held(&g->st);
		/* only "free", asked with no claim in between, proves it */
		g->st.uncounted = owned || g->st.gen != gen || g->st.pending;
		if (g->st.gen == gen && !g->st.pending && owned != was &&
		    (owned || BG_NATIVE_DMA_OWNER)) {
			g->st.presumed = owned;
			g->st.claims = 0;
			g->st.owner_pid = 0;
			g->st.owner_comm[0] = '\0';
			bg_held_changed(g, was);
		}
		spin_unlock_irq(&g->lock);
	}
	mutex_unlock(&bg_table_mutex);
}

/*
 * Ordering of probes and claims (before 5.19; see hook.c and claim.c).
 * Nothing in 5.10 stops VFIO_GROUP_SET_CONTAINER while a kernel driver is
 * probing a member, nor that probe once the container is set: vfio's
 * BUG_ON follows at the bind. Both sides therefore decide under the group's
 * g->lock, each after the other's mark is visible:
 *
 *   probe (really_probe() entry)        claim (SET_CONTAINER entry)
 *   lock                                lock
 *   owned (claims|pending|presumed)?    probing > 0?
 *     -> refuse                           -> refuse the claim (-EBUSY)
 *   probing++                           pending++
 *   unlock                              unlock
 *   ... the driver's probe ...          ... vfio sets the container ...
 *   probing-- (every return)            commit or revert pending
 *
 * The lock serialises the two decisions, so exactly one of them sees the
 * other: a probe admitted first makes the claim fail until it returned; a
 * claim that began first makes the probe fail. Since 5.19 the kernel closes
 * the same window itself (a probing driver holds the group's owner_cnt
 * through iommu_device_use_default_domain(), so the claim fails with
 * -EBUSY): probes are not counted there.
 */

/**
 * bg_table_admit_probe() - the veto's decision for one probe, under g->lock
 * @dev:   the device about to be probed
 * @drv:   the driver, already known not to manage DMA itself
 * @mode:  the mode (bg_mode(), read once by the caller): it applies to a
 *         reserved group nobody owns
 * @count: count the probe in st.probing if admitted (before 5.19)
 * @id:    set to the group's id when BG_ADMIT_COUNTED is returned
 * @audit: set when admitted into a reserved group in mode=audit (the caller
 *         records it, outside g->lock)
 *
 * A reserved group that nobody owns follows the mode on every kernel
 * (enforce refuses, audit records, off ignores): no vfio BUG_ON stands
 * behind it before 5.19, unlike an owned one.
 *
 * Context: the ftrace callback on really_probe(): atomic, no sleeping.
 * Return: BG_REFUSE if the group is (being) claimed by userspace,
 * BG_REFUSE_RESERVED if nobody owns it but it is reserved (mode=enforce),
 * BG_ADMIT_COUNTED if admitted and counted (bg_table_probe_done() must
 * follow), BG_ADMIT otherwise.
 */
enum bg_verdict bg_table_admit_probe(struct device *dev,
				     const struct device_driver *drv,
				     enum bg_mode mode, bool count, int *id,
				     bool *audit)
{
	enum bg_verdict v = BG_ADMIT;
	unsigned long flags;
	struct bg_group *g;

	*audit = false;
	rcu_read_lock();
	g = bg_table_lookup(READ_ONCE(dev->iommu_group));
	if (g) {
		spin_lock_irqsave(&g->lock, flags);
		if (bg_user_owned(&g->st)) {
			v = BG_REFUSE;
		} else if (g->st.reserved && mode == BG_MODE_ENFORCE) {
			v = BG_REFUSE_RESERVED;
		} else {
			*audit = g->st.reserved && mode == BG_MODE_AUDIT;
			if (count) {
				g->st.probing++;
				bg_names_set(&g->st.probe, dev_name(dev),
					     drv->name);
				*id = g->id;
				v = BG_ADMIT_COUNTED;
			}
		}
		spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
	return v;
}

/**
 * bg_table_probe_done() - a probe counted by bg_table_admit_probe() returned
 * @id: the group's id
 *
 * Context: any (process, after really_probe() returned); no sleeping.
 */
void bg_table_probe_done(int id)
{
	unsigned long flags;
	struct bg_group *g;

	rcu_read_lock();
	g = xa_load(&bg_groups, id);
	if (g) {
		spin_lock_irqsave(&g->lock, flags);
		if (g->st.probing > 0)
			g->st.probing--;
		spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
}

/* The current process owns (is claiming) the group. g->lock held. */
static void bg_set_owner(struct bg_state *st)
{
	st->owner_pid = task_tgid_nr(current);
	get_task_comm(st->owner_comm, current->group_leader);
}

/* Record and log (ratelimited) a refused claim. g->lock held. */
static void bg_claim_refused(struct bg_group *g, int probing, const char *dev,
			     const char *driver)
{
	bg_event_add(BG_EV_CLAIM_REFUSED, g->id, task_tgid_nr(current),
		     current->group_leader->comm, dev, driver);
	if (bg_ratelimit(g, &g->st.rs, "refusal"))
		bg_log_claim_refused(g->id, probing, dev, driver);
}

/**
 * bg_claim_begin() - userspace is claiming DMA ownership of group @id
 * @id:          the IOMMU group's id
 * @wait_probes: refuse the claim while kernel-driver probes are in flight
 *               (before 5.19: the claim is then refused by the caller)
 *
 * Marks the claim pending, so that a bind racing it is refused, and records
 * the current process as the owner if the group has none yet.
 *
 * Context: the claim hooks: atomic, no sleeping.
 * Return: 0, or -EBUSY if @wait_probes and a probe is in flight (nothing
 * changed; one log line and a "claim-refused" event say which).
 */
int bg_claim_begin(int id, bool wait_probes)
{
	unsigned long flags;
	struct bg_group *g;
	int ret = 0;

	rcu_read_lock();
	g = xa_load(&bg_groups, id);
	if (!g) {
		rcu_read_unlock();
		return 0;
	}
	spin_lock_irqsave(&g->lock, flags);
	if (wait_probes && g->st.probing) {
		bg_claim_refused(g, g->st.probing, bg_names_dev(g->st.probe),
				 bg_names_driver(g->st.probe));
		ret = -EBUSY;
	} else {
		/* a presumed owner is unknown: the first seen claim names it */
		if (!g->st.claims && !g->st.pending)
			bg_set_owner(&g->st);
		g->st.pending++;
		g->st.gen++;
	}
	spin_unlock_irqrestore(&g->lock, flags);
	rcu_read_unlock();
	return ret;
}

/**
 * bg_claim_refuse_bound() - record a claim refused for a bound driver
 * @id:     the IOMMU group's id
 * @dev:    the member's name
 * @driver: the driver bound to it, which vfio does not accept
 *
 * Context: process (the claim wrapper, before 5.19).
 */
void bg_claim_refuse_bound(int id, const char *dev, const char *driver)
{
	unsigned long flags;
	struct bg_group *g;

	rcu_read_lock();
	g = xa_load(&bg_groups, id);
	if (g) {
		spin_lock_irqsave(&g->lock, flags);
		bg_claim_refused(g, 0, dev, driver);
		spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
}

/**
 * bg_table_walk_members() - call @fn for each member of group @id
 * @id:   the IOMMU group's id
 * @data: passed to @fn
 * @fn:   called with each member device (PCI) until it returns non-zero
 *
 * Context: process; takes bg_table_mutex (@fn may sleep, must not take it).
 * Return: the first non-zero value @fn returned, or 0.
 */
int bg_table_walk_members(int id, void *data,
			  int (*fn)(struct device *dev, void *data))
{
	struct bg_member *m;
	struct bg_group *g;
	int ret = 0;

	mutex_lock(&bg_table_mutex);
	g = xa_load(&bg_groups, id);
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

/**
 * bg_table_forget_presumed() - end every presumption (vfio was unloaded)
 *
 * Before 5.19 a presumption ends only with a seen claim or release; once
 * vfio is gone no container exists, so none stands.
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_table_forget_presumed(void)
{
	struct bg_group *g;
	unsigned long id;
	bool was;

	mutex_lock(&bg_table_mutex);
	xa_for_each(&bg_groups, id, g) {
		spin_lock_irq(&g->lock);
		was = bg_held(&g->st);
		g->st.presumed = false;
		g->st.gen++;
		bg_held_changed(g, was);
		spin_unlock_irq(&g->lock);
	}
	mutex_unlock(&bg_table_mutex);
}

/**
 * bg_claim_end() - a claim of group @id returned
 * @id:      the IOMMU group's id
 * @success: the claim function returned 0
 *
 * Commits a successful claim (state user) or reverts a failed one; claims
 * fail routinely, e.g. with -EPERM while a host driver is bound. A seen
 * claim ends a presumption: from now on claims are counted.
 *
 * Context: the claim hooks: atomic, no sleeping.
 */
void bg_claim_end(int id, bool success)
{
	unsigned long flags;
	struct bg_group *g;
	bool was;

	rcu_read_lock();
	g = xa_load(&bg_groups, id);
	if (g) {
		spin_lock_irqsave(&g->lock, flags);
		was = bg_held(&g->st);
		if (g->st.pending > 0)
			g->st.pending--;
		g->st.gen++;
		/*
		 * Before 5.19 a vfio group has one container at a time
		 * (SET_CONTAINER wants container_users == 0): a claim on a
		 * held group means its release was missed. Count it once.
		 */
		if (success && (BG_NATIVE_DMA_OWNER || !g->st.claims))
			g->st.claims++;
		if (success) {
			g->st.presumed = false;
			/* an owner cleared by a release racing this claim */
			if (!g->st.owner_pid)
				bg_set_owner(&g->st);
			bg_held_changed(g, was);
		} else if (!g->st.claims && !g->st.pending) {
			g->st.owner_pid = 0;
			g->st.owner_comm[0] = '\0';
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
 * other devices still hold. A seen release also ends a presumption.
 *
 * Context: the claim hooks: atomic, no sleeping.
 * Return: true if bindguard's count of the group's claims may be wrong
 * (st.uncounted, see bg_table_found()): the kernel should be asked.
 */
bool bg_claim_release(int id)
{
	unsigned long flags;
	struct bg_group *g;
	bool was, ask = false;

	rcu_read_lock();
	g = xa_load(&bg_groups, id);
	if (g) {
		spin_lock_irqsave(&g->lock, flags);
		was = bg_held(&g->st);
		g->st.gen++;
		if (g->st.claims > 0)
			g->st.claims--;
		if (!g->st.claims)
			g->st.presumed = false;
		bg_held_changed(g, was);
		ask = g->st.uncounted;
		spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
	return ask;
}

/**
 * bg_record_refusal() - count, log and record a refused bind
 * @dev:   the device
 * @drv:   the driver that was (audit: would have been) refused
 * @audit: only recorded, the bind goes ahead (mode=audit)
 *
 * Logs one line per refusal, ratelimited per group. Names are escaped
 * (bg_escape()). Does nothing if bindguard does not track @dev's group.
 *
 * Context: the refusal stub (process, device lock held) or, for audit and
 * the kernel's own refusals, atomic context; no sleeping.
 */
void bg_record_refusal(struct device *dev, const struct device_driver *drv,
		       bool audit)
{
	char comm[TASK_COMM_LEN] = "";
	bool log, reserved;
	unsigned long flags;
	struct bg_group *g;
	pid_t pid;
	int id;

	rcu_read_lock();
	g = bg_table_lookup(READ_ONCE(dev->iommu_group));
	if (!g) {
		rcu_read_unlock();
		return;
	}
	spin_lock_irqsave(&g->lock, flags);
	g->st.refused++;
	g->st.last_ns = ktime_get_boottime_ns();
	bg_names_set(&g->st.last, dev_name(dev), drv->name);
	id = g->id;
	pid = g->st.owner_pid;
	if (pid)
		strscpy(comm, g->st.owner_comm, sizeof(comm));
	reserved = g->st.reserved && !bg_user_owned(&g->st);
	log = bg_ratelimit(g, &g->st.rs, "refusal");
	spin_unlock_irqrestore(&g->lock, flags);
	rcu_read_unlock();

	bg_event_add(audit ? BG_EV_AUDIT : BG_EV_REFUSED, id, pid, comm,
		     dev_name(dev), drv->name);
	if (log)
		bg_log_refusal(audit, dev_name(dev), drv->name, id, pid, comm,
			       reserved);
}

/*
 * debugfs "groups" and "blockers" walk the table as seq_file iterators, one
 * group per record, so that a read costs what it prints: position 0 is the
 * header, position N > 0 the first group whose id is N - 1 or more (group ids
 * are the xarray's keys). bg_table_mutex is held from start to stop.
 */
static void *bg_seq_group(loff_t pos)
{
	unsigned long id = pos - 1;

	return xa_find(&bg_groups, &id, ULONG_MAX, XA_PRESENT);
}

static void *bg_seq_start(struct seq_file *m, loff_t *pos)
{
	mutex_lock(&bg_table_mutex);
	return *pos ? bg_seq_group(*pos) : SEQ_START_TOKEN;
}

static void *bg_seq_next(struct seq_file *m, void *v, loff_t *pos)
{
	*pos = v == SEQ_START_TOKEN ? 1 : ((struct bg_group *)v)->id + 2;
	return bg_seq_group(*pos);
}

static void bg_seq_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&bg_table_mutex);
}

/*
 * debugfs "groups". Format "bindguard-groups 2" (README.md; 2 added the
 * state "reserved": a group nobody owns that a reservation closes): a line
 * naming the format, a header, then one line per group: "id state pid comm
 * since refused last_refusal members...", the last refusal as
 * dev/driver@time, members as dev=driver, "-" for what is unknown or empty.
 * Names are escaped (bg_seq_name()): no field holds a space or a newline.
 * Each group's lock is held while its state is printed (seq_printf() does
 * not sleep).
 */
static int bg_groups_show(struct seq_file *m, void *v)
{
	const struct bg_state *st;
	struct bg_member *mem;
	struct bg_group *g = v;
	bool user;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "# bindguard-groups 2\n");
		seq_puts(m, "# group state pid comm since refused last_refusal members\n");
		return 0;
	}
	st = &g->st;
	spin_lock_irq(&g->lock);
	user = bg_user_owned(st);
	seq_printf(m, "%d %s ", g->id,
		   user ? "user" : st->reserved ? "reserved" : "kernel");
	if (user && st->owner_pid) {
		seq_printf(m, "%d ", st->owner_pid);
		bg_seq_name(m, st->owner_comm);
	} else {
		seq_puts(m, "- -");
	}
	seq_putc(m, ' ');
	if (user && st->since_ns)
		bg_seq_time(m, st->since_ns);
	else
		seq_putc(m, '-');
	seq_printf(m, " %lu ", st->refused);
	if (st->last_ns) {
		bg_seq_name(m, bg_names_dev(st->last));
		seq_putc(m, '/');
		bg_seq_name(m, bg_names_driver(st->last));
		seq_putc(m, '@');
		bg_seq_time(m, st->last_ns);
	} else {
		seq_putc(m, '-');
	}
	spin_unlock_irq(&g->lock);
	list_for_each_entry(mem, &g->members, node) {
		seq_putc(m, ' ');
		bg_seq_name(m, mem->bdf);
		seq_putc(m, '=');
		bg_seq_name(m, mem->driver);
	}
	seq_putc(m, '\n');
	return 0;
}

const struct seq_operations bg_groups_sops = {
	.start = bg_seq_start,
	.next = bg_seq_next,
	.stop = bg_seq_stop,
	.show = bg_groups_show,
};

/* One log line of blockers: "DEV is bound to DRIVER, ..." (escaped names) */
#define BG_BLOCKERS_LINE	512

/**
 * bg_table_report_not_viable() - say why group @id is not viable: one log
 *                                line and one "not-viable" event per
 *                                blocking member, ratelimited per group
 * @id:   the IOMMU group's id
 * @pid:  the process that was told (tgid)
 * @comm: its comm
 *
 * Called when the kernel answered VFIO_GROUP_GET_STATUS with a group that is
 * not viable (claim.c), the question QEMU, libvirt and DPDK ask before a
 * claim, and (5.19+) when a claim failed with -EPERM or -EBUSY, what a client
 * that skipped the question sees. Nothing is said if bindguard knows no
 * blocker (a member's driver changed since; the group has another owner).
 *
 * Context: process; sleeps (bg_table_mutex, allocation).
 */
void bg_table_report_not_viable(int id, pid_t pid, const char *comm)
{
	bool full = false, limited;
	struct bg_member *mem;
	struct bg_group *g;
	size_t len = 0;
	char *line;

	line = kmalloc(BG_BLOCKERS_LINE, GFP_KERNEL);
	if (!line)
		return;
	line[0] = '\0';
	mutex_lock(&bg_table_mutex);
	g = xa_load(&bg_groups, id);
	/*
	 * Anyone holding the group's fd may ask again and again: the log line
	 * and the events are limited together, apart from the refusals'.
	 */
	if (!g)
		goto out;
	spin_lock_irq(&g->lock);
	limited = !bg_ratelimit(g, &g->st.rs_viable, "not-viable");
	spin_unlock_irq(&g->lock);
	if (limited)
		goto out;
	list_for_each_entry(mem, &g->members, node) {
		if (!mem->blocks)
			continue;
		bg_event_add(BG_EV_NOT_VIABLE, id, pid, comm, mem->bdf, mem->driver);
		if (full)
			continue;
		/* each part below fits in what is left: no truncation */
		if (BG_BLOCKERS_LINE - len < 64) {
			strscpy(line + len, ", ...", BG_BLOCKERS_LINE - len);
			full = true;
			continue;
		}
		if (len)
			len += strscpy(line + len, ", ", BG_BLOCKERS_LINE - len);
		bg_escape_into(line + len, (BG_BLOCKERS_LINE - len) / 2, mem->bdf);
		len += strlen(line + len);
		len += strscpy(line + len, " is bound to ", BG_BLOCKERS_LINE - len);
		bg_escape_into(line + len, BG_BLOCKERS_LINE - len, mem->driver);
		len += strlen(line + len);
	}
	if (len)
		bg_log_not_viable(id, pid, comm, line);
out:
	mutex_unlock(&bg_table_mutex);
	kfree(line);
}

/*
 * debugfs "blockers": every member that keeps its group from being claimed,
 * with its driver. Format "bindguard-blockers 1": "group dev driver", names
 * escaped as in "groups". A group with no line here is viable:
 * VFIO_GROUP_GET_STATUS reports VFIO_GROUP_FLAGS_VIABLE for it
 * (bg_member_blocks() mirrors the kernel's rule), as the guest tests check
 * against the kernel.
 */
static int bg_blockers_show(struct seq_file *m, void *v)
{
	struct bg_member *mem;
	struct bg_group *g = v;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "# bindguard-blockers 1\n# group dev driver\n");
		return 0;
	}
	list_for_each_entry(mem, &g->members, node) {
		if (!mem->blocks)
			continue;
		seq_printf(m, "%d ", g->id);
		bg_seq_name(m, mem->bdf);
		seq_putc(m, ' ');
		bg_seq_name(m, mem->driver);
		seq_putc(m, '\n');
	}
	return 0;
}

const struct seq_operations bg_blockers_sops = {
	.start = bg_seq_start,
	.next = bg_seq_next,
	.stop = bg_seq_stop,
	.show = bg_blockers_show,
};

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
