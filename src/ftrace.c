// SPDX-License-Identifier: GPL-2.0
/*
 * ftrace.c - hook a kernel function with an IP-modifying ftrace_ops: the
 * veto on really_probe() (veto.c), the sysfs unbind (unbind.c, by address)
 * and, before 5.19, vfio's group ioctl (claim_vfio.c). Only one IPMODIFY
 * user may hook a function. The callbacks read the call's arguments and
 * redirect it through compat.h's bg_fregs_*(): the ftrace_regs accessors
 * where the kernel has DYNAMIC_FTRACE_WITH_ARGS (arm64 since 6.2 has nothing
 * else), the pt_regs of FTRACE_OPS_FL_SAVE_REGS elsewhere; their ops ask for
 * the registers with BG_FTRACE_OPS_FL_REGS.
 *
 * No state, no lock: ftrace serializes registration.
 */
#include <linux/ftrace.h>
#include <linux/kallsyms.h>
#include <linux/string.h>

#include "bindguard.h"

/* Register @ops once its filter is set (@ret: how setting it went). */
static int bg_ftrace_register(struct ftrace_ops *ops, const char *sym, int ret)
{
	if (ret) {
		pr_err("%s() is not traceable on this kernel (%d)\n", sym, ret);
		ftrace_free_filter(ops);
		return ret == -EINVAL ? -ENOENT : ret;
	}
	ret = register_ftrace_function(ops);
	if (ret == -EBUSY)
		pr_err("cannot hook %s(): another ftrace user (a livepatch?) modifies its IP, or ftrace is disabled (kernel.ftrace_enabled=0)\n",
		       sym);
	else if (ret)
		pr_err("cannot hook %s(): %d\n", sym, ret);
	if (ret)
		ftrace_free_filter(ops);
	return ret;
}

/**
 * bg_ftrace_arm() - hook function @sym with @ops (BG_FTRACE_OPS_FL_REGS,
 *                   IPMODIFY)
 * @ops: the ftrace_ops, unregistered, with an empty filter
 * @sym: the function's name
 *
 * Only one IPMODIFY user may hook a function (livepatch, another such
 * module): if @sym is taken, this fails.
 *
 * Context: process; sleeps.
 * Return: 0; -ENOENT if @sym is not traceable on this kernel; -EBUSY if
 * another ftrace user already modifies its IP; another errno from ftrace.
 * On error nothing is left registered or allocated.
 */
int bg_ftrace_arm(struct ftrace_ops *ops, const char *sym)
{
	char buf[KSYM_NAME_LEN];	/* ftrace_set_filter() takes no const */
	int ret;

	strscpy(buf, sym, sizeof(buf));
	ret = ftrace_set_filter(ops, buf, strlen(buf), 0);
	return bg_ftrace_register(ops, sym, ret);
}

/**
 * bg_ftrace_arm_ip() - hook the function at @ip with @ops
 *                      (BG_FTRACE_OPS_FL_REGS, IPMODIFY): that one, not
 *                      others of its name
 * @ops: the ftrace_ops, unregistered, with an empty filter
 * @ip:  the function's address (its first byte, or its ftrace location)
 * @sym: its name, for the log lines
 *
 * As bg_ftrace_arm(), by address: ftrace_set_filter_ip() maps a function's
 * first byte to its ftrace location (after ENDBR on IBT kernels; on arm64
 * the BL of its patchable entry, after BTI).
 *
 * Context: process; sleeps.
 * Return: as bg_ftrace_arm(); -ENOENT if @ip is no ftrace location.
 */
int bg_ftrace_arm_ip(struct ftrace_ops *ops, unsigned long ip, const char *sym)
{
	return bg_ftrace_register(ops, sym, ftrace_set_filter_ip(ops, ip, 0, 0));
}

/**
 * bg_ftrace_disarm() - undo bg_ftrace_arm()
 * @ops: the ftrace_ops
 *
 * unregister_ftrace_function() waits for running callbacks, and for tasks
 * redirected into this module's stubs that have not slept since (tasks RCU
 * on preemptible kernels; elsewhere the stubs cannot be preempted). The
 * filter hash is freed afterwards (kmemleak reports it otherwise).
 *
 * Context: process; sleeps.
 */
void bg_ftrace_disarm(struct ftrace_ops *ops)
{
	unregister_ftrace_function(ops);
	ftrace_free_filter(ops);
}
