#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-build.sh KVER...
#
# Builds the module with `make W=1 C=1 KCFLAGS=-Werror` (extra warnings,
# sparse, and every compiler warning an error, as a CONFIG_WERROR=y kernel
# builds out-of-tree code) against each kernel unpacked by
# test/kernel/fetch-kernel.sh, in that kernel's build environment
# (test/kernel/kbuild-env.sh: gcc-10 for 5.10, a chroot of its suite for trixie
# and sid; an -arm64 release, fetched with ARCH=arm64, is cross-built), from a
# clean copy of the tracked sources, and prints one KTAP line per kernel:
# "ok - KVER: W=1 C=1 KCFLAGS=-Werror clean" or "not ok - ..." followed by
# the warnings. The feature probes (scripts/probe-kernel.sh, run by the
# Makefile) get the same W=1 and -Werror through make's command line, so a
# probe that warns where its API exists stops this build too. Exit status 1
# if any kernel warned or failed to build.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
status=0

for kver in "$@"; do
	dir=$BG_WORK/build/$kver/wbuild
	rm -rf "$dir"
	mkdir -p "$dir"
	git -C "$REPO" ls-files -z -- Kbuild Makefile src include scripts dkms.conf debian/changelog |
		(cd "$REPO" && xargs -0 cp --parents -t "$dir")
	if ! headers=$("$TEST/kernel/kbuild-env.sh" --headers "$kver"); then
		echo "not ok - $kver: no build environment (test/kernel/fetch-kernel.sh)"
		status=1
		continue
	fi
	# sparse inside a chroot build environment (sid). Debian's
	# linux-kbuild-7.x lacks scripts/checker-valid.sh, which kbuild runs
	# to accept C=1: without it sparse is silently disabled. The unpacked
	# kbuild gets a stand-in that accepts an installed sparse.
	"$TEST/kernel/kbuild-env.sh" "$kver" sh -c '
		command -v sparse >/dev/null ||
			{ apt-get -q update && apt-get install -y -q --no-install-recommends sparse; } >/dev/null
		f=$(readlink -f "$1/scripts")/checker-valid.sh
		if grep -qs checker-valid "$1/Makefile" "$1"/../linux-headers-*-common/Makefile && [ ! -e "$f" ]; then
			printf "#!/bin/sh\n# bindguard stand-in: Debian does not ship this file\n\"\$1\" --version >/dev/null 2>&1 && echo 1\n" >"$f"
			chmod +x "$f"
		fi
		true' sh "$headers" || true
	log=$dir/build.log
	flags="W=1 C=1 KCFLAGS=-Werror"
	if "$TEST/kernel/kbuild-env.sh" "$kver" make -j"$(nproc)" -C "$dir" KDIR="$headers" $flags >"$log" 2>&1; then
		if ! grep -q '^  CHECK ' "$log"; then
			echo "not ok - $kver: sparse did not run"
			status=1
		elif grep -qE ': (warning|error):' "$log"; then
			echo "not ok - $kver: $flags warnings"
			grep -E ': (warning|error):' "$log" | sed 's/^/#   /'
			status=1
		else
			echo "ok - $kver: $flags clean"
		fi
	else
		echo "not ok - $kver: $flags build failed"
		# a feature probe's own message (probe-kernel.sh), the warnings
		# that -Werror made errors, else the end of the log
		if grep -qE '^bindguard: |: (warning|error):' "$log"; then
			grep -E '^bindguard: |^    |: (warning|error):' "$log" | head -40 | sed 's/^/#   /'
		else
			tail -20 "$log" | sed 's/^/#   /'
		fi
		status=1
	fi
done
exit $status
