#!/bin/bash
# run.sh - bindguard's test suite: boot stock Debian kernels (and real Debian
# hosts) in QEMU with the module installed through DKMS and collect the
# guest's KTAP results.
#
# Usage: test/run.sh [SERIES...]        (default: 5.10 6.1 trixie rt sid)
#        test/run.sh --demo SERIES      (make demo: the "demo" boot alone,
#                                        its guest output printed)
#
# SERIES: 5.10 (bullseye-security), 6.1 (bookworm), trixie (Debian 13's
# 6.12+deb13), rt (trixie's PREEMPT_RT flavour, 6.12+deb13-rt), sid (the
# newest kernel in sid, resolved at run time; its
# numeric series, e.g. 7.2, is accepted as an alias while it is sid's),
# debug, debug-rt (make check-debug: the sanitizer kernel and the PREEMPT_RT
# lockdep kernel test/kernel/build-debug-kernel.sh [rt] leaves in the cache;
# one "# SKIP" line when it is not there), or
# host-bullseye, host-trixie (make check-host: test/host/image.sh), or
# arm64-6.1, arm64-trixie: Debian's arm64 kernels of 6.1 and trixie
# (ARCH=arm64 test/kernel/fetch-kernel.sh), bindguard cross-built, booted
# under qemu-system-aarch64 (test/qemu/boot-guest.sh: virt, SMMUv3, TCG),
# the matrix's arm64 class (main alone); "arm64" is both (make check
# KERNEL=arm64).
#
# Each series is prepared in turn, here:
#   1. test/kernel/fetch-kernel.sh SERIES          -> KVER (cached)
#   2. test/kernel/dkms-install.sh KVER            -> bindguard.ko, in the
#      kernel's build environment (test/kernel/kbuild-env.sh: trixie, rt
#      and sid inside a chroot of their suite). 5.10 is built and installed
#      by bullseye's own dkms (2.8, gcc-10) in a bullseye chroot instead
#      (test/lib/chroot.sh build bullseye; one result line): the module a
#      5.10 user gets.
#   3. test/tools/bgtest/ built against the kernel's headers, and, where
#      the matrix runs the failload boot, the test build of bindguard (make
#      BG_FAULT_INJECT=1, Kbuild); one result line saying the DKMS module
#      lacks its parameters (not with --demo)
#   4. test/tools/vfio-hold.c, vfio-cdev.c and bench.c: gcc -static, once per run, into a
#      directory of the run's own (removed at exit); for an arm64 kernel,
#      aarch64-linux-gnu-gcc -static, once per run too
#   5. test/qemu/mkinitramfs.sh KVER               (one initramfs per kernel)
#   6. each boot of test/guest/boots that the matrix runs on this kernel's
#      class (below) is queued;
#   7. test/kernel/check-build.sh KVER: `make W=1 C=1 KCFLAGS=-Werror`, one
#      result (not with --demo), while the kernel's boots run.
# A host series instead has its disk image made (test/host/image.sh) in the
# background from the start of the run (the host series one after the
# other, in their order), while the guest series are prepared; once it is
# made, between two guest series, the boots of test/host/boots are queued,
# booted from that image with systemd.
#
# Queued boots run BG_JOBS at a time (default: the number of CPUs, as each
# TCG guest keeps one core busy), while the next series is being prepared:
# test/qemu/boot-guest.sh with "bg.boot=<name> <extra cmdline>". A host's
# boots (the longest) start first, then the others in queue order. Results
# are printed in queue order as they come in, so the output reads as if the
# boots ran one after the other.
#
# Boots file (test/guest/boots, test/host/boots): one boot a line (blank lines
# and #-comments ignored; without the file one boot named "main"):
#
#   <name> [qmp] [disk] [uefi] [initrd=NAME] [expect=crash:STRING] [extra kernel cmdline...]
#
#   initrd=NAME     boot INITRD.NAME instead of the series' initrd (a host
#                   image's second initrd, test/host/image.sh: initrd=reserve)
#   qmp             run test/qemu/qmp-agent.py next to QEMU: the guest's
#                   host_cmd (lib.sh) can then hot-add/delete devices and wait
#                   for QMP events.
#   disk            a data disk: a small ext2 image (a file "hello") as a
#                   virtio-blk device (QMP id vdisk) behind its own root port
#                   (test/qemu/boot-guest.sh BG_DATA_DISK), written to a copy.
#   uefi            boot through UEFI Secure Boot (OVMF, shim, GRUB) from an
#                   ESP disk instead of QEMU's -kernel: test/qemu/boot-guest.sh
#                   BG_UEFI, with the files test/host/uefi.sh made for a
#                   host-trixie image (a host series' BG_UEFI_DIR; elsewhere
#                   the boot is one "not ok").
#   expect=crash:STRING
#                   the guest is expected to crash (e.g. a 5.10 boot without
#                   bindguard: `expect=crash:kernel BUG at drivers/vfio/vfio.c`).
#                   STRING is a fixed string and runs to the end of the line;
#                   to put kernel arguments after it, quote it:
#                   expect=crash:"kernel BUG at drivers/vfio/vfio.c" nokaslr.
#                   The boot passes (one result "ok - <kver>/<boot>: guest
#                   crashed as expected (STRING)") when console.log contains
#                   STRING and the guest did not print "# bindguard: done";
#                   otherwise one "not ok" saying which. The KTAP lines it
#                   printed before the crash are counted as usual; the
#                   dmesg/BUG check below is not applied to its console.
#   Keys come right after the name; the first other word starts the
#   kernel command line. A malformed line is one "not ok".
# BG_BOOTS="name ..." chooses which boots to run (their keys and cmdline
# still come from the file); BG_BOOTS_FILE replaces test/guest/boots. A
# series written SERIES:BOOT[,BOOT...] runs only those boots of it (as
# BG_BOOTS for that series alone; .ci/run: host-trixie:host,
# debug-rt:cdev).
#
# Matrix (test/guest/matrix, test/host/matrix: the file "matrix" beside the
# boots file; a boots file with none beside it runs every boot everywhere):
# where each boot runs, by kernel class: old (before 5.19: no DMA ownership
# in the kernel), new (5.19 and later), rt (a PREEMPT_RT kernel, 5.19 and
# later), debug (the sanitizer kernel), rtdebug (the PREEMPT_RT lockdep
# kernel), arm64 (Debian's arm64 kernels). A cell
# is `run`, `skip:REASON` or `one:SERIES:REASON` (on one kernel of the
# class: SERIES's if this run boots it, else the class's first in this
# run), each REASON named and explained in the file.
# A boot not run on this class prints one line
#   # not run: <kver>/<boot> (<class> kernel; test/guest/matrix: <REASON>)
# counted apart ("# N boots not run (matrix)"), never as passed or skipped.
# A boot with no row, or a class with no column, is one "not ok".
#
# Results: the guest writes KTAP to its second serial port (ktap.log). Each
# top-level "ok N name" / "not ok N name" line is printed prefixed with the
# series ("6.1 ok 3 sibling bind refused"); "# SKIP" counts as skipped,
# never as passed. A boot (except an expect=crash one) also counts one
# failure named "<kernel>/<boot>: guest crash/timeout/dmesg" when QEMU timed
# out, when ktap.log does not end with "# bindguard: done", or when
# console.log or the dmesg the guest copies into ktap.log ("# dmesg-begin" ..
# "# dmesg-end") has BUG, WARNING, Oops, Call Trace, KASAN, UBSAN or kmemleak
# in a line not tolerated by test/guest/dmesg-allow (fixed strings, one a
# line, #-comments saying why; a string tolerates its line, and the whole
# report it appears in: "cut here" to "end trace", or a sanitizer report
# between "====" rules).
#
# Retry: a boot that died before its test began is booted once more. Under
# TCG a guest sometimes dies or hangs early in the kernel's own boot, before
# the guest's init runs. A boot (not an expect=crash one) whose ktap.log has
# no "KTAP version 1" line and no "# bindguard: done", and whose console
# never names bindguard (so the module is not in a crash's "Modules linked
# in"), is booted again, once, with one line
#   # retry: <kver>/<boot> died before its test began (<first suspicious
#     console line, or timeout, or qemu exit status N>), booting again
# and only the second attempt's results count. Its logs are kept in
# <boot>.try1/. At most BG_BOOT_RETRIES (default 3) boots are retried per
# run; a boot that printed its KTAP header is never retried.
#
# The last lines are "# N boots retried", "# N boots not run (matrix)" and
# "N passed, N failed[, N skipped]"; the exit status is 1 if anything failed.
#
# The rt and arm64 kernels' boots get a longer timeout (900 s), the debug
# kernels' and the real hosts' longer still (1800 s: a host boot, started
# first, shares the cores with every kernel's builds; the trixie host's
# took 828 s in a warm .ci/run, 264 s alone), and each KASAN debug boot's
# kmemleak report may show only leaks that the boot named "baseline" (the
# same story without bindguard) shows too (test/qemu/kmemleak-diff.sh): its
# other boots wait for the baseline boot to end.
#
# Logs: $BG_WORK/logs/<kver>/<boot>/ (console.log, ktap.log, qemu.cmd ...),
# printed on failure. Phase and boot timings go to stderr and to
# $BG_WORK/logs/<kver>/timings.
#
# A kernel the module does not build against (DKMS) is one "not ok" for
# that series; nothing is booted for it. Nothing is ever skipped silently.
#
# Environment: BG_CACHE (default /var/cache/bindguard), BG_BOOTS,
# BG_BOOTS_FILE, BG_BOOT_TIMEOUT (seconds per boot, default 300), BG_JOBS
# (boots at a time, default nproc), BG_BOOT_RETRIES (default 3),
# BG_SKIP_HOST_DEPS=1.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
# fetch-kernel.sh refreshes sid's kernel at most once per run
export BG_RUN_START=${BG_RUN_START:-$(date +%s)}

demo=
if [[ ${1:-} == --demo ]]; then
	demo=1
	shift
	[[ $# -ge 1 ]] || usage
	BG_BOOTS=${BG_BOOTS:-demo}
fi
if [[ $# -gt 0 ]]; then SERIES=("$@"); else SERIES=(5.10 6.1 trixie rt sid); fi
# "arm64": both arm64 series
for i in "${!SERIES[@]}"; do
	[[ ${SERIES[i]} == arm64 ]] && SERIES=("${SERIES[@]:0:i}" arm64-6.1 arm64-trixie "${SERIES[@]:i+1}")
done

passed=0 failed=0 skipped=0 notrun=0
max_retries=${BG_BOOT_RETRIES:-3}
[[ $max_retries =~ ^[0-9]+$ ]] || die "BG_BOOT_RETRIES must be a number"
JOBS=${BG_JOBS:-$(nproc)}
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "BG_JOBS must be a number from 1"

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

# strip CRs (serial ports turn \n into \r\n)
clean() { tr -d '\r' <"$1" 2>/dev/null || true; }

# suspicious LOGFILE-TEXT (stdin): kernel error lines not in the allow-list.
# test/guest/dmesg-allow: fixed strings, one a line. A line containing one is
# tolerated; so is a whole report (from its "cut here" line to its "end
# trace" line, or to the end of the text) that contains one anywhere, e.g. a
# WARNING whose message line ("Device added to live group") is not the
# WARNING line itself. Everything else matching the pattern is printed.
suspicious() {
	local allow=$TEST/guest/dmesg-allow pat
	# BUG, WARNING, Oops, KASAN, UBSAN, kmemleak as words; Call Trace
	pat='(^|[^A-Za-z0-9_])(BUG|WARNING|Oops|KASAN|UBSAN|kmemleak)([^A-Za-z0-9_]|$)|Call Trace'
	awk -v pat="$pat" -v allowfile="$([[ -f $allow ]] && echo "$allow")" '
		function allowed(text,   i) {
			for (i = 1; i <= n; i++)
				if (index(text, a[i])) return 1
			return 0
		}
		function flush(   i) {
			if (!allowed(block))
				for (i = 1; i <= nb; i++) if (bl[i] ~ pat) print bl[i]
			inblock = 0; nb = 0; block = ""
		}
		BEGIN {
			n = 0
			if (allowfile != "")
				while ((getline line < allowfile) > 0) {
					if (line ~ /^[[:space:]]*#/ || line ~ /^[[:space:]]*$/) continue
					a[++n] = line
				}
		}
		/-+\[ cut here \]-+/ { if (inblock) flush(); inblock = 1; sanitizer = 0 }
		# sanitizer reports (KASAN, UBSAN, KFENCE) sit between two "====" rules
		/========================================[[:space:]]*$/ {
			if (inblock && sanitizer) { bl[++nb] = $0; flush(); next }
			if (inblock) flush()
			inblock = 1; sanitizer = 1
		}
		inblock {
			bl[++nb] = $0; block = block "\n" $0
			if (!sanitizer && $0 ~ /---\[ end trace/) flush()
			next
		}
		$0 ~ pat && !allowed($0) { print }
		END { if (inblock) flush() }
	'
}

# died_early LOGDIR: did this boot end before its test began? No KTAP header,
# no "# bindguard: done", and bindguard is nowhere on the console.
died_early() {
	! clean "$1/ktap.log" | grep -E '^(KTAP version 1|# bindguard: done)$' >/dev/null &&
		! clean "$1/console.log" | grep bindguard >/dev/null
}

# early_reason LOGDIR RC: why an early death looks the way it does
early_reason() {
	local l
	l=$(clean "$1/console.log" | suspicious | head -n1)
	if [[ -n $l ]]; then
		echo "$l"
	elif (($2 == 124)); then
		echo timeout
	elif (($2)); then
		echo "qemu exit status $2"
	else
		echo "no KTAP header"
	fi
}

# boots FILE: the lines of the boots file for the boots to run
boots() {
	local f=$1 lines=
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

# parse_boot LINE: sets b_name, b_qmp, b_disk, b_uefi, b_initrd, b_expect, b_extra, b_err from one
# line of the boots file (syntax in the header).
parse_boot() {
	local rest w
	b_name= b_qmp= b_disk= b_uefi= b_initrd= b_expect= b_extra= b_err=
	read -r b_name rest <<<"$1"
	while [[ -n $rest ]]; do
		case $rest in
		only=*)
			b_err="only= is gone: the matrix beside the boots file says where a boot runs"
			return
			;;
		initrd=*)
			w=${rest%%[[:space:]]*}
			b_initrd=${w#initrd=}
			rest=${rest#"$w"}
			[[ $b_initrd =~ ^[A-Za-z0-9_-]+$ ]] || b_err="bad initrd= name '$b_initrd'"
			;;
		qmp | qmp[[:space:]]*)
			b_qmp=1
			rest=${rest#qmp}
			;;
		disk | disk[[:space:]]*)
			b_disk=$BG_WORK/data-disk.img
			rest=${rest#disk}
			;;
		uefi | uefi[[:space:]]*)
			b_uefi=1
			rest=${rest#uefi}
			;;
		expect=crash:\"*)
			rest=${rest#expect=crash:\"}
			[[ $rest == *\"* ]] || { b_err="unterminated quote in expect=crash:"; return; }
			b_expect=${rest%%\"*}
			rest=${rest#*\"}
			[[ -n $b_expect ]] || b_err="empty expect=crash: string"
			;;
		expect=crash:*)
			b_expect=${rest#expect=crash:}
			b_expect=${b_expect%"${b_expect##*[![:space:]]}"}
			rest=
			[[ -n $b_expect ]] || b_err="empty expect=crash: string"
			;;
		expect=*)
			b_err="unknown expectation '${rest%%[[:space:]]*}' (want expect=crash:STRING)"
			return
			;;
		*)
			b_extra=$rest
			rest=
			;;
		esac
		rest=${rest#"${rest%%[![:space:]]*}"}
	done
}


# (Under pipefail, "CMD | grep -q" fails now and then: grep leaves at the
# first match and CMD may die of SIGPIPE. Pipelines here let grep read to
# the end: "grep ... >/dev/null".)

# timing LOGS WHAT SECONDS: one phase's or boot's time, to LOGS/timings and
# stderr
timing() {
	echo "$2 $3" >>"$1/timings"
	log "${1##*/}: $2 ${3}s"
}

# kclass KVER: the kernel's class in the matrix: arm64 (an -arm64
# release), debug, rtdebug (the two kernels of build-debug-kernel.sh, by
# their marker), rt (PREEMPT_RT in its headers' .config), old (< 5.19), new
kclass() {
	if [[ $(kernel_arch "$1") == arm64 ]]; then
		echo arm64
	elif [[ -e $BG_CACHE/kernels/$1/debug ]]; then
		echo debug
	elif [[ -e $BG_CACHE/kernels/$1/rtdebug ]]; then
		echo rtdebug
	elif grep -qx 'CONFIG_PREEMPT_RT=y' "$BG_CACHE/kernels/$1/headers/.config" 2>/dev/null; then
		echo rt
	elif [[ $1 =~ ^([0-9]+)\.([0-9]+)[.-] ]] && ((BASH_REMATCH[1] * 1000 + BASH_REMATCH[2] < 5019)); then
		echo old
	else
		echo new
	fi
}

# matrix_cell MATRIX BOOT CLASS: "run", "skip REASON: why", "one SERIES
# REASON: why", or "error: ..." (syntax in the matrix file's header)
matrix_cell() {
	awk -v b="$2" -v c="$3" '
		/^[[:space:]]*(#|$)/ { next }
		$1 == "reason" {
			t = $0
			sub(/^[[:space:]]*reason[[:space:]]+[^[:space:]]+[[:space:]]*/, "", t)
			why[$2] = t
			next
		}
		$1 == "boot" && !hdr { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1; next }
		$1 == b { found = 1; if (c in col) cell = $(col[c]) }
		END {
			if (!hdr) { print "error: no header line (boot CLASS...)"; exit }
			if (!(c in col)) { print "error: no column for class " c; exit }
			if (!found) { print "error: no row for boot " b; exit }
			if (cell == "run") { print "run"; exit }
			if (cell ~ /^skip:[^:]+$/) {
				n = substr(cell, 6)
				if (n in why) print "skip " n ": " why[n]
				else print "error: reason " n " is not explained (reason " n " ...)"
				exit
			}
			if (cell ~ /^one:[^:]+:[^:]+$/) {
				split(cell, f, ":")
				n = f[3]
				if (n in why) print "one " f[2] " " n ": " why[n]
				else print "error: reason " n " is not explained (reason " n " ...)"
				exit
			}
			print "error: cell \"" cell "\" (want run, skip:REASON or one:SERIES:REASON)"
		}' "$1"
}

# --- queued boots ---------------------------------------------------------------
# Main queues a boot as a spec file JOBS_DIR/N.spec (shell assignments); the
# dispatcher (a background loop) starts them BG_JOBS at a time (a host's
# first, then in queue order: dispatch), each job writing N.out (result
# lines "R SERIES LINE", other lines as they are) and N.done; main prints
# finished jobs in queue order (flush).
jobs_dir=$(mktemp -d "${TMPDIR:-/tmp}/bg-run.XXXXXX")
echo 0 >"$jobs_dir/retries"
njobs=0 nflushed=0 dispatcher=

# queue_boot PRIO AFTER VAR=VALUE...: queue one boot; it starts only once
# job AFTER (a number, or "-") has ended, before the waiting boots of a
# lower PRIO (a number: a host's boots 1, a guest's 0).
queue_boot() {
	local n=$njobs
	local kv
	{
		echo "j_prio=$1"
		echo "j_after=$2"
		shift 2
		for kv; do printf '%s=%q\n' "${kv%%=*}" "${kv#*=}"; done
	} >"$jobs_dir/$n.spec.tmp"
	mv "$jobs_dir/$n.spec.tmp" "$jobs_dir/$n.spec"
	njobs=$((njobs + 1))
}

# dispatch: start the queued boots, BG_JOBS at a time: of those whose
# AFTER has ended, the first of the highest PRIO
dispatch() {
	local n ndone best after
	local -A prio=() waits=() started=()
	while :; do
		ndone=$(find "$jobs_dir" -maxdepth 1 -name '*.done' | wc -l)
		best=
		if ((${#started[@]} - ndone < JOBS)); then
			for ((n = 0; ; n++)); do
				[[ -e $jobs_dir/$n.spec ]] || break
				[[ -z ${started[$n]:-} ]] || continue
				if [[ -z ${prio[$n]:-} ]]; then
					prio[$n]=$(sed -n 's/^j_prio=//p' "$jobs_dir/$n.spec")
					waits[$n]=$(sed -n 's/^j_after=//p' "$jobs_dir/$n.spec")
				fi
				after=${waits[$n]}
				[[ $after == - || -e $jobs_dir/$after.done ]] || continue
				[[ -n $best ]] && ((prio[$n] <= prio[$best])) && continue
				best=$n
			done
		fi
		if [[ -n $best ]]; then
			(
				boot_job "$jobs_dir/$best.spec" >"$jobs_dir/$best.out" || true
				touch "$jobs_dir/$best.done"
			) &
			echo $! >"$jobs_dir/$best.pid"
			started[$best]=1
			continue
		fi
		[[ -e $jobs_dir/end ]] && ((${#started[@]} == $(cat "$jobs_dir/end") && ndone == ${#started[@]})) && break
		sleep 0.5
	done
}

# flush [wait]: print the results of the jobs that ended, in queue order
# (with "wait": all of them, waiting for each)
flush() {
	local tag s line
	while ((nflushed < njobs)); do
		if [[ ! -e $jobs_dir/$nflushed.done ]]; then
			[[ ${1:-} == wait ]] || return 0
			if ! kill -0 "$dispatcher" 2>/dev/null && [[ ! -e $jobs_dir/$nflushed.done ]]; then
				result host "not ok - boot job $nflushed never ended (the dispatcher is gone)"
				touch "$jobs_dir/$nflushed.done" "$jobs_dir/$nflushed.out"
			fi
			sleep 0.5
			continue
		fi
		while IFS= read -r line; do
			if [[ $line == "R "* ]]; then
				read -r tag s line <<<"$line"
				result "$s" "$line"
			else
				echo "$line"
			fi
		done <"$jobs_dir/$nflushed.out"
		nflushed=$((nflushed + 1))
	done
}

cleanup() {
	local p
	[[ -z $dispatcher ]] || kill "$dispatcher" 2>/dev/null || true
	# the image maker's process group: image.sh and what it runs
	[[ -z ${host_images:-} ]] || kill -- -"$host_images" 2>/dev/null || true
	for p in "$jobs_dir"/*.pid; do
		[[ -e $p && ! -e ${p%.pid}.done ]] && kill "$(cat "$p")" 2>/dev/null || true
	done
	rm -rf "$jobs_dir" "${tools:-}"
}
trap cleanup EXIT

# take_retry: one of the run's BG_BOOT_RETRIES, if any is left
take_retry() {
	(
		flock 9
		n=$(cat "$jobs_dir/retries")
		((n < max_retries)) || exit 1
		echo $((n + 1)) >"$jobs_dir/retries"
	) 9>>"$jobs_dir/retries.lock"
}

# boot_job SPEC: one boot (the spec's j_* variables: series, kver, initrd,
# logs, timeout, kmemleak, boots-file line, command line before it, and
# BG_VMLINUZ/BG_DISK/BG_MEM for a host) booted, retried once if it died
# before its test began, and judged. Output: result lines "R SERIES LINE"
# and comment lines, for flush.
boot_job() {
	local j_prio j_after j_s j_kver j_initrd j_logs j_timeout j_kmemleak j_line j_pre j_env=
	eval "$(cat "$1")"
	local s=$j_s kver=$j_kver logs=$j_logs timeout=$j_timeout
	local name extra ld rc why t0 line ird try=1 secs early l t
	parse_boot "$j_line"
	name=$b_name extra=$b_extra
	[[ -z $j_env ]] || export $j_env
	ld=$logs/$name
	rm -rf "$ld.try1"
	ird=$j_initrd
	[[ -n $b_initrd ]] && ird=$j_initrd.$b_initrd
	if [[ ! -f $ird ]]; then
		echo "R $s not ok - $kver/$name: no initrd $ird"
		return
	fi
	local uefi=
	if [[ -n $b_uefi ]]; then
		uefi=${BG_UEFI_DIR:-}
		if [[ -z $uefi ]]; then
			echo "R $s not ok - $kver/$name: a uefi boot, but no Secure Boot files for this image (test/host/uefi.sh)"
			return
		fi
	fi
	if [[ -n $b_disk && ! -f $b_disk ]]; then
		mkdir -p "$b_disk.d"
		echo "bindguard data disk" >"$b_disk.d/hello"
		mkfs.ext2 -q -F -d "$b_disk.d" "$b_disk.new" 4M && mv "$b_disk.new" "$b_disk"
	fi
	while :; do
		t0=$(now)
		rc=0
		BG_BOOT_TIMEOUT=$timeout BG_QMP_AGENT=$b_qmp BG_DATA_DISK=$b_disk BG_UEFI=$uefi \
			"$TEST/qemu/boot-guest.sh" "$kver" "$ird" "$ld" $j_pre "bg.boot=$name" $extra >&2 || rc=$?
		secs=$(since "$t0")
		# died before its test began: boot it again, once
		if [[ -z $b_expect ]] && ((try == 1)) && died_early "$ld"; then
			early=$(early_reason "$ld" "$rc")
			if take_retry; then
				echo "# retry: $kver/$name died before its test began ($early), booting again"
				timing "$logs" "boot:$name.try1" "$secs"
				mv "$ld" "$ld.try1"
				try=2
				continue
			fi
			echo "# retry: $kver/$name died before its test began ($early); not retried: $max_retries boots retried already (BG_BOOT_RETRIES=$max_retries)"
		fi
		timing "$logs" "boot:$name" "$secs"
		break
	done
	((try == 1)) || echo "#   logs of the first attempt: $ld.try1"

	clean "$ld/ktap.log" | { grep -E '^(not )?ok [0-9]+' || true; } >"$ld/results"
	while IFS= read -r line; do
		echo "R $s $line"
	done <"$ld/results"

	if [[ -n $b_expect ]]; then
		local done_seen= w
		[[ -n $(clean "$ld/ktap.log" | grep -Fx '# bindguard: done') ]] && done_seen=1
		why=()
		clean "$ld/console.log" | grep -F -- "$b_expect" >/dev/null ||
			why+=("console.log does not contain '$b_expect'")
		[[ -n $done_seen ]] && why+=("the guest printed '# bindguard: done': it did not crash")
		((rc == 124)) && why+=("(timeout after ${timeout}s)")
		if [[ -n $done_seen ]] || ! clean "$ld/console.log" | grep -F -- "$b_expect" >/dev/null; then
			echo "R $s not ok - $kver/$name: guest did not crash as expected ($b_expect)"
			for w in "${why[@]}"; do echo "#   $w"; done
			echo "#   logs: $ld"
		else
			echo "R $s ok - $kver/$name: guest crashed as expected ($b_expect)"
			grep -q '^not ok' "$ld/results" && echo "#   logs: $ld"
		fi
		return 0
	fi

	why=()
	((rc == 124)) && why+=("timeout after ${timeout}s")
	((rc != 0 && rc != 124)) && why+=("qemu exit status $rc")
	[[ $(clean "$ld/ktap.log" | sed '/^[[:space:]]*$/d' | tail -n1) == "# bindguard: done" ]] ||
		why+=("ktap.log does not end with '# bindguard: done'")
	{
		clean "$ld/console.log"
		clean "$ld/ktap.log" | sed -n '/^# dmesg-begin/,/^# dmesg-end/p'
	} | suspicious >"$ld/suspicious"
	[[ -s $ld/suspicious ]] && why+=("kernel errors: $(head -n1 "$ld/suspicious")")
	# each bindguard-status --json the guest logged (lib.sh json_dump)
	# holds to its schema: one result line per document (json-K-NAME.json,
	# K its rank: a story may log one NAME twice)
	local jf out
	rm -f "$ld"/json-*.json
	for jf in $(clean "$ld/ktap.log" | awk -v dir="$ld" '
		/^# json-begin [A-Za-z0-9_-]+$/ { n++; f = dir "/json-" n "-" $3 ".json"; print f; next }
		/^# json-end$/ { if (f != "") close(f); f = ""; next }
		f != "" && /^# json: / { print substr($0, 9) > f }'); do
		if out=$("$TEST/tools/check-json-schema.py" --schema "$REPO/docs/bindguard-status.schema.json" "$jf" 2>&1); then
			echo "R $s ok - $kver/$name: bindguard-status --json (${jf##*/}) holds to docs/bindguard-status.schema.json"
		else
			echo "R $s not ok - $kver/$name: bindguard-status --json (${jf##*/}) breaks docs/bindguard-status.schema.json: $(echo "$out" | head -n1)"
		fi
	done
	# a lockdep kernel (test/guest/init): lockdep must still be on at the end
	# or turned off by rmmod -f (TAINT_FORCED_RMMOD, 8: the failload boot
	# forces an unload on purpose; the kernel then calls lockdep unreliable)
	l=$(clean "$ld/ktap.log" | grep -m1 '^# lockdep: ' || true)
	if [[ -n $l && ! $l =~ ^'# lockdep: debug_locks:'\ *1\  ]]; then
		t=${l##* tainted: }
		[[ $t =~ ^[0-9]+$ ]] && (((t & 8) != 0)) ||
			why+=("lockdep turned itself off (${l#\# })")
	fi
	# kmemleak: only leaks the baseline boot (no bindguard) lacks count.
	if [[ -n $j_kmemleak && $name != baseline ]]; then
		if [[ ! -f $logs/baseline/ktap.log ]]; then
			why+=("kmemleak: no baseline boot to compare with (test/guest/boots)")
		elif ! "$TEST/qemu/kmemleak-diff.sh" "$ld/ktap.log" "$logs/baseline/ktap.log" >"$ld/kmemleak-new" 2>&1; then
			why+=("kmemleak: $(head -n1 "$ld/kmemleak-new")")
		fi
	fi
	if ((${#why[@]})); then
		local w
		echo "R $s not ok - $kver/$name: guest crash/timeout/dmesg"
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
}

# boot_decision SERIES KVER BOOTSFILE BOOT: where the matrix beside BOOTSFILE
# puts BOOT for this kernel: "run", "skip REASON: why" or "error: ...". A
# one:NAMED:REASON cell runs on the kernel of series NAMED when this run
# boots it, else on the first kernel of the class this run boots (one_done
# remembers it: queue_boots sets it): the class's other kernels skip it,
# with REASON and the kernel it runs on.
declare -A one_done=()
# series_name SERIES: its name in the matrix (sid's numeric alias is sid)
series_name() {
	case $1 in
	5.10 | 6.1) echo "$1" ;;
	[0-9]*) echo sid ;;
	*) echo "$1" ;;
	esac
}
boot_decision() {
	local s kver=$2 matrix class cell named reason x
	s=$(series_name "$1")
	matrix=$(dirname "$3")/matrix
	if [[ $3 != */boots || ! -f $matrix ]]; then
		echo run
		return
	fi
	class=$(kclass "$kver")
	cell=$(matrix_cell "$matrix" "$4" "$class")
	case $cell in
	one\ *)
		cell=${cell#one }
		named=${cell%% *}
		reason=${cell#* }
		if [[ $s == "$named" ]]; then
			echo run
			return
		fi
		for x in "${SERIES[@]}"; do
			if [[ $(series_name "$x") == "$named" ]]; then
				echo "skip ${reason%%:*} (run on $named's kernel):${reason#*:}"
				return
			fi
		done
		x=${one_done[$3/$class/$4]:-}
		if [[ -n $x && $x != "$kver" ]]; then
			echo "skip ${reason%%:*} (run on $x):${reason#*:}"
		else
			echo run
		fi
		;;
	*) echo "$cell" ;;
	esac
}

# queue_boots SERIES KVER INITRD LOGS TIMEOUT KMEMLEAK BOOTSFILE [CMDLINE [ENV]]:
# every boot of BOOTSFILE that the matrix beside it runs on this kernel's
# class, queued; CMDLINE goes before each boot's own arguments, ENV
# (VAR=VALUE ...) into the boot's environment. On a kmemleak kernel the other
# boots wait for the baseline boot.
queue_boots() {
	local s=$1 kver=$2 bootsfile=$7 matrix class bline cell after=- prio=0
	[[ $s != host-* ]] || prio=1
	matrix=$(dirname "$bootsfile")/matrix
	class=$(kclass "$kver")
	while IFS= read -r bline; do
		parse_boot "$bline"
		if [[ -n $b_err ]]; then
			result "$s" "not ok - $kver/$b_name: bad line in $bootsfile: $b_err"
			continue
		fi
		cell=$(boot_decision "$s" "$kver" "$bootsfile" "$b_name")
		case $cell in
		run) ;;
		skip\ *)
			cell=${cell#skip }
			echo "# not run: $kver/$b_name ($class kernel; ${matrix#"$REPO"/}: ${cell%%:*})"
			notrun=$((notrun + 1))
			continue
			;;
		*)
			result "$s" "not ok - $kver/$b_name: ${matrix#"$REPO"/}: ${cell#error: }"
			continue
			;;
		esac
		[[ -n ${one_done[$bootsfile/$class/$b_name]:-} ]] || one_done[$bootsfile/$class/$b_name]=$kver
		queue_boot "$prio" "$after" j_s="$s" j_kver="$kver" j_initrd="$3" j_logs="$4" \
			j_timeout="$5" j_kmemleak="$6" j_line="$bline" j_pre="${8:-}" j_env="${9:-}"
		[[ -n $6 && $b_name == baseline ]] && after=$((njobs - 1))
	done < <(boots "$bootsfile")
	flush
}

# --- host ---------------------------------------------------------------------
if [[ -z ${BG_SKIP_HOST_DEPS:-} ]]; then
	"$TEST/lib/host-deps.sh"
fi
mkdir -p "$BG_WORK/build"
# the test programs, built for this run alone: a run beside another one
# (a bench, a second clone) must not swap its binaries mid-run
tools=$(mktemp -d "$BG_WORK/build/tools.XXXXXX")
# tools_for ARCH: the test programs built for ARCH (amd64: gcc, arm64:
# aarch64-linux-gnu-gcc; -static; the demo needs vfio-hold alone), once per
# run, into $tools/ARCH; sets vfio_hold, vfio_cdev and bench to them
# (empty: not built, one "not ok" when it was tried)
declare -A tools_built=()
tools_for() {
	local a=$1 cc=gcc t p
	[[ $a == arm64 ]] && cc=aarch64-linux-gnu-gcc
	if [[ -z ${tools_built[$a]:-} ]]; then
		tools_built[$a]=1
		mkdir -p "$tools/$a"
		for t in vfio-hold vfio-cdev bench; do
			[[ $t == vfio-hold || -z $demo ]] || continue
			if ! "$cc" -static -O2 -Wall -o "$tools/$a/$t" "$TEST/tools/$t.c" >&2; then
				result host "not ok - test/tools/$t.c does not build ($a: $cc -static)"
				rm -f "$tools/$a/$t"
			fi
		done
	fi
	for t in vfio_hold:vfio-hold vfio_cdev:vfio-cdev bench:bench; do
		p=$tools/$a/${t#*:}
		[[ -f $p ]] || p=
		printf -v "${t%%:*}" '%s' "$p"
	done
}
tools_for amd64
dispatch &
dispatcher=$!

# --- per kernel ---------------------------------------------------------------
run_series() {
	local s=$1 kver t0 ko testko= logs initrd rc line
	t0=$(now)
	rc=0
	case $s in
	arm64-*) kver=$(ARCH=arm64 "$TEST/kernel/fetch-kernel.sh" "${s#arm64-}") || rc=$? ;;
	*) kver=$("$TEST/kernel/fetch-kernel.sh" "$s") || rc=$? ;;
	esac
	if ((rc == 3)) && [[ $s == debug || $s == debug-rt ]]; then
		result "$s" "ok - $s kernel suite # SKIP no $s kernel in $BG_CACHE (make check-debug builds it, 20 to 100 min)"
		return
	elif ((rc)); then
		result "$s" "not ok - $s: fetch-kernel failed"
		return
	fi
	logs=$BG_WORK/logs/$kver
	mkdir -p "$logs"
	: >"$logs/timings"
	timing "$logs" fetch "$(since "$t0")"
	tools_for "$(kernel_arch "$kver")"

	# 5.10: bullseye's own dkms (2.8) and gcc-10, in a bullseye chroot, as
	# a 5.10 user has them (below); every other kernel: the host's dkms, in
	# the kernel's build environment.
	if [[ $kver != 5.10.* ]]; then
		t0=$(now)
		if ! ko=$("$TEST/kernel/dkms-install.sh" "$kver" 2>"$logs/dkms.log"); then
			cat "$logs/dkms.log" >&2
			result "$s" "not ok - $kver: dkms build/install failed (log: $logs/dkms.log)"
			return
		fi
		timing "$logs" dkms "$(since "$t0")"
	fi

	# A sanitizer kernel (test/kernel/build-debug-kernel.sh) is slower under
	# TCG, and so is PREEMPT_RT: on a loaded host trixie-rt's main took
	# 164 s where trixie's took 57 s, and its harden passed 300 s (trixie's
	# 246 s; rt's 145 s on a quieter host).
	local timeout=${BG_BOOT_TIMEOUT:-300} kmemleak=
	if [[ -e $BG_CACHE/kernels/$kver/debug ]]; then
		timeout=${BG_BOOT_TIMEOUT:-1800}
		kmemleak=1
	elif [[ $(kclass "$kver") == rtdebug ]]; then
		timeout=${BG_BOOT_TIMEOUT:-1800}
	elif [[ $(kclass "$kver") == rt || $(kclass "$kver") == arm64 ]]; then
		timeout=${BG_BOOT_TIMEOUT:-900}
	fi

	# 5.10: bullseye's own dkms (2.8) and gcc-10, in a bullseye chroot.
	if [[ $kver == 5.10.* ]]; then
		local ch
		t0=$(now)
		if ch=$("$TEST/lib/chroot.sh" build bullseye 2>"$logs/chroot-bullseye.log") &&
			ko=$("$TEST/kernel/dkms-install.sh" --chroot "$ch" "$kver" 2>"$logs/dkms-bullseye.log"); then
			result "$s" "ok - $kver: built and installed by bullseye's dkms in a bullseye chroot"
		else
			cat "$logs/chroot-bullseye.log" "$logs/dkms-bullseye.log" >&2 2>/dev/null || true
			result "$s" "not ok - $kver: build/install with bullseye's dkms in a bullseye chroot failed (logs: $logs/chroot-bullseye.log $logs/dkms-bullseye.log)"
			return
		fi
		timing "$logs" dkms-bullseye "$(since "$t0")"
	fi

	# the test driver (the demo does not load it)
	if [[ -z $demo ]]; then
		t0=$(now)
		local bdir=$BG_WORK/build/$kver/bgtest
		rm -rf "$bdir"
		mkdir -p "$bdir"
		cp -a "$TEST/tools/bgtest/." "$bdir/"
		if "$TEST/kernel/kbuild-env.sh" "$kver" make -C "$("$TEST/kernel/kbuild-env.sh" --headers "$kver")" \
			M="$bdir" modules >"$logs/bgtest-build.log" 2>&1 &&
			[[ -f $bdir/bgtest.ko ]]; then
			testko=$bdir/bgtest.ko
		else
			cat "$logs/bgtest-build.log" >&2
			result "$s" "not ok - $kver: test/tools/bgtest does not build (log: $logs/bgtest-build.log)"
		fi
		timing "$logs" bgtest "$(since "$t0")"
	fi

	# The debug kernel signs its modules with its build key and may run
	# locked down (boot-lockdown.sh): bindguard re-signed with that key is
	# the one installed; DKMS's module (signed with DKMS's key, which the
	# kernel does not trust) and an unsigned copy go to /tests.
	# the status tool, as the package installs it
	local extra_files=("$REPO/scripts/bindguard-status:/usr/sbin/bindguard-status"
		"$REPO/scripts/bindguard-protect-boot:/usr/sbin/bindguard-protect-boot")
	[[ -n $vfio_cdev ]] && extra_files+=("$vfio_cdev:/bin/vfio-cdev")
	if [[ -e $BG_CACHE/kernels/$kver/debug ]]; then
		local hdr sdir=$BG_WORK/build/$kver/signed
		hdr=$("$TEST/kernel/kbuild-env.sh" --headers "$kver")
		rm -rf "$sdir"
		mkdir -p "$sdir"
		if [[ -f $hdr/certs/signing_key.pem && -x $hdr/scripts/sign-file ]] &&
			objcopy "$ko" "$sdir/bindguard-unsigned.ko" &&
			cp "$sdir/bindguard-unsigned.ko" "$sdir/bindguard.ko" &&
			"$hdr/scripts/sign-file" sha256 "$hdr/certs/signing_key.pem" \
				"$hdr/certs/signing_key.x509" "$sdir/bindguard.ko"; then
			extra_files+=("$ko:/tests/bindguard-dkms.ko" "$sdir/bindguard-unsigned.ko:/tests/bindguard-unsigned.ko")
			ko=$sdir/bindguard.ko
		else
			result "$s" "not ok - $kver: cannot sign bindguard with the kernel's build key ($hdr/certs/signing_key.pem, scripts/sign-file)"
		fi
	fi

	# The test build (Kbuild: make BG_FAULT_INJECT=1: fail_step=, fail_arm=)
	# for the failload boot, in the guest at /tests/fault/bindguard.ko (never
	# where modprobe looks), made where the matrix runs that boot; the module
	# DKMS built must not have its parameters, on every kernel.
	if [[ -z $demo ]]; then
		if modinfo -F parm "$ko" | grep '^fail_' >/dev/null; then
			result "$s" "not ok - $kver: the DKMS module has the test build's parameters: $(modinfo -F parm "$ko" | grep '^fail_' | cut -d: -f1 | xargs)"
		else
			result "$s" "ok - $kver: the DKMS module has no fault-injection parameter"
		fi
	fi
	local bootsfile=${BG_BOOTS_FILE:-$TEST/guest/boots}
	if [[ -z $demo ]] && boots "$bootsfile" | grep -E '^[[:space:]]*failload([[:space:]]|$)' >/dev/null &&
		[[ $(boot_decision "$s" "$kver" "$bootsfile" failload) == run ]]; then
		t0=$(now)
		local fdir=$BG_WORK/build/$kver/fault
		rm -rf "$fdir"
		mkdir -p "$fdir"
		git -C "$REPO" ls-files -z -- Kbuild Makefile src include scripts dkms.conf debian/changelog |
			(cd "$REPO" && xargs -0 cp --parents -t "$fdir")
		if "$TEST/kernel/kbuild-env.sh" "$kver" make -j"$(nproc)" -C "$fdir" \
			KDIR="$("$TEST/kernel/kbuild-env.sh" --headers "$kver")" BG_FAULT_INJECT=1 \
			W=1 KCFLAGS=-Werror >"$logs/fault-build.log" 2>&1 && [[ -f $fdir/bindguard.ko ]]; then
			extra_files+=("$fdir/bindguard.ko:/tests/fault/bindguard.ko")
		else
			cat "$logs/fault-build.log" >&2
			result "$s" "not ok - $kver: the test build (BG_FAULT_INJECT=1) does not build (log: $logs/fault-build.log)"
		fi
		timing "$logs" fault-build "$(since "$t0")"
	fi

	t0=$(now)
	initrd=$BG_WORK/build/$kver/initramfs.cpio.gz
	if ! BG_KO=$ko BG_TESTKO=$testko BG_VFIO_HOLD=$vfio_hold BG_BENCH=$bench \
		"$TEST/qemu/mkinitramfs.sh" "$kver" "$initrd" "${extra_files[@]}"; then
		result "$s" "not ok - $kver: mkinitramfs failed"
		check_build "$s" "$kver" "$logs"
		return
	fi
	timing "$logs" initramfs "$(since "$t0")"

	queue_boots "$s" "$kver" "$initrd" "$logs" "$timeout" "$kmemleak" "$bootsfile"

	# while this kernel's boots run, as nothing booted needs it
	check_build "$s" "$kver" "$logs"
}

# check_build SERIES KVER LOGS: the module builds warning-free with W=1 and
# sparse (C=1), one result. A demo boots what DKMS built and needs no more.
check_build() {
	local t0 line
	[[ -z $demo ]] || return 0
	t0=$(now)
	while IFS= read -r line; do
		case $line in
		ok* | not\ ok*) result "$1" "$line" ;;
		*) echo "$line" ;;
		esac
	done < <("$TEST/kernel/check-build.sh" "$2" || true)
	timing "$3" check-build "$(since "$t0")"
}

# host_image host-SUITE (in the background, from the start of the run): the
# host's disk image (test/host/image.sh), and for trixie its Secure Boot
# files (test/host/uefi.sh); then JOBS_DIR/host-SUITE.ready (this run's
# own) holds the variables queue_host needs, or host-SUITE.failed the
# result line.
host_image() {
	local s=$1 suite=${1#host-} t0 line logs kver oldkver img dir uefi=
	logs=$BG_WORK/logs/$s
	mkdir -p "$logs"
	: >"$logs/timings"
	t0=$(now)
	if ! line=$(BG_VFIO_HOLD=$vfio_hold "$TEST/host/image.sh" "$suite" 2> >(tee "$logs/host-image.err" >&2)); then
		echo "not ok - $s: the host image was not made (log: $logs/host-image.err)" >"$jobs_dir/$s.failed.tmp"
		mv "$jobs_dir/$s.failed.tmp" "$jobs_dir/$s.failed"
		return
	fi
	read -r kver oldkver img dir <<<"$line"
	timing "$logs" image "$(since "$t0")"
	# trixie's host boots through UEFI Secure Boot too (the uefi boots)
	if [[ $suite == trixie ]]; then
		t0=$(now)
		uefi=$(dirname "$img")/uefi
		if "$TEST/host/uefi.sh" "$dir" "$uefi" 2> >(tee "$logs/host-uefi.err" >&2); then
			timing "$logs" uefi "$(since "$t0")"
		else
			uefi=failed
		fi
	fi
	printf 'line=%q\nuefi=%q\n' "$line" "$uefi" >"$jobs_dir/$s.ready.tmp"
	mv "$jobs_dir/$s.ready.tmp" "$jobs_dir/$s.ready"
}

# queue_host host-SUITE: its boots (test/host/boots; BG_BOOTS_FILE does not
# apply, BG_BOOTS does), booted from its image with systemd as init, its
# kernel and initrd from the image's /boot; the tests test/host/run runs
# inside. Needs JOBS_DIR/host-SUITE.ready or .failed.
queue_host() {
	local s=$1 logs=$BG_WORK/logs/$1 line uefi kver oldkver img dir uefi_env=
	if [[ -e $jobs_dir/$s.failed ]]; then
		result "$s" "$(cat "$jobs_dir/$s.failed")"
		return
	fi
	eval "$(cat "$jobs_dir/$s.ready")"
	read -r kver oldkver img dir <<<"$line"
	if [[ $uefi == failed ]]; then
		result "$s" "not ok - $s: no Secure Boot files for the host image (log: $logs/host-uefi.err)"
	elif [[ -n $uefi ]]; then
		uefi_env=" BG_UEFI_DIR=$uefi"
	fi
	log "$s: booting $kver (the image was made with $oldkver, upgraded to $kver)"
	queue_boots "$s" "$kver" "$dir/boot/initrd.img-$kver" "$logs" "${BG_BOOT_TIMEOUT:-1800}" "" \
		"$TEST/host/boots" "root=/dev/vda rw" "BG_VMLINUZ=$dir/boot/vmlinuz-$kver BG_DISK=$img BG_MEM=2048$uefi_env"
}

# queue_hosts [wait]: queue the boots of each host whose image is made (with
# "wait": of every host, waiting for its image), in the order given
queue_hosts() {
	local h m
	for h in "${hosts[@]}"; do
		[[ -z ${host_queued[$h]:-} ]] || continue
		m=$jobs_dir/$h
		while [[ ${1:-} == wait && ! -e $m.ready && ! -e $m.failed ]]; do
			if ! kill -0 "$host_images" 2>/dev/null; then
				[[ -e $m.ready || -e $m.failed ]] ||
					echo "not ok - $h: the host image was not made (its maker is gone)" >"$m.failed"
				break
			fi
			flush
			sleep 1
		done
		[[ -e $m.ready || -e $m.failed ]] || return 0
		host_queued[$h]=1
		if [[ ${host_only[$h]} == all ]]; then
			queue_host "$h"
		else
			BG_BOOTS=${host_only[$h]} queue_host "$h"
		fi
	done
}

# The hosts of this run, in their order (a host named twice runs the boots
# of both), and their images made in the background, one after the other
hosts=()
declare -A host_only=() host_queued=()
for s in "${SERIES[@]}"; do
	h=${s%%:*}
	case $h in
	host-bullseye | host-trixie) ;;
	host-*)
		result "$h" "not ok - unknown host series $h (want host-bullseye or host-trixie)"
		continue
		;;
	*) continue ;;
	esac
	[[ -n ${host_only[$h]:-} ]] || hosts+=("$h")
	only=${s#*:}
	if [[ $s != *:* || -z ${only//,/} || ${host_only[$h]:-} == all ]]; then
		# host-SUITE, or host-SUITE: with no boot: all its boots
		host_only[$h]=all
	else
		for b in ${only//,/ }; do
			[[ " ${host_only[$h]:-} " == *" $b "* ]] || host_only[$h]="${host_only[$h]:-} $b"
		done
	fi
done
host_images=
if ((${#hosts[@]})); then
	# its own process group (job control on while it starts): cleanup
	# stops image.sh and its apt, DKMS and mkfs with it
	set -m
	(for h in "${hosts[@]}"; do host_image "$h"; done) </dev/null &
	host_images=$!
	set +m
fi

for s in "${SERIES[@]}"; do
	case $s in
	host-*) ;;
	*:*)
		# SERIES:BOOT[,BOOT...]: only those boots on this series (as
		# BG_BOOTS, for it alone), where the matrix runs them
		only=${s#*:}
		log "${s%%:*}: only the boots $only"
		BG_BOOTS=${only//,/ } run_series "${s%%:*}"
		;;
	*) run_series "$s" ;;
	esac
	queue_hosts
	flush
done
queue_hosts wait
if [[ -n $host_images ]]; then
	wait "$host_images" || true
	host_images=
fi
flush
echo "$njobs" >"$jobs_dir/end.tmp"
mv "$jobs_dir/end.tmp" "$jobs_dir/end"
flush wait
wait "$dispatcher" || true
dispatcher=

echo "# $(cat "$jobs_dir/retries") boots retried"
echo "# $notrun boots not run (matrix)"
summary="$passed passed, $failed failed"
((skipped)) && summary+=", $skipped skipped"
echo "$summary"
((failed == 0))
