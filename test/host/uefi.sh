#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# uefi.sh - the firmware and boot files of a host booted through UEFI Secure
# Boot (test/host/boots: the secureboot boot, key `uefi`), for
# test/qemu/boot-guest.sh's BG_UEFI.
#
# Usage: test/host/uefi.sh DIR OUT
#
# DIR is the host's root tree (test/host/image.sh's fourth word); OUT gets
#   shimx64.efi, grubx64.efi   DIR's shim-signed (shim, signed by Microsoft's
#                  UEFI CA, with Debian's CA built in) and grub-efi-amd64-signed
#                  (GRUB, signed by Debian): what a Debian installer puts on
#                  the ESP. The kernel (DIR/boot/vmlinuz-KVER) is Debian's
#                  signed one.
#   OVMF_CODE_4M.secboot.fd    trixie's ovmf: firmware that enforces Secure
#                  Boot (SMM; QEMU's secure pflash)
#   OVMF_VARS.fd   trixie's OVMF_VARS_4M.ms.fd (Microsoft's KEK and db keys,
#                  Secure Boot on) with DKMS's certificate, DIR/var/lib/dkms/
#                  mok.pub (DER, made when DKMS first signed bindguard in the
#                  image), in shim's MokList: `virt-fw-vars --add-mok`
#                  (python3-virt-firmware) writes what `mokutil --import`
#                  and a MokManager confirmation write on a real machine.
#                  shim hands MokList to the kernel (MokListRT), which puts
#                  the key in its .machine keyring, trusted for modules.
#   mok.pem        that certificate as PEM (what --add-mok reads)
# ovmf and python3-virt-firmware are trixie's (bookworm has no
# python3-virt-firmware): installed on first use in the trixie build chroot
# (test/lib/chroot.sh build trixie), which runs virt-fw-vars.
#
# Environment: BG_CACHE (default /var/cache/bindguard).
set -euo pipefail
BG_ME=host-uefi
. "$(dirname "$0")/../lib/chroot.sh"

[[ $# -eq 2 ]] || usage
DIR=$1
OUT=$2
mok=$DIR/var/lib/dkms/mok.pub
shim=$DIR/usr/lib/shim/shimx64.efi.signed
grub=$DIR/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
for f in "$mok" "$shim" "$grub"; do
	[[ -f $f ]] || die "no $f in the host tree"
done

ch=$(build_chroot trixie) || die "no trixie chroot"
if ! [[ -f $ch/usr/share/OVMF/OVMF_VARS_4M.ms.fd && -x $ch/usr/bin/virt-fw-vars ]]; then
	# fetch-kernel.sh's lock: one apt at a time in the build chroots (the
	# run's next series may be refreshing this chroot's kernel meanwhile)
	exec 9>"$BG_CACHE/.fetch-kernel.lock"
	flock 9
	if ! [[ -f $ch/usr/share/OVMF/OVMF_VARS_4M.ms.fd && -x $ch/usr/bin/virt-fw-vars ]]; then
		log "installing ovmf and python3-virt-firmware in the trixie chroot"
		chroot_run "$ch" env DEBIAN_FRONTEND=noninteractive \
			sh -c 'apt-get -q update && apt-get install -y -q --no-install-recommends ovmf python3-virt-firmware' >&2 ||
			die "apt-get install ovmf python3-virt-firmware failed in the trixie chroot"
	fi
	exec 9>&-
fi

rm -rf "$OUT"
mkdir -p "$OUT"
cp "$shim" "$OUT/shimx64.efi"
cp "$grub" "$OUT/grubx64.efi"
cp "$ch/usr/share/OVMF/OVMF_CODE_4M.secboot.fd" "$OUT/"
openssl x509 -inform DER -in "$mok" -out "$OUT/mok.pem" || die "$mok is not a DER certificate"
# the owner GUID of a MOK entry: shim's own (SHIM_LOCK_GUID), as mokutil writes it
tmp=$(mktemp -d "$ch/tmp/uefi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$ch/usr/share/OVMF/OVMF_VARS_4M.ms.fd" "$OUT/mok.pem" "$tmp/"
chroot_run "$ch" virt-fw-vars -i "/tmp/${tmp##*/}/OVMF_VARS_4M.ms.fd" -o "/tmp/${tmp##*/}/OVMF_VARS.fd" \
	--add-mok 605dab50-e046-4300-abb6-3dd810dd8b23 "/tmp/${tmp##*/}/mok.pem" >"$tmp/virt-fw-vars.log" 2>&1 ||
	die "virt-fw-vars --add-mok failed: $(tail -n3 "$tmp/virt-fw-vars.log")"
cp "$tmp/OVMF_VARS.fd" "$OUT/"
log "$OUT: shim, GRUB, OVMF (Secure Boot, MS keys), MOK $(openssl x509 -in "$OUT/mok.pem" -noout -subject)"
