#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kmemleak-diff.sh LOG BASELINE_LOG   (test/qemu/kmemleak-diff.sh)
#
# Reads the kmemleak reports that the guest copies between "# kmemleak-begin"
# and "# kmemleak-end" (test/guest/init) from two guest logs, reduces each
# leak to its allocation backtrace (function names only, no addresses or
# offsets), and prints the leaks of LOG whose backtrace BASELINE_LOG, the
# same scenario without bindguard (test/guest/boot-baseline.sh), does not
# show: those are the leaks bindguard adds. Exit status 1 if there is any,
# 2 if LOG has no kmemleak section at all.
set -euo pipefail

# signatures LOG: one line per leak: "frame<frame<..." (allocation site first)
signatures() {
	tr -d '\r' <"$1" | awk '
		/^# kmemleak-begin$/ { on = 1; next }
		/^# kmemleak-end$/ { if (sig != "") print sig; on = 0; next }
		!on { next }
		/^unreferenced object/ { if (sig != "") print sig; sig = ""; next }
		/\+0x[0-9a-f]+\/0x[0-9a-f]+/ {
			for (i = 1; i <= NF; i++)
				if ($i ~ /\+0x/) { f = $i; sub(/\+0x.*/, "", f); break }
			if ($NF ~ /^\[.*\]$/) f = f $NF	# [module]
			sig = (sig == "" ? f : sig "<" f)
		}
		END { if (on && sig != "") print sig }'
}

grep -q '^# kmemleak-begin' <(tr -d '\r' <"$1") || { echo "no kmemleak report in $1" >&2; exit 2; }
mapfile -t base < <(signatures "$2" | sort -u)
new=0
while read -r sig; do
	[[ -n $sig ]] || continue
	if ! printf '%s\n' "${base[@]}" | grep -xF -- "$sig" >/dev/null; then
		echo "leak not in the baseline: ${sig//</ <- }"
		new=$((new + 1))
	fi
done < <(signatures "$1" | sort | uniq)
exit $((new > 0))
