# boot-autoprotect.sh - protected at boot: scripts/bindguard-protect-boot
# (what bindguard-protect.service runs) on a guest whose /var is a mounted
# virtio-blk disk (boots keys `disk` and `qmp`).
#
# The story: the disk's filesystem is mounted at /var; the script finds the
# virtio-blk function (and its root port) behind it and protects each with
# its IDs and why ("backs /var on vda"); every way to take the disk from its
# host driver is refused (sysfs unbind with EBUSY, the refusal naming the
# reason; driver_override + drivers_probe and new_id to vfio-pci take
# nothing) and the filesystem stays readable; a second run changes nothing;
# QEMU's hot-unplug of the protected disk still goes ahead, and the
# protection then names no device.
. /tests/lib.sh

SYS=/sys/kernel/bindguard
HELLO="bindguard data disk"

t_mounted() {
	[ -n "$DISK" ] || { fail "no virtio-blk device (1af4:1001 or 1af4:1042)"; return; }
	mkdir -p /var
	mount -t ext4 -o ro /dev/vda /var || { fail "mount /dev/vda /var"; return; }
	expect_eq "$(cat /var/hello)" "$HELLO" "/var/hello"
	expect_driver "$DISK" virtio-pci
}

t_dry_run() {
	local out want
	out=$(bindguard-protect-boot --dry-run) || fail "--dry-run exit status $?"
	want="$DISK@$(pci_ids "$DISK") backs /var on vda"
	echo "$out" | grep -qxF "$want" || fail "--dry-run: no line '$want' in: $(echo "$out" | tr '\n' '|')"
	expect_eq "$(protected_list)" "" "protections after --dry-run"
}

t_protect_boot() {
	local out ids
	out=$(bindguard-protect-boot) || fail "exit status $?: $out"
	ids=$(pci_ids "$DISK")
	listed | tr '|' '\n' | grep -qxF "protect $DISK $ids $ids applies $(group_of "$DISK") backs\\040/var\\040on\\040vda" ||
		fail "listed: $(listed)"
	case " $(protected_list)" in
	*" $DISK "*) ;;
	*) fail "protections: $(protected_list)" ;;
	esac
	out=$(bindguard-protect-boot) || fail "second run: exit status $?: $out"
	expect_eq "$(listed | tr '|' '\n' | grep -c "^protect $DISK ")" 1 "entries for $DISK after a second run"
}

t_refused() {
	local n drv=/sys/bus/pci/drivers/vfio-pci
	n=$(dmesg_count "bindguard: refused unbind of $DISK from virtio-pci (-EBUSY): the device is protected (backs /var on vda); to lift: echo $DISK > /sys/kernel/bindguard/unprotect")
	expect_write /sys/bus/pci/drivers/virtio-pci/unbind "$DISK" EBUSY
	expect_eq "$(dmesg_count "bindguard: refused unbind of $DISK from virtio-pci (-EBUSY): the device is protected (backs /var on vda); to lift: echo $DISK > /sys/kernel/bindguard/unprotect")" \
		$((n + 1)) "refusal line naming why"
	echo vfio-pci >"/sys/bus/pci/devices/$DISK/driver_override"
	echo "$DISK" >/sys/bus/pci/drivers_probe 2>/dev/null
	echo "$(cat "/sys/bus/pci/devices/$DISK/vendor") $(cat "/sys/bus/pci/devices/$DISK/device")" |
		sed 's/0x//g' >$drv/new_id 2>/dev/null
	echo "$DISK" >$drv/bind 2>/dev/null
	expect_driver "$DISK" virtio-pci
	echo >"/sys/bus/pci/devices/$DISK/driver_override"
	expect_eq "$(cat /var/hello)" "$HELLO" "/var/hello after the attempts"
	grep -q " /var ext4 " /proc/mounts || fail "/var no longer mounted"
}

t_hot_unplug() {
	local r
	umount /var || fail "umount /var"
	r=$(host_cmd device_del vdisk)
	expect_eq "$r" "ok {}" "device_del"
	r=$(host_cmd wait_event DEVICE_DELETED vdisk 30)
	case $r in ok*) ;; *) fail "DEVICE_DELETED vdisk: $r" ;; esac
	wait_for "[ ! -e /sys/bus/pci/devices/$DISK ]" 10 || fail "$DISK still there"
	listed | tr '|' '\n' | grep -qxF "protect $DISK $IDS - absent - backs\\040/var\\040on\\040vda" ||
		fail "listed: $(listed)"
}

for m in vfio vfio_iommu_type1 vfio-pci virtio_pci virtio_blk crc32c_generic ext4; do
	modprobe $m || diag "modprobe $m failed"
done
modprobe bindguard || diag "modprobe bindguard failed"
DISK=$( (pci_find 0x1af4 0x1001; pci_find 0x1af4 0x1042) | head -n1)
wait_for "[ -b /dev/vda ]" 10 || diag "no /dev/vda"
IDS=$([ -n "$DISK" ] && pci_ids "$DISK")

ktap_plan 5
run_test "autoprotect: the virtio disk mounted at /var" t_mounted
run_test "autoprotect: --dry-run names the disk's controller and why, writes nothing" t_dry_run
run_test "autoprotect: the controller protected with its IDs and why, once" t_protect_boot
run_test "autoprotect: unbind, driver_override, new_id, bind to vfio-pci take nothing; /var stays" t_refused
run_test "autoprotect: QEMU's hot-unplug of the protected disk goes ahead" t_hot_unplug
