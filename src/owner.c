// SPDX-License-Identifier: GPL-2.0
/*
 * owner.c - who owns each IOMMU group: the state machine of claims,
 * releases, kernel-driver probes and presumptions (struct bg_state).
 *
 * Lock story: a group's state changes only under its bg_group.lock, a raw
 * spinlock taken with interrupts off, from the veto and the claim hooks
 * (atomic context: the entry is found under rcu_read_lock()) and from the
 * scans (process context: under bg_table_mutex, which keeps the entry).
 * Raw, for the hooks run with preemption off, where a spinlock_t (a
 * sleeping lock on PREEMPT_RT) may not be taken. Under it nothing sleeps,
 * nothing is allocated (names.c's records come from a pool) and no
 * sleeping lock is taken: a comm is copied without task_lock()
 * (bg_names_current_comm()); events (events.c), name records (names.c)
 * and refused-claim records (refusal.c) are written under it, their own
 * raw locks nest inside.
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/timekeeping.h>

#include "bindguard.h"
#include "table.h"

/**
 * bg_owner_dev_user() - is @dev's IOMMU group owned by userspace?
 * @dev: any device
 *
 * Context: any; takes rcu_read_lock().
 * Return: true if bindguard's table holds @dev's group as (being) claimed.
 */
bool bg_owner_dev_user(struct device *dev)
{
	struct bg_group *g;
	bool owned;

	rcu_read_lock();
	g = bg_table_lookup(READ_ONCE(dev->iommu_group));
	owned = g && bg_group_user_owned(&g->st);
	rcu_read_unlock();
	return owned;
}

/*
 * Record a change of bg_group_held(), given what it was before the change.
 * Events and the module reference follow held, not pending.
 */
static void bg_owner_held_changed(struct bg_group *g, bool was)
{
	bool held = bg_group_held(&g->st);

	lockdep_assert_held(&g->lock);
	if (held == was)
		return;
	if (held) {
		bg_group_count_held(1);
		g->st.since_ns = ktime_get_boottime_ns();
		bg_event_add(BG_EV_USER, g->id, g->st.owner_pid,
			     g->st.owner_comm, NULL, NULL);
	} else {
		bg_group_count_held(-1);
		bg_event_add(BG_EV_KERNEL, g->id, 0, NULL, NULL, NULL);
		g->st.owner_pid = 0;
		g->st.owner_comm[0] = '\0';
		g->st.since_ns = 0;
	}
}

/**
 * bg_owner_gen() - the claim generation of @dev's group, for bg_owner_found()
 * @dev: a device
 *
 * Context: process.
 * Return: a value that changes with every claim, commit and release.
 */
unsigned int bg_owner_gen(struct device *dev)
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
 * bg_owner_found() - what asking the kernel found about @dev's group
 * @dev:   a device of the group
 * @owned: the kernel says userspace owns it (5.19+: exactly; before 5.19:
 *         a member is bound to vfio, which is all that can be asked)
 * @gen:   bg_owner_gen() read before asking
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
 * release of such a group asks the kernel again (bg_owner_release()).
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_owner_found(struct device *dev, bool owned, unsigned int gen)
{
	struct bg_group *g;
	bool was;

	mutex_lock(&bg_table_mutex);
	g = bg_table_lookup(dev->iommu_group);
	if (g) {
		raw_spin_lock_irq(&g->lock);
		was = bg_group_held(&g->st);
		/* only "free", asked with no claim in between, proves it */
		g->st.uncounted = owned || g->st.gen != gen || g->st.pending;
		if (g->st.gen == gen && !g->st.pending && owned != was &&
		    (owned || BG_NATIVE_DMA_OWNER)) {
			g->st.presumed = owned;
			g->st.claims = 0;
			g->st.owner_pid = 0;
			g->st.owner_comm[0] = '\0';
			bg_owner_held_changed(g, was);
		}
		raw_spin_unlock_irq(&g->lock);
	}
	mutex_unlock(&bg_table_mutex);
}

/*
 * Ordering of probes and claims (before 5.19; see veto.c and claim_vfio.c).
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
 * bg_owner_admit_probe() - the veto's decision for one probe, under g->lock
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
 * BG_ADMIT_COUNTED if admitted and counted (bg_owner_probe_done() must
 * follow), BG_ADMIT otherwise.
 */
enum bg_verdict bg_owner_admit_probe(struct device *dev,
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
		raw_spin_lock_irqsave(&g->lock, flags);
		if (bg_group_user_owned(&g->st)) {
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
		raw_spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
	return v;
}

/**
 * bg_owner_refuse_user_dma() - the veto's decision for a driver that leaves
 *                              DMA to userspace (bg_viable_user_dma())
 * @dev:   the device about to be probed
 * @mode:  the mode (bg_param_mode(), read once by the caller): a group
 *         with a protected member follows it on every kernel, as a
 *         reserved one does (enforce refuses, audit records, off ignores)
 * @audit: set when a protected member's group admits it in mode=audit (the
 *         caller records it)
 *
 * Context: the ftrace callback on really_probe(): atomic, no sleeping.
 * Return: true to refuse: @dev's group has a protected member (listed.c)
 * and the mode is enforce.
 */
bool bg_owner_refuse_user_dma(struct device *dev, enum bg_mode mode,
			      bool *audit)
{
	unsigned long flags;
	struct bg_group *g;
	bool prot = false;

	rcu_read_lock();
	g = bg_table_lookup(READ_ONCE(dev->iommu_group));
	if (g) {
		raw_spin_lock_irqsave(&g->lock, flags);
		prot = g->st.protected;
		raw_spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
	*audit = prot && mode == BG_MODE_AUDIT;
	return prot && mode == BG_MODE_ENFORCE;
}

static void bg_owner_probe_done_locked(struct bg_group *g, void *data)
{
	lockdep_assert_held(&g->lock);
	if (g->st.probing > 0)
		g->st.probing--;
}

/**
 * bg_owner_probe_done() - a probe counted by bg_owner_admit_probe() returned
 * @id: the group's id
 *
 * Context: any (process, after really_probe() returned); no sleeping.
 */
void bg_owner_probe_done(int id)
{
	bg_table_locked(id, bg_owner_probe_done_locked, NULL);
}

/* The current process owns (is claiming) the group @g. */
static void bg_owner_set(struct bg_group *g)
{
	struct bg_state *st = &g->st;

	lockdep_assert_held(&g->lock);
	st->owner_pid = task_tgid_nr(current);
	bg_names_current_comm(st->owner_comm);
}

/**
 * bg_owner_claim_begin() - userspace is claiming DMA ownership of group @id
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
int bg_owner_claim_begin(int id, bool wait_probes)
{
	unsigned long flags;
	struct bg_group *g;
	int ret = 0;

	rcu_read_lock();
	g = bg_table_find(id);
	if (!g) {
		rcu_read_unlock();
		return 0;
	}
	raw_spin_lock_irqsave(&g->lock, flags);
	if (wait_probes && g->st.probing) {
		bg_refusal_claim(g, g->st.probing, bg_names_dev(g->st.probe),
				 bg_names_driver(g->st.probe));
		ret = -EBUSY;
	} else {
		/* a presumed owner is unknown: the first seen claim names it */
		if (!g->st.claims && !g->st.pending)
			bg_owner_set(g);
		g->st.pending++;
		g->st.gen++;
	}
	raw_spin_unlock_irqrestore(&g->lock, flags);
	rcu_read_unlock();
	return ret;
}

static void bg_owner_claim_set_locked(struct bg_group *g, void *data)
{
	lockdep_assert_held(&g->lock);
	if (g->st.pending)
		g->st.pending_set++;
}

/**
 * bg_owner_claim_set() - vfio set the container of a claim in flight
 * @id: the IOMMU group's id
 *
 * Before 5.19, between VFIO_GROUP_SET_CONTAINER's return and the claim's
 * commit (bg_owner_claim_end()), a release of the group can only be this
 * claim's: vfio gives a group one container at a time.
 *
 * Context: the claim wrapper (process); no sleeping.
 */
void bg_owner_claim_set(int id)
{
	bg_table_locked(id, bg_owner_claim_set_locked, NULL);
}

/**
 * bg_owner_forget_presumed() - end every presumption (vfio was unloaded)
 *
 * Before 5.19 a presumption ends only with a seen claim or release; once
 * vfio is gone no container exists, so none stands.
 *
 * Context: process; takes bg_table_mutex.
 */
void bg_owner_forget_presumed(void)
{
	struct bg_group *g;
	unsigned long id;
	bool was;

	mutex_lock(&bg_table_mutex);
	for (id = 0; (g = bg_table_next(&id)); id++) {
		raw_spin_lock_irq(&g->lock);
		was = bg_group_held(&g->st);
		g->st.presumed = false;
		g->st.gen++;
		bg_owner_held_changed(g, was);
		raw_spin_unlock_irq(&g->lock);
	}
	mutex_unlock(&bg_table_mutex);
}

/**
 * bg_owner_claim_end() - a claim of group @id returned
 * @id:      the IOMMU group's id
 * @success: the claim function returned 0
 *
 * Commits a successful claim (state user) or reverts a failed one; claims
 * fail routinely, e.g. with -EPERM while a host driver is bound. A seen
 * claim ends a presumption: from now on claims are counted. A claim whose
 * release was seen before this commit (st.released_early) is committed and
 * released at once: the events say user, then kernel, and nothing stays
 * held (a held group pins the module before 5.19).
 *
 * Context: the claim hooks: atomic, no sleeping.
 * Return: true if the kernel should be asked about the group again (its
 * release overtook this commit).
 */
bool bg_owner_claim_end(int id, bool success)
{
	unsigned long flags;
	struct bg_group *g;
	bool was, ask = false;

	rcu_read_lock();
	g = bg_table_find(id);
	if (g) {
		raw_spin_lock_irqsave(&g->lock, flags);
		was = bg_group_held(&g->st);
		if (g->st.pending > 0)
			g->st.pending--;
		if (success && g->st.pending_set > 0)
			g->st.pending_set--;
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
				bg_owner_set(g);
			bg_owner_held_changed(g, was);
		}
		if (success && g->st.released_early) {
			/* its release came first: ends here */
			g->st.released_early--;
			was = bg_group_held(&g->st);
			if (g->st.claims > 0)
				g->st.claims--;
			bg_owner_held_changed(g, was);
			ask = true;
		}
		if (!g->st.pending) {
			g->st.released_early = 0;
			g->st.pending_set = 0;
		}
		if (!g->st.claims && !g->st.pending) {
			g->st.owner_pid = 0;
			g->st.owner_comm[0] = '\0';
		}
		raw_spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
	return ask;
}

/**
 * bg_owner_release() - userspace released one DMA-ownership claim of group @id
 * @id:    the IOMMU group's id
 *
 * The group returns to state kernel when its last claim is released: device
 * claims (vfio cdev) are counted, one release does not free a group that
 * other devices still hold. A seen release also ends a presumption.
 *
 * Context: the claim hooks: atomic, no sleeping.
 * Return: true if bindguard's count of the group's claims may be wrong
 * (st.uncounted, see bg_owner_found()): the kernel should be asked.
 */
bool bg_owner_release(int id)
{
	unsigned long flags;
	struct bg_group *g;
	bool was, ask = false;

	rcu_read_lock();
	g = bg_table_find(id);
	if (g) {
		raw_spin_lock_irqsave(&g->lock, flags);
		was = bg_group_held(&g->st);
		g->st.gen++;
		/*
		 * The release of a claim in flight, seen before its commit:
		 * its container is set, or no other claim is known.
		 */
		if (g->st.pending_set ||
		    (!g->st.claims && !g->st.presumed && g->st.pending))
			g->st.released_early++;
		if (g->st.claims > 0)
			g->st.claims--;
		if (!g->st.claims)
			g->st.presumed = false;
		bg_owner_held_changed(g, was);
		ask = g->st.uncounted;
		raw_spin_unlock_irqrestore(&g->lock, flags);
	}
	rcu_read_unlock();
	return ask;
}

