/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bindguard_trace.h - tracepoints for what debugfs "events" records, under
 * /sys/kernel/tracing/events/bindguard/ (trace-cmd record -e bindguard,
 * perf, bpftrace). events.c defines them (CREATE_TRACE_POINTS) and fires
 * them from bg_event_add(), so the ring and the trace never disagree.
 *
 * Names are stored escaped as bindguard prints them everywhere (names.c:
 * bytes outside '!'..'~' and the backslash as \ooo, "-" for none), cut with
 * "..." past BG_TRACE_NAME bytes: a comm a user chose cannot forge a field
 * or a line of the trace either. Fixed-size arrays, not __string(): the
 * kernel's __assign_str() changed its arity in 6.10, and the escaped copy
 * is made here anyway.
 *
 * Out of tree, the usual way: TRACE_INCLUDE_PATH "." resolves through the
 * include path (Kbuild adds include/), TRACE_INCLUDE_FILE names this file.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM bindguard

#if !defined(_BINDGUARD_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _BINDGUARD_TRACE_H

#include <linux/sched.h>
#include <linux/tracepoint.h>

#include "bindguard.h"

#define BG_TRACE_NAME	64

TRACE_DEFINE_ENUM(BG_MODE_ENFORCE);
TRACE_DEFINE_ENUM(BG_MODE_AUDIT);
TRACE_DEFINE_ENUM(BG_MODE_OFF);

#define bg_trace_mode(m) __print_symbolic(m,			\
	{ BG_MODE_ENFORCE, "enforce" },				\
	{ BG_MODE_AUDIT, "audit" },				\
	{ BG_MODE_OFF, "off" })

/* A kernel driver's bind into a user-owned group: refused, or (audit) let through. */
TRACE_EVENT(bindguard_refusal,
	    TP_PROTO(int group, const char *dev, const char *driver, pid_t pid,
		     const char *comm, enum bg_mode mode, bool refused),
	    TP_ARGS(group, dev, driver, pid, comm, mode, refused),
	    TP_STRUCT__entry(__field(int, group)
			     __array(char, dev, BG_TRACE_NAME)
			     __array(char, driver, BG_TRACE_NAME)
			     __field(pid_t, pid)
			     __array(char, comm, BG_TRACE_NAME)
			     __field(int, mode)
			     __field(bool, refused)),
	    TP_fast_assign(__entry->group = group;
			   bg_names_escape(__entry->dev, BG_TRACE_NAME, dev);
			   bg_names_escape(__entry->driver, BG_TRACE_NAME, driver);
			   __entry->pid = pid;
			   bg_names_escape(__entry->comm, BG_TRACE_NAME, comm);
			   __entry->mode = mode;
			   __entry->refused = refused;),
	    TP_printk("group=%d dev=%s driver=%s pid=%d comm=%s mode=%s refused=%d",
		      __entry->group, __entry->dev, __entry->driver, __entry->pid,
		      __entry->comm, bg_trace_mode(__entry->mode), __entry->refused)
);

/* A group's DMA ownership changed: to userspace (owner pid, comm) or back to the kernel. */
TRACE_EVENT(bindguard_owner,
	    TP_PROTO(int group, bool user, pid_t pid, const char *comm),
	    TP_ARGS(group, user, pid, comm),
	    TP_STRUCT__entry(__field(int, group)
			     __field(bool, user)
			     __field(pid_t, pid)
			     __array(char, comm, BG_TRACE_NAME)),
	    TP_fast_assign(__entry->group = group;
			   __entry->user = user;
			   __entry->pid = pid;
			   bg_names_escape(__entry->comm, BG_TRACE_NAME, comm);),
	    TP_printk("group=%d owner=%s pid=%d comm=%s", __entry->group,
		      __entry->user ? "user" : "kernel", __entry->pid, __entry->comm)
);

/* A group userspace asked for is blocked by a member whose driver keeps it from being claimed. */
DECLARE_EVENT_CLASS(bindguard_blocked,
		    TP_PROTO(int group, pid_t pid, const char *comm, const char *dev,
			     const char *driver),
		    TP_ARGS(group, pid, comm, dev, driver),
		    TP_STRUCT__entry(__field(int, group)
				     __field(pid_t, pid)
				     __array(char, comm, BG_TRACE_NAME)
				     __array(char, dev, BG_TRACE_NAME)
				     __array(char, driver, BG_TRACE_NAME)),
		    TP_fast_assign(__entry->group = group;
				   __entry->pid = pid;
				   bg_names_escape(__entry->comm, BG_TRACE_NAME, comm);
				   bg_names_escape(__entry->dev, BG_TRACE_NAME, dev);
				   bg_names_escape(__entry->driver, BG_TRACE_NAME, driver);),
		    TP_printk("group=%d pid=%d comm=%s blocker=%s driver=%s", __entry->group,
			      __entry->pid, __entry->comm, __entry->dev, __entry->driver)
);

/* A claim refused (before 5.19): the claimer, and the member that blocks it. */
DEFINE_EVENT(bindguard_blocked, bindguard_claim_refused,
	     TP_PROTO(int group, pid_t pid, const char *comm, const char *dev,
		      const char *driver),
	     TP_ARGS(group, pid, comm, dev, driver)
);

/* VFIO_GROUP_GET_STATUS answered "not viable": the asker, one event per blocker. */
DEFINE_EVENT(bindguard_blocked, bindguard_not_viable,
	     TP_PROTO(int group, pid_t pid, const char *comm, const char *dev,
		      const char *driver),
	     TP_ARGS(group, pid, comm, dev, driver)
);

/* A reservation made or ended (reserve.c): the BDF, its device's group or -1, the writer. */
TRACE_EVENT(bindguard_reservation,
	    TP_PROTO(const char *bdf, int group, bool reserved, pid_t pid,
		     const char *comm),
	    TP_ARGS(bdf, group, reserved, pid, comm),
	    TP_STRUCT__entry(__array(char, bdf, BG_TRACE_NAME)
			     __field(int, group)
			     __field(bool, reserved)
			     __field(pid_t, pid)
			     __array(char, comm, BG_TRACE_NAME)),
	    TP_fast_assign(bg_names_escape(__entry->bdf, BG_TRACE_NAME, bdf);
			   __entry->group = group;
			   __entry->reserved = reserved;
			   __entry->pid = pid;
			   bg_names_escape(__entry->comm, BG_TRACE_NAME, comm);),
	    TP_printk("bdf=%s group=%d reserved=%d pid=%d comm=%s", __entry->bdf,
		      __entry->group, __entry->reserved, __entry->pid, __entry->comm)
);

#endif /* _BINDGUARD_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE bindguard_trace
#include <trace/define_trace.h>
