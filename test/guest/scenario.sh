# scenario.sh - the guest's devices and the "VM" that holds a group.
#
# Topology (test/qemu/boot-guest.sh): two conventional e1000 (8086:100e) behind
# a pcie-pci-bridge share one IOMMU group with the bridge (the
# dual-port e1000 case of README.md's "Why").
# HELD is the one the VM takes, SIB its sibling; LONE is an e1000e alone in
# its group; MACHINE_GROUP is the group of the machine's own functions at
# 00:1f.*, which no test touches (q35: the ICH9 chipset; virt, arm64: the
# PCI serial card carrying ttyS1 and ttyS2). On virt (arm64, SMMUv3, which
# refuses the DMA alias two functions behind a pcie-pci-bridge share) the
# seed group is two e1000 functions of one slot and the root port above
# them, on pcieport (test/qemu/boot-guest.sh).

# Since 5.19 the kernel checks DMA ownership itself (the driver core refuses a
# kernel-DMA driver in a user-owned group, silently): NATIVE=1. Before,
# nothing stands behind bindguard: it refuses to leave enforce mode or to
# unload while a group is owned. Tests write their expectations per kernel
# on this (and REFUSED below).
if grep -qw iommu_group_claim_dma_owner /proc/kallsyms; then
	NATIVE=1
else
	NATIVE=0
fi

# A refused bind fails like a driver's failed probe (src/veto.c): the bus
# goes on to the next driver, and sysfs bind says EBUSY since 5.14 (the
# probe's errno) but ENODEV before (what those kernels say for every failed
# probe). REFUSED is that errno: the one other per-kernel expectation.
case $(uname -r) in
[1-4].* | 5.[0-9].* | 5.1[0-3].*) REFUSED=ENODEV ;;
*) REFUSED=EBUSY ;;
esac

scenario_init() {
	set -- $(pci_find 0x8086 0x100e)
	HELD=$1
	SIB=$2
	GROUP=$(group_of "$HELD")
	LONE=
	for d in $(pci_find 0x8086 0x10d3); do
		[ "$(ls "/sys/kernel/iommu_groups/$(group_of "$d")/devices" | wc -l)" = 1 ] &&
			LONE=$d
	done
	MACHINE_GROUP=$(group_of 0000:00:1f.0)
	BINDGUARD_KO=$(find /lib/modules -name bindguard.ko)
	diag "held $HELD sibling $SIB group $GROUP lone $LONE machine group $MACHINE_GROUP"
	for d in /sys/kernel/iommu_groups/"$GROUP"/devices/*; do
		diag "group $GROUP: $(basename "$d") class $(cat "$d/class") driver $(driver_of "$(basename "$d")")"
	done
}

# prepare: the group ready for an owner, as QEMU wants it: every member
# unbound or on a driver that manages DMA itself, HELD on vfio-pci.
prepare() {
	local d bdf
	for d in /sys/kernel/iommu_groups/"$GROUP"/devices/*; do
		bdf=$(basename "$d")
		case $(driver_of "$bdf") in
		none | vfio-pci | pci-stub | pcieport) ;;
		*) unbind "$bdf" ;;
		esac
	done
	if [ "$(driver_of "$HELD")" != vfio-pci ]; then
		unbind "$HELD"
		[ "$(bind_to "$HELD" vfio-pci)" = OK ] || diag "vfio-pci bind of $HELD failed"
	fi
}

# hold_start: give the group to a VFIO user, as QEMU would: prepare, then
# vfio-hold attaches the group to a container. Sets HOLDER to its pid.
hold_start() {
	prepare
	: >/tmp/hold.log	# (the child truncates it only later)
	vfio-hold "$GROUP" "$HELD" >/tmp/hold.log 2>&1 &
	HOLDER=$!
	wait_for 'grep -q "^holding" /tmp/hold.log' 30
	diag "vfio-hold: $(cat /tmp/hold.log)"
}

# hold_stop: SIGKILL the VM, as when QEMU dies.
hold_stop() {
	kill -9 "$HOLDER" 2>/dev/null
	wait "$HOLDER" 2>/dev/null
	HOLDER=
}

# vfio_unload: vfio and the vfio modules that depend on it; vfio-pci's
# devices are unbound
vfio_unload() {
	local m
	for m in vfio_pci vfio_pci_core vfio_iommu_type1 vfio; do
		rmmod $m 2>/dev/null
	done
	[ -d /sys/module/vfio ] && fail "vfio still loaded: $(grep vfio /proc/modules)"
}

# owner_churn GROUP BDF MAX_US: owners that take GROUP (BDF on vfio-pci)
# and are SIGKILLed after a random delay below MAX_US microseconds, one
# after the other, until /tmp/stop exists. Run it in the background.
owner_churn() {
	local p
	while [ ! -e /tmp/stop ]; do
		vfio-hold "$1" "$2" >/dev/null 2>&1 &
		p=$!
		usleep $((RANDOM % $3))
		kill -9 $p 2>/dev/null
		wait $p 2>/dev/null
	done
}
