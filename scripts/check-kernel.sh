#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernel.sh KDIR
#
# Refuses, with one clear message, a kernel bindguard cannot work on:
# older than 5.10, or built without what the hooks need (dynamic ftrace with
# registers for the really_probe() veto, kretprobes for following claims, the
# IOMMU API). dkms.conf says the same to DKMS (BUILD_EXCLUSIVE_*); this covers
# plain `make` and DKMS versions that ignore those keys.
set -euo pipefail

kdir=$1
conf=$kdir/include/config/auto.conf
ver=$kdir/include/generated/uapi/linux/version.h
for f in "$conf" "$ver"; do
	[ -f "$f" ] || { echo "bindguard: $kdir is not a configured kernel tree (no $f)" >&2; exit 1; }
done

code=$(sed -n 's/^#define LINUX_VERSION_CODE \([0-9]*\)$/\1/p' "$ver")
if [ "$code" -lt $(((5 << 16) + (10 << 8))) ]; then
	echo "bindguard: unsupported kernel $((code >> 16)).$(((code >> 8) & 255)) in $kdir: 5.10 or newer is required" >&2
	exit 1
fi
for opt in CONFIG_DYNAMIC_FTRACE_WITH_REGS CONFIG_KRETPROBES CONFIG_IOMMU_API CONFIG_PCI; do
	if ! grep -q "^$opt=y" "$conf"; then
		echo "bindguard: unsupported kernel in $kdir: $opt is not set (needed by the really_probe() hook and the claim kretprobes)" >&2
		exit 1
	fi
done
