// SPDX-License-Identifier: GPL-2.0
/*
 * 5.14 behaviour change: really_probe() returns a driver's failed probe as a
 * positive errno, so that __device_attach_driver() tries the next driver and
 * device_driver_attach() (sysfs bind) returns the errno negated; before, it
 * returned 0 for a failed probe (ef6dcbdd8eb2, "driver core: Flow the return
 * code from ->probe() through to sysfs bind"). The change is inside
 * drivers/base/dd.c and no header shows it, so this probe alone reads the
 * version: a backport of it would need this probe to learn its kernel.
 *
 * Since: 5.14
 */
#include <linux/compiler.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 14, 0)
#error "really_probe() returns 0 for a failed probe"
#endif

static int probe_dummy __used;
