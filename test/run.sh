#!/bin/bash
# run.sh - bindguard's test suite: boot stock Debian kernels in QEMU with the
# module installed through DKMS and collect the guest's KTAP results.
#
# Usage: test/run.sh [SERIES...]        (default: 6.1 6.12)
#        test/run.sh --demo SERIES      (run only the "demo" boot and print
#                                        its guest output)
#
# For each kernel series:
#   1. scripts/fetch-kernel.sh SERIES        -> KVER (cached)
#   2. scripts/dkms-install.sh KVER          -> BG_KO (bindguard.ko)
#   3. test/bgtest/ (if it has a Makefile or Kbuild) built with
#      `make -C <headers> M=<per-kernel copy in $BG_CACHE/build/KVER/bgtest>`
#                                            -> BG_TESTKO (bgtest.ko)
#   4. test/vfio-hold.c (if present) built once with gcc -static
#                                            -> BG_VFIO_HOLD
#   5. scripts/mkinitramfs.sh KVER           (one initramfs per kernel)
#   6. for each boot in test/guest/boots (lines "<name> <extra cmdline>";
#      blank lines and #-comments ignored; without the file one boot named
#      "main"), scripts/boot-guest.sh with "bg.boot=<name> <extra cmdline>"
#      appended to the kernel command line. BG_BOOTS="name ..." chooses
#      which boots to run (their cmdline still comes from the file).
#
# Results: the guest writes KTAP to its second serial port (ktap.log). Each
# top-level "ok N name" / "not ok N name" line is printed prefixed with the
# series ("6.12 ok 3 sibling bind refused"); "# SKIP" counts as skipped,
# never as passed. A boot also counts one failure named
# "<kernel>/<boot>: guest crash/timeout/dmesg" when QEMU timed out, when
# ktap.log does not end with "# bindguard: done", or when console.log or the
# dmesg the guest copies into ktap.log ("# dmesg-begin" .. "# dmesg-end")
# has BUG, WARNING, Oops, Call Trace, KASAN, UBSAN or kmemleak in a line not
# tolerated by test/guest/dmesg-allow (fixed strings, one a line, #-comments
# saying why). The last line is "N passed, N failed[, N skipped]"; the exit
# status is 1 if anything failed.
#
# Logs: $BG_CACHE/logs/<kver>/<boot>/ (console.log, ktap.log, qemu.cmd ...),
# printed on failure. Phase timings go to stderr and to
# $BG_CACHE/logs/<kver>/timings.
#
# Environment: BG_CACHE (default /var/cache/bindguard), BG_BOOTS,
# BG_BOOT_TIMEOUT (seconds per boot, default 300), BG_SKIP_HOST_DEPS=1.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
export BG_CACHE=${BG_CACHE:-/var/cache/bindguard}
SCRIPTS=$REPO/scripts

log() { echo "run: $*" >&2; }

demo=
if [[ ${1:-} == --demo ]]; then
	demo=1
	shift
	[[ $# -ge 1 ]] || { echo "usage: test/run.sh --demo SERIES" >&2; exit 2; }
	BG_BOOTS=${BG_BOOTS:-demo}
fi
if [[ $# -gt 0 ]]; then SERIES=("$@"); else SERIES=(6.1 6.12); fi

passed=0 failed=0 skipped=0

# result SERIES LINE: print one result line and count it.
result() {
	local s=$1 line=$2
	echo "$s $line"
	if [[ $line =~ \#[[:space:]]*[Ss][Kk][Ii][Pp]([[:space:]]|$) ]]; then
		skipped=$((skipped + 1))
	elif [[ $line == ok* ]]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
}

# now: seconds since the epoch, with fractions, for timings
now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }

# strip CRs (serial ports turn \n into \r\n)
clean() { tr -d '\r' <"$1" 2>/dev/null || true; }

# suspicious LOGFILE-TEXT (stdin): kernel error lines not in the allow-list
suspicious() {
	local allow=$REPO/test/guest/dmesg-allow pat
	pat='(\bBUG\b|\bWARNING\b|\bOops\b|Call Trace|\bKASAN\b|\bUBSAN\b|\bkmemleak\b)'
	if [[ -f $allow ]]; then
		grep -E "$pat" | grep -vF -f <(grep -v '^[[:space:]]*#' "$allow" | sed '/^[[:space:]]*$/d'; echo $'\x01never') || true
	else
		grep -E "$pat" || true
	fi
}

# boots: "name extra-cmdline" lines for the boots to run
boots() {
	local f=$REPO/test/guest/boots lines=
	if [[ -f $f ]]; then
		lines=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$f")
	fi
	[[ -n $lines ]] || lines=main
	if [[ -n ${BG_BOOTS:-} ]]; then
		local b
		for b in $BG_BOOTS; do
			grep -E "^[[:space:]]*$b([[:space:]]|\$)" <<<"$lines" || echo "$b"
		done
	else
		echo "$lines"
	fi
}

# --- host ---------------------------------------------------------------------
if [[ -z ${BG_SKIP_HOST_DEPS:-} ]]; then
	"$SCRIPTS/host-deps.sh"
fi
mkdir -p "$BG_CACHE/build"

vfio_hold=
if [[ -f $REPO/test/vfio-hold.c ]]; then
	vfio_hold=$BG_CACHE/build/vfio-hold
	if ! gcc -static -O2 -Wall -o "$vfio_hold" "$REPO/test/vfio-hold.c" >&2; then
		result host "not ok - vfio-hold.c does not build"
		vfio_hold=
	fi
else
	log "note: no test/vfio-hold.c"
fi

# --- per kernel ---------------------------------------------------------------
run_series() {
	local s=$1 kver t0 ko testko= logs initrd name extra ld rc why
	t0=$(now)
	if ! kver=$("$SCRIPTS/fetch-kernel.sh" "$s"); then
		result "$s" "not ok - $s: fetch-kernel failed"
		return
	fi
	logs=$BG_CACHE/logs/$kver
	mkdir -p "$logs"
	: >"$logs/timings"
	timing() { echo "$1 $2" >>"$logs/timings"; log "$kver: $1 ${2}s"; }
	timing fetch "$(since "$t0")"

	t0=$(now)
	if ! ko=$("$SCRIPTS/dkms-install.sh" "$kver" 2>"$logs/dkms.log"); then
		cat "$logs/dkms.log" >&2
		result "$s" "not ok - $kver: dkms build/install failed (log: $logs/dkms.log)"
		return
	fi
	timing dkms "$(since "$t0")"

	if [[ -f $REPO/test/bgtest/Makefile || -f $REPO/test/bgtest/Kbuild ]]; then
		t0=$(now)
		local bdir=$BG_CACHE/build/$kver/bgtest
		rm -rf "$bdir"
		mkdir -p "$bdir"
		cp -a "$REPO/test/bgtest/." "$bdir/"
		if make -C "$BG_CACHE/kernels/$kver/headers" M="$bdir" modules >"$logs/bgtest-build.log" 2>&1 &&
			[[ -f $bdir/bgtest.ko ]]; then
			testko=$bdir/bgtest.ko
		else
			cat "$logs/bgtest-build.log" >&2
			result "$s" "not ok - $kver: test/bgtest does not build (log: $logs/bgtest-build.log)"
		fi
		timing bgtest "$(since "$t0")"
	else
		log "note: no test/bgtest/Makefile or Kbuild"
	fi

	t0=$(now)
	initrd=$BG_CACHE/build/$kver/initramfs.cpio.gz
	if ! BG_KO=$ko BG_TESTKO=$testko BG_VFIO_HOLD=$vfio_hold \
		"$SCRIPTS/mkinitramfs.sh" "$kver" "$initrd"; then
		result "$s" "not ok - $kver: mkinitramfs failed"
		return
	fi
	timing initramfs "$(since "$t0")"

	while read -r name extra; do
		ld=$logs/$name
		t0=$(now)
		rc=0
		"$SCRIPTS/boot-guest.sh" "$kver" "$initrd" "$ld" "bg.boot=$name" $extra || rc=$?
		timing "boot:$name" "$(since "$t0")"

		clean "$ld/ktap.log" | { grep -E '^(not )?ok [0-9]+' || true; } >"$ld/results"
		while IFS= read -r line; do
			result "$s" "$line"
		done <"$ld/results"

		why=()
		((rc == 124)) && why+=("timeout after ${BG_BOOT_TIMEOUT:-300}s")
		((rc != 0 && rc != 124)) && why+=("qemu exit status $rc")
		[[ $(clean "$ld/ktap.log" | sed '/^[[:space:]]*$/d' | tail -n1) == "# bindguard: done" ]] ||
			why+=("ktap.log does not end with '# bindguard: done'")
		{
			clean "$ld/console.log"
			clean "$ld/ktap.log" | sed -n '/^# dmesg-begin/,/^# dmesg-end/p'
		} | suspicious >"$ld/suspicious"
		[[ -s $ld/suspicious ]] && why+=("kernel errors: $(head -n1 "$ld/suspicious")")
		if ((${#why[@]})); then
			result "$s" "not ok - $kver/$name: guest crash/timeout/dmesg"
			local w
			for w in "${why[@]}"; do echo "#   $w"; done
		fi
		if ((${#why[@]})) || grep -q '^not ok' "$ld/results"; then
			echo "#   logs: $ld"
		fi
		if [[ -n $demo ]]; then
			echo "# ---- guest output ($ld/ktap.log) ----"
			clean "$ld/ktap.log" | sed '/^# dmesg-begin$/,$d'
			echo "# ---- end of guest output ----"
		fi
	done < <(boots)
}

for s in "${SERIES[@]}"; do
	run_series "$s"
done

summary="$passed passed, $failed failed"
((skipped)) && summary+=", $skipped skipped"
echo "$summary"
((failed == 0))
