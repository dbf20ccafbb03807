// SPDX-License-Identifier: GPL-2.0
/*
 * 5.11 API change: ftrace callbacks receive a struct ftrace_regs instead of
 * struct pt_regs (d19ad0775dcd, "ftrace: Have the callbacks receive a struct
 * ftrace_regs instead of pt_regs"); ftrace_get_regs() returns the pt_regs.
 *
 * Since: 5.11
 */
#include <linux/compiler.h>
#include <linux/ftrace.h>

static void probe_cb(unsigned long ip, unsigned long parent_ip,
		     struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	(void)ftrace_get_regs(fregs);
}

static struct ftrace_ops probe_ops __used = { .func = probe_cb };
