# boot-cdev.sh - userspace owns a device through the vfio device cdev and
# iommufd (/dev/vfio/devices/vfioN, VFIO_DEVICE_BIND_IOMMUFD: what QEMU's
# -object iommufd does), not through a container.
#
# Needs a kernel with IOMMUFD and VFIO_DEVICE_CDEV (the rtdebug one; no
# Debian kernel enables them). The kernel claims DMA ownership of the
# device's group in iommufd_device_bind() -> iommu_device_claim_dma_owner(),
# which bindguard follows (src/claim_dma_owner.c) like the group claim of a
# container. The story: test/tools/vfio-cdev takes the bridged e1000 group's
# HELD; the table names it owner; the sibling is refused on every bind
# path, and recorded; the legacy API cannot take the group meanwhile (the
# kernel refuses, the table keeps the cdev's owner), nor the cdev while a
# container holds it; killed, the client leaves the group to the kernel; a
# bind the kernel refuses because the sibling is on e1000 is explained.
. /tests/lib.sh
. /tests/scenario.sh
. /tests/paths.sh

# cdev_start NAME: vfio-cdev takes HELD, as comm NAME; sets CDEV (its pid)
cdev_start() {
	prepare
	: >/tmp/cdev.log
	vfio-cdev -n "$1" "$HELD" >/tmp/cdev.log 2>&1 &
	CDEV=$!
	wait_for 'grep -q "^holding\|^vfio-cdev:" /tmp/cdev.log' 30
	diag "vfio-cdev: $(cat /tmp/cdev.log)"
}

cdev_stop() {
	kill -9 "$CDEV" 2>/dev/null
	wait "$CDEV" 2>/dev/null
	CDEV=
}

t_cdev_setup() {
	modprobe bindguard || fail "modprobe bindguard"
	[ -c /dev/iommu ] || fail "no /dev/iommu (IOMMUFD)"
	prepare
	ls /sys/bus/pci/devices/"$HELD"/vfio-dev/vfio* >/dev/null 2>&1 ||
		fail "$HELD on vfio-pci has no vfio-dev/vfioN"
	ls /dev/vfio/devices/vfio* >/dev/null 2>&1 ||
		fail "no /dev/vfio/devices/vfioN (VFIO_DEVICE_CDEV)"
	grep -q "^iommu_device_claim_dma_owner claim " $BG_DEBUGFS/hooks ||
		fail "iommu_device_claim_dma_owner is not hooked: $(cat $BG_DEBUGFS/hooks)"
}

t_cdev_hold() {
	local out
	cdev_start qemu-cdev
	grep -q "^holding $HELD pid $CDEV\$" /tmp/cdev.log || fail "vfio-cdev does not hold: $(cat /tmp/cdev.log)"
	expect_eq "$(group_field "$GROUP" 2)" user "state of group $GROUP"
	expect_eq "$(group_field "$GROUP" 3)" "$CDEV" "owner pid"
	expect_eq "$(group_field "$GROUP" 4)" qemu-cdev "owner comm"
	expect_eq "$(events_count "group=$GROUP user pid=$CDEV comm=qemu-cdev$")" 1 "user event"
	out=$(bindguard-status 2>&1)
	echo "$out" | grep -q "^$GROUP  *user  *$CDEV qemu-cdev " ||
		fail "bindguard-status does not name the owner: $(echo "$out" | grep "^$GROUP ")"
}

t_sibling_refused() {
	local p n=0
	for p in $BIND_PATHS; do
		diag "path ${p%%:*} (${p#*:})"
		t_path_owned "${p%%:*}" "${p#*:}"
		n=$((n + 1))
	done
	[ "$(dmesg_count "bindguard: refused e1000 bind to $SIB: iommu group $GROUP owned by userspace (pid $CDEV qemu-cdev)")" -ge 1 ] ||
		fail "no refusal line naming the cdev's owner: $(dmesg | grep 'bindguard: refused' | tail -n1)"
	[ "$(events_count "group=$GROUP refused dev=$SIB driver=e1000 pid=$CDEV comm=qemu-cdev$")" -ge 1 ] ||
		fail "no refused event naming the cdev's owner: $(tail -n1 $BG_DEBUGFS/events)"
	expect_eq "$(group_field "$GROUP" 2)" user "state of group $GROUP after $n paths"
}

t_legacy_while_cdev() {
	local out
	out=$(vfio-hold "$GROUP" "$HELD" 2>&1)
	# the kernel refuses the group's open while a device cdev is bound
	# (vfio_group_fops_open: cdev_device_open_cnt)
	expect_eq "$out" "vfio-hold: /dev/vfio/$GROUP: Device or resource busy" "vfio-hold while the cdev holds"
	expect_eq "$(group_field "$GROUP" 3)" "$CDEV" "owner pid"
	expect_eq "$(group_field "$GROUP" 4)" qemu-cdev "owner comm"
}

t_cdev_release() {
	cdev_stop
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 ||
		fail "group $GROUP stays $(group_field "$GROUP" 2) after the client died"
	expect_eq "$(events_count "group=$GROUP kernel$")" 1 "kernel event"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB once the owner is gone"
	unbind "$SIB"
}

t_cdev_while_legacy() {
	local out
	hold_start
	expect_eq "$(group_field "$GROUP" 4)" vfio-hold "owner comm"
	out=$(vfio-cdev -n qemu-cdev "$HELD" 2>&1)
	# the kernel refuses the cdev while the group fd is open
	# (vfio_device_block_group)
	expect_eq "$out" "vfio-cdev: bind: Device or resource busy" "vfio-cdev while a container holds"
	expect_eq "$(group_field "$GROUP" 3)" "$HOLDER" "owner pid"
	expect_eq "$(group_field "$GROUP" 4)" vfio-hold "owner comm"
	hold_stop
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 ||
		fail "group $GROUP stays $(group_field "$GROUP" 2) after vfio-hold died"
}

t_not_viable() {
	local out
	prepare
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	out=$(vfio-cdev -n qemu-cdev "$HELD" 2>&1)
	case $out in
	"vfio-cdev: bind: "*) ;;
	*) fail "the bind did not fail with the sibling on e1000: $out" ;;
	esac
	expect_eq "$(group_field "$GROUP" 2)" kernel "state of group $GROUP"
	wait_for "dmesg | grep -q 'bindguard: iommu group $GROUP not viable for pid [0-9]* (qemu-cdev): $SIB is bound to e1000$(viable_fix $SIB $GROUP)\$'" 10 ||
		fail "no 'not viable' line for group $GROUP: $(dmesg | grep 'not viable' | tail -n2)"
	[ "$(events_count "group=$GROUP not-viable dev=$SIB driver=e1000 pid=[0-9]+ comm=qemu-cdev$")" -ge 1 ] ||
		fail "no not-viable event: $(tail -n2 $BG_DEBUGFS/events)"
	unbind "$SIB"
}

t_cdev_unload() {
	cdev_start qemu-cdev
	expect_eq "$(group_field "$GROUP" 2)" user "state of group $GROUP"
	unload
	expect_eq "$(hooks_left)" "" "hooks left"
	cdev_stop
	expect_eq "$(dmesg | grep -c 'bindguard: .*missed')" 0 "missed kretprobe calls"
}

for m in vfio vfio_iommu_type1 iommufd vfio-pci e1000 e1000e pci-stub bgtest; do
	modprobe $m || diag "modprobe $m failed"
done
scenario_init

ktap_plan 8
run_test "cdev: vfio-pci's device has a cdev, bindguard hooks the device claim" t_cdev_setup
run_test "cdev: a client bound to an iommufd owns the group, named in the table" t_cdev_hold
run_test "cdev: the sibling is refused on every bind path, owner named" t_sibling_refused
run_test "cdev: the legacy API cannot take the group meanwhile" t_legacy_while_cdev
run_test "cdev: the client killed, the group returns to the kernel" t_cdev_release
run_test "cdev: the cdev cannot take a group a container holds" t_cdev_while_legacy
run_test "cdev: a bind refused for a sibling on e1000 is explained" t_not_viable
run_test "cdev: unloaded while a client holds, no hook left" t_cdev_unload
