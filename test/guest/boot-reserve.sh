# boot-reserve.sh - reservations (src/reserve.c): a group closed to kernel
# DMA-API drivers by naming a member's BDF, with no VM holding it.
# Needs the host's QMP agent (boots key `qmp`) for the hot-add.
#
# The story: garbage is refused and changes nothing; the seed group,
# reserved through its sibling, refuses every bind path (the device
# removed and rescanned comes back reserved: reservations are names) and
# admits vfio-pci and pci-stub; audit records, off ignores, on every
# kernel (nobody owns the group); a VM that takes the group and stops leaves
# it reserved, not open; a device refused to its host driver goes on to
# vfio-pci (new_id, drivers_probe); a BDF reserved before its device exists covers the
# device hot-added later, and outlives its removal; concurrent writers;
# reserve= at load; nothing left after rmmod.
. /tests/lib.sh
. /tests/scenario.sh
. /tests/paths.sh

SYS=/sys/kernel/bindguard
PARAMS=/sys/module/bindguard/parameters
NEW=0000:02:03.0	# hot-added behind the seed's bridge (test/qemu/boot-guest.sh)

reserved_list() {
	tr '\n' ' ' <$SYS/reserve
}

t_files() {
	expect_eq "$(stat -c %a $SYS/reserve)" 600 "reserve mode"
	expect_eq "$(stat -c %a $SYS/release)" 200 "release mode"
	expect_eq "$(reserved_list)" "" "reservations at load"
	head -n1 $BG_DEBUGFS/groups | grep -qx '# bindguard-groups 3' || fail "groups format"
}

t_bad_writes() {
	local v n
	n=$(dmesg_count "bindguard: invalid reservation")
	for v in garbage "" "0000:02:02.0 " "0000:02:02.0  why" 0000:02:02.0x 0x00:02:02.0 \
		0000:02:20.0 0000:02:02.8 0000:102:02.0 "0000:02:02.0,0000:02:01.0" \
		"$(printf '%0100d' 0)" "-1:02:02.0" "0000:02:02"; do
		expect_write $SYS/reserve "$v" EINVAL
	done
	expect_eq "$(dmesg_count "bindguard: invalid reservation")" $((n + 13)) "log lines, one a write"
	expect_write $SYS/release garbage EINVAL
	expect_eq "$(reserved_list)" "" "reservations after bad writes"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state of group $GROUP"
	expect_write $SYS/release "$SIB" ENOENT
	# a line a name could forge is escaped in the log
	expect_write $SYS/reserve "$(printf 'x\nbindguard: forged')" EINVAL
	dmesg | grep -q '^\[[ 0-9.]*\] bindguard: forged' && fail "a write forged a log line"
}

t_reserve() {
	unbind "$SIB"
	expect_write $SYS/reserve "$SIB" OK
	expect_write $SYS/reserve "$SIB" EEXIST
	expect_eq "$(reserved_list)" "$SIB " "reservations"
	expect_eq "$(group_field "$GROUP" 2)" reserved "state of group $GROUP"
	expect_eq "$(group_field "$GROUP" 3)" - "owner pid"
	# spelled otherwise, the same BDF
	expect_write $SYS/reserve "0:2:2.0" EEXIST
	expect_write $SYS/reserve "${SIB#0000:}" EEXIST	# domain 0, as lspci prints it
	expect_eq "$(events_count "group=$GROUP reserve dev=$SIB pid=[0-9]+ comm=sh$")" 1 "reserve event"
}

t_path_reserved() {	# PATH DRIVER
	local refused
	refused=$(group_field "$GROUP" 6)
	"path_$1" "$2"
	expect_driver "$SIB" none
	[ "$(group_field "$GROUP" 6)" -gt "$refused" ] || fail "refused count stayed $refused"
	expect_eq "$(group_field "$GROUP" 2)" reserved "state of group $GROUP"
}

t_reserved_log_line() {
	[ "$(dmesg_count "bindguard: refused e1000 bind to $SIB: iommu group $GROUP is reserved")" -ge 1 ] ||
		fail "no 'is reserved' refusal line"
	[ "$(events_count "group=$GROUP refused dev=$SIB driver=e1000 pid=- comm=-$")" -ge 1 ] ||
		fail "no refused event"
}

t_dma_drivers_admitted() {
	expect_eq "$(bind_to "$SIB" vfio-pci)" OK "vfio-pci bind"
	unbind "$SIB"
	expect_eq "$(bind_to "$SIB" pci-stub)" OK "pci-stub bind"
	unbind "$SIB"
}

t_reserved_modes() {
	expect_write $PARAMS/mode audit OK
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind in mode audit"
	expect_eq "$(events_count "group=$GROUP audit dev=$SIB driver=e1000 pid=- comm=-$")" 1 "audit event"
	unbind "$SIB"
	expect_write $PARAMS/mode off OK
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind in mode off"
	unbind "$SIB"
	expect_write $PARAMS/mode enforce OK
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
}

# A VM takes the reserved group and goes: the group is reserved again, not open.
t_vm_stop_keeps_reservation() {
	hold_start
	grep -q "^holding" /tmp/hold.log || { fail "vfio-hold: $(cat /tmp/hold.log)"; return; }
	expect_eq "$(group_field "$GROUP" 2)" user "state while held"
	hold_stop
	wait_for "[ \"\$(group_field $GROUP 2)\" = reserved ]" 10 ||
		fail "state after the VM: $(group_field "$GROUP" 2)"
	unbind "$HELD"
	expect_write /sys/bus/pci/drivers/e1000/bind "$HELD" "$REFUSED"
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
}

t_release() {
	expect_write $SYS/release "$SIB" OK
	expect_eq "$(reserved_list)" "" "reservations"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state of group $GROUP"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	expect_eq "$(bind_to "$HELD" e1000)" OK "e1000 bind of $HELD"
}

# The host driver registered first, vfio-pci given the device's ID by
# new_id while the device was bound (so it did not attach then), the group
# reserved, the device unbound: drivers_probe tries e1000 first, which is
# refused, and goes on to vfio-pci, as after any failed probe.
t_reserved_reaches_vfio_pci() {
	local id n
	id="$(cat "/sys/bus/pci/devices/$SIB/vendor") $(cat "/sys/bus/pci/devices/$SIB/device")"
	id=$(echo "$id" | sed 's/0x//g')
	expect_driver "$SIB" e1000
	# the bus tries its drivers in the order they registered: vfio-pci last
	rmmod vfio_pci && modprobe vfio-pci || { fail "vfio-pci reload"; return; }
	expect_write $SYS/reserve "$SIB" OK
	expect_write /sys/bus/pci/drivers/vfio-pci/new_id "$id" OK
	expect_driver "$SIB" e1000
	n=$(group_field "$GROUP" 6)
	unbind "$SIB"
	expect_write /sys/bus/pci/drivers_probe "$SIB" OK
	expect_driver "$SIB" vfio-pci
	expect_eq "$(group_field "$GROUP" 6)" $((n + 1)) "refused count (the e1000 bind)"
	echo "$id" >/sys/bus/pci/drivers/vfio-pci/remove_id
	unbind "$SIB"
	expect_write $SYS/release "$SIB" OK
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
}

# The tracepoint of a reservation change, and its events.
t_reservation_trace() {
	local T=/sys/kernel/tracing
	echo 1 >$T/events/bindguard/bindguard_reservation/enable || { fail "cannot enable the tracepoint"; return; }
	echo >$T/trace
	expect_write $SYS/reserve "$SIB" OK
	expect_write $SYS/release "$SIB" OK
	echo 0 >$T/events/bindguard/bindguard_reservation/enable
	grep bindguard_ $T/trace | sed 's/^ */# trace: /'
	expect_eq "$(grep -c ": bindguard_reservation: bdf=$SIB group=$GROUP reserved=1 pid=[0-9]* comm=sh$" $T/trace)" 1 "reserve trace line"
	expect_eq "$(grep -c ": bindguard_reservation: bdf=$SIB group=$GROUP reserved=0 pid=[0-9]* comm=sh$" $T/trace)" 1 "release trace line"
	[ "$(events_count "group=$GROUP release dev=$SIB pid=[0-9]+ comm=sh$")" -ge 1 ] || fail "no release event"
	echo >$T/trace
}

t_hot_add_reserved() {
	local r
	[ -e /sys/bus/pci/devices/$NEW ] && { fail "$NEW exists already"; return; }
	expect_write $SYS/reserve "$NEW" OK
	expect_eq "$(group_field "$GROUP" 2)" kernel "state before $NEW exists"
	expect_eq "$(events_count "group=-1 reserve dev=$NEW pid=[0-9]+ comm=sh$")" 1 "reserve event (no such device yet)"
	r=$(host_cmd device_add "e1000,bus=br1,addr=3.0,id=nic6,romfile=")
	expect_eq "$r" "ok {}" "device_add"
	wait_for "[ -e /sys/bus/pci/devices/$NEW/iommu_group ]" 30 || { fail "$NEW did not appear"; return; }
	wait_for "[ \"\$(group_field $GROUP 6)\" -gt 0 ] && [ \"\$(group_field $GROUP 2)\" = reserved ]" 10
	expect_eq "$(group_of "$NEW")" "$GROUP" "group of $NEW"
	expect_eq "$(group_field "$GROUP" 2)" reserved "state with $NEW"
	expect_driver "$NEW" none
	# (the group's log lines are ratelimited by now: the event tells)
	[ "$(events_count "group=$GROUP refused dev=$NEW driver=e1000 pid=- comm=-$")" -ge 1 ] ||
		fail "no refused event for $NEW"
	# the whole group: rebinding the sibling is refused too
	unbind "$SIB"
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
	r=$(host_cmd device_del nic6)
	expect_eq "$r" "ok {}" "device_del"
	r=$(host_cmd wait_event DEVICE_DELETED nic6 30)
	case $r in ok*) ;; *) fail "DEVICE_DELETED nic6: $r" ;; esac
	wait_for "[ ! -e /sys/bus/pci/devices/$NEW ]" 10 || fail "$NEW still there"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state after $NEW is gone"
	expect_eq "$(reserved_list)" "$NEW " "the reservation outlives the device"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	expect_write $SYS/release "$NEW" OK
}

# Writers racing on one BDF and on their own: every write ends OK, EEXIST or
# ENOENT, and when they are done nothing is reserved.
t_concurrent_writers() {
	local i w bad
	rm -f /tmp/w.*
	for w in 1 2 3 4; do
		(
			for i in $(seq 20); do
				for b in "$SIB" "0000:0f:00.$w"; do
					r=$(sysfs_write $SYS/reserve "$b")
					case $r in OK | EEXIST) ;; *) echo "reserve $b: $r" >>/tmp/w.$w ;; esac
					r=$(sysfs_write $SYS/release "$b")
					case $r in OK | ENOENT) ;; *) echo "release $b: $r" >>/tmp/w.$w ;; esac
				done
			done
		) &
	done
	wait
	bad=$(cat /tmp/w.* 2>/dev/null | head -n3)
	[ -z "$bad" ] || fail "writers: $bad"
	expect_eq "$(reserved_list)" "" "reservations after the writers"
	expect_eq "$(group_field "$GROUP" 2)" kernel "state of group $GROUP"
	unbind "$SIB"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
}

t_load_param() {
	unbind "$SIB"
	rmmod bindguard || { fail "rmmod"; return; }
	[ -e $SYS ] && fail "$SYS left after rmmod"
	# (a bad entry is left out, the load goes on: boot-params.sh)
	insmod "$BINDGUARD_KO" reserve="$SIB,0000:0f:00.0" || { fail "insmod reserve="; return; }
	expect_eq "$(cat $PARAMS/reserve)" "$SIB,0000:0f:00.0" "reserve= parameter"
	expect_eq "$(reserved_list)" "$SIB 0000:0f:00.0 " "reservations"
	expect_eq "$(group_field "$GROUP" 2)" reserved "state at load"
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
	rmmod bindguard || fail "rmmod"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind with bindguard unloaded"
}

for m in vfio vfio_iommu_type1 vfio-pci e1000 pci-stub bgtest; do
	modprobe $m || diag "modprobe $m failed"
done
modprobe bindguard || diag "modprobe bindguard failed"
scenario_init

ktap_plan $((13 + $(echo $BIND_PATHS | wc -w)))
run_test "reserve: sysfs files" t_files
run_test "reserve: garbage is EINVAL with a log line, changes nothing" t_bad_writes
run_test "reserve: the sibling's BDF reserves its group" t_reserve
for p in $BIND_PATHS; do
	run_test "reserve: bind path ${p%%:*} refused" t_path_reserved "${p%%:*}" "${p#*:}"
done
run_test "reserve: refusal logged and recorded as reserved" t_reserved_log_line
run_test "reserve: vfio-pci and pci-stub admitted" t_dma_drivers_admitted
run_test "reserve: audit records, off ignores, enforce refuses" t_reserved_modes
run_test "reserve: a VM's stop leaves the group reserved" t_vm_stop_keeps_reservation
run_test "reserve: release opens the group" t_release
run_test "reserve: after its host driver is refused, the device reaches vfio-pci (new_id, drivers_probe)" t_reserved_reaches_vfio_pci
run_test "reserve: tracepoint and events of reservation changes" t_reservation_trace
if [ "$(host_cmd event_count DEVICE_DELETED)" = noreply ]; then
	skip_test "reserve: a device hot-added later is covered" "no QMP agent (boots key qmp)"
else
	run_test "reserve: a device hot-added later is covered" t_hot_add_reserved
fi
run_test "reserve: concurrent writers" t_concurrent_writers
run_test "reserve: reserve= at load" t_load_param
