#!/bin/bash
# boot-guest.sh - boot a kernel and initramfs in QEMU with the test topology.
#
# Usage: test/qemu/boot-guest.sh KVER INITRAMFS LOGDIR [extra kernel cmdline...]
#
# Topology (q35 + emulated Intel IOMMU with interrupt remapping; an arm64
# kernel: virt + SMMUv3, below):
#   rp1 pcie-root-port (chassis 1)
#     br1 pcie-pci-bridge
#       e1000 at br1 addr 1.0 and 2.0   -> one IOMMU group with the bridge
#                                          (conventional PCI: the seed case)
#   rp2 pcie-root-port (chassis 2)
#     e1000e multifunction pair 0.0/0.1 -> one group
#   rp3 pcie-root-port (chassis 3)
#     e1000e alone                      -> its own group
# `-nic none`, so q35 adds no default NIC.
#
# An arm64 kernel (an -arm64 release: kernel_arch, common.sh) boots under
# qemu-system-aarch64 -M virt,iommu=smmuv3,gic-version=3 -cpu
# max,pauth-impdef=on (TCG), from the device tree (no firmware), with the
# same pair, but:
#   - no pcie-pci-bridge: every function behind one takes the bridge's
#     requester ID as a DMA alias (stream ID 512 for bus 2), and the SMMUv3
#     driver refuses a stream ID a second device already has ("e1000
#     0000:02:02.0: stream 512 already in tree from dev 0000:02:01.0", on
#     6.1 and 6.12 alike): the sibling gets no IOMMU group at all. The seed
#     group is two e1000 functions of one slot (multifunction, no ACS)
#     behind rp1, which SMMUv3 sees as two streams.
#   - the kernel enables ACS only once the SMMU is probed, after the root
#     ports were enumerated, so each root port shares its group with what
#     is behind it (rp1 with the seed group, on pcieport, which manages DMA
#     itself), and the lone e1000e sits on pcie.0 instead.
# virt has one UART (ttyAMA0, the console): ttyS0..ttyS3 are a
# pci-serial-4x at 00:1f.0 (8250_pci, built into Debian's arm64 kernels),
# ttyS1 and ttyS2 wired as below. Only BG_TOPOLOGY=small, no disks.
#
# BG_TOPOLOGY=wide (test/bench/bench.sh; the default, "small", is the above alone)
# adds BG_WIDE_PORTS (default 128, at most 128) more root ports on pcie.0,
# multifunction, 8 to a slot from slot 0x08 on, each with one QEMU `edu`
# device behind it (no driver in the guest binds it; one 1 MiB MMIO BAR, no
# I/O BAR). Each root port and each edu is an IOMMU group of its own (the
# root ports have ACS), so 128 ports make 256 more groups. The ports reserve
# nothing for hotplug (hotplug=off; io-reserve=0: q35 has 64 KiB of I/O,
# 4 KiB a port would run out at 16). Left to SeaBIOS's defaults otherwise:
# with bus-reserve=0 and mem/pref64-reserve set, SeaBIOS 1.16 numbered the
# buses of the first port only (the rest "bus 01-00", the kernel renumbered
# them over the seed's bridge and the e1000s read all-zero EEPROMs); QEMU
# refuses pref32-reserve and pref64-reserve together. Without hotplug a port
# takes one bus and a 1 MiB window for the edu's BAR.
#
# BG_TOPOLOGY=sriov (test/bench/bench.sh's VF churn) adds one more root port
# (chassis 4) with an SR-IOV NVMe controller behind it, in an nvme-subsys (QEMU
# wants one for SR-IOV; bookworm's QEMU 7.2 has no igb): BG_SRIOV_VFS
# (default 32, at most 127) VFs, each given 2 flexible queues and 1
# interrupt (sriov_vq_flexible, sriov_vi_flexible; max_ioqpairs and
# msix_qsize leave the PF its own). The guest creates and destroys them with
# sriov_numvfs.
#
# Serial ports: ttyS0 (console; arm64: ttyAMA0) -> LOGDIR/console.log, ttyS1 ->
# LOGDIR/ktap.log (the guest writes its test output there), ttyS2 <->
# LOGDIR/host.sock (a chardev socket server, no wait: the host's replies to
# the guest). QMP socket at LOGDIR/qmp.sock (server, no wait).
#
# BG_QMP_AGENT=1 (test/run.sh sets it for boots with the `qmp` key): also
# run test/qemu/qmp-agent.py LOGDIR alongside QEMU. It negotiates QMP, logs
# QMP events to LOGDIR/qmp-events.log and executes the requests the guest
# prints on ttyS1 ("# host: SEQ VERB ARGS", lib.sh's host_cmd), answering on
# ttyS2. It stops when QEMU exits (its log: LOGDIR/qmp-agent.log).
#
# Kernel command line: console=ttyS0
# intel_iommu=on panic=-1 oops=panic loglevel=4 no_timer_check plus the
# extra arguments (arm64: console=ttyAMA0 panic=-1 oops=panic loglevel=4);
# -no-reboot turns a panic into QEMU exiting.
# no_timer_check: the kernel's early check that the timer interrupt comes
# through the (interrupt-remapped) IO-APIC waits a few ticks of host time;
# with more TCG guests than cores it missed them and panicked ("timer
# doesn't work through Interrupt-remapped IO-APIC", 0.04-1.5 s into 2 of 31
# boots of a make check beside other runs, load 8 on 2 cores). A guest may skip
# that check: it tests the host's scheduling, not the guest.
#
# Accelerator: TCG. KVM is used only if BG_ACCEL=kvm is set (on the machines
# this was written on /dev/kvm exists but cannot run these guests).
# TCG runs single-threaded (-accel tcg,thread=single): with one thread per
# vCPU about 2 boots in 45 died before the guest's init ran (an int3 Oops
# in sched_clock_cpu() at 1.7 s on 6.12: static-key text patching racing
# under multi-threaded TCG; a hang at hpet on 7.2). Single cost ~12% per
# boot on this 2-core host (stock 6.12: demo 11.1 s vs 12.4 s, main 19.9 s
# vs 22.4 s); test/run.sh runs two guests at once instead, one a core.
# BG_ICOUNT=1 adds -icount shift=0,sleep=off and boots one vCPU (BG_SMP,
# default 2, or 1 with BG_ICOUNT): under icount stock 5.10 never brings up
# its second CPU (no line after "x86: Booting SMP configuration:" in 90 s;
# with -smp 1 it boots in 2 guest seconds).
#
# Exit status: 0 when QEMU exits by itself (guest powered off or panicked),
# 124 when BG_BOOT_TIMEOUT seconds (default 300) pass first, else QEMU's.
# The kernel comes from $BG_CACHE/kernels/KVER/vmlinuz (arm64:
# kernels-arm64/KVER; fetch-kernel.sh),
# or BG_VMLINUZ=FILE. BG_DISK=IMAGE attaches a raw disk image as virtio-blk
# (/dev/vda) for a host booted from disk, with root=/dev/vda on the command
# line. Writes go to a temporary overlay (snapshot=on): every boot starts
# from the image as test/host/image.sh made it, whatever an earlier boot
# left (a libvirt domain defined before a crash, a dirty journal).
# BG_MEM: guest memory in MiB (default 1024).
#
# BG_UEFI=DIR (test/run.sh's boot key `uefi`, on a host: test/host/uefi.sh
# made DIR) boots through UEFI Secure Boot instead of -kernel, as a real
# host does: the firmware is DIR/OVMF_CODE_4M.secboot.fd (read-only
# pflash; -machine smm=on and secure pflash, so that only SMM code writes the
# variables) with a copy of DIR/OVMF_VARS.fd (Microsoft's keys and the
# host's MOK enrolled) as this boot's variables, LOGDIR/OVMF_VARS.fd. It
# boots LOGDIR/esp.img, made here: a GPT disk with one EFI system partition
# (FAT, mkfs.fat and mtools, no loop mount) holding EFI/BOOT/BOOTX64.EFI
# (DIR/shimx64.efi, Microsoft-signed shim), EFI/BOOT/grubx64.efi
# (DIR/grubx64.efi, Debian-signed GRUB, which shim verifies), the kernel and
# initramfs (the signed vmlinuz, which GRUB has shim verify) and
# EFI/debian/grub.cfg (signed GRUB's prefix) booting them with this
# command line. The ESP is an AHCI disk (sda, bootindex 0), so the root
# disk stays vda. esp.img is removed when QEMU exits (grub.cfg stays).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

[[ $# -ge 3 ]] || usage
KVER=$1
INITRAMFS=$2
LOGDIR=$3
shift 3
TIMEOUT=${BG_BOOT_TIMEOUT:-300}
KERNEL=${BG_VMLINUZ:-$(kernel_dir "$KVER")/vmlinuz}
ARCH=$(kernel_arch "$KVER")
[[ -f $KERNEL ]] || die "no kernel $KERNEL (run test/kernel/fetch-kernel.sh)"
[[ -z ${BG_DISK:-} || -f $BG_DISK ]] || die "no disk image $BG_DISK"
[[ -f $INITRAMFS ]] || die "no initramfs $INITRAMFS"

case ${BG_ACCEL:-tcg} in
kvm) accel=kvm,kernel-irqchip=split cpu=host ;;
tcg) accel=tcg,thread=single cpu=max ;;
*) die "BG_ACCEL must be tcg or kvm" ;;
esac
if [[ $ARCH == arm64 ]]; then
	[[ ${BG_ACCEL:-tcg} == tcg ]] || die "an arm64 guest boots under TCG only"
	[[ ${BG_TOPOLOGY:-small} == small && -z ${BG_DISK:-}${BG_DATA_DISK:-} ]] ||
		die "an arm64 guest has the small topology alone (no BG_TOPOLOGY, BG_DISK, BG_DATA_DISK)"
	# pauth-impdef: QEMU's own pointer-authentication algorithm instead of
	# the architected QARMA, far cheaper to emulate
	cpu=max,pauth-impdef=on
fi
smp=${BG_SMP:-2}
[[ -n ${BG_ICOUNT:-} ]] && smp=${BG_SMP:-1}

# uefi_esp DIR LOGDIR KERNEL INITRAMFS CMDLINE: LOGDIR/esp.img, the ESP disk
# BG_UEFI boots (above)
uefi_esp() {
	local dir=$1 esp=$2/esp.img kernel=$3 initrd=$4 mib f
	local -a m
	for f in OVMF_CODE_4M.secboot.fd OVMF_VARS.fd shimx64.efi grubx64.efi; do
		[[ -f $dir/$f ]] || die "BG_UEFI: no $dir/$f (test/host/uefi.sh)"
	done
	command -v mkfs.fat >/dev/null && command -v mcopy >/dev/null && command -v sgdisk >/dev/null ||
		die "BG_UEFI needs dosfstools, mtools and gdisk (test/lib/host-deps.sh)"
	# the files, 16 MiB for FAT and GPT, 1 MiB before the partition
	mib=$(($(du -cmL "$kernel" "$initrd" "$dir/shimx64.efi" "$dir/grubx64.efi" | tail -n1 | cut -f1) + 16))
	rm -f "$esp"
	truncate -s "$((mib + 2))M" "$esp"
	# the file system first: mkfs.fat clears the sectors before its offset
	mkfs.fat -F 32 -n ESP --offset 2048 "$esp" "$((mib * 1024))" >/dev/null 2>&1
	sgdisk -n "1:2048:+${mib}M" -t 1:ef00 -c 1:ESP "$esp" >/dev/null
	export MTOOLS_SKIP_CHECK=1
	m=(-i "$esp@@1M")
	mmd "${m[@]}" ::EFI ::EFI/BOOT ::EFI/debian
	mcopy "${m[@]}" "$dir/shimx64.efi" ::EFI/BOOT/BOOTX64.EFI
	mcopy "${m[@]}" "$dir/grubx64.efi" ::EFI/BOOT/grubx64.efi
	mcopy "${m[@]}" "$kernel" ::vmlinuz
	mcopy "${m[@]}" "$initrd" ::initrd.img
	printf 'set timeout=0\nlinux /vmlinuz %s\ninitrd /initrd.img\nboot\n' "$5" >"$2/grub.cfg"
	mcopy "${m[@]}" "$2/grub.cfg" ::EFI/debian/grub.cfg
}

mkdir -p "$LOGDIR"
rm -f "$LOGDIR"/{console.log,ktap.log,qmp.sock,host.sock,qmp-events.log,qmp-agent.log,esp.img,OVMF_VARS.fd,grub.cfg}

if [[ $ARCH == amd64 ]]; then
	cmdline="console=ttyS0 intel_iommu=on panic=-1 oops=panic loglevel=4 no_timer_check $*"
	machine=q35
	boot=(-kernel "$KERNEL" -initrd "$INITRAMFS" -append "$cmdline")
	if [[ -n ${BG_UEFI:-} ]]; then
		uefi_esp "$BG_UEFI" "$LOGDIR" "$KERNEL" "$INITRAMFS" "$cmdline"
		cp "$BG_UEFI/OVMF_VARS.fd" "$LOGDIR/OVMF_VARS.fd"
		machine=q35,smm=on
		boot=(-global driver=cfi.pflash01,property=secure,value=on
			-drive "if=pflash,format=raw,unit=0,readonly=on,file=$BG_UEFI/OVMF_CODE_4M.secboot.fd"
			-drive "if=pflash,format=raw,unit=1,file=$LOGDIR/OVMF_VARS.fd"
			-drive "file=$LOGDIR/esp.img,if=none,id=esp,format=raw"
			-device ide-hd,drive=esp,bus=ide.0,bootindex=0)
	fi
	qemu=(
		qemu-system-x86_64
		-M "$machine" -accel "$accel" -cpu "$cpu" -smp "$smp" -m "${BG_MEM:-1024}"
		-nographic -no-reboot -nic none
		-device intel-iommu,intremap=on
		"${boot[@]}"
		-serial "file:$LOGDIR/console.log"
		-serial "file:$LOGDIR/ktap.log"
		-chardev "socket,id=host,path=$LOGDIR/host.sock,server=on,wait=off"
		-serial chardev:host
	)
else
	[[ -z ${BG_UEFI:-} ]] || die "BG_UEFI: amd64 only"
	cmdline="console=ttyAMA0 panic=-1 oops=panic loglevel=4 $*"
	qemu=(
		qemu-system-aarch64
		-M virt,iommu=smmuv3,gic-version=3 -accel "$accel" -cpu "$cpu" -smp "$smp" -m "${BG_MEM:-1024}"
		-nographic -no-reboot -nic none
		-kernel "$KERNEL" -initrd "$INITRAMFS" -append "$cmdline"
		-serial "file:$LOGDIR/console.log"
		-chardev null,id=ser0
		-chardev "file,id=ktap,path=$LOGDIR/ktap.log"
		-chardev "socket,id=host,path=$LOGDIR/host.sock,server=on,wait=off"
		-chardev null,id=ser3
		-device pci-serial-4x,id=ser,bus=pcie.0,addr=1f.0,chardev1=ser0,chardev2=ktap,chardev3=host,chardev4=ser3
	)
fi
qemu+=(
	-monitor none
	-qmp "unix:$LOGDIR/qmp.sock,server=on,wait=off"
	-device pcie-root-port,id=rp1,chassis=1,bus=pcie.0
)
if [[ $ARCH == amd64 ]]; then
	# seed case: two conventional e1000 behind a PCIe-to-PCI bridge
	qemu+=(-device pcie-pci-bridge,id=br1,bus=rp1
		-device e1000,id=nic1,bus=br1,addr=1.0,romfile=
		-device e1000,id=nic2,bus=br1,addr=2.0,romfile=)
else
	# seed case on SMMUv3: two conventional e1000, one slot's functions
	# 0 and 1, behind the root port (above: not behind a bridge)
	qemu+=(-device e1000,id=nic1,bus=rp1,addr=0.0,multifunction=on,romfile=
		-device e1000,id=nic2,bus=rp1,addr=0.1,romfile=)
fi
qemu+=(
	# e1000e multifunction pair behind a root port
	-device pcie-root-port,id=rp2,chassis=2,bus=pcie.0
	-device e1000e,id=nic3,bus=rp2,addr=0.0,multifunction=on,romfile=
	-device e1000e,id=nic4,bus=rp2,addr=0.1,romfile=
)
# a lone e1000e: behind its own root port; on virt, where the root ports
# give no isolation (ACS, above), on pcie.0 itself
if [[ $ARCH == amd64 ]]; then
	qemu+=(-device pcie-root-port,id=rp3,chassis=3,bus=pcie.0
		-device e1000e,id=nic5,bus=rp3,addr=0.0,romfile=)
else
	qemu+=(-device e1000e,id=nic5,bus=pcie.0,romfile=)
fi
case ${BG_TOPOLOGY:-small} in
small) ;;
wide)
	ports=${BG_WIDE_PORTS:-128}
	((ports >= 1 && ports <= 128)) || die "BG_WIDE_PORTS must be 1..128"
	for ((i = 0; i < ports; i++)); do
		slot=$((0x08 + i / 8)) fn=$((i % 8))
		mf=
		((fn == 0)) && mf=,multifunction=on
		qemu+=(-device "pcie-root-port,id=wrp$i,chassis=$((16 + i)),bus=pcie.0,addr=$(printf '%x.%x' "$slot" "$fn")$mf,hotplug=off,io-reserve=0"
			-device "edu,id=wedu$i,bus=wrp$i,addr=0.0")
	done
	;;
sriov)
	vfs=${BG_SRIOV_VFS:-32}
	((vfs >= 1 && vfs <= 127)) || die "BG_SRIOV_VFS must be 1..127"
	qemu+=(-device pcie-root-port,id=rp4,chassis=4,bus=pcie.0
		-device nvme-subsys,id=nvs,nqn=bindguard-bench
		-device "nvme,id=nvme0,serial=bgvf,subsys=nvs,bus=rp4,sriov_max_vfs=$vfs,sriov_vq_flexible=$((2 * vfs)),sriov_vi_flexible=$vfs,max_ioqpairs=$((2 * vfs + 2)),msix_qsize=$((vfs + 1))")
	;;
*) die "BG_TOPOLOGY must be small, wide or sriov" ;;
esac
# BG_DATA_DISK=FILE (test/run.sh's boot key `disk`): a virtio-blk disk, QMP
# id vdisk, behind its own (hot-pluggable) root port; writes go to a copy.
[[ -n ${BG_DATA_DISK:-} ]] && qemu+=(-device pcie-root-port,id=rp5,chassis=5,bus=pcie.0
	-drive "file=$BG_DATA_DISK,if=none,id=data,format=raw,snapshot=on"
	-device virtio-blk-pci,id=vdisk,drive=data,bus=rp5)
[[ -n ${BG_DISK:-} ]] && qemu+=(-drive "file=$BG_DISK,if=virtio,format=raw,snapshot=on,cache=unsafe")
# BG_ICOUNT=1: guest time counts instructions (one per ns), so that timings
# taken inside the guest repeat run to run (test/bench/bench.sh).
[[ -n ${BG_ICOUNT:-} ]] && qemu+=(-icount shift=0,sleep=off)
printf '%q ' "${qemu[@]}" >"$LOGDIR/qemu.cmd"
echo >>"$LOGDIR/qemu.cmd"

log "booting $KVER (timeout ${TIMEOUT}s), logs in $LOGDIR"
start=$(date +%s.%N)
rc=0
agent=
if [[ -n ${BG_QMP_AGENT:-} ]]; then
	# it waits (up to 20 s) for QEMU's sockets; bounded by the boot timeout
	python3 "$TEST/qemu/qmp-agent.py" "$LOGDIR" "$((TIMEOUT + 30))" \
		</dev/null >>"$LOGDIR/qmp-agent.log" 2>&1 &
	agent=$!
fi
timeout --kill-after=10 "$TIMEOUT" "${qemu[@]}" </dev/null >"$LOGDIR/qemu.out" 2>&1 || rc=$?
if [[ -n $agent ]]; then
	# the agent ends by itself when the QMP socket closes
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$agent" 2>/dev/null || break; sleep 0.2; done
	kill "$agent" 2>/dev/null || true
	wait "$agent" 2>/dev/null || true
fi
end=$(date +%s.%N)
rm -f "$LOGDIR/esp.img"
secs=$(echo "$end - $start" | bc)
echo "$secs" >"$LOGDIR/boot-seconds"
case $rc in
0) log "guest exited after ${secs}s" ;;
124 | 137) log "TIMEOUT after ${secs}s"; rc=124 ;;
*) log "qemu failed (status $rc) after ${secs}s:"; cat "$LOGDIR/qemu.out" >&2 ;;
esac
exit "$rc"
