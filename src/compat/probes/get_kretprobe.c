// SPDX-License-Identifier: GPL-2.0
/*
 * 5.11 API change: struct kretprobe_instance no longer points at its
 * kretprobe directly; get_kretprobe() finds it (d741bf41d7c7, "kprobes:
 * Remove kretprobe hash").
 *
 * Since: 5.11
 */
#include <linux/compiler.h>
#include <linux/kprobes.h>

static struct kretprobe __used *probe_get(struct kretprobe_instance *ri)
{
	return get_kretprobe(ri);
}
