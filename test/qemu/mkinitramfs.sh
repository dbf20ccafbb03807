#!/bin/bash
# mkinitramfs.sh - build the busybox initramfs the test guest boots.
#
# Usage: test/qemu/mkinitramfs.sh KVER OUT.cpio.gz [SRC:DEST ...]
#
# Contents (each part only if its source exists; a missing one is noted on
# stderr and skipped):
#   /init                  test/guest/init from the repo (BG_INIT overrides)
#   /bin/busybox + applets busybox-static, one symlink per applet (an arm64
#                          kernel's: the arm64 busybox-static
#                          fetch-kernel.sh unpacked beside it, which the
#                          host cannot run to list its applets: /bin/sh
#                          alone, and test/guest/init runs `busybox
#                          --install -s` first)
#   /lib/modules/KVER/     the kernel's vfio, vfio_iommu_type1, vfio-pci,
#                          e1000, e1000e, pci-stub, iommufd (where a module:
#                          the rtdebug kernel), nvme (the VF churn bench),
#                          virtio_pci (a module on 5.10), virtio_blk, ext4
#                          and crc32c_generic (which ext4
#                          asks the crypto API for: the protect boot's
#                          disk)
#                          and their dependency closure
#                          (vfio_virqfd, vfio-pci-core, irqbypass, iommufd ...
#                          whatever the modules' own `depends` say, read with
#                          the host's modinfo), at their own relative paths,
#                          decompressed (.ko.xz/.ko.zst as the package ships
#                          them: only these few are), with modules.builtin/
#                          .order; modules.dep/alias made by the host's
#                          depmod so busybox modprobe works in the guest
#   .../updates/dkms/bindguard.ko   from $BG_KO (the DKMS-installed module)
#   .../extra/bgtest.ko             from $BG_TESTKO (the test driver)
#   /tests/                all files in the repo's test/guest/
#   /bin/vfio-hold         from $BG_VFIO_HOLD (a static binary)
#   /bin/bench             from $BG_BENCH (test/tools/bench.c, static)
#   DEST                   for each extra SRC:DEST argument (DEST absolute)
#
# The kernel comes from $BG_CACHE/kernels/KVER, an arm64 one's from
# $BG_CACHE/kernels-arm64/KVER (test/kernel/fetch-kernel.sh; BG_BUSYBOX
# overrides the busybox).
# The output is rebuilt on every run (it takes about a second).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

[[ $# -ge 2 ]] || usage
KVER=$1
OUT=$2
shift 2
KDIR=$(kernel_dir "$KVER")
KROOT=$KDIR/root
KMODS=$KROOT/lib/modules/$KVER
[[ -f $KMODS/modules.order ]] || die "no unpacked kernel $KVER under $(dirname "$KDIR") (run test/kernel/fetch-kernel.sh)"
case $(kernel_arch "$KVER") in
amd64) BUSYBOX=${BG_BUSYBOX:-/bin/busybox} ;;
*) BUSYBOX=${BG_BUSYBOX:-$KDIR/busybox/busybox} ;;
esac
[[ -f $BUSYBOX ]] || die "no busybox $BUSYBOX (test/kernel/fetch-kernel.sh unpacks an arm64 kernel's)"
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' || die "$BUSYBOX is not static (install busybox-static)"

MODULES=(vfio vfio_iommu_type1 vfio-pci e1000 e1000e pci-stub iommufd nvme virtio_pci virtio_blk ext4 crc32c_generic)

ST=$(mktemp -d "${TMPDIR:-/tmp}/bg-initramfs.XXXXXX")
trap 'rm -rf "$ST"' EXIT
mkdir -p "$ST"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,tests,lib/modules/"$KVER"}

# busybox and its applets
install -m 0755 "$BUSYBOX" "$ST/bin/busybox"
if [[ $(kernel_arch "$KVER") == amd64 ]]; then
	"$BUSYBOX" --list-full | while read -r app; do
		[[ $app == bin/busybox ]] && continue
		ln -sf /bin/busybox "$ST/$app"
	done
else
	# not runnable here: the guest's init installs the applets
	ln -sf busybox "$ST/bin/sh"
fi
echo "root:x:0:0:root:/root:/bin/sh" >"$ST/etc/passwd"
echo "root:x:0:" >"$ST/etc/group"

# /init
init=${BG_INIT:-$TEST/guest/init}
if [[ -f $init ]]; then
	install -m 0755 "$init" "$ST/init"
else
	log "note: no $init: the initramfs has no /init"
fi

# kernel modules and their dependency closure, by the modules' own
# `depends` (modinfo reads .ko.xz too): only these are decompressed
declare -A modpath=() seen=()
while IFS= read -r -d '' f; do
	b=${f##*/}
	b=${b%%.ko*}
	modpath[${b//-/_}]=$f
done < <(find "$KMODS" \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \) -print0)
add_module() { # NAME
	local n=${1//-/_} f rel d
	[[ -z ${seen[$n]:-} ]] || return 0
	seen[$n]=1
	f=${modpath[$n]:-}
	if [[ -z $f ]]; then
		if grep -qE "/${n//_/[-_]}\.ko(\.[a-z]+)?$" "$KMODS/modules.builtin" 2>/dev/null; then
			log "$1: built into $KVER"
		else
			log "note: $KVER has no module $1"
		fi
		return 0
	fi
	for d in $(modinfo -F depends "$f" | tr ',' ' '); do
		add_module "$d"
	done
	rel=${f#"$KMODS"/}
	rel=${rel%.xz}
	rel=${rel%.zst}
	mkdir -p "$ST/lib/modules/$KVER/$(dirname "$rel")"
	case $f in
	*.xz) xz -dc "$f" >"$ST/lib/modules/$KVER/$rel" ;;
	*.zst) zstd -qdc "$f" >"$ST/lib/modules/$KVER/$rel" ;;
	*) cp -f "$f" "$ST/lib/modules/$KVER/$rel" ;;
	esac
}
for m in "${MODULES[@]}"; do
	add_module "$m"
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[[ -f $KMODS/$f ]] && cp "$KMODS/$f" "$ST/lib/modules/$KVER/"
done

# the module under test and the test driver
add_file() { # SRC DEST MODE what
	if [[ -n $1 && -f $1 ]]; then
		mkdir -p "$ST$(dirname "$2")"
		install -m "$3" "$1" "$ST$2"
	else
		log "note: no $4${1:+ ($1)}: skipped"
	fi
}
add_file "${BG_KO:-}" "/lib/modules/$KVER/updates/dkms/bindguard.ko" 0644 'bindguard.ko (BG_KO)'
add_file "${BG_TESTKO:-}" "/lib/modules/$KVER/extra/bgtest.ko" 0644 'bgtest.ko (BG_TESTKO)'
add_file "${BG_VFIO_HOLD:-}" /bin/vfio-hold 0755 'vfio-hold (BG_VFIO_HOLD)'
[[ -z ${BG_BENCH:-} ]] || add_file "$BG_BENCH" /bin/bench 0755 'bench (BG_BENCH)'

# the guest side of the tests
if [[ -d $TEST/guest ]] && [[ -n $(ls -A "$TEST/guest") ]]; then
	cp -a "$TEST/guest/." "$ST/tests/"
else
	log "note: no files in test/guest: /tests is empty"
fi

for spec in "$@"; do
	[[ $spec == *:/* ]] || die "extra file spec '$spec' is not SRC:/DEST"
	add_file "${spec%%:/*}" "/${spec#*:/}" 0755 "extra file"
done

depmod -b "$ST" "$KVER"

mkdir -p "$(dirname "$OUT")"
(cd "$ST" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
log "wrote $OUT ($(du -h "$OUT" | cut -f1), $(find "$ST/lib/modules" -name '*.ko' | wc -l) modules)"
