# boot-noiommu.sh - vfio's no-IOMMU groups (VFIO_NOIOMMU): a group vfio
# makes for one device and takes away again, with no bus event of its own.
#
# Booted with intel_iommu=off (test/guest/boots) on a kernel with
# VFIO_NOIOMMU (the rtdebug one; no Debian kernel enables it): no device
# has an IOMMU group until vfio-pci, loaded with
# enable_unsafe_noiommu_mode=1, binds one; its probe then makes a
# "vfio-noiommu" group for that device, and its remove takes the device
# out of the group and frees it. Nothing isolates such a device: bindguard
# cannot protect anything there, and claims nothing. What it must do is
# not lie and not hold on: the table follows the group while it exists,
# forgets it (member and entry) when vfio takes it away, and the kernel
# frees the group as it does without bindguard (a reference left behind
# keeps /sys/kernel/iommu_groups/N, and a member left behind names a
# device that may be gone).
. /tests/lib.sh

NOIOMMU=/sys/module/vfio/parameters/enable_unsafe_noiommu_mode

# groups_now: the IOMMU groups the kernel has, one line
groups_now() {
	ls /sys/kernel/iommu_groups | sort -n | tr '\n' ' '
}

# table_groups: the group ids debugfs "groups" lists, one line
table_groups() {
	awk '!/^#/ { print $1 }' $BG_DEBUGFS/groups | sort -n | tr '\n' ' '
}

# expect_same_groups WHEN: the table lists exactly the kernel's groups
expect_same_groups() {
	expect_eq "$(table_groups)" "$(groups_now)" "groups in debugfs vs /sys/kernel/iommu_groups $1"
}

# noiommu_bind: DEV to vfio-pci; sets NGROUP to the group vfio made
noiommu_bind() {
	unbind "$DEV"
	expect_eq "$(bind_to "$DEV" vfio-pci)" OK "vfio-pci bind of $DEV"
	NGROUP=$(group_of "$DEV")
	[ -n "$NGROUP" ] && [ "$NGROUP" != . ] || { fail "$DEV has no group after the vfio-pci bind"; return; }
	expect_eq "$(cat "/sys/kernel/iommu_groups/$NGROUP/name" 2>/dev/null)" vfio-noiommu "name of group $NGROUP"
}

# noiommu_gone: DEV left its group, the kernel freed it, the table forgot it
noiommu_gone() {
	[ -e "/sys/bus/pci/devices/$DEV/iommu_group" ] && fail "$DEV still has a group: $(group_of "$DEV")"
	# (a DEBUG_KOBJECT_RELEASE kernel frees it a few seconds late)
	wait_for "[ ! -e /sys/kernel/iommu_groups/$NGROUP ]" 10 ||
		fail "group $NGROUP still exists after vfio took $DEV out of it (a reference left)"
	grep -q "^$NGROUP " $BG_DEBUGFS/groups && fail "debugfs still lists group $NGROUP: $(grep "^$NGROUP " $BG_DEBUGFS/groups)"
	grep -q " $DEV=" $BG_DEBUGFS/groups && fail "debugfs still lists $DEV: $(grep " $DEV=" $BG_DEBUGFS/groups)"
	expect_same_groups "$1"
}

t_noiommu_setup() {
	[ -z "$(groups_now)" ] || fail "groups exist before vfio-pci binds (is the IOMMU off?): $(groups_now)"
	modprobe vfio enable_unsafe_noiommu_mode=1 || fail "modprobe vfio enable_unsafe_noiommu_mode=1"
	expect_eq "$(cat $NOIOMMU 2>/dev/null)" Y "$NOIOMMU"
	modprobe vfio-pci || fail "modprobe vfio-pci"
	modprobe bindguard || fail "modprobe bindguard"
	expect_eq "$(table_groups)" "" "groups in debugfs at load"
}

t_follow() {
	noiommu_bind
	grep -qE "^$NGROUP kernel - - - 0 - $DEV=vfio-pci\$" $BG_DEBUGFS/groups ||
		fail "debugfs line of group $NGROUP: '$(grep "^$NGROUP " $BG_DEBUGFS/groups)'"
	unbind "$DEV"
	noiommu_gone "after the unbind"
}

t_cycles() {
	local i
	for i in 1 2 3 4 5; do
		noiommu_bind
		expect_same_groups "while bound ($i)"
		unbind "$DEV"
		noiommu_gone "after unbind $i"
	done
}

t_two_devices() {
	local g1
	noiommu_bind
	g1=$NGROUP
	unbind "$DEV2"
	expect_eq "$(bind_to "$DEV2" vfio-pci)" OK "vfio-pci bind of $DEV2"
	expect_same_groups "with two no-IOMMU groups"
	unbind "$DEV"
	NGROUP=$g1
	noiommu_gone "after the first unbind"
	grep -q " $DEV2=vfio-pci" $BG_DEBUGFS/groups || fail "the second group lost its member"
	NGROUP=$(group_of "$DEV2")
	local d=$DEV
	DEV=$DEV2
	unbind "$DEV"
	noiommu_gone "after the second unbind"
	DEV=$d
}

t_remove_bound() {
	noiommu_bind
	echo 1 >"/sys/bus/pci/devices/$DEV/remove"
	wait_for "[ ! -e /sys/kernel/iommu_groups/$NGROUP ]" 10 || fail "group $NGROUP outlives its removed device"
	grep -q " $DEV=" $BG_DEBUGFS/groups && fail "debugfs lists the removed $DEV"
	expect_same_groups "after the removal"
	echo 1 >/sys/bus/pci/rescan
	wait_for "[ -e /sys/bus/pci/devices/$DEV ]" 10 || fail "$DEV did not come back"
	expect_same_groups "after the rescan"
}

t_load_while_bound() {
	unload
	noiommu_bind
	modprobe bindguard || fail "modprobe bindguard"
	grep -q "^$NGROUP kernel .* $DEV=vfio-pci\$" $BG_DEBUGFS/groups ||
		fail "the scan at load missed group $NGROUP"
	unbind "$DEV"
	noiommu_gone "after the unbind"
}

t_unload_while_bound() {
	noiommu_bind
	unload
	unbind "$DEV"
	wait_for "[ ! -e /sys/kernel/iommu_groups/$NGROUP ]" 10 || fail "group $NGROUP outlives the unload and the unbind"
	modprobe bindguard || fail "modprobe bindguard"
	expect_same_groups "after a reload"
	unload
}

ktap_plan 7
set -- $(pci_find 0x8086 0x100e)
DEV=$1
DEV2=$2
diag "devices $DEV $DEV2"
run_test "no-IOMMU: vfio with enable_unsafe_noiommu_mode, bindguard loaded, no group yet" t_noiommu_setup
run_test "no-IOMMU: the group vfio-pci's bind makes is listed, and forgotten with its unbind" t_follow
run_test "no-IOMMU: five bind/unbind cycles leave no group behind" t_cycles
run_test "no-IOMMU: two groups, each forgotten alone" t_two_devices
run_test "no-IOMMU: a bound device removed takes its group along" t_remove_bound
run_test "no-IOMMU: a group found by the scan at load is forgotten with its unbind" t_load_while_bound
run_test "no-IOMMU: unloaded while a group exists, nothing stays" t_unload_while_bound
