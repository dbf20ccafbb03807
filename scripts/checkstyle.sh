#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkstyle.sh - run the kernel's checkpatch.pl --strict over the module's
# sources and headers (and the test driver).
#
# checkpatch.pl is in no Debian package of its own: it is taken, with the
# files it reads (spelling.txt, const_structs.checkpatch), from the
# linux-source-6.12 tarball, downloaded once with `apt-get download` into
# $BG_CACHE/checkpatch/. Exit status: checkpatch's.
set -euo pipefail

cd "$(dirname "$0")/.."
BG_CACHE=${BG_CACHE:-/var/cache/bindguard}
dir=$BG_CACHE/checkpatch

if [[ ! -x $dir/scripts/checkpatch.pl ]]; then
	mkdir -p "$dir/deb"
	(cd "$dir/deb" && apt-get download -q linux-source-6.12 >&2)
	dpkg -x "$dir"/deb/linux-source-6.12_*.deb "$dir/deb/root"
	tar -C "$dir" --strip-components=1 --wildcards -xf "$dir"/deb/root/usr/src/linux-source-6.12.tar.xz \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	rm -rf "$dir/deb"
fi

git ls-files 'src/*.c' 'include/*.h' 'test/bgtest/*.c' |
	xargs "$dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types -f
