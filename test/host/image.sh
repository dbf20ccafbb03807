#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# image.sh - a real Debian host for the test suite: systemd, a stock
# kernel, DKMS, libvirt and QEMU, with bindguard installed from the
# bindguard-dkms package exactly as a user installs it; then a kernel
# upgrade, so that Debian's DKMS kernel hooks build bindguard for the new
# kernel. The result is an ext4 disk image that test/qemu/boot-guest.sh boots
# with systemd as init (test/run.sh, series host-SUITE).
#
# Usage: test/host/image.sh [--base-only] SUITE   (SUITE: bullseye or trixie)
#
# Prints on stdout one line "KVER OLDKVER IMAGE DIR": the kernel the host
# boots (the upgrade's), the kernel the image was made with, the disk image
# and the root tree it was made from (DIR/boot/vmlinuz-KVER and
# DIR/boot/initrd.img-KVER are what QEMU boots).
#
# 1. The base, made once and cached in $BG_CACHE/hosts/SUITE/base (3-5 min
#    cold; marked complete with a fingerprint of what it holds):
#    debootstrap --variant=minbase of SUITE from the suite itself only (no
#    -security, no -updates; test/lib/chroot.sh), then apt-get install --no-install-recommends
#    of systemd-sysv, udev, dbus, kmod, procps, pciutils, iproute2, trace-cmd,
#    linux-image-amd64 and linux-headers-amd64 (the suite's point-release
#    kernel: bullseye 5.10.0-32, trixie 6.12.117+deb13 when written),
#    libvirt-daemon-system, libvirt-clients and qemu-system-x86 (trixie:
#    also prometheus-node-exporter, promtool and curl, and NFD's
#    features.d directory; shim-signed, grub-efi-amd64-signed and mokutil,
#    which the secureboot boot boots with and asks: test/host/uefi.sh).
#    Then SUITE-
#    security is added to its apt sources and what the run step installs is
#    downloaded into apt's archive (--download-only): the security kernel
#    and headers, dkms and openssl, so the run step needs the mirror only
#    for what changed since. Units a test host does not need (apt's and
#    e2scrub's timers, getty on the console) are masked; a oneshot unit,
#    bindguard-host-test.service, runs /usr/local/lib/bindguard-test/run
#    (copied in at the run step) after multi-user.target's other units and
#    powers the host off when it ends, whatever its result.
# 2. The run: the base copied to $BG_CACHE/hosts/SUITE/run, and in it
#    (chroot, private mounts: test/lib/chroot.sh run)
#      apt-get install ./bindguard-dkms_*_all.deb
#    (the package's maintainer scripts build bindguard with DKMS for the
#    image's kernel), then
#      apt-get install linux-image-amd64 linux-headers-amd64
#    the upgrade to SUITE-security's kernel: its postinst and the headers'
#    run Debian's DKMS kernel hooks, which build bindguard for it. Nothing is
#    checked here: the tests inside the booted host check the result. A
#    second initrd with a reservation from boot is made for the reserve boot;
#    on trixie the previous release's module (debian/changelog's second
#    entry: git tag vVERSION, or the last commit of the history with that
#    version on top of the changelog) is built for the booted kernel too
#    (the upgrade tests). This tree is kept with a key of what it is made
#    of (the base, the package's files, the previous release's commit, this
#    script and chroot.sh): a run with the same key reuses it. Every run, the
#    test scripts (test/host/ but this one) and vfio-hold are copied in and
#    `mkfs.ext4 -d` makes $BG_CACHE/hosts/SUITE/root.img from the tree (no
#    loop mount). Steps and times go to stderr; apt's output to
#    $BG_WORK/logs/host-SUITE/image.log.
#
# The package is the newest bindguard-dkms_*_all.deb in $BG_DEB_DIR (default
# build/deb, where `make deb` leaves it); BG_DEB=FILE names one. Needs root,
# debootstrap, unshare and e2fsprogs, and the Debian mirror the host's apt
# sources name (test/apt-mirror.sh; BG_DEBIAN_MIRROR and
# BG_DEBIAN_SECURITY_MIRROR override it). Runs under nice -n ${BG_NICE:-10}.
#
# --base-only makes the base (if not cached) and stops (.ci/run makes both
# bases in the background while `make check` boots its kernels).
#
# Environment: BG_CACHE (default /var/cache/bindguard), BG_DEB, BG_DEB_DIR,
# BG_VFIO_HOLD (a static vfio-hold binary to copy in), BG_NICE; inside the
# tree only http_proxy, https_proxy and no_proxy (for apt), and umask 022
# whatever the caller's.
set -euo pipefail
umask 022
BG_ME=host-image
. "$(dirname "$0")/../lib/chroot.sh"
[[ -n ${BG_HOST_IMAGE_NICED:-} ]] || BG_HOST_IMAGE_NICED=1 exec nice -n "${BG_NICE:-10}" "$0" "$@"

BASE_ONLY=0
if [[ ${1:-} == --base-only ]]; then
	BASE_ONLY=1
	shift
fi
[[ $# -eq 1 ]] || usage
SUITE=$1
case $SUITE in
bullseye | trixie) ;;
*) die "unknown suite '$SUITE' (want bullseye or trixie)" ;;
esac

H=$BG_CACHE/hosts/$SUITE
BASE=$H/base
RUN=$H/run
IMG=$H/root.img
LOGS=$BG_WORK/logs/host-$SUITE
LOGF=$LOGS/image.log
((BASE_ONLY)) && LOGF=$LOGS/base.log
mkdir -p "$H" "$LOGS"
: >"$LOGF"

# in the image's tree, as root, apt non-interactive, none of the caller's
# environment but its proxies (chroot_run --env-i): a CC or KCFLAGS exported
# here would be built into the kept tree, which its key (below) does not
# cover
in_tree() {
	chroot_run --env-i "$1" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
		"${@:2}"
}

PACKAGES=(systemd-sysv udev dbus kmod procps pciutils iproute2 trace-cmd
	linux-image-amd64 linux-headers-amd64
	libvirt-daemon-system libvirt-clients qemu-system-x86)
# the trixie host is also a monitored one: node_exporter scrapes what
# bindguard-metrics.timer writes (test/host/fleet.sh), Debian's promtool
# (a package of its own since trixie) lints it; and it boots with UEFI
# Secure Boot (the secureboot boot): shim and GRUB signed for it, as a
# Debian installer puts them on the ESP, and mokutil, which the test and a
# user ask whether Secure Boot is on
[[ $SUITE != trixie ]] || PACKAGES+=(prometheus-node-exporter promtool curl
	shim-signed grub-efi-amd64-signed mokutil)
# what the run step installs, downloaded into the base's apt archive
RUN_PACKAGES=(linux-image-amd64 linux-headers-amd64 dkms openssl)
FINGERPRINT=$(printf '%s\n' "$SUITE" "${PACKAGES[@]}" "${RUN_PACKAGES[@]}" v2 | sha256sum | cut -c1-16)

# --- 1. the base ----------------------------------------------------------------
exec 8>"$H/.lock"
flock 8
if ! grep -qx "fingerprint $FINGERPRINT" "$BASE/.complete" 2>/dev/null; then
	MIRROR=$(apt_mirror) && SECURITY_MIRROR=$(apt_mirror security) || exit 1
	t0=$(date +%s)
	chroot_debootstrap "$SUITE" "$BASE" "$LOGF" || exit 1
	echo "deb $MIRROR $SUITE main" >"$BASE/etc/apt/sources.list"
	cat >"$BASE/etc/apt/apt.conf.d/99bindguard-host" <<-'APT'
	// test/host/image.sh: keep what was downloaded (the run step installs it)
	APT::Keep-Downloaded-Packages "true";
	Binary::apt::APT::Keep-Downloaded-Packages "true";
	APT
	log "installing ${PACKAGES[*]}"
	in_tree "$BASE" sh -c 'apt-get -q update && apt-get -q -y install "$@"' sh "${PACKAGES[@]}" \
		>>"$LOGF" 2>&1 || die "apt-get install failed in the $SUITE base (log: $LOGF)"
	echo "deb $SECURITY_MIRROR $SUITE-security main" >"$BASE/etc/apt/sources.list.d/security.list"
	log "downloading ${RUN_PACKAGES[*]} (with $SUITE-security)"
	in_tree "$BASE" sh -c 'apt-get -q update && apt-get -q -y --download-only install "$@"' sh "${RUN_PACKAGES[@]}" \
		>>"$LOGF" 2>&1 || die "apt-get --download-only failed in the $SUITE base (log: $LOGF)"

	if [[ $SUITE == trixie ]]; then
		# Node Feature Discovery's features.d, as its worker's hostPath
		# mount makes it on a node
		mkdir -p "$BASE/etc/kubernetes/node-feature-discovery/features.d"
	fi

	# the host's own configuration
	echo "bindguard-$SUITE" >"$BASE/etc/hostname"
	printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$BASE/etc/fstab"
	for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
		fstrim.timer man-db.timer serial-getty@ttyS0.service getty@tty1.service \
		systemd-timesyncd.service; do
		ln -sf /dev/null "$BASE/etc/systemd/system/$u"
	done
	cat >"$BASE/etc/systemd/system/bindguard-host-test.service" <<-'UNIT'
	# test/host/image.sh: the host tests, KTAP on ttyS1, then power off
	[Unit]
	Description=bindguard host tests (KTAP on ttyS1)
	After=multi-user.target libvirtd.service systemd-modules-load.service
	Wants=libvirtd.service
	SuccessAction=poweroff-force
	FailureAction=poweroff-force

	[Service]
	Type=oneshot
	ExecStart=/usr/local/lib/bindguard-test/run
	StandardOutput=tty
	StandardError=journal
	TTYPath=/dev/ttyS1
	TimeoutStartSec=infinity

	[Install]
	WantedBy=multi-user.target
	UNIT
	mkdir -p "$BASE/etc/systemd/system/multi-user.target.wants"
	ln -sf ../bindguard-host-test.service \
		"$BASE/etc/systemd/system/multi-user.target.wants/bindguard-host-test.service"
	# journald: keep the journal (the tests read systemd-modules-load's lines)
	mkdir -p "$BASE/var/log/journal"
	echo "fingerprint $FINGERPRINT" >"$BASE/.complete"
	log "$SUITE base ready in $(($(date +%s) - t0))s ($(du -sm "$BASE" | cut -f1) MiB)"
fi
OLDKVER=$(ls "$BASE/lib/modules" | sort -V | tail -n1)
[[ -n $OLDKVER ]] || die "no kernel in the $SUITE base"
((BASE_ONLY)) && exit 0

# --- 2. the run -----------------------------------------------------------------
deb=${BG_DEB:-$(ls -t "${BG_DEB_DIR:-$REPO/build/deb}"/bindguard-dkms_*_all.deb 2>/dev/null | head -n1 || true)}
[[ -n $deb && -f $deb ]] || die "no bindguard-dkms package (make deb)"
t0=$(date +%s)

# The previous release (debian/changelog's second entry): git tag vVERSION,
# or, in a clone without tags, the newest commit of the first-parent history
# whose changelog's top entry is that version (where the tag points).
prev=$(dpkg-parsechangelog -l "$REPO/debian/changelog" -o1 -c1 -S Version)
prev=${prev#*:}
prev=${prev%-*}
prev_commit= prev_why=
if [[ $SUITE == trixie ]]; then
	if prev_commit=$(git -C "$REPO" rev-parse -q --verify "v$prev^{commit}" 2>/dev/null); then
		:
	elif [[ $(git -C "$REPO" rev-parse --is-shallow-repository 2>/dev/null) == false ]]; then
		for c in $(git -C "$REPO" rev-list --first-parent HEAD); do
			top=$(git -C "$REPO" show "$c:debian/changelog" 2>/dev/null | sed -n 1p)
			if [[ $top == *"($prev)"* || $top == *"($prev-"* ]]; then
				prev_commit=$c
				break
			fi
		done
		[[ -n $prev_commit ]] || prev_why="no commit with $prev on top of debian/changelog"
	else
		prev_why="not a whole git clone (shallow, or no git)"
	fi
fi

# What the tree below is made of: the base, the package, the previous
# release, this script and chroot.sh. The tree of a run with the same inputs
# is reused (the same apt installs from the same archive give the same
# tree); the tests are copied in and the disk image made every run. The
# package counts by what it holds (its files' names, modes, link targets
# and contents, its control files), not its times: a package built from a
# fresh clone has the times of its build.
pkg=$(mktemp -d)
trap 'rm -rf "$pkg"' EXIT
dpkg-deb -R "$deb" "$pkg"
key=$({
	cat "$BASE/.complete"
	stat -c %Y "$BASE/.complete"
	(cd "$pkg" && find . -printf '%M %u %g %p %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
	echo "$prev_commit"
	sha256sum <"$0"
	sha256sum <"$TEST/lib/chroot.sh"
} | sha256sum | cut -c1-16)
rm -rf "$pkg"
trap - EXIT
if [[ -d $RUN && $(cat "$H/run.key" 2>/dev/null) == "$key" ]]; then
	KVER=$(ls "$RUN/lib/modules" | sort -V | tail -n1)
	log "$(date +%T) the $SUITE tree of the last run is this run's (same base, package, previous release and scripts: $key)"
else
	rm -f "$H/run.key"
	rm -rf "$RUN" "$IMG"
	cp -a --reflink=auto "$BASE" "$RUN"
	log "$(date +%T) copied the base ($(($(date +%s) - t0))s)"
	cp "$deb" "$RUN/tmp/"
	t1=$(date +%s)
	log "apt-get install ./${deb##*/}"
	in_tree "$RUN" apt-get -q -y install "/tmp/${deb##*/}" >>"$LOGF" 2>&1 ||
		die "apt-get install of ${deb##*/} failed in the $SUITE host (log: $LOGF)"
	rm -f "$RUN/tmp/${deb##*/}"
	log "  done in $(($(date +%s) - t1))s"
	t1=$(date +%s)
	log "kernel upgrade from $SUITE-security: apt-get install linux-image-amd64 linux-headers-amd64"
	in_tree "$RUN" apt-get -q -y install linux-image-amd64 linux-headers-amd64 >>"$LOGF" 2>&1 ||
		die "the kernel upgrade failed in the $SUITE host (log: $LOGF)"
	log "  done in $(($(date +%s) - t1))s"
	KVER=$(ls "$RUN/lib/modules" | sort -V | tail -n1)
	[[ $KVER != "$OLDKVER" ]] || die "$SUITE-security has no newer kernel than $OLDKVER"
	[[ -f $RUN/boot/vmlinuz-$KVER && -f $RUN/boot/initrd.img-$KVER ]] ||
		die "no /boot/vmlinuz-$KVER or initrd.img-$KVER in the $SUITE host"
	rm -f "$RUN/usr/sbin/policy-rc.d"
	in_tree "$RUN" apt-get clean >>"$LOGF" 2>&1

	# A reservation held from boot, set up as debian/README.Debian says (the
	# options and a softdep in modprobe.d, bindguard in the initramfs) but
	# into a second initrd only, DIR/boot/initrd.img-KVER.reserve, which the
	# reserve boot uses (test/host/boots: initrd=reserve): the other boots
	# keep the package's defaults. The reserved BDF is the seed's sibling
	# (test/qemu/boot-guest.sh's topology).
	t1=$(date +%s)
	conf=/etc/initramfs-tools-bindguard-reserve
	rm -rf "$RUN$conf"
	cp -a "$RUN/etc/initramfs-tools" "$RUN$conf"
	echo bindguard >>"$RUN$conf/modules"
	mkdir -p "$RUN$conf/hooks"
	cat >"$RUN$conf/hooks/bindguard-reserve" <<-'HOOK'
	#!/bin/sh
	[ "$1" = prereqs ] && exit 0
	mkdir -p "$DESTDIR/etc/modprobe.d"
	cat >"$DESTDIR/etc/modprobe.d/bindguard-reserve.conf" <<CONF
	options bindguard reserve=0000:02:02.0
	softdep e1000 pre: bindguard
	CONF
	HOOK
	chmod 755 "$RUN$conf/hooks/bindguard-reserve"
	in_tree "$RUN" mkinitramfs -d "$conf" -o "/boot/initrd.img-$KVER.reserve" "$KVER" >>"$LOGF" 2>&1 ||
		die "mkinitramfs of the reserve initrd failed in the $SUITE host (log: $LOGF)"
	log "reserve initrd (bindguard reserve=0000:02:02.0, softdep e1000) in $(($(date +%s) - t1))s"

	# The upgrade with the previous version loaded (trixie; boot-host.sh's
	# t_upgrade_*): the previous release's module built for the booted
	# kernel, as its package's DKMS would have (its dkms.conf's make), into
	# /usr/local/lib/bindguard-upgrade; the boot loads it in place of this
	# one and runs this package's configure step.
	if [[ -n $prev_commit ]]; then
		t1=$(date +%s)
		rm -rf "$RUN/tmp/bindguard-$prev"
		mkdir -p "$RUN/tmp/bindguard-$prev" "$RUN/usr/local/lib/bindguard-upgrade"
		git -C "$REPO" archive "$prev_commit" | tar -x -C "$RUN/tmp/bindguard-$prev"
		in_tree "$RUN" make -C "/tmp/bindguard-$prev" KDIR="/lib/modules/$KVER/build" modules >>"$LOGF" 2>&1 ||
			die "the $prev module (${prev_commit:0:12}) does not build for $KVER in the $SUITE host (log: $LOGF)"
		cp "$RUN/tmp/bindguard-$prev/bindguard.ko" "$RUN/usr/local/lib/bindguard-upgrade/bindguard-$prev.ko"
		rm -rf "$RUN/tmp/bindguard-$prev"
		log "the previous release's module ($prev, ${prev_commit:0:12}) for $KVER in $(($(date +%s) - t1))s"
	elif [[ $SUITE == trixie ]]; then
		log "no previous release $prev ($prev_why): the upgrade tests will say so"
	fi
	echo "$key" >"$H/run.key"
fi

# the tests, every run
rm -rf "$RUN/usr/local/lib/bindguard-test"
mkdir -p "$RUN/usr/local/lib/bindguard-test"
cp -a "$TEST/host/." "$RUN/usr/local/lib/bindguard-test/"
# this script and uefi.sh (the build side's) stay out
rm -f "$RUN/usr/local/lib/bindguard-test/image.sh" "$RUN/usr/local/lib/bindguard-test/uefi.sh"
cp "$TEST/guest/lib.sh" "$RUN/usr/local/lib/bindguard-test/"
if [[ -n ${BG_VFIO_HOLD:-} ]]; then
	cp "$BG_VFIO_HOLD" "$RUN/usr/local/lib/bindguard-test/vfio-hold"
fi
echo "$OLDKVER" >"$RUN/usr/local/lib/bindguard-test/old-kernel"
[[ -z $prev_why ]] || echo "$prev_why" >"$RUN/usr/local/lib/bindguard-test/upgrade-absent"
# The test host's bindguard-metrics.timer every 5 min, not the package's
# 30 s: under TCG each run of its unit costs the guest seconds of CPU, and
# on a loaded machine a run every 30 s starved the tests (test/host/fleet.sh
# checks the timer's first run, OnBootSec, and starts the unit itself).
mkdir -p "$RUN/etc/systemd/system/bindguard-metrics.timer.d"
cat >"$RUN/etc/systemd/system/bindguard-metrics.timer.d/bindguard-test.conf" <<-'CONF'
# test/host/image.sh: the test host's timer every 5 min (an empty
# assignment clears all its triggers: OnBootSec is given again)
[Timer]
OnUnitActiveSec=
OnBootSec=30s
OnUnitActiveSec=5min
CONF

t1=$(date +%s)
rm -f "$IMG"
mib=$(du -sm "$RUN" | cut -f1)
mkfs.ext4 -q -F -L bgroot -d "$RUN" "$IMG" "$((mib + mib / 4 + 512))M" >>"$LOGF" 2>&1 ||
	die "mkfs.ext4 -d failed (log: $LOGF)"
log "mkfs.ext4 -d: $IMG ($((mib + mib / 4 + 512)) MiB) in $(($(date +%s) - t1))s"
log "$SUITE host ready in $(($(date +%s) - t0))s: boots $KVER (made with $OLDKVER)"
echo "$KVER $OLDKVER $IMG $RUN"
