# boot-benchvf.sh - what bindguard costs when SR-IOV VFs come and go, and
# what an unload costs with them present. Booted by test/bench/bench.sh only,
# with BG_TOPOLOGY=sriov (test/qemu/boot-guest.sh: an NVMe controller with
# bg.bench_vfs VFs, default 32) under -icount; no timing is asserted.
#
# Each VF is a PCI device added and deleted by the kernel (pci_iov_add_virtfn,
# pci_iov_remove_virtfn): the bus notifier sees each, and the table gains and
# loses an entry per VF group. The VFs stay without a driver
# (sriov_drivers_autoprobe=0: QEMU's VFs stay offline until `nvme
# virt-mgmt` gives them resources, which nobody needs here).
#
#   vf table     (asserted) while the VFs exist, debugfs groups lists every
#                group the kernel has, each VF in one; after sriov_numvfs=0,
#                none of them
#   vf churn     rounds of bg.bench_vf_cycles (default 10) creations +
#                destructions of all VFs, alternating without and with
#                bindguard: "vf without rR", "vf with rR", "vf without2 rR"
#                (the A/A ratio)
#   rmmod        one unload with the VFs present ("rmmod vfs rR") and one
#                without ("rmmod novfs rR"), each after a load, bg.bench_rounds
#                times
. /tests/lib.sh
. /tests/scenario.sh

VFS=$(bg_arg bench_vfs 32)
CYCLES=$(bg_arg bench_vf_cycles 10)
ROUNDS=$(bg_arg bench_rounds 3)

numvfs() {
	echo "$1" >"/sys/bus/pci/devices/$PF/sriov_numvfs"
}

vf_bdfs() {
	local v
	for v in /sys/bus/pci/devices/"$PF"/virtfn*; do
		[ -e "$v" ] && basename "$(readlink "$v")"
	done
}

table_count() {
	grep -vc '^#' $BG_DEBUGFS/groups
}

kernel_count() {
	local g n=0
	for g in /sys/kernel/iommu_groups/*; do
		ls "$g/devices" | grep -q '^0000:' && n=$((n + 1))
	done
	echo $n
}

t_vf_topology() {
	PF=$(pci_find 0x1b36 0x0010 | head -n1)
	[ -n "$PF" ] || { fail "no NVMe controller (BG_TOPOLOGY=sriov?)"; return; }
	modprobe nvme || fail "modprobe nvme"
	wait_for "[ -e /sys/bus/pci/devices/$PF/driver ]" 30 || fail "nvme did not bind $PF"
	expect_eq "$(cat "/sys/bus/pci/devices/$PF/sriov_totalvfs")" "$VFS" "sriov_totalvfs of $PF"
	echo 0 >"/sys/bus/pci/devices/$PF/sriov_drivers_autoprobe"
	diag "bench: topology sriov: PF $PF, $VFS VFs, $(ls /sys/kernel/iommu_groups | wc -l) IOMMU groups without them"
}

t_vf_table() {
	local before v g
	insmod "$BINDGUARD_KO" || { fail "insmod bindguard"; return; }
	before=$(table_count)
	numvfs "$VFS" || fail "sriov_numvfs=$VFS"
	expect_eq "$(vf_bdfs | wc -l)" "$VFS" "VFs created"
	expect_eq "$(table_count)" "$(kernel_count)" "groups listed with the VFs"
	for v in $(vf_bdfs); do
		g=$(group_of "$v")
		grep -q "^$g .* $v=-" $BG_DEBUGFS/groups || fail "VF $v missing from group $g's line"
	done
	diag "bench: $VFS VFs: $(kernel_count) groups with PCI devices"
	numvfs 0 || fail "sriov_numvfs=0"
	expect_eq "$(table_count)" "$before" "groups listed after the VFs went"
	expect_eq "$(table_count)" "$(kernel_count)" "groups listed vs the kernel's"
	unload
}

t_vf_churn() {
	local r=0
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		bench sriov "$CYCLES" "$PF" "$VFS" "vf without r$r" || fail "VF churn without"
		insmod "$BINDGUARD_KO" || fail "insmod bindguard"
		bench sriov "$CYCLES" "$PF" "$VFS" "vf with r$r" || fail "VF churn with"
		unload
		bench sriov "$CYCLES" "$PF" "$VFS" "vf without2 r$r" || fail "VF churn without (A/A)"
	done
}

t_rmmod() {
	local r=0
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		numvfs "$VFS" || fail "sriov_numvfs=$VFS"
		insmod "$BINDGUARD_KO" || fail "insmod bindguard"
		bench exec "rmmod vfs r$r" rmmod bindguard || fail "rmmod with VFs"
		numvfs 0 || fail "sriov_numvfs=0"
		insmod "$BINDGUARD_KO" || fail "insmod bindguard"
		bench exec "rmmod novfs r$r" rmmod bindguard || fail "rmmod without VFs"
	done
}

# no driver is needed but nvme (the VFs stay unbound): scenario_init only
# names the devices and finds bindguard.ko
scenario_init
diag "bench: kernel $(uname -r), $(cat /proc/cmdline)"
ktap_plan 4
run_test "topology: an SR-IOV NVMe controller" t_vf_topology
run_test "VFs in the table while they exist, and gone with them" t_vf_table
run_test "VF churn, interleaved" t_vf_churn
run_test "rmmod with and without the VFs" t_rmmod
