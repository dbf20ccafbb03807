#!/bin/bash
# host-deps.sh - install the Debian 12 packages the bindguard test harness needs.
#
# Usage: test/lib/host-deps.sh   (make deps)
#
# Checks each package with dpkg-query and, only if some are missing, runs
# `apt-get update` followed by `apt-get install --no-install-recommends` for
# the missing ones (recommends would pull a headers package and upgrade host
# packages). A fast no-op when everything is already installed. Needs root
# when something is missing.
set -euo pipefail

PKGS=(
	qemu-system-x86 busybox-static dkms gcc make libc6-dev bc kmod cpio
	xz-utils zstd pahole sparse libelf-dev flex bison
	debootstrap python3
	gcc-aarch64-linux-gnu	# arm64 builds of 6.1 (test/kernel/check-build.sh; trixie's 6.12 is built in its chroot)
	libc6-dev-arm64-cross	# the arm64 guest's test programs (test/tools/*.c, aarch64-linux-gnu-gcc -static)
	qemu-system-arm	# the arm64 guests (qemu-system-aarch64 -M virt,iommu=smmuv3: test/run.sh arm64)
	gawk mawk	# test/status-check.sh and test/protect-boot-check.sh run their tools under each awk (and busybox's)
	python3-jsonschema	# test/status-check.sh and test/tools/check-json-schema.py: --json against its schema
	dosfstools mtools gdisk	# the ESP disk of a host booted through UEFI Secure Boot (test/qemu/boot-guest.sh BG_UEFI)
)

missing=()
for p in "${PKGS[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

echo "host-deps: installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
