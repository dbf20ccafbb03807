#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkstyle.sh - run the kernel's checkpatch.pl --strict over the module's
# sources and headers (and the test driver), and scripts/kernel-doc over the
# module, so that every documented function's kernel-doc is well formed.
# Then three checks of src/ (see docs/design.md), from the sources
# alone (no build needed, so it runs right after test/host-deps.sh):
#  - no src/*.c over 500 lines;
#  - no call circle between source files: for each file, the functions and
#    variables it defines for the others (a non-static definition at the
#    start of a line, comments stripped by gcc -fpreprocessed), and which
#    of those names each other file uses; tsort(1) finds a circle in that
#    file -> file graph and names its files;
#  - no spinlock_t, rwlock_t or GFP_ATOMIC/GFP_NOWAIT in the code (comments
#    stripped): the hooks' atomic context, PREEMPT_RT included.
#
# checkpatch.pl and kernel-doc are in no Debian package of their own: they
# are taken, with the files checkpatch reads (spelling.txt,
# const_structs.checkpatch), from the linux-source-6.12 tarball, downloaded
# once with `apt-get download` into $BG_CACHE/checkpatch/.
# Exit status: non-zero if either tool complains.
set -euo pipefail

cd "$(dirname "$0")/.."
BG_CACHE=${BG_CACHE:-/var/cache/bindguard}
dir=$BG_CACHE/checkpatch

if [[ ! -x $dir/scripts/checkpatch.pl || ! -x $dir/scripts/kernel-doc ]]; then
	mkdir -p "$dir/deb"
	(cd "$dir/deb" && apt-get download -q linux-source-6.12 >&2)
	dpkg -x "$dir"/deb/linux-source-6.12_*.deb "$dir/deb/root"
	tar -C "$dir" --strip-components=1 --wildcards -xf "$dir"/deb/root/usr/src/linux-source-6.12.tar.xz \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch' \
		'*/scripts/kernel-doc'
	rm -rf "$dir/deb"
fi

git ls-files 'src/*.c' 'src/*.h' 'include/*.h' 'test/tools/bgtest/*.c' |
	xargs "$dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types -f
# kernel-doc prints nothing for well-formed comments; any line is a finding.
out=$(git ls-files 'src/*.c' 'src/*.h' 'include/*.h' | xargs "$dir/scripts/kernel-doc" -none -Wall 2>&1)
if [[ -n $out ]]; then
	echo "$out"
	exit 1
fi

# Layout: one concern per file, none over 500 lines.
fail=0
for f in $(git ls-files 'src/*.c'); do
	n=$(wc -l <"$f")
	if ((n > 500)); then
		echo "$f: $n lines, more than 500: split it by concern (docs/design.md)"
		fail=1
	fi
done

# Layout: hooks call down into the table and the scans, never back up.
strip() { gcc -fpreprocessed -dD -E -P "$1" 2>/dev/null; }
defs=$(for f in $(git ls-files 'src/*.c'); do
	strip "$f" | sed -nE \
		-e '/^(static|extern|typedef)[[:space:]]/d' \
		-e '/;[[:space:]]*$/d' \
		-e "s|^DEFINE_[A-Z_]+\((bg_[a-z0-9_]+)\).*|\1 $f|p" \
		-e "s|^[a-z][^(]*[^a-z0-9_](bg_[a-z0-9_]+)\(.*|\1 $f|p"
done)
edges=$(for f in $(git ls-files 'src/*.c'); do
	echo "$f $f"
	# names used here but not defined here (claim_dma_owner.c and
	# claim_vfio.c both define bg_claim_*: one of them is built)
	strip "$f" | grep -oE '\bbg_[a-z0-9_]+\b' | sort -u |
		comm -23 - <(awk -v f="$f" '$2 == f { print $1 }' <<<"$defs" | sort -u) |
		join - <(sort -k1,1 <<<"$defs") | awk -v f="$f" '{ print f, $2 }'
done | sort -u)
if ! loop=$(tsort <<<"$edges" 2>&1 >/dev/null) || [[ -n $loop ]]; then
	echo "src/: a call circle between source files (a file below calls a file above it):"
	echo "$loop"
	fail=1
fi

# Atomic context (docs/design.md): the hooks run with preemption off, also on
# PREEMPT_RT, where a spinlock_t or rwlock_t sleeps and so does the allocator.
# So src/ (code, not comments) has raw spinlocks only and never allocates
# without sleeping (GFP_ATOMIC, GFP_NOWAIT: only atomic context would need
# it; records for the hooks come from names.c's pool).
for f in $(git ls-files 'src/*.c' 'src/*.h' 'include/*.h'); do
	if hits=$(strip "$f" | grep -nE '\b(spinlock_t|rwlock_t|DEFINE_SPINLOCK|DEFINE_RWLOCK|spin_lock(_irq|_irqsave|_bh)?|read_lock|write_lock|GFP_ATOMIC|GFP_NOWAIT)\b'); then
		echo "$f: a sleeping lock on PREEMPT_RT, or an allocation meant for atomic context (docs/design.md, atomic context):"
		echo "$hits"
		fail=1
	fi
done

# --- the harness's shell ------------------------------------------------------
# Every shell function of test/ defined once (test/lib/check-shell.sh; it
# says which twin to share through a library).
test/lib/check-shell.sh || fail=1
exit $fail
