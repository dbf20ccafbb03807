// SPDX-License-Identifier: GPL-2.0
/*
 * 5.11 API change: FTRACE_OPS_FL_RECURSION (opt in to ftrace's recursion
 * protection) replaces FTRACE_OPS_FL_RECURSION_SAFE (opt out of it), in 5.11
 * "ftrace: Reverse what the RECURSION flag means in the ftrace_ops".
 * The flags are enum members: #ifdef cannot see them.
 *
 * Since: 5.11
 */
#include <linux/compiler.h>
#include <linux/ftrace.h>

static unsigned long probe_flags __used = FTRACE_OPS_FL_RECURSION;
