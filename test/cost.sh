#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# cost.sh [SERIES...] - what bindguard adds to a bind + unbind in a group
# nobody owns, as a ratio measured side by side in one boot.
#
# Boots test/guest/boot-cost.sh (rounds of bind/unbind pairs of the lone
# e1000e, alternately without and with bindguard loaded) under QEMU's
# -icount shift=0,sleep=off (BG_ICOUNT=1): guest time counts instructions,
# so the ratio repeats run to run. Prints per series the guest centiseconds
# of every round and the ratio with/without of their sums.
#
# Environment: BG_COST_PAIRS (pairs per round, default 100) and
# BG_COST_ROUNDS (default 3) are passed on the guest's command line;
# BG_ICOUNT= (empty) boots plain TCG instead (then ratios drift 5-15 %: read
# the spread of the rounds). Under icount the guest has one vCPU
# (test/boot-guest.sh says why).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BG_CACHE=${BG_CACHE:-/var/cache/bindguard}
[[ $# -gt 0 ]] || set -- 5.10 6.1 trixie sid
file=$(mktemp)
trap 'rm -f "$file"' EXIT
echo "cost bg.cost_pairs=${BG_COST_PAIRS:-100} bg.cost_rounds=${BG_COST_ROUNDS:-3}" >"$file"
for s in "$@"; do
	out=$(BG_ICOUNT=${BG_ICOUNT-1} BG_BOOTS_FILE=$file BG_SKIP_HOST_DEPS=${BG_SKIP_HOST_DEPS:-} \
		"$REPO/test/run.sh" "$s" 2>/dev/null) || true
	kver=$(sed -n 's/^[^ ]* ok - \([^:]*\): W=1.*/\1/p' <<<"$out" | head -n1)
	log=$BG_CACHE/logs/$kver/cost/ktap.log
	if [[ -z $kver || ! -f $log ]] || ! grep -q '^ok 1 ' <(tr -d '\r' <"$log"); then
		echo "$s: no result ($(tail -n1 <<<"$out"))"
		continue
	fi
	tr -d '\r' <"$log" | awk -v k="$kver" '
		/^# cost: / { t[$3] = t[$3] " " $6; sum[$3] += $6 }
		END {
			printf "%s: without%s cs; with%s cs; ratio %.4f\n", k, t["without"], t["with"],
				sum["with"] / sum["without"]
		}'
done
