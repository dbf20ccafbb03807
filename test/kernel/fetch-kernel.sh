#!/bin/bash
# fetch-kernel.sh - fetch and unpack a stock Debian kernel (image, modules and
# headers) into a private cache, ready to boot in QEMU and to build against.
#
# Usage: test/kernel/fetch-kernel.sh SERIES
#        SERIES: 5.10, 6.1, trixie, rt or sid (the numeric series of
#        sid's newest kernel, e.g. 7.2, is accepted as an alias for sid
#        while it matches),
#        or debug, debug-rt: the KASAN/lockdep/kmemleak 6.12 kernel, or the
#        PREEMPT_RT lockdep one, that test/kernel/build-debug-kernel.sh
#        [rt] built into the cache (never built here: exit status 3 when it
#        is not there)
#        ARCH=arm64 (default amd64): Debian's arm64 kernel of series 6.1 or
#        trixie, to cross-build against (see "arm64" below)
#
# Prints on stdout only the kernel release (e.g. 6.1.0-56-amd64);
# everything else goes to stderr.
#
# Nothing is installed on the host and the host's apt configuration is never
# used or modified: a private APT_CONFIG under the cache has its own
# sources.list, lists, package cache and (empty) dpkg status. The newest ABI
# of the series is resolved at run time from those lists, then
# linux-image-<abi>-amd64 (or -unsigned), linux-headers-<abi>-{amd64,common}
# (rt: -rt-amd64, -common-rt) and the matching linux-kbuild-* are `apt-get
# download`ed and `dpkg -x`ed into
#
#   $BG_CACHE/kernels/<kver>/root/      the unpacked packages
#   $BG_CACHE/kernels/<kver>/vmlinuz    -> root/boot/vmlinuz-<kver>
#   $BG_CACHE/kernels/<kver>/headers    -> root/usr/src/linux-headers-<kver>
#                                          (use with `make -C headers M=...`)
#
# Fix-ups after unpacking: the -amd64 headers Makefile includes the -common
# one by absolute path (rewritten to the unpacked path), lib/modules/<kver>/
# build becomes a relative link to the unpacked headers. Modules stay as
# the package ships them (.ko.xz): test/qemu/mkinitramfs.sh decompresses
# the few a guest boots (busybox modprobe cannot read compressed ones), so
# a cold fetch does not decompress ~4,000 modules nor run depmod over them.
#
# Packages come from the Debian mirror and security mirror that the host's
# apt sources name (apt-mirror.sh; BG_DEBIAN_MIRROR and
# BG_DEBIAN_SECURITY_MIRROR override them). Only their URIs are taken.
#
# Idempotent: a kernel already unpacked is not downloaded again; the package
# lists are refreshed at most every BG_APT_MAX_AGE seconds (default 6 h). If
# the mirror cannot be reached, the newest kernel of the series already in
# the cache is used.
#
# Environment: ARCH, BG_CACHE (default /var/cache/bindguard), BG_APT_MAX_AGE,
# BG_RUN_START (sid), BG_DEBIAN_MIRROR, BG_DEBIAN_SECURITY_MIRROR.
#
# Series map:
#   5.10  bullseye + bullseye-security, linux-kbuild-5.10. Its headers set
#         CC=gcc-10: bullseye's gcc-10, cpp-10, libgcc-10-dev and gcc-10-base
#         are `dpkg -x`ed into $BG_CACHE/toolchains/gcc-10/root (the rest of
#         what gcc-10 needs, libisl23, libmpc3, libmpfr6, binutils, comes from
#         the bookworm host), with a `gcc-10` wrapper in
#         $BG_CACHE/toolchains/gcc-10/bin (GCC finds cc1 and libgcc relative
#         to its own location). The kernel dir's `buildenv` says
#         path=<that bin dir> (see test/kernel/kbuild-env.sh).
#   6.1   bookworm + bookworm-security: headers that build with the
#         host's own gcc-12 and dkms, no chroot (make demo's kernel).
#   trixie Debian 13's own kernel (6.12+deb13), trixie + trixie-security:
#         laid out from a trixie chroot exactly like sid (below), so that it
#         is built with trixie's gcc-14 and dkms.
#   sid   sid's kbuild tools need sid's libc, so the kernel is installed with
#         apt (linux-image-amd64, linux-headers-amd64: the newest) into the
#         chroot of test/lib/chroot.sh build sid, and laid out in the same cache
#         structure: vmlinuz and lib/modules/<kver> are copied (hard links)
#         into kernels/<kver>/root; headers
#         -> the chroot's /usr/src/linux-headers-<kver>. `buildenv` says
#         chroot=<dir>, headers=/usr/src/linux-headers-<kver>: every build
#         for it runs inside the chroot. The chroot's kernel is refreshed
#         (apt-get update + install, ~2 s when nothing changed) once per
#         test run: when BG_RUN_START (epoch seconds, set by test/run.sh) is
#         set, if it was not refreshed since then; otherwise at most every
#         BG_APT_MAX_AGE seconds. INITRD=No:
#         no initramfs is made for it (the guest boots its own).
#   rt    trixie's PREEMPT_RT kernel (6.12+deb13-rt-amd64, the flavour of
#         linux-image-rt-amd64): trixie + trixie-security in a private apt
#         tree of its own, downloaded and unpacked like 5.10 and 6.1
#         (nothing is installed in any chroot); `buildenv` says
#         chroot=<the trixie chroot>, so that trixie's gcc-14, dkms and the
#         unpacked kbuild tools (trixie's libc) build against the unpacked
#         headers, which the chroot sees at the same path.
#
# arm64 (ARCH=arm64; series 6.1 and trixie only): downloaded and unpacked
# like rt, from a private apt tree of its own (<suite>-arm64) that knows both
# architectures, into $BG_CACHE/kernels-arm64/<kver> (kernel_dir, common.sh):
# linux-image-<abi>-arm64 (or -unsigned), linux-headers-<abi>-{arm64,common}
# for arm64, and the amd64 linux-kbuild-* (the host tools kbuild runs,
# fixdep, modpost, ..., are amd64 programs). `buildenv` says arch=arm64, so
# that test/kernel/kbuild-env.sh cross-builds (ARCH=arm64,
# CROSS_COMPILE=aarch64-linux-gnu-): 6.1 on the host with bookworm's
# gcc-aarch64-linux-gnu (gcc-12, the compiler bookworm's kernel was built
# with), trixie's in the trixie chroot with trixie's (gcc-14, which its
# headers need: they pass flags gcc-12 does not know), installed there if
# missing. The guest's busybox is the suite's busybox-static for arm64,
# unpacked into <kver>/busybox/root (test/qemu/mkinitramfs.sh takes it
# from there: <kver>/busybox/busybox).
set -euo pipefail

. "$(dirname "$0")/../lib/chroot.sh"

[[ $# -eq 1 ]] || usage
SERIES=$1
ARCH=${ARCH:-amd64}
[[ $ARCH == amd64 || $ARCH == arm64 ]] || die "unknown ARCH '$ARCH' (want amd64 or arm64)"
[[ $ARCH == amd64 || $SERIES == 6.1 || $SERIES == trixie ]] ||
	die "series $SERIES has no arm64 kernel here (ARCH=arm64: 6.1 or trixie)"

if [[ $SERIES == debug || $SERIES == debug-rt ]]; then
	d=$BG_CACHE/debug-kernel flavour=
	[[ $SERIES == debug-rt ]] && d=$BG_CACHE/debug-kernel-rt flavour=' rt'
	kver=$(cat "$d/kver" 2>/dev/null) || kver=
	if [[ -z $kver || ! -e $BG_CACHE/kernels/$kver/.complete ]]; then
		log "no $SERIES kernel in $BG_CACHE (test/kernel/build-debug-kernel.sh$flavour builds one, 20 to 100 min)"
		exit 3
	fi
	log "series $SERIES -> $kver"
	echo "$kver"
	exit 0
fi
BG_APT_MAX_AGE=${BG_APT_MAX_AGE:-21600}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# SERIES -> apt "distribution set" (a private apt tree each) and ABI regex.
case $SERIES in
6.1)
	DIST=bookworm
	ABI_RE='6\.1\.0-[0-9]+'
	;;
rt)
	# trixie's suite, a tree apart from the chroot's
	DIST=rt SUITE=trixie
	ABI_RE='6\.12\.[0-9]+\+deb13[.0-9]*-rt'
	;;
5.10)
	DIST=bullseye
	ABI_RE='5\.10\.0-[0-9]+'
	;;
sid | trixie)
	DIST=$SERIES
	;;
*)
	# "7.2": sid's series, checked once sid's kernel is resolved.
	[[ $SERIES =~ ^[0-9]+\.[0-9]+$ ]] || die "unknown series '$SERIES' (want 5.10, 6.1, trixie, rt or sid)"
	DIST=sid
	;;
esac

SUITE=${SUITE:-$DIST}
if [[ $ARCH == arm64 ]]; then
	# a private apt tree of its own, never the trixie chroot
	DIST=$SUITE-arm64
	[[ $SUITE == trixie ]] && ABI_RE='6\.12\.[0-9]+\+deb13[.0-9]*'
fi
KERNELS=$(kernels_dir "$ARCH")

mkdir -p "$KERNELS"
exec 9>"$BG_CACHE/.fetch-kernel.lock"
flock 9

# --- sid, trixie: the kernel lives in a chroot of its suite -------------------
if [[ $DIST == sid || $DIST == trixie ]]; then
	CH=$(build_chroot "$DIST") || die "cannot make the $DIST chroot"
	admin=(--admindir="$CH/var/lib/dpkg")
	installed() { dpkg-query "${admin[@]}" -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }
	stamp=$CH/.kernel-updated
	mtime=0
	[[ -e $stamp ]] && mtime=$(stat -c %Y "$stamp")
	if [[ -n ${BG_RUN_START:-} ]]; then
		stale=$((mtime < BG_RUN_START))
	else
		stale=$(($(date +%s) - mtime > BG_APT_MAX_AGE))
	fi
	if ((stale)) || ! installed linux-headers-amd64 || ! installed linux-image-amd64; then
		log "refreshing the $DIST chroot's kernel (apt-get update; install linux-image-amd64 linux-headers-amd64)"
		if chroot_run "$CH" env DEBIAN_FRONTEND=noninteractive INITRD=No sh -c \
			'apt-get -q update && apt-get install -y -q --no-install-recommends linux-image-amd64 linux-headers-amd64 dkms' >&2; then
			touch "$stamp"
		elif installed linux-headers-amd64 && installed linux-image-amd64; then
			log "refresh failed; using the kernel already in the chroot"
		else
			die "cannot install $DIST's kernel in $CH"
		fi
	fi
	KVER=$(dpkg-query "${admin[@]}" -W -f='${Depends}' linux-headers-amd64 |
		sed -nE 's/.*linux-headers-([^ ,]+-amd64).*/\1/p')
	[[ -n $KVER ]] || die "cannot tell which kernel linux-headers-amd64 depends on in $CH"
	log "series $SERIES -> $KVER"
	if [[ $SERIES != "$DIST" && $KVER != "$SERIES".* ]]; then
		die "series $SERIES is not sid's: sid's newest kernel is $KVER"
	fi
	KDIR=$BG_CACHE/kernels/$KVER
	hsrc=$CH/usr/src/linux-headers-$KVER
	[[ -f $hsrc/Makefile && -f $CH/boot/vmlinuz-$KVER && -d $CH/lib/modules/$KVER ]] ||
		die "$KVER is not fully installed in $CH"
	if [[ ! -e $KDIR/.complete ]]; then
		tmp=$KDIR.tmp
		rm -rf "$tmp"
		mkdir -p "$tmp/root/boot" "$tmp/root/lib/modules"
		# hard links: same file system, no copy
		cp -al "$CH/boot/vmlinuz-$KVER" "$tmp/root/boot/"
		cp -al "$CH/lib/modules/$KVER" "$tmp/root/lib/modules/"
		rm -f "$tmp/root/lib/modules/$KVER/build" "$tmp/root/lib/modules/$KVER/source"
		ln -sfn "$(realpath -m --relative-to="$KDIR/root/lib/modules/$KVER" "$hsrc")" \
			"$tmp/root/lib/modules/$KVER/build"
		ln -sfn "root/boot/vmlinuz-$KVER" "$tmp/vmlinuz"
		ln -sfn "$(realpath -m --relative-to="$KDIR" "$hsrc")" "$tmp/headers"
		dpkg-query "${admin[@]}" -W -f='${Package} ${Version}\n' \
			"linux-image-$KVER" "linux-headers-$KVER" 'linux-headers-*-common' 'linux-kbuild-*' >"$tmp/packages" 2>/dev/null || true
		touch "$tmp/.complete"
		rm -rf "$KDIR"
		mv "$tmp" "$KDIR"
		log "laid out $KVER from the $DIST chroot in $KDIR"
	fi
	# Every build for this kernel runs in the chroot (test/kernel/kbuild-env.sh).
	printf 'chroot=%s\nheaders=%s\n' "$CH" "/usr/src/linux-headers-$KVER" >"$KDIR/buildenv"
	echo "$KVER"
	exit 0
fi

# --- private apt tree -------------------------------------------------------
MIRROR=$(apt_mirror) || exit 1
SECURITY_MIRROR=$(apt_mirror security) || exit 1
APTDIR=$BG_CACHE/apt/$DIST
mkdir -p "$APTDIR"/{state/lists/partial,cache/archives/partial,etc/sources.list.d,etc/preferences.d,debs}
: >>"$APTDIR/state/status"

cat >"$APTDIR/etc/sources.list.tmp" <<-SRC
deb [signed-by=$KEYRING] $MIRROR $SUITE main
deb [signed-by=$KEYRING] $SECURITY_MIRROR $SUITE-security main
SRC
mv -f "$APTDIR/etc/sources.list.tmp" "$APTDIR/etc/sources.list"

cat >"$APTDIR/apt.conf" <<CONF
// Private apt configuration of test/kernel/fetch-kernel.sh: never the host's.
Dir::State "$APTDIR/state";
Dir::State::status "$APTDIR/state/status";
Dir::Cache "$APTDIR/cache";
Dir::Etc::SourceList "$APTDIR/etc/sources.list";
Dir::Etc::SourceParts "$APTDIR/etc/sources.list.d";
Dir::Etc::Preferences "$APTDIR/etc/preferences";
Dir::Etc::PreferencesParts "$APTDIR/etc/preferences.d";
APT::Architecture "amd64";
APT::Architectures { "amd64"; $([[ $ARCH == amd64 ]] || echo "\"$ARCH\"; ")};
APT::Sandbox::User "root";
Acquire::Languages "none";
CONF
export APT_CONFIG=$APTDIR/apt.conf

# gcc10_toolchain: bullseye's gcc-10 unpacked into the cache (once); prints
# the directory to put first on PATH. GCC is relocatable: the driver finds
# cc1 and libgcc relative to its own path, so a wrapper that execs the
# unpacked driver by its full path is all it takes (no -B, no
# GCC_EXEC_PREFIX). binutils, libisl23, libmpc3, libmpfr6 are the host's.
gcc10_toolchain() {
	local tc=$BG_CACHE/toolchains/gcc-10 p deb pkgs=(gcc-10 cpp-10 libgcc-10-dev gcc-10-base)
	if [[ ! -e $tc/.complete ]]; then
		log "fetching bullseye's ${pkgs[*]} into $tc"
		(cd "$APTDIR/debs" && apt-get -q download "${pkgs[@]}" >&2) || return 1
		rm -rf "$tc"
		mkdir -p "$tc/root" "$tc/bin"
		for p in "${pkgs[@]}"; do
			deb=$(ls -t "$APTDIR/debs/${p}_"*.deb | head -n1)
			dpkg -x "$deb" "$tc/root"
		done
		for p in gcc-10 x86_64-linux-gnu-gcc-10 cpp-10 x86_64-linux-gnu-cpp-10; do
			printf '#!/bin/sh\n# bullseye gcc-10 unpacked by test/kernel/fetch-kernel.sh\nexec %q "$@"\n' \
				"$tc/root/usr/bin/x86_64-linux-gnu-${p#x86_64-linux-gnu-}" >"$tc/bin/$p"
			chmod 0755 "$tc/bin/$p"
		done
		echo 'int f(int x) { return x + 1; }' | "$tc/bin/gcc-10" -O2 -x c -c -o /dev/null - >&2 ||
			{ log "the unpacked gcc-10 does not compile"; return 1; }
		touch "$tc/.complete"
	fi
	echo "$tc/bin"
}

# arm64_busybox DIR: the suite's busybox-static for arm64, the guest's
# busybox (test/qemu/mkinitramfs.sh), `dpkg -x`ed into DIR/root (once);
# DIR/busybox links to it
arm64_busybox() {
	local deb f
	[[ ! -e $1/.complete ]] || return 0
	log "fetching busybox-static:arm64 ($SUITE) into $1"
	(cd "$APTDIR/debs" && apt-get -q download busybox-static:arm64 >&2) || return 1
	deb=$(ls -t "$APTDIR/debs/busybox-static_"*_arm64.deb | head -n1)
	rm -rf "$1"
	mkdir -p "$1/root"
	dpkg -x "$deb" "$1/root"
	# bookworm's in bin/, trixie's (merged /usr) in usr/bin/
	for f in bin/busybox usr/bin/busybox; do
		[[ -f $1/root/$f ]] && ln -sfn "root/$f" "$1/busybox"
	done
	[[ -f $1/busybox ]] || return 1
	echo "${deb##*/}" >"$1/package"
	touch "$1/.complete"
}

# finish KVER: write the kernel's build environment (kernels/KVER/buildenv,
# read by test/kernel/kbuild-env.sh), print KVER, exit.
finish() {
	local tc ch
	if [[ $ARCH == arm64 ]]; then
		ch=
		if [[ $SERIES == trixie ]]; then
			ch=$(build_chroot trixie) || die "cannot make the trixie chroot to build $1 in"
			chroot_run "$ch" sh -c 'command -v aarch64-linux-gnu-gcc >/dev/null ||
				{ apt-get -q update && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gcc-aarch64-linux-gnu; } >&2' ||
				die "cannot install gcc-aarch64-linux-gnu in $ch"
		elif ! command -v aarch64-linux-gnu-gcc >/dev/null; then
			log "no aarch64-linux-gnu-gcc on the host to build $1 with (test/lib/host-deps.sh installs gcc-aarch64-linux-gnu)"
		fi
		printf 'arch=arm64\n%s' "${ch:+chroot=$ch$'\n'}" >"$KERNELS/$1/buildenv"
		arm64_busybox "$KERNELS/$1/busybox" || die "cannot fetch busybox-static:arm64 for $1's initramfs"
	elif [[ $SERIES == 5.10 ]]; then
		tc=$(gcc10_toolchain) || die "cannot set up gcc-10 for $1"
		printf 'path=%s\n' "$tc" >"$KERNELS/$1/buildenv"
	elif [[ $SERIES == rt ]]; then
		ch=$(build_chroot trixie) || die "cannot make the trixie chroot to build $1 in"
		printf 'chroot=%s\n' "$ch" >"$KERNELS/$1/buildenv"
	fi
	echo "$1"
	exit 0
}

# Newest kernel of this series already unpacked (offline fallback).
cached_kver() {
	local d best=
	for d in "$KERNELS"/*/; do
		d=${d%/}; d=${d##*/}
		[[ -e $KERNELS/$d/.complete ]] || continue
		[[ $d =~ ^${ABI_RE}-${ARCH}$ ]] || continue
		best=$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -n1)
	done
	echo "$best"
}

lists_age() {
	local stamp=$APTDIR/state/.updated
	[[ -e $stamp ]] || { echo 999999999; return; }
	echo $(($(date +%s) - $(stat -c %Y "$stamp")))
}

if (($(lists_age) > BG_APT_MAX_AGE)); then
	log "updating private package lists ($DIST)"
	if apt-get -q update >&2; then
		touch "$APTDIR/state/.updated"
	else
		kv=$(cached_kver)
		[[ -n $kv ]] || die "apt-get update failed and nothing cached for $SERIES"
		log "apt-get update failed; using cached $kv"
		finish "$kv"
	fi
fi

# --- resolve the newest ABI -------------------------------------------------
abi=$(apt-cache pkgnames linux-image- |
	sed -nE "s/^linux-image-(${ABI_RE})-${ARCH}(-unsigned)?(:${ARCH})?\$/\1/p" |
	sort -uV | tail -n1)
[[ -n $abi ]] || die "no linux-image-*-$ARCH for series $SERIES in $DIST"
KVER=$abi-$ARCH
KDIR=$KERNELS/$KVER
log "series $SERIES -> $KVER"

if [[ -e $KDIR/.complete ]]; then
	log "already unpacked in $KDIR"
	finish "$KVER"
fi

# --- which packages ---------------------------------------------------------
has_pkg() { [[ -n $(apt-cache policy "$1:$ARCH" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '(none)') ]]; }

image=linux-image-$KVER
if ! has_pkg "$image"; then
	image=linux-image-$KVER-unsigned
	has_pkg "$image" || die "neither linux-image-$KVER nor -unsigned available"
fi
headers=linux-headers-$KVER
# The -common headers and the kbuild package are whatever the -amd64 headers
# depend on (linux-kbuild-6.1 for 6.1, linux-kbuild-5.10 for 5.10; rt's
# headers have their own -common-rt). For arm64: the same names, the image
# and headers arm64's, the kbuild amd64's (the host runs its tools), -common
# is for all architectures.
deps=$(apt-cache depends "$headers:$ARCH" | sed -nE 's/^ *Depends: <?(linux-(headers-[^ :>]*-common(-rt)?|kbuild-[^ :]*)).*/\1/p' | sort -u)
common=$(grep -E -- '-common(-rt)?$' <<<"$deps" | head -n1 || true)
kbuild=$(grep '^linux-kbuild-' <<<"$deps" | head -n1 || true)
[[ -n $common && -n $kbuild ]] || die "cannot find -common/kbuild deps of $headers (got: $deps)"
pkgs=("$image" "$headers" "$common" "$kbuild")
log "packages: ${pkgs[*]} ($ARCH)"

# --- download and unpack ----------------------------------------------------
DEBS=$APTDIR/debs
if ! (cd "$DEBS" && apt-get -q download "$image:$ARCH" "$headers:$ARCH" "$common" "$kbuild:amd64" >&2); then
	kv=$(cached_kver)
	[[ -n $kv ]] || die "download of ${pkgs[*]} failed and nothing cached for $SERIES"
	log "download failed; using cached $kv"
	finish "$kv"
fi

tmp=$KDIR.tmp
rm -rf "$tmp"
mkdir -p "$tmp/root"
for p in "${pkgs[@]}"; do
	deb=$(ls -t "$DEBS/${p}_"*.deb | head -n1)
	log "unpacking ${deb##*/}"
	dpkg -x "$deb" "$tmp/root"
done

root=$tmp/root
hdir=usr/src/linux-headers-$KVER
# trixie's packages (merged /usr, rt) ship the modules in usr/lib/modules:
# moved to lib/modules, where the other kernels have them
if [[ ! -d $root/lib/modules/$KVER && -d $root/usr/lib/modules/$KVER ]]; then
	mkdir -p "$root/lib/modules"
	mv "$root/usr/lib/modules/$KVER" "$root/lib/modules/"
fi
[[ -f $root/$hdir/Makefile ]] || die "no $hdir/Makefile in the headers package"
[[ -d $root/lib/modules/$KVER ]] || die "no lib/modules/$KVER in $image"

# -amd64/Makefile: "include /usr/src/linux-headers-<abi>-common/Makefile".
# Rewritten to the final (not the .tmp) location.
final_root=$KDIR/root
sed -i -E "s#^(include[[:space:]]+)/usr/src/#\1$final_root/usr/src/#" "$root/$hdir/Makefile"
grep -q "$final_root/usr/src/" "$root/$hdir/Makefile" || die "did not find the -common include in $hdir/Makefile"

# Any other absolute symlinks inside the tree (build, source, scripts, ...)
# become relative so the tree works where it is.
while IFS= read -r link; do
	target=$(readlink "$link")
	[[ $target == /* ]] || continue
	ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$root$target")" "$link"
done < <(find "$root" -type l)

ln -sfn "root/boot/vmlinuz-$KVER" "$tmp/vmlinuz"
ln -sfn "root/$hdir" "$tmp/headers"
[[ -f $tmp/vmlinuz ]] || die "no boot/vmlinuz-$KVER in $image"
printf '%s\n' "${pkgs[@]}" >"$tmp/packages"
touch "$tmp/.complete"
rm -rf "$KDIR"
mv "$tmp" "$KDIR"
log "unpacked $KVER into $KDIR"
finish "$KVER"
