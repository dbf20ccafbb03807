#!/bin/bash
# matrix.sh - the bind-path matrix from the last test run's logs (make matrix:
# printed, and kept in build/matrix.md; no tracked file is written).
#
# Usage: test/matrix.sh [KVER...]      (default: every stock Debian kernel
#                                          with logs, <kver> ending in -amd64)
#
# Reads $BG_WORK/logs/<kver>/main/ktap.log (test lines "bind path <name>:
# <owned|unowned>", test/guest/paths.sh) and, when present,
# $BG_WORK/logs/<kver>/hotplug/ktap.log (the QMP hot-add into the owned
# group, test/guest/boot-hotplug.sh), and prints a Markdown table on
# stdout: one row per bind path and ownership, one column per kernel. A
# cell is the outcome the passing test asserted: "binds" (unowned: the
# driver bound), "refused" (owned: no driver, bindguard counted it, the
# driver's probe never ran), or "FAIL", "skip", "-" (no such test in the
# log). A caption line above the table gives the run date (the newest
# ktap.log's time, UTC) and the kernels. Exit status 1 when no logs exist.
set -euo pipefail

BG_CACHE=${BG_CACHE:-/var/cache/bindguard}
LOGS=$BG_WORK/logs

if [[ $# -gt 0 ]]; then
	kvers=("$@")
else
	mapfile -t kvers < <(cd "$LOGS" 2>/dev/null && for d in *-amd64/main/ktap.log; do
		[[ -f $d ]] && echo "${d%%/*}"
	done | sort -V)
fi
[[ ${#kvers[@]} -gt 0 ]] || { echo "matrix: no logs under $LOGS/*/main/ (run make check)" >&2; exit 1; }

# outcome FILE TESTNAME OKWORD: the cell for one test in one ktap.log
outcome() {
	local f=$1 name=$2 word=$3 line
	[[ -f $f ]] || { echo -; return; }
	line=$(tr -d '\r' <"$f" | awk -v n="$name" '
		/^(not )?ok [0-9]+ / {
			t = $0; sub(/^(not )?ok [0-9]+ /, "", t); sub(/ #.*/, "", t)
			if (t == n) { print; exit }
		}')
	case $line in
	"") echo - ;;
	*"# SKIP"*) echo skip ;;
	"not ok"*) echo FAIL ;;
	*) echo "$word" ;;
	esac
}

newest=
for k in "${kvers[@]}"; do
	for f in "$LOGS/$k/main/ktap.log" "$LOGS/$k/hotplug/ktap.log"; do
		[[ -f $f ]] || continue
		[[ -z $newest || $f -nt $newest ]] && newest=$f
	done
done

# bind paths in the order the main boot ran them
mapfile -t paths < <(for k in "${kvers[@]}"; do
	tr -d '\r' <"$LOGS/$k/main/ktap.log" 2>/dev/null |
		sed -n 's/^\(not \)\{0,1\}ok [0-9]* bind path \([^:]*\): unowned.*/\2/p'
done | awk '!seen[$0]++')

echo "Bind paths on stock Debian kernels, last run $(date -u -r "$newest" '+%Y-%m-%d %H:%M UTC'):" \
	"$(printf '%s, ' "${kvers[@]}" | sed 's/, $//') (\`make check\`, logs in \`$LOGS\`)."
echo
printf '| bind path | group |'
printf ' %s |' "${kvers[@]}"
echo
printf '|---|---|'
printf -- '---|%.0s' "${kvers[@]}"
echo
for p in "${paths[@]}"; do
	for st in unowned owned; do
		printf '| %s | %s |' "$p" "$st"
		for k in "${kvers[@]}"; do
			if [[ $st == unowned ]]; then w=binds; else w=refused; fi
			printf ' %s |' "$(outcome "$LOGS/$k/main/ktap.log" "bind path $p: $st" "$w")"
		done
		echo
	done
done
printf '| hot-add (QMP device_add behind the bridge) | owned |'
for k in "${kvers[@]}"; do
	printf ' %s |' "$(outcome "$LOGS/$k/hotplug/ktap.log" "hot-added e1000 joins the owned group, autoprobe refused" refused)"
done
echo
