/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bindguard.h - the interfaces between bindguard's source files, one block
 * per file, in the order of the layers: a file calls only the files above
 * its own block, never a file below it (test/checkstyle.sh checks that no
 * two files call each other, directly or around a circle). A name's prefix
 * names its file: bg_table_* is in table.c, bg_owner_* in owner.c.
 *
 * The ownership table's structures are private to the files that work on
 * entries, in src/table.h.
 */
#ifndef _BINDGUARD_H
#define _BINDGUARD_H

#include <linux/limits.h>
#include <linux/sched.h>
#include <linux/types.h>

struct device;
struct device_driver;
struct iommu_group;
struct seq_file;
struct bg_group;

/*
 * Device and driver names are copied, never kept as pointers. Both are sysfs
 * names, which userspace can only read up to NAME_MAX. The table's members
 * keep them to their length (struct bg_member); the records written in
 * atomic context (struct bg_names), the event ring and the allow list keep
 * up to BG_NAME_LEN.
 */
#define BG_NAME_LEN	(NAME_MAX + 1)

/* viable.c: the blocks rule, what keeps a group from being claimed */
bool bg_viable_managed_dma(const struct device_driver *drv);
bool bg_viable_user_dma(const struct device_driver *drv);
bool bg_viable_vfio_accepts(const char *name);
bool bg_viable_blocks(struct device *dev, const struct device_driver *drv);

/* names.c: escaping of names, and copied device/driver name records */

/**
 * struct bg_names - a device's and a driver's name, copied (names.c)
 * @dev:    the device's name, up to NAME_MAX bytes
 * @driver: the driver's name, up to NAME_MAX bytes
 *
 * Full-size, so that atomic context only ever writes a record in place
 * (bg_names_set()). Freed with kfree().
 */
struct bg_names {
	char dev[BG_NAME_LEN];
	char driver[BG_NAME_LEN];
};

char *bg_names_escape(char *buf, size_t size, const char *name);
#define BG_IDS_LEN	20	/* "vvvv:dddd:ssss:ssss" */
const char *bg_names_ids(char *buf, const u16 *id, unsigned int n);
void bg_names_seq(struct seq_file *m, const char *name);
void bg_names_current_comm(char *comm);
void bg_names_fill(void);
void bg_names_set(struct bg_names **np, const char *dev, const char *driver);
const char *bg_names_dev(const struct bg_names *n);
const char *bg_names_driver(const struct bg_names *n);
void bg_names_exit(void);

/*
 * params.c: module parameters mode=, allow=, strict=, maxactive=; values
 * refused at load (reserve.c's reserve= too)
 */
enum bg_mode { BG_MODE_ENFORCE, BG_MODE_AUDIT, BG_MODE_OFF };

int bg_param_init(void);
void bg_param_refuse(const char *param, const char *reason, const char *val,
		     size_t len, const char *why, const char *instead);
const char *bg_param_entry(const char **p, size_t *len);
int bg_param_errors(char *buf);
enum bg_mode bg_param_mode(void);
const char *bg_param_mode_name(void);
bool bg_param_allowed(const struct device_driver *drv);
unsigned int bg_param_maxactive(void);

/* events.c: a bounded ring of ownership changes and refusals */
enum bg_event_type {
	BG_EV_USER, BG_EV_KERNEL, BG_EV_REFUSED, BG_EV_AUDIT, BG_EV_CLAIM_REFUSED,
	BG_EV_NOT_VIABLE, BG_EV_RESERVE, BG_EV_UNRESERVE, BG_EV_PROTECT,
	BG_EV_UNPROTECT, BG_EV_UNBIND_REFUSED,
};

#define BG_EVENTS 256

/**
 * struct bg_event - one entry of the ring, as bg_event_snapshot() copies it
 * @ns:     boottime of the event
 * @type:   what happened
 * @group:  IOMMU group id, -1 for a reservation (protection) of a BDF with
 *          no device, or whose device has other IDs (drift)
 * @pid:    the process (owner, claimer, asker, writer), 0 if unknown
 * @comm:   its comm, "" if unknown
 * @bdf:    the device, "" if none
 * @driver: its driver, "" if none
 */
struct bg_event {
	u64 ns;
	enum bg_event_type type;
	int group;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	char bdf[BG_NAME_LEN];
	char driver[BG_NAME_LEN];
};

void bg_event_add(enum bg_event_type type, int group, pid_t pid,
		  const char *comm, const char *bdf, const char *driver);
unsigned int bg_event_snapshot(struct bg_event *snap, unsigned long *dropped);
const char *bg_event_name(enum bg_event_type type);

/* table.c: the per-IOMMU-group table (entries: src/table.h) */
struct bg_group *bg_table_lookup(struct iommu_group *group);
struct bg_group *bg_table_find(int id);
void bg_table_locked(int id, void (*fn)(struct bg_group *g, void *data), void *data);
int bg_table_pins(int *others);
void bg_table_exit(void);

/* listed.c: the names an admin lists: reservations and protections (reserve.c's files) */
#define BG_BDF_LEN	16	/* "dddd:bb:dd.f" with a domain up to 5 digits */
#define BG_RESERVE_MAX	64
#define BG_WHY_LEN	64	/* why a device is listed: 63 printable bytes */
#define BG_WHY_NOTE	(BG_WHY_LEN + 3)	/* " (why)" */
enum bg_listed_id { BG_RESERVED, BG_PROTECTED };

/**
 * struct bg_listed_ids - the PCI IDs a listed name is pinned to
 * @id: vendor, device, subsystem vendor, subsystem device
 * @n:  how many of them are pinned: 0 (none yet), 2 or 4
 */
struct bg_listed_ids {
	u16 id[4];
	u8 n;
};

int bg_listed_add(enum bg_listed_id list, const char *bdf,
		  const struct bg_listed_ids *ids, const char *why);
int bg_listed_del(enum bg_listed_id list, const char *bdf);
int bg_listed_names(enum bg_listed_id list, char *buf, size_t size, char sep);
bool bg_listed_protected_name(const char *name, char *bdf, int *group);
void bg_listed_why(enum bg_listed_id list, const char *bdf, char *why);
void bg_listed_show(struct seq_file *m);

/* member.c: the devices of each group, their drivers */
void bg_member_add(struct device *dev);
void bg_member_del(struct device *dev);
void bg_member_set_driver(struct device *dev, const struct device_driver *drv);
struct device *bg_member_get(int id);
int bg_member_walk(int id, void *data,
		   int (*fn)(struct device *dev, void *data));
bool bg_member_protected(int id, char *bdf);

/* refusal.c: refused binds and claims: records, logs, fixes */
void bg_refusal_bind(struct device *dev, const struct device_driver *drv,
		     bool audit, bool protect);
void bg_refusal_claim_protected(int id, const char *protected_bdf);
void bg_refusal_claim(struct bg_group *g, int probing, const char *dev,
		      const char *driver);
void bg_refusal_claim_bound(int id, const char *dev, const char *driver);
void bg_refusal_kernel_refused(struct device *dev, const struct device_driver *drv,
			       int group);
char *bg_refusal_nodedev(char *buf, const char *bdf);

/* notviable.c: why a group is not viable, told when a process is told so */
void bg_notviable(int id);
void bg_notviable_exit(void);

/* owner.c: who owns each group, the claim/probe state machine */

/* What the veto decided for one probe (bg_owner_admit_probe()). */
enum bg_verdict {
	BG_ADMIT,		/* not a user-owned group */
	BG_ADMIT_COUNTED,	/* admitted, counted in st.probing */
	BG_REFUSE,		/* the group is (being) claimed by userspace */
	BG_REFUSE_RESERVED,	/* nobody owns it, but it is reserved (enforce) */
};

enum bg_verdict bg_owner_admit_probe(struct device *dev,
				     const struct device_driver *drv,
				     enum bg_mode mode, bool count, int *id,
				     bool *audit);
bool bg_owner_refuse_user_dma(struct device *dev, enum bg_mode mode,
			      bool *audit);
void bg_owner_probe_done(int id);
int bg_owner_claim_begin(int id, bool wait_probes);
void bg_owner_claim_set(int id);
bool bg_owner_claim_end(int id, bool success);
bool bg_owner_release(int id);
bool bg_owner_dev_user(struct device *dev);
unsigned int bg_owner_gen(struct device *dev);
void bg_owner_found(struct device *dev, bool owned, unsigned int gen);
void bg_owner_forget_presumed(void);

/* vfio.c (before 5.19 only): vfio.ko's exports, while it is loaded */
struct vfio_group;

#ifndef HAVE_IOMMU_DMA_OWNER
int bg_vfio_get(void);
void bg_vfio_put(void);
int bg_vfio_group_id(struct vfio_group *group);
bool bg_vfio_bound(struct device *dev);
void bg_vfio_set_followed(bool followed);
bool bg_vfio_followed(void);
#else
static inline bool bg_vfio_followed(void)
{
	return true;	/* claims are followed in the iommu core */
}
#endif

/* scan.c: ask the kernel who owns a group: load-time scan and rescans */
int bg_scan_init(void);
void bg_scan_queue_all(void);
void bg_scan_queue_group(int id);
bool bg_scan_own_query(void);
void bg_scan_exit(void);

/* ftrace.c: hooking a function with an IP-modifying ftrace_ops */
struct ftrace_ops;

int bg_ftrace_arm(struct ftrace_ops *ops, const char *sym);
int bg_ftrace_arm_ip(struct ftrace_ops *ops, unsigned long ip, const char *sym);
void bg_ftrace_disarm(struct ftrace_ops *ops);

/* veto.c: the ftrace hook on really_probe() that refuses binds */
int bg_veto_init(void);
void bg_veto_live(void);
void bg_veto_exit(void);

/* unbind.c: the ftrace hook on unbind_store() that refuses sysfs unbinds */
int bg_unbind_init(void);
bool bg_unbind_armed(void);
void bg_unbind_live(void);
void bg_unbind_show(struct seq_file *m);
void bg_unbind_exit(void);

/*
 * claim_dma_owner.c (5.19+) or claim_vfio.c (before 5.19), whichever the
 * feature probe built: the hooks that follow DMA-ownership claims
 */
int bg_claim_init(void);
void bg_claim_live(bool live);
void bg_claim_show(struct seq_file *m);
void bg_claim_exit(void);

/* notifier.c: the PCI bus notifier */
int bg_notifier_init(void);
void bg_notifier_exit(void);

/* debugfs.c: /sys/kernel/debug/bindguard/{groups,blockers,events,history,hooks,listed} */
int bg_debugfs_init(void);
void bg_debugfs_exit(void);

/*
 * reserve.c: /sys/kernel/bindguard/{reserve,release,protect,unprotect,
 * config_errors}, reserve=, protect=
 */
int bg_reserve_init(void);
void bg_reserve_exit(void);

#endif /* _BINDGUARD_H */
