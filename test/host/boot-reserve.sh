# boot-reserve.sh - a reservation held from boot, on a real host (sourced by
# test/host/run; KTAP on stdout).
#
# This boot's initrd (test/host/image.sh, initrd=reserve in test/host/boots)
# was made the way debian/README.Debian tells an admin to hold a group from
# boot: `options bindguard reserve=0000:02:02.0` and `softdep e1000 pre:
# bindguard` in modprobe.d, bindguard listed in the initramfs's modules. The
# two e1000 share one IOMMU group and e1000 is loaded from the initramfs, so
# without the softdep e1000 would bind before bindguard loads. Then the
# window the reservation exists for: libvirt's managed reattach at a VM's
# stop must not hand the device to e1000 before the VM starts again.
. "$HERE/libvirt.sh"

t_loaded_before_e1000() {
	local bg e1000
	expect_eq "$(cat /sys/module/bindguard/parameters/reserve 2>&1)" "$SIB" "parameter reserve"
	bg=$(dmesg | grep -n 'bindguard: loaded, mode enforce' | head -n1 | cut -d: -f1)
	e1000=$(dmesg | grep -n 'e1000: Intel(R) PRO/1000 Network Driver' | head -n1 | cut -d: -f1)
	dmesg | grep -E 'bindguard: loaded|e1000: Intel|Run /init|EXT4-fs \(vda\): mounted' | sed 's/^/# dmesg: /'
	[ -n "$bg" ] && [ -n "$e1000" ] || { fail "no load line of bindguard ($bg) or e1000 ($e1000)"; return; }
	[ "$bg" -lt "$e1000" ] || fail "e1000 loaded (dmesg line $e1000) before bindguard (line $bg)"
}

t_reserved_from_boot() {
	local d
	grep "^$GROUP " $BG_DEBUGFS/groups | sed 's/^/# groups: /'
	expect_eq "$(group_field "$GROUP" 2)" reserved "state of group $GROUP"
	for d in "$HELD" "$SIB"; do
		expect_driver "$d" none
		[ "$(dmesg_count "bindguard: refused e1000 bind to $d: iommu group $GROUP is reserved")" -ge 1 ] ||
			fail "no boot-time refusal line for $d"
	done
	bindguard-status | sed 's/^/# bindguard-status: /'
	run bindguard-status --check "$HELD" --assign "$HELD" ||
		fail "bindguard-status --check $HELD: exit $?"
}

# The VM starts (the reservation admits vfio-pci), stops (libvirt's managed
# reattach of HELD is refused: the group stays closed), and starts again.
t_vm_stop_start() {
	t_start_vm
	[ -n "$QPID" ] || return
	vm_destroy
	wait_for "[ \"\$(group_field $GROUP 2)\" = reserved ]" 30 ||
		fail "group $GROUP after the stop: $(grep "^$GROUP " $BG_DEBUGFS/groups)"
	diag "$HELD is on $(driver_of "$HELD") after the stop"
	[ "$(driver_of "$HELD")" = e1000 ] && fail "managed reattach gave $HELD to e1000 in a reserved group"
	[ "$(dmesg_count "bindguard: refused e1000 bind to $HELD: iommu group $GROUP is reserved")" -ge 2 ] ||
		fail "no refusal line for the managed reattach of $HELD"
	# the restart: the domain is still defined
	vm_start
	[ -n "$QPID" ] || return
	vm_destroy
	run $VIRSH undefine seed || fail "virsh undefine seed failed"
}

# Released: the group opens, both devices go back to e1000.
t_boot_release() {
	local d
	expect_eq "$(sysfs_write /sys/kernel/bindguard/release "$SIB")" OK "release of $SIB"
	expect_eq "$(cat /sys/kernel/bindguard/reserve)" "" "reservations after release"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state of group $GROUP"
	for d in "$HELD" "$SIB"; do
		[ "$(driver_of "$d")" = none ] || unbind "$d"
		echo "$d" >/sys/bus/pci/drivers_probe
		expect_driver "$d" e1000
	done
}

libvirt_init
ktap_plan 5
run_test "reserve from boot: bindguard loaded from the initramfs before e1000" t_loaded_before_e1000
run_test "reserve from boot: group reserved, e1000 refused for both members" t_reserved_from_boot
run_test "libvirt: virsh reaches libvirt" t_libvirtd
run_test "libvirt: VM stopped and started again: the reattach to e1000 refused" t_vm_stop_start
run_test "release: the group opens, e1000 binds" t_boot_release
