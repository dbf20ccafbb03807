#!/bin/bash
# fetch-kernel.sh - fetch and unpack a stock Debian kernel (image, modules and
# headers) into a private cache, ready to boot in QEMU and to build against.
#
# Usage: scripts/fetch-kernel.sh SERIES        (SERIES: 6.1 or 6.12)
#
# Prints on stdout only the kernel release (e.g. 6.12.57+deb12-amd64);
# everything else goes to stderr.
#
# Nothing is installed on the host and the host's apt configuration is never
# used or modified: a private APT_CONFIG under the cache has its own
# sources.list, lists, package cache and (empty) dpkg status. The newest ABI
# of the series is resolved at run time from those lists, then
# linux-image-<abi>-amd64 (or -unsigned), linux-headers-<abi>-{amd64,common}
# and the matching linux-kbuild-* are `apt-get download`ed and `dpkg -x`ed
# into
#
#   $BG_CACHE/kernels/<kver>/root/      the unpacked packages
#   $BG_CACHE/kernels/<kver>/vmlinuz    -> root/boot/vmlinuz-<kver>
#   $BG_CACHE/kernels/<kver>/headers    -> root/usr/src/linux-headers-<kver>
#                                          (use with `make -C headers M=...`)
#
# Fix-ups after unpacking: the -amd64 headers Makefile includes the -common
# one by absolute path (rewritten to the unpacked path), lib/modules/<kver>/
# build becomes a relative link to the unpacked headers, and .ko.xz modules
# are decompressed to .ko with modules.dep regenerated (busybox modprobe in
# the guest cannot read compressed modules).
#
# Idempotent: a kernel already unpacked is not downloaded again; the package
# lists are refreshed at most every BG_APT_MAX_AGE seconds (default 6 h). If
# the mirror cannot be reached, the newest kernel of the series already in
# the cache is used.
#
# Environment: BG_CACHE (default /var/cache/bindguard), BG_APT_MAX_AGE.
#
# Series map (suites to search, ABI pattern). 5.10 (bullseye-security, needs
# gcc-10 from bullseye) and sid (needs a sid userland) are planned; only 6.1
# and 6.12 are wired up now.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
log() { echo "fetch-kernel: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -eq 1 ]] || usage
SERIES=$1
BG_CACHE=${BG_CACHE:-/var/cache/bindguard}
BG_APT_MAX_AGE=${BG_APT_MAX_AGE:-21600}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
MIRROR=${BG_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${BG_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# SERIES -> apt "distribution set" (a private apt tree each) and ABI regex.
case $SERIES in
6.1)
	DIST=bookworm
	ABI_RE='6\.1\.0-[0-9]+'
	;;
6.12)
	DIST=bookworm
	ABI_RE='6\.12\.[0-9]+\+deb12'
	;;
5.10 | sid)
	die "series $SERIES is planned but not supported yet"
	;;
*)
	die "unknown series '$SERIES' (want 6.1 or 6.12)"
	;;
esac

mkdir -p "$BG_CACHE/kernels"
exec 9>"$BG_CACHE/.fetch-kernel.lock"
flock 9

# --- private apt tree -------------------------------------------------------
APTDIR=$BG_CACHE/apt/$DIST
mkdir -p "$APTDIR"/{state/lists/partial,cache/archives/partial,etc/sources.list.d,etc/preferences.d,debs}
: >>"$APTDIR/state/status"

case $DIST in
bookworm)
	cat >"$APTDIR/etc/sources.list.tmp" <<-SRC
	deb [signed-by=$KEYRING] $MIRROR bookworm main
	deb [signed-by=$KEYRING] $SECURITY_MIRROR bookworm-security main
	SRC
	;;
esac
mv -f "$APTDIR/etc/sources.list.tmp" "$APTDIR/etc/sources.list"

cat >"$APTDIR/apt.conf" <<CONF
// Private apt configuration of scripts/fetch-kernel.sh: never the host's.
Dir::State "$APTDIR/state";
Dir::State::status "$APTDIR/state/status";
Dir::Cache "$APTDIR/cache";
Dir::Etc::SourceList "$APTDIR/etc/sources.list";
Dir::Etc::SourceParts "$APTDIR/etc/sources.list.d";
Dir::Etc::Preferences "$APTDIR/etc/preferences";
Dir::Etc::PreferencesParts "$APTDIR/etc/preferences.d";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
CONF
export APT_CONFIG=$APTDIR/apt.conf

# Newest kernel of this series already unpacked (offline fallback).
cached_kver() {
	local d best=
	for d in "$BG_CACHE"/kernels/*/; do
		d=${d%/}; d=${d##*/}
		[[ -e $BG_CACHE/kernels/$d/.complete ]] || continue
		[[ $d =~ ^${ABI_RE}-amd64$ ]] || continue
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
		echo "$kv"
		exit 0
	fi
fi

# --- resolve the newest ABI -------------------------------------------------
abi=$(apt-cache pkgnames linux-image- |
	sed -nE "s/^linux-image-(${ABI_RE})-amd64(-unsigned)?\$/\1/p" |
	sort -uV | tail -n1)
[[ -n $abi ]] || die "no linux-image-*-amd64 for series $SERIES in $DIST"
KVER=$abi-amd64
KDIR=$BG_CACHE/kernels/$KVER
log "series $SERIES -> $KVER"

if [[ -e $KDIR/.complete ]]; then
	log "already unpacked in $KDIR"
	echo "$KVER"
	exit 0
fi

# --- which packages ---------------------------------------------------------
has_pkg() { [[ -n $(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '(none)') ]]; }

image=linux-image-$KVER
if ! has_pkg "$image"; then
	image=linux-image-$KVER-unsigned
	has_pkg "$image" || die "neither linux-image-$KVER nor -unsigned available"
fi
headers=linux-headers-$KVER
# The -common headers and the kbuild package are whatever the -amd64 headers
# depend on (linux-kbuild-6.1 for 6.1, linux-kbuild-<abi> for 6.12).
deps=$(apt-cache depends "$headers" | sed -nE 's/^ *Depends: (linux-(headers-[^ ]*-common|kbuild-[^ ]*)).*/\1/p' | sort -u)
common=$(grep -- '-common$' <<<"$deps" | head -n1 || true)
kbuild=$(grep '^linux-kbuild-' <<<"$deps" | head -n1 || true)
[[ -n $common && -n $kbuild ]] || die "cannot find -common/kbuild deps of $headers (got: $deps)"
pkgs=("$image" "$headers" "$common" "$kbuild")
log "packages: ${pkgs[*]}"

# --- download and unpack ----------------------------------------------------
DEBS=$APTDIR/debs
if ! (cd "$DEBS" && apt-get -q download "${pkgs[@]}" >&2); then
	kv=$(cached_kver)
	[[ -n $kv ]] || die "download of ${pkgs[*]} failed and nothing cached for $SERIES"
	log "download failed; using cached $kv"
	echo "$kv"
	exit 0
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

# Compressed modules -> plain .ko, then regenerate modules.dep & co.
mods=$root/lib/modules/$KVER
nxz=$(find "$mods" -name '*.ko.xz' | wc -l)
if ((nxz > 0)); then
	log "decompressing $nxz .ko.xz modules"
	find "$mods" -name '*.ko.xz' -print0 | xargs -0 -r -n 64 -P 2 xz -d -f
fi
nzst=$(find "$mods" -name '*.ko.zst' | wc -l)
if ((nzst > 0)); then
	log "decompressing $nzst .ko.zst modules"
	find "$mods" -name '*.ko.zst' -print0 | xargs -0 -r -n 64 -P 2 zstd -q -d --rm -f
fi
# The package ships no modules.dep (made at install time): depmod makes it.
if [[ -f $mods/modules.dep ]]; then
	sed -i -E 's/\.ko\.(xz|zst)/.ko/g' "$mods/modules.dep"
fi
depmod -b "$root" "$KVER"

ln -sfn "root/boot/vmlinuz-$KVER" "$tmp/vmlinuz"
ln -sfn "root/$hdir" "$tmp/headers"
[[ -f $tmp/vmlinuz ]] || die "no boot/vmlinuz-$KVER in $image"
printf '%s\n' "${pkgs[@]}" >"$tmp/packages"
touch "$tmp/.complete"
rm -rf "$KDIR"
mv "$tmp" "$KDIR"
log "unpacked $KVER into $KDIR"
echo "$KVER"
