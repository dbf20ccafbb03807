# boot-seed-nobindguard.sh - the hazard itself, without bindguard (5.10 only).
#
# Before 5.19 nothing in the kernel refuses a host driver in a group that a
# VFIO user holds: vfio notices the bind afterwards and hits BUG_ON in
# vfio_iommu_group_notifier(). This boot must crash (test/guest/boots says
# expect=crash): it shows that the hazard is real and that the harness sees
# a crashed guest. boot-main.sh shows the same bind refused with bindguard.
. /tests/lib.sh
. /tests/scenario.sh

for m in vfio vfio_iommu_type1 vfio-pci e1000; do
	modprobe $m || diag "modprobe $m failed"
done
scenario_init
ktap_plan 1
t_hold_without_bindguard() {
	hold_start
	[ -d /sys/module/bindguard ] && fail "bindguard is loaded"
	grep -q "^holding" /tmp/hold.log || fail "vfio-hold: $(cat /tmp/hold.log)"
}
run_test "VFIO user owns the bridged group (no bindguard)" t_hold_without_bindguard
diag "binding $SIB to e1000: the kernel is expected to hit BUG_ON now"
echo "$SIB" >/sys/bus/pci/drivers/e1000/bind
diag "still alive after the bind: driver of $SIB is $(driver_of "$SIB")"
