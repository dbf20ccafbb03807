#!/bin/bash
# kbuild-env.sh - run a command in the build environment of a kernel unpacked
# by test/kernel/fetch-kernel.sh, or print where its headers are in there.
#
# Usage: test/kernel/kbuild-env.sh KVER CMD [ARG...]
#        test/kernel/kbuild-env.sh --headers KVER
#
# The environment comes from $BG_CACHE/kernels/KVER/buildenv (an arm64
# kernel's in $BG_CACHE/kernels-arm64/KVER: kernel_dir, common.sh; written by
# fetch-kernel.sh; key=value lines; no file: the host as it is):
#   path=DIR      DIR is put first on PATH (5.10: bullseye's gcc-10, which
#                 its headers name as CC)
#   chroot=DIR    the command runs inside that chroot (test/lib/chroot.sh run;
#                 trixie, sid: their kbuild tools need their libc). The cache is
#                 mounted at the same path inside, so paths under $BG_CACHE
#                 can be passed as they are.
#   headers=DIR   the headers' path as seen by the command (default: the
#                 resolved $BG_CACHE/kernels/KVER/headers)
#   arch=arm64    a cross build: ARCH=arm64 and
#                 CROSS_COMPILE=aarch64-linux-gnu- are exported (Debian's
#                 headers then call aarch64-linux-gnu-gcc-<their version>)
# BG_BUILD_CHROOT=DIR overrides: run in that chroot instead (with the cache's
# headers path; e.g. the bullseye chroot, to build 5.10 with bullseye's own
# gcc and dkms).
#
# --headers prints the headers directory to pass to `make -C` or
# `dkms --kernelsourcedir` in that environment. Exit status: the command's.
#
# Environment: BG_CACHE (default /var/cache/bindguard), BG_BUILD_CHROOT.
set -euo pipefail
. "$(dirname "$0")/../lib/chroot.sh"

mode=run
if [[ ${1:-} == --headers ]]; then
	mode=headers
	shift
	[[ $# -eq 1 ]] || usage
else
	[[ $# -ge 2 ]] || usage
fi
KVER=$1
shift
KDIR=$(kernel_dir "$KVER")
[[ -d $KDIR ]] || die "no kernel $KVER in $(dirname "$KDIR")"

path= chroot= headers= arch=
if [[ -f $KDIR/buildenv ]]; then
	while IFS='=' read -r k v; do
		case $k in
		path) path=$v ;;
		chroot) chroot=$v ;;
		headers) headers=$v ;;
		arch) arch=$v ;;
		esac
	done <"$KDIR/buildenv"
fi
if [[ -n ${BG_BUILD_CHROOT:-} ]]; then
	[[ -z $chroot ]] || die "$KVER is built in $chroot only"
	chroot=$BG_BUILD_CHROOT
	path=
fi
[[ -n $headers ]] || headers=$(readlink -f "$KDIR/headers")

if [[ $mode == headers ]]; then
	echo "$headers"
	exit 0
fi
case $arch in
'') ;;
arm64) export ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- ;;
*) die "$KDIR/buildenv: unknown arch=$arch" ;;
esac
if [[ -n $chroot ]]; then
	chroot_run "$chroot" "$@"
	exit
fi
[[ -z $path ]] || export PATH=$path:$PATH
exec "$@"
