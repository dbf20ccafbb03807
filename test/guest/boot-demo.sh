# boot-demo.sh - the seed scenario, told for a person (make demo).
#
# A VM (vfio-hold) owns the IOMMU group of one e1000 behind a PCIe-to-PCI
# bridge; the host then tries to bind the e1000 driver to the other port,
# which shares the group. bindguard refuses it and says why.
. /tests/lib.sh
. /tests/scenario.sh

say() {
	echo
	echo "\$ $*"
}

show() {
	say "$@"
	eval "$@" 2>&1
}

for m in vfio vfio_iommu_type1 vfio-pci e1000 pci-stub; do
	modprobe $m
done
scenario_init >/dev/null
echo "Seed scenario on $(uname -r): $HELD and $SIB are two ports behind one"
echo "PCIe-to-PCI bridge, so they share IOMMU group $GROUP."
show modprobe bindguard
say "vfio-hold $GROUP $HELD &    # the VM: $HELD on vfio-pci, group in a VFIO container"
hold_start
cat /tmp/hold.log
show "echo $SIB > /sys/bus/pci/drivers/e1000/bind"
show "readlink /sys/bus/pci/devices/$SIB/driver || echo '(no driver bound)'"
show "dmesg | grep 'bindguard: refused'"
show cat $BG_DEBUGFS/groups
show cat $BG_DEBUGFS/events
echo
ktap_plan 1
t_demo() {
	expect_driver "$SIB" none
	expect_eq "$(group_field "$GROUP" 6)" 1 "refused in group $GROUP"
}
run_test "demo: sibling bind refused while the VM owns the group" t_demo
hold_stop
rmmod bindguard
