# common.sh - the preamble every harness script sources, never runs:
#
#   set -euo pipefail
#   . "$(dirname "$0")/../lib/common.sh"     (a script in test/<group>/)
#
# Sets REPO (the top of the repository), TEST ($REPO/test), BG_CACHE
# (exported; default /var/cache/bindguard: kernels, chroots, images) and
# BG_WORK (exported; default $BG_CACHE: the run's build/, dkms/ and logs/;
# give each checkout its own to run two at once), and defines
#   log MSG...    "<script>: MSG" on stderr (<script>: its name without .sh)
#   die MSG...    log "error: MSG", exit 1
#   usage         the script's header comment (line 2 to its `set -euo`
#                 line, "# " stripped) on stderr, exit 2
#   now, since T  seconds since the epoch with fractions; seconds since T,
#                 one decimal (phase timings)
#   kernels_dir [ARCH]  where test/kernel/fetch-kernel.sh unpacks kernels:
#                 $BG_CACHE/kernels (amd64, the default), or
#                 $BG_CACHE/kernels-arm64
#   kernel_dir KVER  that kernel's directory in there (an arm64 one by its
#                 release's -arm64 suffix)
#   kernel_arch KVER  arm64 for an -arm64 release, else amd64
# A script may set BG_ME before sourcing to log under another name.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST=$REPO/test
export BG_CACHE=${BG_CACHE:-/var/cache/bindguard}
export BG_WORK=${BG_WORK:-$BG_CACHE}
BG_ME=${BG_ME:-$(basename "$0" .sh)}

log() { echo "$BG_ME: $*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }
kernels_dir() {
	case ${1:-amd64} in
	amd64) echo "$BG_CACHE/kernels" ;;
	*) echo "$BG_CACHE/kernels-$1" ;;
	esac
}
kernel_dir() {
	echo "$(kernels_dir "$(kernel_arch "$1")")/$1"
}
kernel_arch() {
	case $1 in
	*-arm64) echo arm64 ;;
	*) echo amd64 ;;
	esac
}

# for_each_awk RUN REPORT: the fixture checks of a POSIX sh + awk program
# (test/status-check.sh, test/protect-boot-check.sh) under each awk a host
# may have: for gawk, mawk and busybox's, $bin ($work/bin-SET) holds that
# awk (busybox: all its applets), $shell is the sh to run the program with
# (busybox's own sh for busybox), $set names the set, and RUN is called;
# REPORT skip "SET: every check" WHY when that awk is not installed.
for_each_awk() {
	for set in gawk mawk busybox; do
		bin=$work/bin-$set
		mkdir -p "$bin"
		shell=sh
		case $set in
		busybox)
			command -v busybox >/dev/null && busybox --install -s "$bin" && shell="busybox sh"
			;;
		*)
			! command -v $set >/dev/null || ln -s "$(command -v $set)" "$bin/awk"
			;;
		esac
		if [[ ! -e $bin/awk ]]; then
			"$2" skip "$set: every check" "$set is not installed"
			continue
		fi
		"$1"
	done
}
