// SPDX-License-Identifier: GPL-2.0
/*
 * 6.2 API change: ftrace_regs accessors on every architecture (94d095ffa0e1,
 * "ftrace: abstract DYNAMIC_FTRACE_WITH_ARGS accesses"; 0ef86097f127,
 * "ftrace: rename ftrace_instruction_pointer_set() ->
 * ftrace_regs_set_instruction_pointer()"), made for arm64's move from
 * DYNAMIC_FTRACE_WITH_REGS to DYNAMIC_FTRACE_WITH_ARGS (26299b3f6ba2): a
 * callback reads the arguments and redirects the call without a pt_regs.
 * Without WITH_ARGS the setter compiles but does nothing: compat.h uses them
 * only with it.
 *
 * Since: 6.2
 */
#include <linux/compiler.h>
#include <linux/ftrace.h>

static void probe_cb(unsigned long ip, unsigned long parent_ip,
		     struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	ftrace_regs_set_instruction_pointer(fregs,
					    ftrace_regs_get_instruction_pointer(fregs) +
					    ftrace_regs_get_argument(fregs, 1));
}

static struct ftrace_ops probe_ops __used = { .func = probe_cb };
