# boot-protect.sh - protected devices (src/listed.c's names, src/reserve.c's
# files, the veto in src/veto.c, the unbind hook in src/unbind.c): a device
# the host needs stays with its host driver. Boots keys `qmp` and `disk`.
#
# The story: garbage is refused and changes nothing; the seed group's
# sibling SIB, protected while on e1000, keeps its group closed to drivers
# that leave DMA to userspace (vfio-pci by driver_override + drivers_probe,
# by new_id and by sysfs bind, pci-stub) while host drivers still bind
# there; its sysfs unbind is refused with EBUSY; audit records, off
# ignores; a driver's unload, and the device's sysfs remove and a rescan,
# still take it away and give it back; a VFIO claim of the group fails and
# the "not viable" report (before 5.19: the refused claim) names the
# protection and how to lift it; unprotect lifts all of it; a group the
# host does not drive (owned, a member on vfio-pci) cannot be protected,
# nor can a group be both reserved and protected; protect= at load with a
# bad entry; nothing left after rmmod. Pinned names: a protection or
# reservation written with other IDs than the device's does not apply
# (drift), one with the right IDs and a reason names it in its refusals.
# At boot (scripts/bindguard-protect-boot, what bindguard-protect.service
# runs): the guest's /var is a mounted virtio-blk disk; the script protects
# its controller with its IDs and why ("backs /var on vda"); every way to
# take the disk from its host driver is refused and /var stays readable;
# QEMU's hot-unplug of the protected disk still goes ahead.
. /tests/lib.sh
. /tests/scenario.sh

SYS=/sys/kernel/bindguard
PARAMS=/sys/module/bindguard/parameters
E1000=/sys/bus/pci/drivers/e1000


# pci_id BDF: "vvvv dddd", as new_id takes it
pci_id() {
	echo "$(cat "/sys/bus/pci/devices/$1/vendor") $(cat "/sys/bus/pci/devices/$1/device")" |
		sed 's/0x//g'
}

t_protect_files() {
	expect_eq "$(stat -c %a $SYS/protect)" 600 "protect mode"
	expect_eq "$(stat -c %a $SYS/unprotect)" 200 "unprotect mode"
	expect_eq "$(protected_list)" "" "protections at load"
	expect_eq "$(head -n1 $BG_DEBUGFS/groups)" "# bindguard-groups 3" "groups format"
	grep -qx 'unbind_store unbind -' $BG_DEBUGFS/hooks ||
		fail "the unbind hook is not armed: $(cat $BG_DEBUGFS/hooks)"
	expect_driver "$SIB" e1000
	expect_driver "$HELD" e1000
}

t_protect_bad_writes() {
	local v n
	n=$(dmesg_count "bindguard: invalid protection")
	# IDs: 4 hex digits each, two or four; a reason: 1 to 63 printable
	# characters after one space
	for v in garbage "" "$SIB " "${SIB}x" 0000:02:20.0 "$SIB,$HELD" "$(printf '%0100d' 0)" \
		"$SIB@8086" "$SIB@8086:100" "$SIB@8086:100e:1af4" "$SIB@8086:100e:1af4:11000" \
		"$SIB@808g:100e" "$SIB@8086-100e" "$SIB@" "@8086:100e" "$SIB@8086:100e@8086:100e" \
		"$SIB $(printf '%064d' 0)" "$SIB $(printf 'a\tb')" "$SIB $(printf 'caf\303\251')" \
		"$SIB @8086:100e" "$SIB
" "$SIB
why"; do
		expect_write $SYS/protect "$v" EINVAL
	done
	expect_eq "$(dmesg_count "bindguard: invalid protection")" $((n + 22)) "log lines, one a write"
	n=$(dmesg_count "bindguard: invalid unprotect")
	expect_write $SYS/unprotect garbage EINVAL
	expect_write $SYS/unprotect "$SIB@8086:100e" EINVAL
	expect_write $SYS/unprotect "$SIB why" EINVAL
	expect_eq "$(dmesg_count "bindguard: invalid unprotect")" $((n + 3)) "unprotect log lines"
	expect_eq "$(listed)" "" "listed after bad writes"
	expect_write $SYS/unprotect "$SIB" ENOENT
	expect_eq "$(protected_list)" "" "protections after bad writes"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state of group $GROUP"
	expect_write $SYS/protect "$(printf 'x\nbindguard: forged')" EINVAL
	dmesg | grep -q '^\[[ 0-9.]*\] bindguard: forged' && fail "a write forged a log line"
}

t_protect() {
	expect_write $SYS/protect "$SIB" OK
	expect_write $SYS/protect "$SIB" EEXIST
	expect_write $SYS/protect "${SIB#0000:}" EEXIST	# domain 0, as lspci prints it
	expect_eq "$(protected_list)" "$SIB " "protections"
	expect_eq "$(group_field "$GROUP" 2)" protected "state of group $GROUP"
	expect_eq "$(group_field "$GROUP" 3)" - "owner pid"
	expect_eq "$(events_count "group=$GROUP protect dev=$SIB pid=[0-9]+ comm=sh$")" 1 "protect event"
	expect_driver "$SIB" e1000
}

# HELD, a member that is not protected, leaves its host driver freely; no
# driver that hands DMA to userspace may take it, by any path.
t_user_dma_refused() {
	local n id
	expect_write $E1000/unbind "$HELD" OK
	expect_driver "$HELD" none
	n=$(group_field "$GROUP" 6)
	echo vfio-pci >"/sys/bus/pci/devices/$HELD/driver_override"
	sysfs_write /sys/bus/pci/drivers_probe "$HELD" >/dev/null
	echo >"/sys/bus/pci/devices/$HELD/driver_override"
	expect_driver "$HELD" none
	expect_eq "$(group_field "$GROUP" 6)" $((n + 1)) "refused count (driver_override)"
	[ "$(dmesg_count "bindguard: refused vfio-pci bind to $HELD: iommu group $GROUP holds protected device $SIB")" -ge 1 ] ||
		fail "no refusal line naming the protected device"
	[ "$(dmesg_count "$LIFT")" -ge 1 ] || fail "the refusal line does not say how to lift it"
	[ "$(events_count "group=$GROUP refused dev=$HELD driver=vfio-pci pid=- comm=-$")" -ge 1 ] ||
		fail "no refused event"
	id=$(pci_id "$HELD")
	sysfs_write /sys/bus/pci/drivers/vfio-pci/new_id "$id" >/dev/null
	echo "$id" >/sys/bus/pci/drivers/vfio-pci/remove_id
	expect_driver "$HELD" none
	expect_eq "$(group_field "$GROUP" 6)" $((n + 2)) "refused count (new_id)"
	expect_eq "$(bind_to "$HELD" vfio-pci)" "$REFUSED" "vfio-pci bind"
	expect_eq "$(bind_to "$HELD" pci-stub)" "$REFUSED" "pci-stub bind"
	expect_driver "$HELD" none
	expect_eq "$(group_field "$GROUP" 6)" $((n + 4)) "refused count (bind)"
	expect_eq "$(bind_to "$HELD" e1000)" OK "e1000 (a host driver) bind of $HELD"
	expect_eq "$(group_field "$GROUP" 2)" protected "state of group $GROUP"
}

t_unbind_refused() {
	local n
	n=$(dmesg_count "bindguard: refused unbind of $SIB from e1000 (-EBUSY): the device is protected; $LIFT")
	expect_write $E1000/unbind "$SIB" EBUSY
	expect_write "/sys/bus/pci/devices/$SIB/driver/unbind" "$SIB" EBUSY
	expect_driver "$SIB" e1000
	expect_eq "$(dmesg_count "bindguard: refused unbind of $SIB from e1000 (-EBUSY): the device is protected; $LIFT")" \
		$((n + 2)) "refused unbind log lines"
	expect_eq "$(events_count "group=$GROUP unbind-refused dev=$SIB driver=e1000 pid=[0-9]+ comm=sh$")" 2 \
		"unbind-refused events"
	# the unprotected sibling still leaves
	expect_write $E1000/unbind "$HELD" OK
	expect_eq "$(bind_to "$HELD" e1000)" OK "e1000 bind of $HELD"
}

t_protect_modes() {
	expect_write $PARAMS/mode audit OK
	expect_write $E1000/unbind "$HELD" OK
	expect_eq "$(bind_to "$HELD" vfio-pci)" OK "vfio-pci bind in mode audit"
	expect_eq "$(events_count "group=$GROUP audit dev=$HELD driver=vfio-pci pid=- comm=-$")" 1 "audit event"
	unbind "$HELD"
	expect_write $E1000/unbind "$SIB" OK
	[ "$(dmesg_count "bindguard: audit: would refuse unbind of $SIB from e1000")" -ge 1 ] ||
		fail "no audit line for the unbind"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	expect_write $PARAMS/mode off OK
	expect_eq "$(bind_to "$HELD" pci-stub)" OK "pci-stub bind in mode off"
	unbind "$HELD"
	expect_write $E1000/unbind "$SIB" OK
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	expect_write $PARAMS/mode enforce OK
	expect_eq "$(bind_to "$HELD" vfio-pci)" "$REFUSED" "vfio-pci bind in mode enforce"
	expect_write $E1000/unbind "$SIB" EBUSY
	expect_eq "$(bind_to "$HELD" e1000)" OK "e1000 bind of $HELD"
}

# A driver's unload takes its devices along; loaded again, it takes them back.
t_rmmod_driver() {
	rmmod e1000 || { fail "rmmod e1000"; return; }
	expect_driver "$SIB" none
	expect_driver "$HELD" none
	wait_for "[ ! -e $E1000 ]" 10
	modprobe e1000 || { fail "modprobe e1000"; return; }
	expect_driver "$SIB" e1000
	expect_driver "$HELD" e1000
	expect_eq "$(group_field "$GROUP" 2)" protected "state of group $GROUP"
}

# sysfs remove goes ahead; the device comes back protected (names)
t_remove_rescan() {
	echo 1 >"/sys/bus/pci/devices/$SIB/remove" || fail "remove of $SIB"
	wait_for "[ ! -e /sys/bus/pci/devices/$SIB ]" 10 || fail "$SIB still there"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state without $SIB"
	echo 1 >/sys/bus/pci/rescan
	wait_for "[ -e /sys/bus/pci/devices/$SIB/driver ]" 10 || fail "$SIB did not come back"
	expect_driver "$SIB" e1000
	expect_eq "$(group_field "$GROUP" 2)" protected "state with $SIB back"
	expect_write $E1000/unbind "$SIB" EBUSY
}

# HELD on vfio-pci from before the protection (binds made are not undone):
# the claim fails, and what bindguard says names the protection.
# A group member on vfio-pci beside a protected device: only if it went
# there while mode=off (protect itself is refused in such a group, and the
# veto refuses vfio-pci there otherwise).
t_claim_explained() {
	local n
	unbind "$HELD"
	echo off >$PARAMS/mode
	expect_eq "$(bind_to "$HELD" vfio-pci)" OK "vfio-pci bind of $HELD in mode off"
	echo enforce >$PARAMS/mode
	expect_driver "$HELD" vfio-pci
	n=$(dmesg_count "$SIB is bound to e1000 (protected: echo $SIB > /sys/kernel/bindguard/unprotect)")
	vfio-hold "$GROUP" "$HELD" >/tmp/hold.log 2>&1 && fail "vfio-hold held the group: $(cat /tmp/hold.log)"
	grep -q "group not viable" /tmp/hold.log || fail "vfio-hold: $(cat /tmp/hold.log)"
	wait_for "[ \"\$(dmesg_count \"$SIB is bound to e1000 (protected: echo $SIB > /sys/kernel/bindguard/unprotect)\")\" -gt $n ]" 10 ||
		fail "no not-viable report naming the protection"
	if [ $NATIVE = 0 ]; then
		# a client that does not ask first: the claim itself is refused
		n=$(dmesg_count "it holds protected device $SIB; $LIFT")
		vfio-hold -f "$GROUP" >/tmp/hold.log 2>&1 && fail "vfio-hold -f held the group"
		grep -q "VFIO_GROUP_SET_CONTAINER: Device or resource busy" /tmp/hold.log ||
			fail "vfio-hold -f: $(cat /tmp/hold.log)"
		expect_eq "$(dmesg_count "it holds protected device $SIB; $LIFT")" $((n + 1)) "refused claim line"
		[ "$(events_count "group=$GROUP claim-refused dev=$SIB ")" -ge 1 ] || fail "no claim-refused event"
	fi
	expect_eq "$(group_field "$GROUP" 2)" protected "state after the claim"
	# vfio-pci lets the device go (an unbind from it always proceeds)
	expect_write /sys/bus/pci/drivers/vfio-pci/unbind "$HELD" OK
	expect_eq "$(protected_list)" "$SIB " "protections"
}

t_protect_lifted() {
	expect_write $SYS/unprotect "$SIB" OK
	expect_write $SYS/unprotect "$SIB" ENOENT
	expect_eq "$(protected_list)" "" "protections"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state of group $GROUP"
	[ "$(events_count "group=$GROUP unprotect dev=$SIB pid=[0-9]+ comm=sh$")" -ge 1 ] || fail "no unprotect event"
	expect_write $E1000/unbind "$SIB" OK
	expect_eq "$(bind_to "$SIB" vfio-pci)" OK "vfio-pci bind of $SIB"
	unbind "$SIB"
	expect_eq "$(bind_to "$HELD" pci-stub)" OK "pci-stub bind of $HELD"
	unbind "$HELD"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	expect_eq "$(bind_to "$HELD" e1000)" OK "e1000 bind of $HELD"
}

# What the host no longer drives cannot be protected, and a group is never
# both reserved and protected (its devices would have no driver at all).
# A protection (reservation) is pinned to the device's IDs: written with
# BDF@vvvv:dddd, or recorded from the device. Another device at that
# address is not covered (drift: logged with both IDs and the fix, shown in
# debugfs "listed"); a reason given is shown and named in every refusal.
t_drift() {
	local ids vd wrong=1af4:1000 n
	ids=$(pci_ids "$SIB")
	vd=${ids%:*:*}
	expect_eq "$(head -n1 $BG_DEBUGFS/listed)" "# bindguard-listed 1" "listed format"
	n=$(dmesg_count "bindguard: reservation of $SIB@$wrong does not apply: the device there (iommu group $GROUP) is $ids; to fix: echo $SIB > /sys/kernel/bindguard/release, then list the device you mean as BDF@vvvv:dddd")
	expect_write $SYS/reserve "$SIB@$wrong" OK
	expect_eq "$(listed)" "reserve $SIB $wrong $ids drift $GROUP -|" "listed: a reservation that drifts"
	expect_eq "$(dmesg_count "bindguard: reservation of $SIB@$wrong does not apply: the device there (iommu group $GROUP) is $ids; to fix: echo $SIB > /sys/kernel/bindguard/release, then list the device you mean as BDF@vvvv:dddd")" \
		$((n + 1)) "drift log line"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state of group $GROUP (the reservation does not apply)"
	unbind "$HELD"
	expect_eq "$(bind_to "$HELD" e1000)" OK "e1000 bind of $HELD (not reserved)"
	expect_write $SYS/release "$SIB" OK
	# a protection that drifts does not refuse the unbind
	expect_write $SYS/protect "$SIB@$wrong:1af4:0001 another card" OK
	expect_eq "$(listed)" "protect $SIB $wrong:1af4:0001 $ids drift $GROUP another\\040card|" "listed: a protection that drifts"
	json_dump drift
	expect_eq "$(protected_list)" "$SIB " "protections (listed, not applying)"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state of group $GROUP (the protection does not apply)"
	expect_write $E1000/unbind "$SIB" OK
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	expect_write $SYS/unprotect "$SIB" OK
	# the right IDs, two or four, and a reason, named in the refusal
	expect_write $SYS/protect "$SIB@$vd backs / on test" OK
	expect_eq "$(listed)" "protect $SIB $vd $ids applies $GROUP backs\\040/\\040on\\040test|" "listed: a protection that applies"
	expect_eq "$(group_field "$GROUP" 2)" protected "state of group $GROUP"
	n=$(dmesg_count "bindguard: refused unbind of $SIB from e1000 (-EBUSY): the device is protected (backs / on test); $LIFT")
	expect_write $E1000/unbind "$SIB" EBUSY
	expect_eq "$(dmesg_count "bindguard: refused unbind of $SIB from e1000 (-EBUSY): the device is protected (backs / on test); $LIFT")" \
		$((n + 1)) "refusal line with the reason"
	expect_write $SYS/unprotect "$SIB" OK
	expect_write $SYS/protect "$SIB@$ids" OK
	expect_eq "$(listed)" "protect $SIB $ids $ids applies $GROUP -|" "listed: four IDs"
	expect_write $SYS/unprotect "$SIB" OK
	# no IDs given: those of the device there, kept across its removal
	expect_write $SYS/reserve "$SIB" OK
	expect_eq "$(listed)" "reserve $SIB $ids $ids applies $GROUP -|" "listed: IDs recorded"
	expect_write "/sys/bus/pci/devices/$SIB/remove" 1 OK
	expect_eq "$(listed)" "reserve $SIB $ids - absent - -|" "listed: the device removed"
	echo 1 >/sys/bus/pci/rescan
	wait_for "[ -e /sys/bus/pci/devices/$SIB ]" 10 || fail "$SIB not back after rescan"
	expect_eq "$(listed)" "reserve $SIB $ids $ids applies $GROUP -|" "listed: the same device back"
	expect_eq "$(group_field "$GROUP" 2)" reserved "state of group $GROUP"
	expect_write $SYS/release "$SIB" OK
	expect_eq "$(listed)" "" "listed after release"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state of group $GROUP"
	for d in "$SIB" "$HELD"; do
		[ "$(driver_of "$d")" = e1000 ] || { unbind "$d"; bind_to "$d" e1000 >/dev/null; }
		expect_driver "$d" e1000
	done
}

# --- protected at boot ----------------------------------------------------

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

# what the script protected (the disk's controller and its root port):
# lifted, so that the next test starts from no protection
t_autoprotect_lifted() {
	local b
	for b in $(protected_list); do
		expect_write $SYS/unprotect "$b" OK
	done
	expect_eq "$(protected_list)" "" "protections"
}

# The disk's address, empty since its hot-unplug, reserved for an e1000
# (pinned to its IDs): the virtio NIC QEMU hot-adds there is not covered
# (drift, logged with both IDs), and when QEMU deletes it the reservation
# waits for a device again.
t_hot_add_drift() {
	local r ids g
	expect_write /sys/kernel/bindguard/reserve "$DISK@8086:100e" OK
	expect_eq "$(listed)" "reserve $DISK 8086:100e - absent - -|" "listed before the hot-add"
	r=$(host_cmd device_add "virtio-net-pci,bus=rp5,id=nic7,romfile=")
	expect_eq "$r" "ok {}" "device_add"
	wait_for "[ -e /sys/bus/pci/devices/$DISK/iommu_group ]" 30 ||
		{ fail "$DISK did not appear"; return; }
	wait_for "grep -q ' drift ' $BG_DEBUGFS/listed" 10
	ids=$(pci_ids "$DISK")
	# (1af4:1000, or 1af4:1041 where QEMU makes it modern-only: a PCIe port)
	case ${ids%:*:*} in 1af4:*) ;; *) fail "IDs of the virtio NIC: $ids" ;; esac
	g=$(group_of "$DISK")
	expect_eq "$(listed)" "reserve $DISK 8086:100e $ids drift $g -|" "listed after the hot-add"
	expect_eq "$(group_field "$g" 2)" kernel "state of group $g (not reserved)"
	[ "$(dmesg_count "bindguard: reservation of $DISK@8086:100e does not apply: the device there (iommu group $g) is $ids;")" -ge 1 ] ||
		fail "no drift log line: $(dmesg | grep 'does not apply' | tail -n1)"
	r=$(host_cmd device_del nic7)
	expect_eq "$r" "ok {}" "device_del"
	r=$(host_cmd wait_event DEVICE_DELETED nic7 30)
	case $r in ok*) ;; *) fail "DEVICE_DELETED nic7: $r" ;; esac
	wait_for "[ ! -e /sys/bus/pci/devices/$DISK ]" 10 || fail "$DISK still there"
	expect_eq "$(listed)" "reserve $DISK 8086:100e - absent - -|" "listed after the delete"
	expect_write /sys/kernel/bindguard/release "$DISK" OK
}

t_protect_conflicts() {
	local n
	n=$(dmesg_count "bindguard: cannot ")
	unbind "$HELD"
	expect_eq "$(bind_to "$HELD" vfio-pci)" OK "vfio-pci bind of $HELD"
	expect_write $SYS/protect "$SIB" EBUSY
	[ "$(dmesg_count "bindguard: cannot protect $SIB (-EBUSY): $HELD in iommu group $GROUP is on vfio-pci")" -ge 1 ] ||
		fail "no log line for a member on vfio-pci"
	hold_start
	expect_eq "$(group_field "$GROUP" 2)" user "state of group $GROUP"
	expect_write $SYS/protect "$SIB" EBUSY
	[ "$(dmesg_count "bindguard: cannot protect $SIB (-EBUSY): iommu group $GROUP is owned by userspace")" -ge 1 ] ||
		fail "no log line for an owned group"
	hold_stop
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 || fail "group $GROUP stays owned"
	unbind "$HELD"
	expect_write $SYS/reserve "$HELD" OK
	expect_write $SYS/protect "$SIB" EBUSY
	[ "$(dmesg_count "bindguard: cannot protect $SIB (-EBUSY): iommu group $GROUP has a reserved member")" -ge 1 ] ||
		fail "no log line for a reserved group"
	expect_write $SYS/protect "$HELD" EBUSY
	expect_write $SYS/release "$HELD" OK
	expect_write $SYS/protect "$SIB" OK
	expect_write $SYS/reserve "$HELD" EBUSY
	[ "$(dmesg_count "bindguard: cannot reserve $HELD (-EBUSY): iommu group $GROUP has a protected member")" -ge 1 ] ||
		fail "no log line for a protected group"
	expect_eq "$(dmesg_count "bindguard: cannot ")" $((n + 5)) "log lines, one a refused write"
	expect_write $SYS/unprotect "$SIB" OK
	expect_eq "$(protected_list)" "" "protections"
	expect_eq "$(tr '\n' ' ' <$SYS/reserve)" "" "reservations"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	expect_eq "$(bind_to "$HELD" e1000)" OK "e1000 bind of $HELD"
}

t_protect_load_param() {
	rmmod bindguard || { fail "rmmod"; return; }
	local ids
	ids=$(pci_ids "$SIB")
	insmod "$BINDGUARD_KO" protect="$SIB@${ids%:*:*},garbage" || { fail "insmod protect="; return; }
	expect_eq "$(listed)" "protect $SIB ${ids%:*:*} $ids applies $GROUP -|" "listed"
	expect_eq "$(cat $PARAMS/protect)" "$SIB" "protect= parameter"
	expect_eq "$(protected_list)" "$SIB " "protections"
	expect_eq "$(cat $SYS/config_errors)" "protect invalid garbage -" "config_errors"
	[ "$(dmesg_count "bindguard: refused protect value 'garbage' at load: expected a PCI device name (dddd:bb:dd.f), optionally @vvvv:dddd[:ssss:ssss]; left out")" -ge 1 ] ||
		fail "no log line for the bad entry"
	expect_eq "$(group_field "$GROUP" 2)" protected "state at load"
	expect_write $E1000/unbind "$SIB" EBUSY
	expect_driver "$SIB" e1000
}

t_protect_nothing_left() {
	rmmod bindguard || { fail "rmmod"; return; }
	[ -e $SYS ] && fail "$SYS left after rmmod"
	grep -q unbind_store $HOOKS && fail "unbind_store still traced"
	expect_write $E1000/unbind "$SIB" OK
	expect_eq "$(bind_to "$SIB" vfio-pci)" OK "vfio-pci bind with bindguard unloaded"
	unbind "$SIB"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
}

for m in vfio vfio_iommu_type1 vfio-pci e1000 pci-stub virtio_pci virtio_blk crc32c_generic ext4; do
	modprobe $m || diag "modprobe $m failed"
done
modprobe bindguard || diag "modprobe bindguard failed"
scenario_init
# how every refusal says the protection is lifted
LIFT="to lift: echo $SIB > /sys/kernel/bindguard/unprotect"

DISK=$( (pci_find 0x1af4 0x1001; pci_find 0x1af4 0x1042) | head -n1)
wait_for "[ -b /dev/vda ]" 10 || diag "no /dev/vda"
IDS=$([ -n "$DISK" ] && pci_ids "$DISK")

ktap_plan 21
run_test "protect: sysfs files, the unbind hook armed" t_protect_files
run_test "protect: garbage is EINVAL with a log line, changes nothing" t_protect_bad_writes
run_test "protect: the sibling on e1000 is protected" t_protect
run_test "protect: vfio-pci (driver_override, new_id, bind) and pci-stub refused in its group, e1000 admitted" t_user_dma_refused
run_test "protect: sysfs unbind refused with EBUSY, logged, the device stays" t_unbind_refused
run_test "protect: audit records, off ignores, enforce refuses" t_protect_modes
run_test "protect: rmmod e1000 unbinds it, modprobe binds it again" t_rmmod_driver
run_test "protect: sysfs remove and rescan go ahead" t_remove_rescan
run_test "protect: a VFIO claim fails, explained with the protection" t_claim_explained
run_test "protect: unprotect lifts it all" t_protect_lifted
run_test "protect: refused while the group is not the host's, or reserved; reserve refused while protected" t_protect_conflicts
run_test "protect, reserve: pinned to the device's IDs, drift not covered, the reason in refusals" t_drift
run_test "at boot: the virtio disk mounted at /var" t_mounted
run_test "at boot: --dry-run names the disk's controller and why, writes nothing" t_dry_run
run_test "at boot: the controller protected with its IDs and why, once" t_protect_boot
run_test "at boot: unbind, driver_override, new_id, bind to vfio-pci take nothing; /var stays" t_refused
run_test "at boot: QEMU's hot-unplug of the protected disk goes ahead" t_hot_unplug
run_test "at boot: what it protected, lifted" t_autoprotect_lifted
run_test "a reservation pinned to other IDs: the device QEMU hot-adds at its address not covered" t_hot_add_drift
run_test "protect: protect= at load, a bad entry left out" t_protect_load_param
run_test "protect: nothing left after rmmod" t_protect_nothing_left
