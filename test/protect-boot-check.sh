#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# protect-boot-check.sh - scripts/bindguard-protect-boot on the host, no
# guest: fake /sys and /proc trees (BINDGUARD_SYSFS, BINDGUARD_PROC) of the
# storage and network stacks it must follow, under each shell and awk it
# may meet. Run by `make checkstyle`.
#
# Usage: test/protect-boot-check.sh
#
# The tool runs three ways, as test/status-check.sh runs bindguard-status:
# sh (dash) with gawk, sh with mawk, and busybox sh with every command a
# busybox applet. A missing gawk or busybox is reported "# SKIP". For each,
# the exact --dry-run lines (stdout) and notes (stderr) of:
#  - nvme: / on nvme0n1p2, /boot/efi on nvme0n1p1 and swap on nvme0n1p3
#    (the controller, then the root port above it, each once), a boot VGA
#    device left out, then protected with --vga and with
#    BINDGUARD_PROTECT_VGA=yes, a pseudo filesystem under /var left out;
#    BINDGUARD_AUTOPROTECT=no with BINDGUARD_PROTECT (only the listed
#    devices, a bad name refused: exit 1);
#  - stack: / on LVM on dm-crypt on an md raid1 of two virtio disks (both
#    controllers), /var/lib/libvirt/images on a third by /dev/VG/LV, swap on
#    a partition of a fourth, a swap file on / (nothing new), zram swap (one
#    note); the IPv4 default route through a VLAN over a bond of two NICs,
#    the IPv6 one through a bridge, the kernel's unreachable ::/0 on lo and
#    a route that is down ignored, a long mount point cut to 63 bytes;
#  - btrfs: / on a btrfs of two disks behind two controllers;
#  - zfs: / on a ZFS dataset, its pool's vdevs from a stand-in zpool;
#  - nfs: an NFS root: nothing protected, one note, exit 0;
# and, without --dry-run: nothing loaded (one line, exit 0); a protect file
# that takes the writes (each device reported protected, exit 0); one
# that refuses them (a line per device naming it, exit 1).
#
# Output: "ok N - SET: what" or "not ok N - SET: what" (what was seen after
# it), then "N passed, N failed, N skipped". Exit status 1 if any failed.
#
# Environment: BG_PROTECT_TOOL, the tool to check (default
# scripts/bindguard-protect-boot of this tree).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

tool=${BG_PROTECT_TOOL:-$REPO/scripts/bindguard-protect-boot}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 passed=0 failed=0 skipped=0

pb_report() { # pb_report ok|fail|skip TEXT [SEEN]
	n=$((n + 1))
	case $1 in
	ok) echo "ok $n - $2"; passed=$((passed + 1)) ;;
	skip) echo "ok $n - $2 # SKIP $3"; skipped=$((skipped + 1)) ;;
	*)
		echo "not ok $n - $2"
		[[ -z ${3:-} ]] || printf '%s\n' "$3" | head -n20 | sed 's/^/#   /'
		failed=$((failed + 1))
		;;
	esac
}

# --- building a fake tree ------------------------------------------------------
# Each fixture is $work/fx/NAME/{sys,proc}; sysfs links are relative, as
# the kernel's are, so the tree reads the same wherever it is.
fx=
pb_pci() { # pb_pci PATH VENDOR DEVICE SUBVENDOR SUBDEVICE: a PCI function at sys/devices/PATH
	local d=$fx/sys/devices/$1
	mkdir -p "$d" "$fx/sys/bus/pci/devices"
	echo "0x$2" >"$d/vendor"
	echo "0x$3" >"$d/device"
	echo "0x$4" >"$d/subsystem_vendor"
	echo "0x$5" >"$d/subsystem_device"
	ln -sr "$d" "$fx/sys/bus/pci/devices/${1##*/}"
}
pb_bridge() { # pb_bridge PATH: a PCIe root port (Intel)
	pb_pci "$1" 8086 a110 8086 7270
}
pb_blkdev() { # pb_blkdev DIR NAME MAJ:MIN: block device NAME in DIR
	mkdir -p "$1" "$fx/sys/class/block" "$fx/sys/dev/block"
	echo "$3" >"$1/dev"
	ln -sr "$1" "$fx/sys/class/block/$2"
	ln -sr "$1" "$fx/sys/dev/block/$3"
}
pb_disk() { # pb_disk DEVPATH NAME MAJ:MIN: a disk whose device is sys/devices/DEVPATH
	mkdir -p "$fx/sys/devices/$1"
	pb_blkdev "$fx/sys/devices/$1/block/$2" "$2" "$3"
	ln -sr "$fx/sys/devices/$1" "$fx/sys/devices/$1/block/$2/device"
}
pb_part() { # pb_part DISK NAME MAJ:MIN NUMBER
	local d
	d=$(readlink -f "$fx/sys/class/block/$1")/$2
	pb_blkdev "$d" "$2" "$3"
	echo "$4" >"$d/partition"
}
pb_virtual() { # pb_virtual NAME MAJ:MIN DMNAME|- SLAVE...: dm-N or mdN over SLAVEs
	local d=$fx/sys/devices/virtual/block/$1 s
	pb_blkdev "$d" "$1" "$2"
	[[ $3 == - ]] || { mkdir -p "$d/dm"; echo "$3" >"$d/dm/name"; }
	mkdir -p "$d/slaves"
	for s in "${@:4}"; do
		ln -sr "$(readlink -f "$fx/sys/class/block/$s")" "$d/slaves/$s"
	done
}
pb_netdev() { # pb_netdev NAME [DEVPATH]: a netdev, on sys/devices/DEVPATH if given
	local d
	if [[ -n ${2:-} ]]; then
		d=$fx/sys/devices/$2/net/$1
		mkdir -p "$d"
		ln -sr "$fx/sys/devices/$2" "$d/device"
	else
		d=$fx/sys/devices/virtual/net/$1
		mkdir -p "$d"
	fi
	mkdir -p "$fx/sys/class/net"
	ln -sr "$d" "$fx/sys/class/net/$1"
}
pb_lower() { # pb_lower UPPER LOWER: LOWER is below UPPER (lower_LOWER)
	ln -sr "$(readlink -f "$fx/sys/class/net/$2")" "$(readlink -f "$fx/sys/class/net/$1")/lower_$2"
}
pb_proc() { # pb_proc: empty swaps and routes, mountinfo from stdin
	mkdir -p "$fx/proc/self" "$fx/proc/net" "$fx/sys/kernel"
	cat >"$fx/proc/self/mountinfo"
	echo 'Filename				Type		Size		Used		Priority' >"$fx/proc/swaps"
	echo 'Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT' >"$fx/proc/net/route"
	: >"$fx/proc/net/ipv6_route"
}
pb_fixture() { # pb_fixture NAME: start fixture NAME
	fx=$work/fx/$1
	mkdir -p "$fx"
}

# nvme: one NVMe controller behind a root port, a VGA device
pb_fixture nvme
pb_bridge pci0000:00/0000:00:1d.0
pb_pci pci0000:00/0000:00:1d.0/0000:3d:00.0 144d a80a 144d a801
pb_disk pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0 nvme0n1 259:0
pb_part nvme0n1 nvme0n1p1 259:1 1
pb_part nvme0n1 nvme0n1p2 259:2 2
pb_part nvme0n1 nvme0n1p3 259:3 3
pb_pci pci0000:00/0000:00:02.0 8086 3e92 1028 0869
echo 1 >"$fx/sys/devices/pci0000:00/0000:00:02.0/boot_vga"
pb_pci pci0000:00/0000:00:01.0 10de 1eb8 10de 12a2
echo 0 >"$fx/sys/devices/pci0000:00/0000:00:01.0/boot_vga"
pb_proc <<'EOF'
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
23 22 0:21 / /sys rw,nosuid shared:2 - sysfs sysfs rw
24 22 0:5 / /proc rw,nosuid shared:3 - proc proc rw
30 22 0:25 / /run rw,nosuid shared:5 - tmpfs tmpfs rw,mode=755
41 22 259:1 / /boot/efi rw,relatime shared:20 - vfat /dev/nvme0n1p1 rw,fmask=0077
42 22 0:40 / /var/lib/docker/overlay2/x/merged rw shared:21 - overlay overlay rw,lowerdir=/a
EOF
printf '/dev/nvme0n1p3                          partition\t16777212\t0\t-2\n' >>"$fx/proc/swaps"

# stack: LVM on dm-crypt on md raid1 of vda1 and vdb1; vdc holds an LV of
# its own for /var/lib/libvirt/images, vdd swap; three NICs
pb_fixture stack
for i in 4:1:vda:252:0 5:2:vdb:252:16 6:3:vdc:252:32 7:4:vdd:252:48; do
	IFS=: read -r slot v name maj min <<<"$i"
	pb_pci pci0000:00/0000:00:0$slot.0 1af4 1001 1af4 0002
	pb_disk pci0000:00/0000:00:0$slot.0/virtio$v "$name" "$maj:$min"
	pb_part "$name" "${name}1" "$maj:$((min + 1))" 1
	pb_part "$name" "${name}2" "$maj:$((min + 2))" 2
done
pb_virtual md0 9:0 - vda1 vdb1
pb_virtual dm-0 253:0 md0_crypt md0
pb_virtual dm-1 253:1 vg-root dm-0
pb_virtual dm-2 253:2 data--vg-libvirt--images vdc1
pb_blkdev "$fx/sys/devices/virtual/block/zram0" zram0 251:0
for i in 19.0:eno1 19.1:eno2 1a.0:eno3; do
	pb_pci "pci0000:00/0000:00:${i%:*}" 8086 1533 15d9 1533
	pb_netdev "${i#*:}" "pci0000:00/0000:00:${i%:*}"
done
pb_netdev bond0
pb_lower bond0 eno1
pb_lower bond0 eno2
pb_netdev bond0.100
pb_lower bond0.100 bond0
pb_netdev br0
mkdir -p "$fx/sys/devices/virtual/net/br0/brif"
ln -sr "$fx/sys/devices/pci0000:00/0000:00:1a.0/net/eno3" "$fx/sys/devices/virtual/net/br0/brif/eno3"
pb_netdev wg0
pb_proc <<'EOF'
22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw
25 22 253:1 /var /var rw,relatime shared:9 - ext4 /dev/mapper/vg-root rw
26 25 253:2 / /var/lib/libvirt/images/with\040a\040rather\040long\040name/for/the/vm-images rw shared:10 - xfs /dev/data-vg/libvirt-images rw
27 22 0:30 / /home rw shared:11 - nfs4 server:/home rw
EOF
printf '/swapfile                               file\t1048572\t0\t-2\n' >>"$fx/proc/swaps"
printf '/dev/vdd2                               partition\t1048572\t0\t-3\n' >>"$fx/proc/swaps"
printf '/dev/zram0                              partition\t1048572\t0\t100\n' >>"$fx/proc/swaps"
cat >>"$fx/proc/net/route" <<'EOF'
wg0	0000000A	00000000	0001	0	0	0	000000FF	0	0	0
bond0.100	00000000	0101A8C0	0003	0	0	0	00000000	0	0	0
bond0.100	0001A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
wg0	00000000	00000000	0002	0	0	0	00000000	0	0	0
EOF
cat >"$fx/proc/net/ipv6_route" <<'EOF'
fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001      br0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000003 00000000 00450003      br0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
EOF

# btrfs: / on sda2 (AHCI) and sdb (a second AHCI controller behind a root port)
pb_fixture btrfs
pb_pci pci0000:00/0000:00:17.0 8086 a352 1028 0869
pb_disk pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0 sda 8:0
pb_part sda sda1 8:1 1
pb_part sda sda2 8:2 2
pb_bridge pci0000:00/0000:00:1c.0
pb_pci pci0000:00/0000:00:1c.0/0000:02:00.0 1b21 0612 1b21 1060
pb_disk pci0000:00/0000:00:1c.0/0000:02:00.0/ata3/host2/target2:0:0/2:0:0:0 sdb 8:16
for d in sda2 sdb; do
	mkdir -p "$fx/sys/fs/btrfs/4c4e2f33-0d4e-4c55-9f7a-6f0a1f4f6c10/devices"
	ln -sr "$(readlink -f "$fx/sys/class/block/$d")" "$fx/sys/fs/btrfs/4c4e2f33-0d4e-4c55-9f7a-6f0a1f4f6c10/devices/$d"
done
mkdir -p "$fx/sys/fs/btrfs/features"
pb_proc <<'EOF'
22 1 0:33 /@rootfs / rw,relatime shared:1 - btrfs /dev/sda2 rw,space_cache=v2,subvolid=256,subvol=/@rootfs
40 22 8:1 / /boot rw,relatime shared:20 - ext4 /dev/sda1 rw
EOF

# zfs: rpool/ROOT/debian on a mirror of nvme0n1p3 and sda3 (zpool stands in)
pb_fixture zfs
pb_pci pci0000:00/0000:00:1d.0/0000:3d:00.0 144d a80a 144d a801
pb_disk pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0 nvme0n1 259:0
pb_part nvme0n1 nvme0n1p3 259:3 3
pb_pci pci0000:00/0000:00:17.0 8086 a352 1028 0869
pb_disk pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0 sda 8:0
pb_part sda sda3 8:3 3
pb_proc <<'EOF'
22 1 0:24 / / rw,relatime shared:1 - zfs rpool/ROOT/debian rw,xattr,noacl
EOF
mkdir -p "$fx/bin"
cat >"$fx/bin/zpool" <<'EOF'
#!/bin/sh
[ "$*" = "list -vHPL rpool" ] || exit 1
printf 'rpool\t928G\t1.2G\t927G\t-\t-\t0%%\t0%%\t1.00x\tONLINE\t-\n'
printf '\tmirror-0\t928G\t1.2G\t927G\t-\t-\t0%%\t0%%\t-\tONLINE\n'
printf '\t/dev/nvme0n1p3\t-\t-\t-\t-\t-\t-\t-\t-\tONLINE\n'
printf '\t/dev/sda3\t-\t-\t-\t-\t-\t-\t-\t-\tONLINE\n'
EOF
chmod +x "$fx/bin/zpool"

# nfs: an NFS root, nothing else
pb_fixture nfs
pb_pci pci0000:00/0000:00:19.0 8086 1533 15d9 1533
pb_proc <<'EOF'
22 1 0:22 / / rw,relatime shared:1 - nfs 192.168.1.1:/srv/root rw,vers=3
EOF

# --- running it ----------------------------------------------------------------
# pb_run FIXTURE [ENV=VALUE...] -- ARG...: the tool in the current set on
# FIXTURE, no config; stdout in $out, stderr in $err, exit status in $rc
pb_run() {
	local f=$work/fx/$1 env=()
	shift
	while [[ $1 != -- ]]; do env+=("$1"); shift; done
	shift
	rc=0
	out=$(env PATH="$f/bin:$bin:$PATH" BINDGUARD_SYSFS="$f/sys" BINDGUARD_PROC="$f/proc" \
		BINDGUARD_CONFIG=/nonexistent "${env[@]}" $shell "$tool" "$@" 2>"$work/err") || rc=$?
	err=$(cat "$work/err")
}

# pb_expect TEXT RC OUT ERR: the last pb_run gave exactly that
pb_expect() {
	if [[ $rc == "$2" && $out == "$3" && $err == "$4" ]]; then
		pb_report ok "$set: $1"
	else
		pb_report fail "$set: $1" "exit $rc, want $2
stdout:
$out
want:
$3
stderr:
$err
want:
$4"
	fi
}

nvme='0000:3d:00.0@144d:a80a:144d:a801 backs / on nvme0n1p2
0000:00:1d.0@8086:a110:8086:7270 backs / on nvme0n1p2'
vga='0000:00:02.0@8086:3e92:1028:0869 boot VGA'
# the tool's lines are built here in another way than the tool builds them:
# the long mount point cut from its left to 63 bytes
long='/var/lib/libvirt/images/with\040a\040rather\040long\040name/for/the/vm-images'
why="backs $long on dm-2 via vdc"
why="backs ...${long:$((${#why} - 60))} on dm-2 via vdc"

pb_set() {
	pb_run nvme -- --dry-run
	pb_expect "nvme: / (the controller, then its root port), /boot/efi and swap on the same disk: one line each" \
		0 "$nvme" ""
	pb_run nvme -- --dry-run --vga
	pb_expect "nvme --vga: and the boot VGA device (boot_vga 1), not the other GPU" 0 "$nvme
$vga" ""
	pb_run nvme BINDGUARD_PROTECT_VGA=yes -- --dry-run
	pb_expect "nvme, BINDGUARD_PROTECT_VGA=yes: as --vga" 0 "$nvme
$vga" ""
	printf 'BINDGUARD_AUTOPROTECT=no\nBINDGUARD_PROTECT="3d:00.0 0000:00:01.0 0000:09:00.0 0000:0g:00.0"\n' >"$work/conf"
	pb_run nvme BINDGUARD_CONFIG="$work/conf" -- --dry-run
	pb_expect "nvme, BINDGUARD_AUTOPROTECT=no and BINDGUARD_PROTECT: the listed ones only (bb:dd.f, absent: no IDs), a bad one refused, exit 1" \
		1 "0000:3d:00.0@144d:a80a:144d:a801 listed in $work/conf
0000:00:01.0@10de:1eb8:10de:12a2 listed in $work/conf
0000:09:00.0 listed in $work/conf" \
		"bindguard-protect-boot: BINDGUARD_PROTECT in $work/conf: '0000:0g:00.0' is not a PCI device name (dddd:bb:dd.f): left out"

	pb_run stack -- --dry-run
	pb_expect "stack: LVM on dm-crypt on md raid1 (both disks), an LV by /dev/VG/LV under a long mount point, a swap file, swap on a partition, zram; bond+VLAN, bridge" \
		0 "0000:00:04.0@1af4:1001:1af4:0002 backs / on dm-1 via vda
0000:00:05.0@1af4:1001:1af4:0002 backs / on dm-1 via vdb
0000:00:06.0@1af4:1001:1af4:0002 $why
0000:00:07.0@1af4:1001:1af4:0002 backs swap on vdd2
0000:00:19.0@8086:1533:15d9:1533 default route via bond0.100 on eno1
0000:00:19.1@8086:1533:15d9:1533 default route via bond0.100 on eno2
0000:00:1a.0@8086:1533:15d9:1533 default route via br0 on eno3" \
		"bindguard-protect-boot: swap: zram0 has no PCI device below it: left out"
	[[ $(sed -n 3p <<<"$out" | cut -d' ' -f2- | wc -c) == 64 ]] &&
		pb_report ok "$set: stack: the long reason is 63 bytes" ||
		pb_report fail "$set: stack: the long reason is 63 bytes" "$(sed -n 3p <<<"$out")"

	pb_run btrfs -- --dry-run
	pb_expect "btrfs: / on two disks behind two controllers (/sys/fs/btrfs), /boot" \
		0 "0000:00:17.0@8086:a352:1028:0869 backs / on sda2
0000:02:00.0@1b21:0612:1b21:1060 backs / on sdb
0000:00:1c.0@8086:a110:8086:7270 backs / on sdb" ""

	pb_run zfs -- --dry-run
	pb_expect "zfs: / on a pool's two vdevs (zpool list)" \
		0 "0000:3d:00.0@144d:a80a:144d:a801 backs / on nvme0n1p3
0000:00:17.0@8086:a352:1028:0869 backs / on sda3" ""

	pb_run nfs -- --dry-run
	pb_expect "nfs: an NFS root: nothing, one line" 0 "" \
		"bindguard-protect-boot: /: nfs from 192.168.1.1:/srv/root is not on a local block device: left out"

	pb_run nvme -- --vga
	pb_expect "without --dry-run and without bindguard: one line, exit 0" 0 "" \
		"bindguard-protect-boot: bindguard is not loaded (no $work/fx/nvme/sys/kernel/bindguard/protect): nothing to protect"

	mkdir -p "$work/fx/nvme/sys/kernel/bindguard"
	: >"$work/fx/nvme/sys/kernel/bindguard/protect"
	pb_run nvme -- --vga
	pb_expect "a protect file that takes the writes: each device reported, exit 0" 0 \
		"$(sed 's/^/bindguard-protect-boot: protected /' <<<"$nvme
$vga")" ""
	rm "$work/fx/nvme/sys/kernel/bindguard/protect"
	mkdir "$work/fx/nvme/sys/kernel/bindguard/protect"
	pb_run nvme -- --vga
	if [[ $rc == 1 && -z $out && $(wc -l <<<"$err") == 3 ]] &&
		grep -q '^bindguard-protect-boot: could not protect 0000:3d:00.0 (backs / on nvme0n1p2): .*dmesg' <<<"$err"; then
		pb_report ok "$set: a protect file that refuses the writes: one line per device, exit 1"
	else
		pb_report fail "$set: a protect file that refuses the writes: one line per device, exit 1" "$rc: $out $err"
	fi
	rm -r "$work/fx/nvme/sys/kernel/bindguard"
}

for_each_awk pb_set pb_report

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
