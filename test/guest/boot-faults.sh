# boot-faults.sh - the owner dying at any moment, bindguard unloaded under
# load, and loaded/unloaded many times while a group is owned.
#
# 1. vfio-hold is SIGKILLed after a random short delay, many times, so that
#    it dies before, during or after its claim: afterwards the group reads
#    kernel, every "user" event has its "kernel" event, the sibling binds.
# 2. (5.19+) rmmod bindguard while other processes bind/unbind the sibling
#    and start/kill the owner: then stock behaviour, nothing left hooked.
# 3. (5.19+) modprobe/rmmod bindguard cycled while the group is owned: every
#    load finds the group user; after the last rmmod nothing is left, and
#    the group's last reference goes (its sysfs directory disappears when
#    its devices are removed).
# Before 5.19 bindguard refuses rmmod while a group is owned (by design:
# nothing else would stand between the driver core and vfio's BUG_ON), so
# 2 and 3 are skipped there.
. /tests/lib.sh
. /tests/scenario.sh
KILLS=$(bg_arg kills "${BG_FAULT_KILLS:-30}")
CYCLES=$(bg_arg cycles "${BG_FAULT_CYCLES:-50}")

kprobes_left() {	# registered kprobes/kretprobes (only bindguard uses any)
	cat /sys/kernel/debug/kprobes/list 2>/dev/null
}

# --- tests -----------------------------------------------------------------

t_kill_during_setup() {
	local i pid users kernels
	prepare
	i=0
	while [ $i -lt "$KILLS" ]; do
		vfio-hold "$GROUP" "$HELD" >/tmp/kill.log 2>&1 &
		pid=$!
		# every other kill within 4 ms of the start (mostly before or
		# during the claim), the others within 60 ms (mostly after it)
		if [ $((i % 2)) = 0 ]; then
			usleep $((RANDOM % 4000))
		else
			usleep $((RANDOM % 60000))
		fi
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		i=$((i + 1))
	done
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 ||
		fail "group $GROUP: $(grep "^$GROUP " $BG_DEBUGFS/groups)"
	users=$(events_count "group=$GROUP user ")
	kernels=$(events_count "group=$GROUP kernel$")
	diag "kills: $KILLS, claims committed before the kill: $users"
	expect_eq "$kernels" "$users" "kernel events (one per user event)"
	expect_eq "$(grep "^$GROUP " $BG_DEBUGFS/groups | cut -d' ' -f2-7)" "kernel - - - 0 -" "group $GROUP line"
	expect_eq "$(events_count refused)" 0 "refused events"
	# no claim leaked: the kernel's own check (5.19+) and bindguard let it bind
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	expect_driver "$SIB" e1000
	unbind "$SIB"
	# and a real owner still takes the group
	hold_start
	expect_eq "$(group_field "$GROUP" 2)" user "state with a live owner"
	expect_eq "$(group_field "$GROUP" 3)" "$HOLDER" "owner pid"
	expect_eq "$(bind_to "$SIB" e1000)" "$REFUSED" "e1000 bind while owned"
	hold_stop
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 || fail "group $GROUP stayed user"
}

t_rmmod_under_load() {
	local binder holder binds
	prepare
	rm -f /tmp/stop /tmp/binds
	(
		n=0
		while [ ! -e /tmp/stop ]; do
			bind_to "$SIB" e1000 >/dev/null
			unbind "$SIB"
			n=$((n + 1))
		done
		echo $n >/tmp/binds
	) &
	binder=$!
	owner_churn "$GROUP" "$HELD" 100000 &
	holder=$!
	sleep 2
	rmmod bindguard || fail "rmmod bindguard under load"
	sleep 1
	touch /tmp/stop
	wait $binder
	wait $holder
	diag "rmmod under load: $(cat /tmp/binds) bind/unbind rounds"
	[ -d /sys/module/bindguard ] && fail "bindguard still loaded"
	[ -e $BG_DEBUGFS ] && fail "debugfs directory left behind"
	expect_eq "$(hooks_left)" "" "hooks left"
	expect_eq "$(kprobes_left)" "" "kprobes left"
	# stock behaviour: the kernel's own check, silent
	unbind "$SIB"
	prepare
	hold_start
	n=$(dmesg_count "bindguard: refused")
	expect_eq "$(bind_to "$SIB" e1000)" EBUSY "e1000 bind while owned, stock"
	expect_eq "$(dmesg_count "bindguard: refused")" "$n" "bindguard log lines"
	hold_stop
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind after the owner died, stock"
	unbind "$SIB"
}

t_load_cycle_while_owned() {
	local i bad=0 refs
	prepare
	hold_start
	i=0
	while [ $i -lt "$CYCLES" ]; do
		modprobe bindguard || { fail "modprobe #$i"; break; }
		if [ "$(group_field "$GROUP" 2)" != user ]; then
			bad=$((bad + 1))
			[ $bad = 1 ] && fail "load #$i: $(grep "^$GROUP " $BG_DEBUGFS/groups)"
		fi
		refs=$(awk '$1 == "bindguard" { print $3 }' /proc/modules)
		[ "$refs" = 0 ] || fail "load #$i: bindguard refcount $refs"
		rmmod bindguard || { fail "rmmod #$i"; break; }
		i=$((i + 1))
	done
	diag "load cycles: $i, loads not finding group $GROUP user: $bad"
	grep -q '^bindguard ' /proc/modules && fail "bindguard in /proc/modules"
	[ -e $BG_DEBUGFS ] && fail "debugfs directory left behind"
	expect_eq "$(hooks_left)" "" "hooks left"
	expect_eq "$(kprobes_left)" "" "kprobes left"
	hold_stop
	# every group reference was dropped: removing the group's devices (the
	# bridge and what is behind it) frees the group, and rescan rebuilds it
	# (with CONFIG_DEBUG_KOBJECT_RELEASE the release comes seconds later)
	echo 1 >"/sys/bus/pci/devices/$BRIDGE/remove"
	wait_for "[ ! -e /sys/kernel/iommu_groups/$GROUP ]" 30 ||
		fail "group $GROUP still in sysfs after its devices went: $(ls /sys/kernel/iommu_groups/$GROUP/devices)"
	echo 1 >/sys/bus/pci/rescan
	wait_for "[ -e /sys/bus/pci/devices/$SIB/iommu_group ]" 10 || fail "$SIB did not come back"
	wait_for "[ \"\$(driver_of $SIB)\" = e1000 ]" 10
	expect_driver "$SIB" e1000
}

# Bad input: the writable file (parameter mode) is covered by boot-main.sh's
# t_bad_mode_write; here everything else a user could try to write. The
# debugfs files have no write operation and the load-time parameters are
# read-only: every write fails (as root too), nothing changes.
write_bytes() {	# FILE: the errno name of writing stdin to FILE in one write
	local err
	err=$(dd of="$1" bs=65536 count=1 conv=notrunc 2>&1 >/dev/null) && { echo OK; return; }
	case $err in
	*"Invalid argument"*) echo EINVAL ;;
	*"Permission denied"*) echo EACCES ;;
	*"Operation not permitted"*) echo EPERM ;;
	*"Bad file descriptor"*) echo EBADF ;;
	*) echo "ERR($err)" ;;
	esac
}

t_bad_input() {
	local f before_g before_e params got want
	before_g=$(cat $BG_DEBUGFS/groups)
	before_e=$(cat $BG_DEBUGFS/events)
	params=$(grep . /sys/module/bindguard/parameters/*)
	for f in $BG_DEBUGFS/groups $BG_DEBUGFS/events $BG_DEBUGFS/hooks \
		/sys/module/bindguard/parameters/allow /sys/module/bindguard/parameters/strict \
		/sys/module/bindguard/parameters/maxactive; do
		case $f in
		$BG_DEBUGFS/*) want=$DEBUGFS_WRITE_ERR; expect_eq "$(stat -c %a $f)" 400 "mode of $f" ;;
		*) want=EACCES; expect_eq "$(stat -c %a $f)" 444 "mode of $f" ;;
		esac
		got=$(printf 'garbage\n' | write_bytes $f)
		expect_eq "$got" "$want" "garbage write to $f"
		got=$(head -c 8192 /dev/zero | tr '\0' x | write_bytes $f)
		expect_eq "$got" "$want" "8 KiB write to $f"
		got=$(printf '\n' | write_bytes $f)
		expect_eq "$got" "$want" "empty line write to $f"
		got=$(sysfs_write $f "0")
		expect_eq "$got" "$want" "echo 0 > $f"
	done
	expect_eq "$(cat $BG_DEBUGFS/groups)" "$before_g" "groups after the writes"
	expect_eq "$(cat $BG_DEBUGFS/events)" "$before_e" "events after the writes"
	expect_eq "$(grep . /sys/module/bindguard/parameters/*)" "$params" "parameters after the writes"
}

# --- run -------------------------------------------------------------------

for m in vfio vfio_iommu_type1 vfio-pci e1000 e1000e pci-stub; do
	modprobe $m || diag "modprobe $m failed"
done
modprobe bindguard || diag "modprobe bindguard failed"
scenario_init
BRIDGE=$(basename "$(readlink -f "/sys/bus/pci/devices/$HELD/..")")
diag "bridge $BRIDGE"

# A write to a debugfs file without a write operation: the VFS says EINVAL
# (vfs_write: no FMODE_CAN_WRITE); kernfs (sysfs) refuses a read-only
# attribute at open with EACCES, even for root.
DEBUGFS_WRITE_ERR=EINVAL

ktap_plan 4
run_test "writes to debugfs files and read-only parameters fail, change nothing" t_bad_input
run_test "owner SIGKILLed during setup $KILLS times: no claim leaked" t_kill_during_setup
if [ $NATIVE = 1 ]; then
	run_test "rmmod under bind/unbind and owner churn: stock behaviour after" t_rmmod_under_load
	run_test "modprobe/rmmod $CYCLES times while owned: group user each time, nothing left" t_load_cycle_while_owned
else
	skip_test "rmmod under bind/unbind and owner churn: stock behaviour after" \
		"before 5.19 bindguard refuses rmmod while a group is owned (by design)"
	skip_test "modprobe/rmmod $CYCLES times while owned: group user each time, nothing left" \
		"before 5.19 bindguard refuses rmmod while a group is owned (by design)"
fi
