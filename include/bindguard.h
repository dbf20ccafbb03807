/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bindguard.h - the module's internal interfaces, one block per source file.
 */
#ifndef _BINDGUARD_H
#define _BINDGUARD_H

#include <linux/limits.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct device;
struct device_driver;
struct iommu_group;
struct seq_file;

/*
 * Device and driver names are copied, never kept as pointers. Both are sysfs
 * names (/sys/bus/.../devices/<dev>, /sys/bus/.../drivers/<drv>), which
 * userspace can only read up to NAME_MAX. The table keeps them to their
 * length, whole (struct bg_member, struct bg_names); the fixed buffers of
 * the event ring and the allow list keep up to BG_NAME_LEN.
 */
#define BG_NAME_LEN	(NAME_MAX + 1)

/* params.c: module parameters mode=, allow=, strict= */
enum bg_mode { BG_MODE_ENFORCE, BG_MODE_AUDIT, BG_MODE_OFF };

enum bg_mode bg_mode(void);
const char *bg_mode_name(void);
bool bg_driver_allowed(const struct device_driver *drv);
bool bg_driver_managed_dma(const struct device_driver *drv);
bool bg_vfio_accepts(const char *name);
unsigned int bg_maxactive(void);

/* table.c: the per-IOMMU-group ownership table */

/**
 * struct bg_member - one device of an IOMMU group
 * @node:   in bg_group.members; bg_table_mutex
 * @dev:    identity only, never dereferenced once the device is deleted
 * @driver: name of the bound driver, copied to its length (kstrdup());
 *          NULL when unbound, or when there was no memory to copy it
 * @blocks: the driver keeps the group from being claimed (not viable)
 * @reserved: its name is reserved (counted in the group's st.reserved)
 * @bdf:    pci_name() of the device, copied to its length
 */
struct bg_member {
	struct list_head node;
	struct device *dev;
	const char *driver;
	bool blocks;
	bool reserved;
	char bdf[];
};

/**
 * struct bg_names - a device's and a driver's name, copied to their length
 * @size:  bytes in @names
 * @names: the device's name, its NUL, the driver's name, its NUL
 *
 * Written in atomic context (the veto, the kretprobe handlers) under the
 * group's lock: bg_names_set() reuses the record when the names fit and
 * allocates without sleeping otherwise.
 */
struct bg_names {
	unsigned int size;
	char names[];
};

const char *bg_names_dev(const struct bg_names *n);
const char *bg_names_driver(const struct bg_names *n);

/**
 * struct bg_ratelimit - log lines of one kind in one group, limited like
 *                       printk_ratelimit(): a burst per interval
 * @begin: boottime second the current interval began
 * @count: lines asked for in it (those past the burst were suppressed)
 *
 * 8 bytes where struct ratelimit_state takes 32 to 40: one per group and
 * kind, so that a storm in one group hides no line of another. bg_group.lock.
 */
struct bg_ratelimit {
	u32 begin;
	u32 count;
};

/**
 * struct bg_state - ownership state of one group; bg_group.lock
 * @claims:      committed DMA-ownership claims by userspace (group or device)
 * @pending:     claims in flight: already enough to refuse a racing bind
 * @probing:     kernel-driver probes admitted and not yet returned (counted
 *               before 5.19 only, where a claim must wait for them)
 * @gen:         bumped by every claim, release and commit: a rescan that
 *               raced one of them does not overwrite what it saw
 * @owner_pid:   tgid of the claiming process, 0 when unknown
 * @reserved:    members whose names are reserved (reserve.c): while
 *               non-zero the group is closed to kernel DMA-API drivers
 * @presumed:    found owned by asking the kernel (load-time scan, a missed
 *               kretprobe call), not by seeing the claim; until a claim or a
 *               release of the group is seen
 * @uncounted:   the count may be wrong: found owned by asking the kernel
 *               (or asked while a claim ran) since it last said the group
 *               is free; since 5.19 each release asks the kernel again
 * @rs:          ratelimits this group's refusal log lines (binds, claims)
 * @rs_viable:   ratelimits its "not viable" reports (log line and events)
 * @refused:     binds refused (in audit mode: that would have been)
 * @owner_comm:  comm of its group leader
 * @since_ns:    boottime when the group became user-owned
 * @last_ns:     boottime of the last refusal, 0 if none
 * @probe:       device and driver of the last counted probe, NULL if none
 *               (or no memory)
 * @last:        device and driver of the last refusal, NULL if none (or no
 *               memory)
 */
struct bg_state {
	int claims;
	int pending;
	int probing;
	unsigned int gen;
	pid_t owner_pid;
	u16 reserved;
	bool presumed;
	bool uncounted;
	struct bg_ratelimit rs;
	struct bg_ratelimit rs_viable;
	unsigned long refused;
	char owner_comm[TASK_COMM_LEN];
	u64 since_ns;
	u64 last_ns;
	struct bg_names *probe;
	struct bg_names *last;
};

/**
 * struct bg_group - bindguard's view of one IOMMU group
 * @group:   the group; a reference is held for the entry's life
 * @id:      iommu_group_id(), the key in the table
 * @lock:    protects @st; taken in atomic context
 * @members: list of struct bg_member; bg_table_mutex
 * @st:      the ownership state
 *
 * 128 bytes (kmalloc-128) on a kernel without lock debugging.
 */
struct bg_group {
	struct iommu_group *group;
	int id;
	spinlock_t lock;		/* protects st */
	struct list_head members;
	struct bg_state st;
};

void bg_table_exit(void);
struct bg_group *bg_table_lookup(struct iommu_group *group);
bool bg_user_owned(const struct bg_state *st);
bool bg_dev_user_owned(struct device *dev);
void bg_table_add_device(struct device *dev);
void bg_table_del_device(struct device *dev);
void bg_table_set_driver(struct device *dev, const struct device_driver *drv);
unsigned int bg_table_gen(struct device *dev);
struct device *bg_table_get_member(int id);
void bg_table_found(struct device *dev, bool owned, unsigned int gen);

/* What the veto decided for one probe (bg_table_admit_probe()). */
enum bg_verdict {
	BG_ADMIT,		/* not a user-owned group */
	BG_ADMIT_COUNTED,	/* admitted, counted in st.probing */
	BG_REFUSE,		/* the group is (being) claimed by userspace */
	BG_REFUSE_RESERVED,	/* nobody owns it, but it is reserved (enforce) */
};

enum bg_verdict bg_table_admit_probe(struct device *dev,
				     const struct device_driver *drv,
				     enum bg_mode mode, bool count, int *id,
				     bool *audit);
void bg_table_probe_done(int id);
int bg_claim_begin(int id, bool wait_probes);
void bg_claim_refuse_bound(int id, const char *dev, const char *driver);
int bg_table_walk_members(int id, void *data,
			  int (*fn)(struct device *dev, void *data));
void bg_table_forget_presumed(void);
void bg_claim_end(int id, bool success);
bool bg_claim_release(int id);
void bg_record_refusal(struct device *dev, const struct device_driver *drv,
		       bool audit);
extern const struct seq_operations bg_groups_sops;
extern const struct seq_operations bg_blockers_sops;
void bg_table_report_not_viable(int id, pid_t pid, const char *comm);

/* Reservations (reserve.c parses; table.c keeps them with the groups) */
#define BG_BDF_LEN	16	/* "dddd:bb:dd.f" with a domain up to 5 digits */
#define BG_RESERVE_MAX	64
int bg_table_reserve(const char *bdf);
int bg_table_unreserve(const char *bdf);
int bg_table_reservations(char *buf, size_t size, char sep);
int bg_reserve_init(void);
void bg_reserve_exit(void);

/* events.c: a bounded ring of ownership changes and refusals */
enum bg_event_type {
	BG_EV_USER, BG_EV_KERNEL, BG_EV_REFUSED, BG_EV_AUDIT, BG_EV_CLAIM_REFUSED,
	BG_EV_NOT_VIABLE, BG_EV_RESERVE, BG_EV_UNRESERVE,
};

void bg_event_add(enum bg_event_type type, int group, pid_t pid,
		  const char *comm, const char *bdf, const char *driver);
int bg_events_show(struct seq_file *m);
void bg_seq_time(struct seq_file *m, u64 ns);
void bg_seq_name(struct seq_file *m, const char *name);
char *bg_escape_into(char *buf, size_t size, const char *name);
void bg_log_refusal(bool audit, const char *dev, const char *driver, int group,
		    pid_t pid, const char *comm, bool reserved);
void bg_log_claim_refused(int group, int probing, const char *dev,
			  const char *driver);
void bg_log_not_viable(int group, pid_t pid, const char *comm,
		       const char *blockers);

/* claim.c: hooks that follow DMA-ownership claims and releases */
bool bg_dma_owner_claimed(struct iommu_group *group);
int bg_claim_init(void);
void bg_claim_exit(void);
void bg_claim_check_missed(void);
void bg_claim_show(struct seq_file *m);
bool bg_vfio_bound(struct device *dev);

/* hook.c: the ftrace hook on really_probe() that vetoes binds */
int bg_hook_init(void);
void bg_hook_exit(void);
struct ftrace_ops;
int bg_ftrace_arm(struct ftrace_ops *ops, const char *sym);
void bg_ftrace_disarm(struct ftrace_ops *ops);

/* notifier.c: PCI bus notifier, the load-time scan and rescans */
int bg_notifier_init(void);
void bg_notifier_exit(void);
void bg_rescan(void);
void bg_rescan_group(int id);

/* debugfs.c: /sys/kernel/debug/bindguard/{groups,events} */
void bg_debugfs_init(void);
void bg_debugfs_exit(void);

#endif /* _BINDGUARD_H */
