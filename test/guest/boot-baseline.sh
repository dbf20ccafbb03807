# boot-baseline.sh - the main boot's device story without bindguard, for the
# sanitizer kernel: what kmemleak reports here is stock's, and test/run.sh
# counts only leaks of boot-main.sh that this boot does not show.
#
# It asserts the stock behaviour it relies on (5.19+: the kernel's own
# check refuses the sibling silently; the sibling binds once the VM is gone).
. /tests/lib.sh
. /tests/scenario.sh
. /tests/paths.sh

for m in vfio vfio_iommu_type1 vfio-pci e1000 e1000e pci-stub bgtest; do
	modprobe $m || diag "modprobe $m failed"
done
scenario_init

t_stock_story() {
	local p
	for p in $BIND_PATHS; do
		unbind "$SIB"
		"path_${p%%:*}" "${p#*:}"
		expect_driver "$SIB" "${p#*:}"
	done
	unbind "$SIB"
	hold_start
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" EBUSY
	for p in $BIND_PATHS; do
		"path_${p%%:*}" "${p#*:}"
		expect_driver "$SIB" none
	done
	expect_eq "$(bind_to "$SIB" vfio-pci)" OK "vfio-pci bind"
	unbind "$SIB"
	expect_eq "$(bind_to "$SIB" pci-stub)" OK "pci-stub bind"
	unbind "$SIB"
	hold_stop
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind after the owner died"
	[ -d /sys/module/bindguard ] && fail "bindguard is loaded"
}

ktap_plan 1
run_test "stock story without bindguard" t_stock_story
