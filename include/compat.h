/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every kernel difference bindguard depends on, in one place.
 *
 * Force-included before every source file (see Kbuild). The HAVE_* names come
 * from the feature probes in src/compat/probes/, compiled against the target
 * kernel's own headers by scripts/probe-kernel.sh. Below, older kernels get the
 * newer API, so that the rest of the module reads as if written for one kernel.
 */
#ifndef _BINDGUARD_COMPAT_H
#define _BINDGUARD_COMPAT_H

#include <probes.h>
#include <linux/ftrace.h>
#include <linux/types.h>

/*
 * 5.11: ftrace callbacks take a struct ftrace_regs; with
 * FTRACE_OPS_FL_SAVE_REGS, ftrace_get_regs() yields the full pt_regs, whose
 * ip the ftrace trampoline returns to (the path livepatch uses). Before 5.11
 * the callback gets the pt_regs itself.
 */
#ifndef HAVE_FTRACE_REGS
#define ftrace_regs pt_regs
#define ftrace_get_regs(fregs) (fregs)
#endif

/*
 * What an IP-modifying hook (veto.c, unbind.c, claim_vfio.c) does with the
 * hooked call: read its arguments (bg_fregs_arg()), and point it elsewhere
 * (bg_fregs_set_ip(): the trampoline returns there instead of into the
 * function). bg_fregs_ok() is false when the callback got no registers (the
 * call then goes on untouched); BG_FTRACE_OPS_FL_REGS is what the ftrace_ops
 * asks for them.
 *
 * 6.2 (probe ftrace_regs_accessors): with DYNAMIC_FTRACE_WITH_ARGS, the
 * ftrace_regs accessors, on the registers every trampoline saves and
 * restores (livepatch redirects this way): arm64 has only WITH_ARGS since
 * 6.2. SAVE_REGS_IF_SUPPORTED keeps SAVE_REGS where the kernel also has
 * WITH_REGS (amd64: the same full pt_regs and trampoline as below, read
 * through the accessors) and lets the ops register where it has not.
 * Without WITH_ARGS the setter does nothing, so there, and before 6.2, the
 * hook works on the pt_regs that SAVE_REGS asks for (WITH_REGS; the build
 * refuses a kernel with neither: scripts/check-kernel.sh).
 */
#if defined(HAVE_FTRACE_REGS_ACCESSORS) && defined(CONFIG_DYNAMIC_FTRACE_WITH_ARGS)
#define BG_FTRACE_OPS_FL_REGS \
	(FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_SAVE_REGS_IF_SUPPORTED)

static __always_inline bool bg_fregs_ok(struct ftrace_regs *fregs)
{
	return fregs;
}

static __always_inline unsigned long bg_fregs_arg(struct ftrace_regs *fregs,
						  unsigned int n)
{
	return ftrace_regs_get_argument(fregs, n);
}

static __always_inline void bg_fregs_set_ip(struct ftrace_regs *fregs,
					    unsigned long ip)
{
	ftrace_regs_set_instruction_pointer(fregs, ip);
}
#else
#define BG_FTRACE_OPS_FL_REGS FTRACE_OPS_FL_SAVE_REGS

static __always_inline bool bg_fregs_ok(struct ftrace_regs *fregs)
{
	return ftrace_get_regs(fregs);
}

static __always_inline unsigned long bg_fregs_arg(struct ftrace_regs *fregs,
						  unsigned int n)
{
	return regs_get_kernel_argument(ftrace_get_regs(fregs), n);
}

static __always_inline void bg_fregs_set_ip(struct ftrace_regs *fregs,
					    unsigned long ip)
{
	instruction_pointer_set(ftrace_get_regs(fregs), ip);
}
#endif

/*
 * 5.11: FTRACE_OPS_FL_RECURSION opts in to ftrace's recursion protection.
 * Before, protection was the default (FTRACE_OPS_FL_RECURSION_SAFE opted out).
 */
#ifndef HAVE_FTRACE_OPS_FL_RECURSION
#define FTRACE_OPS_FL_RECURSION 0
#endif

/*
 * 6.2 (and 6.1.y): ftrace_free_filter() is exported. Before, resetting the
 * filter to empty frees its entries (ftrace_hash_move() then installs the
 * shared EMPTY_HASH), which is all a module's ops allocate.
 */
#ifndef HAVE_EXPORT_FTRACE_FREE_FILTER
#define ftrace_free_filter(ops) ftrace_set_filter(ops, NULL, 0, 1)
#endif

/*
 * 5.11: a kretprobe_instance reaches its kretprobe through get_kretprobe().
 */
#ifndef HAVE_GET_KRETPROBE
#define get_kretprobe(ri) ((ri)->rp)
#endif

/*
 * 5.19: DMA ownership in the driver core. With it the kernel refuses a
 * kernel-DMA driver in a user-owned group by itself, claims go through
 * iommu_group_claim_dma_owner(), and drivers that manage DMA themselves say so
 * in pci_driver.driver_managed_dma. Without it nothing stands behind
 * bindguard: vfio hits BUG_ON after such a bind.
 */
#ifdef HAVE_IOMMU_DMA_OWNER
#define BG_NATIVE_DMA_OWNER true
#else
#define BG_NATIVE_DMA_OWNER false
#endif

/*
 * 5.14: really_probe() returns a driver's failed probe as a positive errno.
 * __device_attach_driver() then tries the next driver, and
 * device_driver_attach() (sysfs bind) returns the errno negated. Before,
 * really_probe() returned 0 for a failed probe: the next driver is tried,
 * and sysfs bind reports -ENODEV. (A negative return would stop the bus at
 * the refused driver.) BG_PROBE_FAILED(err) is what really_probe() returns
 * for a probe that failed with -err.
 */
#ifdef HAVE_PROBE_ERROR_POSITIVE
#define BG_PROBE_FAILED(err) (err)
#else
#define BG_PROBE_FAILED(err) ((void)(err), 0)
#endif

#endif /* _BINDGUARD_COMPAT_H */
