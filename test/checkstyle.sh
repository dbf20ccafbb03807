#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkstyle.sh - run the kernel's checkpatch.pl --strict over the module's
# sources and headers (and the test driver), and scripts/kernel-doc over the
# module, so that every documented function's kernel-doc is well formed.
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

git ls-files 'src/*.c' 'include/*.h' 'test/tools/bgtest/*.c' |
	xargs "$dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types -f
# kernel-doc prints nothing for well-formed comments; any line is a finding.
out=$(git ls-files 'src/*.c' 'include/*.h' | xargs "$dir/scripts/kernel-doc" -none -Wall 2>&1)
if [[ -n $out ]]; then
	echo "$out"
	exit 1
fi

# --- the harness's shell ------------------------------------------------------
# Every shell function of test/ defined once (test/lib/check-shell.sh; it
# says which twin to share through a library).
test/lib/check-shell.sh
