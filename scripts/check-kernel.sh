#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kernel.sh KDIR
#
# Refuses, with one clear message, a kernel bindguard cannot work on: not
# x86_64 or arm64 (arm64: 5.19 or newer, below), older than 5.10, or built
# without what the hooks need: for the IP-modifying ftrace hooks
# (really_probe(), unbind_store()) either DYNAMIC_FTRACE_WITH_REGS (a full
# pt_regs) or DYNAMIC_FTRACE_WITH_ARGS with the ftrace_regs accessors (6.2+:
# the feature probe ftrace_regs_accessors, include/compat.h; arm64 has only
# WITH_ARGS since 6.2), kretprobes for following claims, the IOMMU API.
# dkms.conf says what it can of this to DKMS (BUILD_EXCLUSIVE_*: no "either
# ... or" there); this covers the rest, plain `make` and DKMS versions that
# ignore those keys.
#
# arm64 before 5.19 is refused: there an admitted probe is counted by calling
# really_probe() again from the module at the address ftrace reports, which
# is its first instruction on x86_64 but the patched BL after the function's
# entry on arm64 (veto.c, bg_veto_counted_probe()). Debian's arm64 kernels
# since bookworm (6.1) are newer.
set -euo pipefail

kdir=$1
conf=$kdir/include/config/auto.conf
ver=$kdir/include/generated/uapi/linux/version.h
for f in "$conf" "$ver"; do
	[ -f "$f" ] || { echo "bindguard: $kdir is not a configured kernel tree (no $f)" >&2; exit 1; }
done

has() { grep -q "^$1=y" "$conf"; }
code=$(sed -n 's/^#define LINUX_VERSION_CODE \([0-9]*\)$/\1/p' "$ver")
v="$((code >> 16)).$(((code >> 8) & 255))"
if has CONFIG_X86_64; then
	min=$(((5 << 16) + (10 << 8))) minv=5.10
elif has CONFIG_ARM64; then
	min=$(((5 << 16) + (19 << 8))) minv=5.19
else
	echo "bindguard: unsupported kernel in $kdir: neither x86_64 nor arm64 (the only architectures bindguard is built for)" >&2
	exit 1
fi
if [ "$code" -lt "$min" ]; then
	echo "bindguard: unsupported kernel $v in $kdir: $minv or newer is required$([ $minv = 5.10 ] || echo " on arm64")" >&2
	exit 1
fi
if ! has CONFIG_DYNAMIC_FTRACE_WITH_REGS &&
	! { has CONFIG_DYNAMIC_FTRACE_WITH_ARGS && [ "$code" -ge $(((6 << 16) + (2 << 8))) ]; }; then
	echo "bindguard: unsupported kernel $v in $kdir: the really_probe() hook needs CONFIG_DYNAMIC_FTRACE_WITH_REGS, or CONFIG_DYNAMIC_FTRACE_WITH_ARGS on 6.2 or newer (its ftrace_regs accessors); this kernel has $(has CONFIG_DYNAMIC_FTRACE_WITH_ARGS && echo "only WITH_ARGS, before 6.2" || echo "neither")" >&2
	exit 1
fi
for need in "CONFIG_KRETPROBES:the claim hooks" "CONFIG_IOMMU_API:IOMMU groups" "CONFIG_PCI:PCI devices"; do
	if ! has "${need%%:*}"; then
		echo "bindguard: unsupported kernel $v in $kdir: ${need%%:*} is not set (needed for ${need#*:})" >&2
		exit 1
	fi
done
