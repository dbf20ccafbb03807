/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bindguard.h - the module's internal interfaces, one block per source file.
 */
#ifndef _BINDGUARD_H
#define _BINDGUARD_H

#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct device;
struct device_driver;
struct iommu_group;
struct seq_file;

#define BG_NAME_LEN	32	/* driver names, copied (never kept as pointers) */
#define BG_BDF_LEN	16	/* "dddd:bb:dd.f" */

/* params.c: module parameters mode=, allow=, strict= */
enum bg_mode { BG_MODE_ENFORCE, BG_MODE_AUDIT, BG_MODE_OFF };

enum bg_mode bg_mode(void);
const char *bg_mode_name(void);
bool bg_driver_allowed(const struct device_driver *drv);

/* table.c: the per-IOMMU-group ownership table */

/**
 * struct bg_member - one device of an IOMMU group
 * @node:   in bg_group.members; bg_table_mutex
 * @dev:    identity only, never dereferenced once the device is deleted
 * @bdf:    pci_name() of the device, copied
 * @driver: name of the bound driver, copied, "" when unbound
 */
struct bg_member {
	struct list_head node;
	struct device *dev;
	char bdf[BG_BDF_LEN];
	char driver[BG_NAME_LEN];
};

/**
 * struct bg_state - ownership state of one group; bg_group.lock
 * @claims:      committed DMA-ownership claims by userspace (group or device)
 * @pending:     claims in flight: already enough to refuse a racing bind
 * @owner_pid:   tgid of the claiming process, 0 when unknown
 * @owner_comm:  comm of its group leader
 * @since_ns:    boottime when the group became user-owned
 * @refused:     binds refused (in audit mode: that would have been)
 * @last_bdf:    device of the last refusal
 * @last_driver: driver of the last refusal
 * @last_ns:     boottime of the last refusal, 0 if none
 */
struct bg_state {
	int claims;
	int pending;
	pid_t owner_pid;
	char owner_comm[TASK_COMM_LEN];
	u64 since_ns;
	unsigned long refused;
	char last_bdf[BG_BDF_LEN];
	char last_driver[BG_NAME_LEN];
	u64 last_ns;
};

/**
 * struct bg_group - bindguard's view of one IOMMU group
 * @group:   the group; a reference is held for the entry's life
 * @id:      iommu_group_id(), the key in the table
 * @members: list of struct bg_member; bg_table_mutex
 * @lock:    protects @st; taken in atomic context
 * @st:      the ownership state
 */
struct bg_group {
	struct iommu_group *group;
	int id;
	struct list_head members;
	spinlock_t lock;		/* protects st */
	struct bg_state st;
};

void bg_table_exit(void);
struct bg_group *bg_table_lookup(struct iommu_group *group);
bool bg_user_owned(const struct bg_state *st);
bool bg_table_any_user(void);
void bg_table_add_device(struct device *dev);
void bg_table_del_device(struct device *dev);
void bg_table_set_driver(struct device *dev, const char *driver);
void bg_table_mark_claimed(struct device *dev);
void bg_claim_begin(int id);
void bg_claim_end(int id, bool success);
void bg_claim_release(int id);
void bg_record_refusal(struct device *dev, const struct device_driver *drv,
		       bool audit);
void bg_table_show(struct seq_file *m);

/* events.c: a bounded ring of ownership changes and refusals */
enum bg_event_type { BG_EV_USER, BG_EV_KERNEL, BG_EV_REFUSED, BG_EV_AUDIT };

void bg_event_add(enum bg_event_type type, int group, pid_t pid,
		  const char *comm, const char *bdf, const char *driver);
void bg_events_show(struct seq_file *m);
void bg_seq_time(struct seq_file *m, u64 ns);

/* claim.c: kretprobes that follow DMA-ownership claims and releases */
int bg_claim_init(void);
void bg_claim_exit(void);

/* hook.c: the ftrace hook on really_probe() that vetoes binds */
int bg_hook_init(void);
void bg_hook_exit(void);

/* notifier.c: PCI bus notifier and the load-time scan */
int bg_notifier_init(void);
void bg_notifier_exit(void);

/* debugfs.c: /sys/kernel/debug/bindguard/{groups,events} */
void bg_debugfs_init(void);
void bg_debugfs_exit(void);

#endif /* _BINDGUARD_H */
