#!/bin/bash
# build-debug-kernel.sh - build one of the two 6.12 debug kernels from
# Debian's linux-source-6.12 for the test guests, and lay it out in the cache
# like fetch-kernel.sh lays out a stock kernel, so mkinitramfs.sh,
# boot-guest.sh and dkms-install.sh take it as is:
#   kasan  (default; series `debug`, release 6.12.N-bgdebug) the sanitizer
#          kernel: KASAN, lockdep, kmemleak, debug objects, module signing
#          and the lockdown LSM
#   rt     (series `debug-rt`, release 6.12.N-bgdebug-rt) PREEMPT_RT with
#          DEBUG_ATOMIC_SLEEP, PROVE_LOCKING and PROVE_RAW_LOCK_NESTING
#          (a sleeping lock taken in atomic context, or a spinlock_t nested
#          in a raw_spinlock_t, is reported at once, not only under
#          contention), debug objects; and what no Debian kernel enables:
#          IOMMUFD with the vfio device cdev (/dev/vfio/devices/vfioN) and
#          VFIO_NOIOMMU. No KASAN or kmemleak: on 6.12 KASAN's aux stack
#          recording allocates under raw locks, which PROVE_RAW_LOCK_NESTING
#          reports in stock code (fixed upstream in 6.14), and each would
#          slow every boot further.
# Each has its build tree ($BG_CACHE/debug-kernel, $BG_CACHE/debug-kernel-rt)
# and both stay in the cache.
#
# Usage: test/kernel/build-debug-kernel.sh [--rebuild] [kasan|rt]
#
# Prints on stdout only the kernel release (e.g. 6.12.117-bgdebug);
# everything else goes to stderr, the build's own output to
# $BG_CACHE/debug-kernel[-rt]/build.log (its tail is printed on failure).
#
# Time, measured here (2 cores, 2026-11-22, other sessions' TCG test boots
# running now and then, load average ~3.5): `make -j2 bzImage modules` at
# nice 19 took 18 min 12 s (user 22 min, sys 3 min), the whole script from
# an unpacked tree 18 min 23 s; unpacking the .deb adds ~11 s, the download
# a few seconds. A run with the kernel already built returns at once; one
# after an interruption resumes make where it stopped. Changing the options
# below rebuilds nearly everything: adding module signing and the lockdown
# LSM (2026-11-26) took 71 min at nice 19 beside test boots, two host image
# builds and a DKMS build or two at a time.
#
# Steps:
#   1. host build tools (gcc make flex bison libelf-dev libssl-dev bc cpio
#      kmod xz-utils perl), `apt-get install --no-install-recommends` only
#      when one is missing;
#   2. `apt-get download linux-source-6.12` (the host's apt sources: bookworm
#      and bookworm-security) into $BG_CACHE/debug-kernel/deb, `dpkg -x`, and
#      its usr/src/linux-source-6.12.tar.xz untarred into
#      $BG_CACHE/debug-kernel/src/linux-source-6.12 (the build tree);
#   3. `make x86_64_defconfig kvm_guest.config`, scripts/config with the
#      options in WANT below, `make olddefconfig`, and a check that every
#      option came out as wanted (fatal for KASAN, PROVE_LOCKING,
#      DEBUG_KMEMLEAK, VFIO_PCI, E1000, INTEL_IOMMU, DYNAMIC_FTRACE_WITH_REGS
#      and KPROBES; a warning for the others);
#   4. `nice -n 19 make -j2 bzImage modules` (nice: test boots running at the
#      same time keep the CPU), `modules_install INSTALL_MOD_STRIP=1`;
#   5. the cache layout of a stock kernel:
#        $BG_CACHE/kernels/<kver>/vmlinuz   arch/x86/boot/bzImage (a copy)
#        $BG_CACHE/kernels/<kver>/headers   -> the build tree (relative link;
#                                             `make -C headers M=...` works,
#                                             checked with a trivial module)
#        $BG_CACHE/kernels/<kver>/root/lib/modules/<kver>/  modules,
#                                             modules.dep (depmod -b), build
#                                             -> ../../../../headers
#        $BG_CACHE/kernels/<kver>/debug     marker: this is the KASAN kernel
#                                             (holds the config fingerprint;
#                                             `rtdebug` for the rt flavour)
#        $BG_CACHE/kernels/<kver>/.complete as fetch-kernel.sh writes it
#      and $BG_CACHE/debug-kernel[-rt]/kver holds <kver>.
#
# Config choices worth knowing: DEBUG_KMEMLEAK_AUTO_SCAN is off (scans
# happen only when the test writes "scan" to /sys/kernel/debug/kmemleak, so
# no report appears at a random time in dmesg); INTEL_IOMMU is built but off
# by default (the guest passes intel_iommu=on, as for the stock kernels);
# DEBUG_KOBJECT_RELEASE delays every kobject release by 1-4 s at random and
# logs each at info level ("kobject: 'eth0' (...): kobject_release, parent
# ... (delayed 2000)"); rmmod waits for its module's kobject, so each rmmod
# takes seconds longer (rmmod e1000 with two NICs: ~11-13 s under TCG);
# no debug info, no BTF, modules signed with the build's own key
# (certs/signing_key.pem in the tree: headers/certs/; the test suite signs
# bindguard with it for the lockdown boot), the lockdown LSM built in but off
# unless the command line says lockdown=; LOCALVERSION=-bgdebug.
#
# Boot (boot-guest.sh as is, TCG): ~20 s to /init (stock 6.12: ~2-4 s);
# loading vfio-pci, e1000, pci-stub and two kmemleak scans 5 s apart,
# QEMU start to poweroff ~50 s. Stock code then reports nothing (no KASAN,
# lockdep, kmemleak, ODEBUG or WARNING), but prints at boot
# "kmemleak: Kernel memory leak detector initialized (mem pool available:
# N)", which test/run.sh's word pattern for reports matches.
#
# Idempotent: if $BG_CACHE/debug-kernel/kver names a complete kernel built
# with the same options (fingerprint of WANT), its kver is printed at once.
# --rebuild (or BG_DEBUG_REBUILD=1) builds again; a newer linux-source-6.12
# on the mirror is taken only then. The build itself is incremental: an
# interrupted run resumes where make stopped. Only one debug kernel is kept.
#
# Environment: BG_CACHE (default /var/cache/bindguard), BG_DEBUG_JOBS
# (make -j, default: number of CPUs).
set -euo pipefail

. "$(dirname "$0")/../lib/common.sh"

REBUILD=${BG_DEBUG_REBUILD:-0}
FLAVOUR=kasan
for a in "$@"; do
	case $a in
	--rebuild) REBUILD=1 ;;
	kasan | rt) FLAVOUR=$a ;;
	*) usage ;;
	esac
done

JOBS=${BG_DEBUG_JOBS:-$(nproc)}
PKG=linux-source-6.12
if [[ $FLAVOUR == rt ]]; then
	LOCALVERSION=-bgdebug-rt MARKER=rtdebug D=$BG_CACHE/debug-kernel-rt
else
	LOCALVERSION=-bgdebug MARKER=debug D=$BG_CACHE/debug-kernel
fi
SRC=$D/src/$PKG
LOGF=$D/build.log

# Wanted options: NAME=y|m|n or NAME="string" (scripts/config syntax).
# Order matters only for readability; olddefconfig resolves the rest.
# COMMON: both flavours; KASAN_WANT and RT_WANT: one each.
COMMON=(
	MODULES=y MODULE_UNLOAD=y
	LOCALVERSION_AUTO=n WERROR=n
	# the guest: serial console, initramfs, devtmpfs
	SERIAL_8250=y SERIAL_8250_CONSOLE=y DEVTMPFS=y BLK_DEV_INITRD=y
	# the devices and drivers of the test topology
	PCI_STUB=m E1000=m E1000E=m
	INTEL_IOMMU=y IRQ_REMAP=y
	INTEL_IOMMU_DEFAULT_ON=n INTEL_IOMMU_DEFAULT_OFF=y
	IOMMUFD=m IOMMUFD_VFIO_CONTAINER=n
	VFIO=m VFIO_GROUP=y VFIO_CONTAINER=y VFIO_IOMMU_TYPE1=m VFIO_PCI=m
	HOTPLUG_PCI=y HOTPLUG_PCI_PCIE=y HOTPLUG_PCI_SHPC=y HOTPLUG_PCI_ACPI=y
	# what bindguard needs
	FTRACE=y FUNCTION_TRACER=y DYNAMIC_FTRACE=y DYNAMIC_FTRACE_WITH_REGS=y
	KPROBES=y KRETPROBES=y DEBUG_FS=y
	DEBUG_KERNEL=y PROVE_LOCKING=y DEBUG_ATOMIC_SLEEP=y
	DEBUG_OBJECTS=y DEBUG_OBJECTS_RCU_HEAD=y DEBUG_OBJECTS_WORK=y DEBUG_OBJECTS_TIMERS=y
	DEBUG_LIST=y
	# no debug info (size, time), hence no BTF
	DEBUG_INFO_NONE=y DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=n DEBUG_INFO_DWARF4=n
	DEBUG_INFO_DWARF5=n DEBUG_INFO=n DEBUG_INFO_BTF=n
)
RT_WANT=(
	LOCALVERSION='"-bgdebug-rt"'
	EXPERT=y PREEMPT_RT=y PROVE_RAW_LOCK_NESTING=y
	# the vfio device cdev bound to an iommufd, and no-IOMMU groups
	VFIO_DEVICE_CDEV=y VFIO_NOIOMMU=y
	KASAN=n DEBUG_KMEMLEAK=n
)
KASAN_WANT=(
	LOCALVERSION='"-bgdebug"'
	# module signing with the build's own key (certs/signing_key.pem,
	# made by the build), in-tree modules signed at modules_install;
	# unsigned modules still load (and taint) unless locked down
	MODULE_SIG=y MODULE_SIG_ALL=y MODULE_SIG_FORCE=n MODULE_SIG_SHA256=y
	# the lockdown LSM, off unless the command line says lockdown=
	SECURITY=y SECURITY_LOCKDOWN_LSM=y SECURITY_LOCKDOWN_LSM_EARLY=y
	LOCK_DOWN_KERNEL_FORCE_NONE=y
	# sanitizers
	KASAN=y KASAN_GENERIC=y KASAN_INLINE=y KASAN_OUTLINE=n
	DEBUG_KMEMLEAK=y DEBUG_KMEMLEAK_DEFAULT_OFF=n DEBUG_KMEMLEAK_AUTO_SCAN=n
	DEBUG_KOBJECT_RELEASE=y
)
# Missing one of these is fatal; the others only warn.
MUST=(PROVE_LOCKING DEBUG_ATOMIC_SLEEP VFIO_PCI E1000 INTEL_IOMMU DYNAMIC_FTRACE_WITH_REGS KPROBES)
if [[ $FLAVOUR == rt ]]; then
	WANT=("${COMMON[@]}" "${RT_WANT[@]}")
	MUST+=(PREEMPT_RT PROVE_RAW_LOCK_NESTING IOMMUFD VFIO_DEVICE_CDEV VFIO_NOIOMMU)
else
	WANT=("${COMMON[@]}" "${KASAN_WANT[@]}")
	MUST+=(KASAN DEBUG_KMEMLEAK MODULE_SIG MODULE_SIG_ALL SECURITY_LOCKDOWN_LSM)
fi
FINGERPRINT=$(printf '%s\n' "$PKG" "${WANT[@]}" | sha256sum | cut -c1-16)

# --- already built? ---------------------------------------------------------
ready() { # KVER
	local k=$BG_CACHE/kernels/$1
	[[ -n $1 && -e $k/.complete && -f $k/vmlinuz && -f $k/headers/Makefile &&
		-f $k/root/lib/modules/$1/modules.dep ]] &&
		grep -qx "fingerprint $FINGERPRINT" "$k/$MARKER" 2>/dev/null
}
if [[ $REBUILD != 1 && -f $D/kver ]]; then
	kv=$(cat "$D/kver")
	if ready "$kv"; then
		log "$kv already built in $BG_CACHE/kernels/$kv"
		echo "$kv"
		exit 0
	fi
fi

mkdir -p "$D/deb" "$D/src" "$BG_CACHE/kernels"
exec 9>"$D/.lock"
flock 9
t0=$(date +%s)

# --- 1. host build tools ----------------------------------------------------
need=()
for p in gcc make libc6-dev flex bison libelf-dev libssl-dev bc cpio kmod xz-utils perl; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
	log "installing ${need[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2; then
		apt-get -q update >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
	fi
fi

# --- 2. linux-source-6.12 ---------------------------------------------------
ver=$(apt-cache policy "$PKG" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
if [[ -z $ver || $ver == '(none)' ]]; then
	apt-get -q update >&2 || true
	ver=$(apt-cache policy "$PKG" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
fi
deb=
if [[ -n $ver && $ver != '(none)' ]]; then
	deb=$D/deb/${PKG}_${ver/:/%3a}_all.deb
	if [[ ! -f $deb ]]; then
		log "downloading $PKG $ver"
		if ! (cd "$D/deb" && apt-get -q -o APT::Sandbox::User=root download "$PKG=$ver" >&2); then
			log "download failed"
			deb=
		fi
	fi
fi
if [[ -z $deb || ! -f $deb ]]; then
	deb=$(ls -t "$D"/deb/"${PKG}"_*_all.deb 2>/dev/null | head -n1 || true)
	[[ -n $deb ]] || die "cannot download $PKG and none in $D/deb"
	log "using $deb"
fi
debver=$(dpkg-deb -f "$deb" Version)
# Only the newest .deb is kept.
find "$D/deb" -maxdepth 1 -name "${PKG}_*.deb" ! -path "$deb" -delete

if [[ ! -f $SRC/Makefile || $(cat "$D/src/.version" 2>/dev/null) != "$debver" ]]; then
	log "unpacking $PKG $debver into $SRC"
	rm -rf "$SRC" "$D/src/.version" "$D/deb/root"
	dpkg -x "$deb" "$D/deb/root"
	tar -C "$D/src" -xf "$D/deb/root/usr/src/$PKG.tar.xz"
	rm -rf "$D/deb/root"
	[[ -f $SRC/Makefile ]] || die "no $PKG/Makefile in $PKG.tar.xz"
	echo "$debver" >"$D/src/.version"
fi

# --- 3. configuration -------------------------------------------------------
kmake() { nice -n 19 make -C "$SRC" -j"$JOBS" "$@"; }
log "configuring (x86_64_defconfig kvm_guest.config + ${#WANT[@]} options)"
: >"$LOGF"
kmake x86_64_defconfig kvm_guest.config >>"$LOGF" 2>&1 || { tail -n 40 "$LOGF" >&2; die "defconfig failed"; }
args=()
for w in "${WANT[@]}"; do
	n=${w%%=*} v=${w#*=}
	case $v in
	y) args+=(--enable "$n") ;;
	m) args+=(--module "$n") ;;
	n) args+=(--disable "$n") ;;
	\"*\") v=${v#\"}; args+=(--set-str "$n" "${v%\"}") ;;
	*) die "bad WANT entry $w" ;;
	esac
done
"$SRC/scripts/config" --file "$SRC/.config" "${args[@]}"
kmake olddefconfig >>"$LOGF" 2>&1 || { tail -n 40 "$LOGF" >&2; die "olddefconfig failed"; }

bad=0
for w in "${WANT[@]}"; do
	n=${w%%=*} v=${w#*=}
	case $v in
	n) got=$(grep "^CONFIG_$n=" "$SRC/.config") || continue ;;
	*) grep -qx "CONFIG_$n=$v" "$SRC/.config" && continue
	   got=$(grep "^CONFIG_$n=\|^# CONFIG_$n is not set" "$SRC/.config" || echo "CONFIG_$n absent") ;;
	esac
	if printf '%s\n' "${MUST[@]}" | grep -x "$n" >/dev/null; then
		log "error: wanted $n=$v, got: $got"
		bad=1
	else
		log "warning: wanted $n=$v, got: $got"
	fi
done
for n in "${MUST[@]}"; do
	grep -q "^CONFIG_$n=[ym]" "$SRC/.config" || { log "error: CONFIG_$n missing"; bad=1; }
done
((bad == 0)) || die "the configuration lacks required options (see above)"

# --- 4. build ---------------------------------------------------------------
log "building bzImage and modules (make -j$JOBS at nice 19; log: $LOGF)"
tb=$(date +%s)
if ! kmake bzImage modules >>"$LOGF" 2>&1; then
	tail -n 60 "$LOGF" >&2
	die "kernel build failed (full log: $LOGF)"
fi
tbuild=$(($(date +%s) - tb))
log "built in $((tbuild / 60)) min $((tbuild % 60)) s"
KVER=$(cat "$SRC/include/config/kernel.release")
[[ $KVER == *"$LOCALVERSION" ]] || die "kernel release '$KVER' does not end in $LOCALVERSION"
log "kernel release $KVER"

# --- 5. cache layout --------------------------------------------------------
KDIR=$BG_CACHE/kernels/$KVER
tmp=$KDIR.tmp
rm -rf "$tmp"
mkdir -p "$tmp/root"
kmake modules_install INSTALL_MOD_PATH="$tmp/root" INSTALL_MOD_STRIP=1 >>"$LOGF" 2>&1 ||
	{ tail -n 40 "$LOGF" >&2; die "modules_install failed"; }
mods=$tmp/root/lib/modules/$KVER
[[ -d $mods ]] || die "modules_install made no $mods"
# modules_install links build (and source, with O=) to the absolute tree.
rm -f "$mods/build" "$mods/source"
ln -s ../../../../headers "$mods/build"
depmod -b "$tmp/root" "$KVER"
[[ -f $mods/modules.dep ]] || die "depmod made no modules.dep"
cp "$SRC/arch/x86/boot/bzImage" "$tmp/vmlinuz"
ln -s "$(realpath -m --relative-to="$KDIR" "$SRC")" "$tmp/headers"
[[ -f $tmp/headers/Makefile ]] || die "headers link $tmp/headers is broken"

# Drop any previous kernel of this flavour (its headers link points at this
# tree now).
for old in "$BG_CACHE"/kernels/*/"$MARKER"; do
	[[ -e $old ]] || continue
	o=$(dirname "$old")
	[[ $o == "$KDIR" ]] || { log "removing the previous debug kernel ${o##*/}"; rm -rf "$o"; }
done
rm -rf "$KDIR"
mv "$tmp" "$KDIR"

# A trivial external module built against headers/ (as DKMS will).
t=$(mktemp -d "${TMPDIR:-/tmp}/bg-dbgmod.XXXXXX")
trap 'rm -rf "$t"' EXIT
cat >"$t/bgdbgprobe.c" <<'EOF'
#include <linux/module.h>
static int __init bgdbgprobe_init(void) { return 0; }
static void __exit bgdbgprobe_exit(void) { }
module_init(bgdbgprobe_init);
module_exit(bgdbgprobe_exit);
MODULE_LICENSE("GPL");
EOF
echo 'obj-m := bgdbgprobe.o' >"$t/Kbuild"
make -C "$KDIR/headers" M="$t" modules >>"$LOGF" 2>&1 ||
	{ tail -n 30 "$LOGF" >&2; die "a trivial module does not build against $KDIR/headers"; }
vm=$(modinfo -F vermagic "$t/bgdbgprobe.ko")
[[ $vm == "$KVER "* ]] || die "trivial module has vermagic '$vm', not $KVER"

ttotal=$(($(date +%s) - t0))
{
	echo "fingerprint $FINGERPRINT"
	echo "source $PKG $debver"
	echo "tree $SRC"
	echo "built $(date -u +%FT%TZ) make ${tbuild}s total ${ttotal}s -j$JOBS on $(nproc) CPUs"
	printf 'want %s\n' "${WANT[@]}"
} >"$KDIR/$MARKER"
echo "$PKG=$debver" >"$KDIR/packages"
touch "$KDIR/.complete"
echo "$KVER" >"$D/kver"
log "$KVER ready in $KDIR (total ${ttotal}s)"
echo "$KVER"
