#!/bin/bash
# mkchroot.sh - create (once) a minimal Debian chroot in the cache for building
# kernel modules with that release's own userland and tools.
#
# Usage: test/mkchroot.sh SUITE        (SUITE: sid, trixie or bullseye)
#
# Prints on stdout only the chroot's directory, $BG_CACHE/chroots/SUITE.
#
#   sid:      debootstrap --variant=minbase --include=gcc,make,libc6-dev,bc,
#             kmod,pahole,libelf-dev,openssl, then dkms. sid's kbuild tools
#             (linux-kbuild-7.x) are linked against sid's libc, so sid
#             kernels are built in here; test/fetch-kernel.sh installs the
#             kernel packages into it.
#   trixie:   the same as sid, from trixie and trixie-security: Debian 13's
#             kernel (6.12+deb13) is built with trixie's gcc-14 and dkms 3.2
#             in here.
#   bullseye: the same with bullseye's names (gcc is gcc-10 there; no pahole:
#             5.10's headers ship no vmlinux, so no BTF), then dkms: the
#             bullseye dkms a 5.10 user runs.
# Packages come from the Debian mirror (and, for bullseye, the security
# mirror) that the host's apt sources name (apt-mirror.sh; BG_DEBIAN_MIRROR
# and BG_DEBIAN_SECURITY_MIRROR override them), checked with the host's
# debian-archive-keyring. The mirror's sid Release is past its
# Valid-Until date, so apt inside the sid chroot runs with
# Acquire::Check-Valid-Until=false (debootstrap itself does not check it).
# Extra packages are installed with --no-install-recommends.
#
# Idempotent: a chroot marked complete is reused as is (refreshing its
# packages is the caller's business, e.g. fetch-kernel.sh for sid's kernel);
# a half-made one is removed and made again. Needs root and debootstrap.
#
# Environment: BG_CACHE (default /var/cache/bindguard), BG_DEBIAN_MIRROR,
# BG_DEBIAN_SECURITY_MIRROR.
set -euo pipefail

log() { echo "mkchroot: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -eq 1 ]] || { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
SUITE=$1
BG_CACHE=${BG_CACHE:-/var/cache/bindguard}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/apt-mirror.sh"

case $SUITE in
sid | trixie)
	include=gcc,make,libc6-dev,bc,kmod,pahole,libelf-dev,openssl
	extra=(dkms sparse)
	;;
bullseye)
	include=gcc,make,libc6-dev,bc,kmod,libelf-dev,openssl
	extra=(dkms sparse)
	;;
*) die "unknown suite '$SUITE' (want sid, trixie or bullseye)" ;;
esac

DIR=$BG_CACHE/chroots/$SUITE
if [[ -e $DIR/.complete ]]; then
	echo "$DIR"
	exit 0
fi

command -v debootstrap >/dev/null || die "debootstrap is not installed (test/host-deps.sh)"
mkdir -p "$BG_CACHE/chroots"
exec 8>"$BG_CACHE/chroots/.$SUITE.lock"
flock 8
if [[ -e $DIR/.complete ]]; then
	echo "$DIR"
	exit 0
fi

MIRROR=$(apt_mirror) || exit 1
if [[ $SUITE != sid ]]; then
	SECURITY_MIRROR=$(apt_mirror security) || exit 1
fi

t0=$(date +%s)
rm -rf "$DIR"
log "debootstrap $SUITE into $DIR"
debootstrap --variant=minbase --include="$include" \
	--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
	"$SUITE" "$DIR" "$MIRROR" >&2 || die "debootstrap $SUITE failed"

# apt inside the chroot
{
	echo '// test/mkchroot.sh'
	echo 'APT::Install-Recommends "false";'
	echo 'Acquire::Languages "none";'
	[[ $SUITE == sid ]] && echo 'Acquire::Check-Valid-Until "false";'
} >"$DIR/etc/apt/apt.conf.d/99bindguard"
if [[ $SUITE != sid ]]; then
	cat >"$DIR/etc/apt/sources.list" <<-SRC
	deb $MIRROR $SUITE main
	deb $SECURITY_MIRROR $SUITE-security main
	SRC
fi
# no daemons may start inside the chroot
printf '#!/bin/sh\nexit 101\n' >"$DIR/usr/sbin/policy-rc.d"
chmod 0755 "$DIR/usr/sbin/policy-rc.d"

log "installing ${extra[*]} in the $SUITE chroot"
"$HERE/in-chroot.sh" "$DIR" env DEBIAN_FRONTEND=noninteractive \
	sh -c 'apt-get -q update && apt-get install -y -q --no-install-recommends "$@"' sh "${extra[@]}" >&2 ||
	die "apt-get install ${extra[*]} failed in the $SUITE chroot"
touch "$DIR/.updated"
touch "$DIR/.complete"
log "$SUITE chroot ready in $(($(date +%s) - t0))s"
echo "$DIR"
