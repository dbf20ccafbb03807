// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs.c - /sys/kernel/debug/bindguard/{groups,blockers,events,hooks},
 * root-only.
 * The formats are documented in README.md.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "bindguard.h"

static struct dentry *bg_debugfs_dir;

/* bg_groups_sops, bg_blockers_sops (table.c): one record per group */
DEFINE_SEQ_ATTRIBUTE(bg_groups);
DEFINE_SEQ_ATTRIBUTE(bg_blockers);

static int events_show(struct seq_file *m, void *unused)
{
	return bg_events_show(m);
}
DEFINE_SHOW_ATTRIBUTE(events);

/* Format "bindguard-hooks 1": "function kind missed", see bg_claim_show(). */
static int hooks_show(struct seq_file *m, void *unused)
{
	seq_puts(m, "# bindguard-hooks 1\n# function kind missed\n");
	seq_puts(m, "really_probe veto -\n");
	bg_claim_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hooks);

/**
 * bg_debugfs_init() - create the debugfs directory and files
 *
 * debugfs failures are not fatal (debugfs may be absent or locked down).
 *
 * Context: process (module init).
 */
void bg_debugfs_init(void)
{
	bg_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("groups", 0400, bg_debugfs_dir, NULL, &bg_groups_fops);
	debugfs_create_file("blockers", 0400, bg_debugfs_dir, NULL, &bg_blockers_fops);
	debugfs_create_file("events", 0400, bg_debugfs_dir, NULL, &events_fops);
	debugfs_create_file("hooks", 0400, bg_debugfs_dir, NULL, &hooks_fops);
}

/**
 * bg_debugfs_exit() - remove the debugfs directory; waits for open readers
 *
 * Context: process; sleeps.
 */
void bg_debugfs_exit(void)
{
	debugfs_remove(bg_debugfs_dir);
}
