# boot-failload.sh - a failed load leaves the kernel as stock, and bindguard
# fails closed where it cannot arm what it needs. Uses the test build of the
# module (Kbuild: make BG_FAULT_INJECT=1), /tests/fault/bindguard.ko:
# fail_step=NAME|N fails the load after that step of the init ladder
# (src/main.c) did its work, with fail_errno= (default ENOMEM); fail_arm=1
# makes arming the hooks in vfio.ko fail (before 5.19).
#
# 1. The module DKMS built has none of these parameters (the test build has).
# 2. Each step of the ladder fails in turn while a VFIO client claims and
#    releases the group as fast as it can (vfio-hold -l: on 5.10 it is
#    inside the hooked group ioctl, on 5.19+ inside the kretprobe-ed
#    claim and release, as often as not): insmod fails with the errno, the
#    "cannot load: STEP: -ERRNO" line is logged, nothing is left (module,
#    sysfs, debugfs, traced functions, kprobes), the client saw no error
#    but claims refused while loading (EBUSY, 5.10), and a VM then takes
#    the group. A fail_step= naming no step fails the load with EINVAL.
# 3. Afterwards modprobe bindguard works and refuses the sibling's bind.
# 4. (before 5.19) vfio loaded after bindguard, its hooks not armed
#    (fail_arm=1): vfio-pci's bind is refused with a log line, no group can
#    be claimed, the sibling binds, no BUG_ON; vfio loaded again with arming
#    working: followed, the sibling refused while a VM holds the group. With
#    vfio already loaded, fail_arm=1 fails the load.
# 5. (before 5.19) another process's UNSET_CONTAINER overtaking a claim's
#    commit (fail_delay_ms=): the group ends the kernel's, the module
#    unpinned.
# 6. rmmod -f (MODULE_FORCE_UNLOAD) waits for an open debugfs file, and
#    before 5.19 for a kernel-driver probe in flight, logging why; it ends
#    once they go. It does not wait for a VM holding a group (before 5.19),
#    but says so. Last: a forced unload turns lockdep off for the rest of
#    the boot.
. /tests/lib.sh
. /tests/scenario.sh

FAULT_KO=/tests/fault/bindguard.ko
# src/main.c's bg_steps[], in order; one more number is "no such step"
STEPS="params table notifier rescans reports veto unbind claim scan debugfs reserve"

kprobes_registered() {	# (only bindguard registers any in the guest)
	cat /sys/kernel/debug/kprobes/list 2>/dev/null
}

# nothing_left WHAT: no trace of bindguard in the kernel
nothing_left() {
	grep -q '^bindguard ' /proc/modules && fail "$1: bindguard in /proc/modules"
	[ -e /sys/module/bindguard ] && fail "$1: /sys/module/bindguard left"
	[ -e /sys/kernel/bindguard ] && fail "$1: /sys/kernel/bindguard left"
	[ -e $BG_DEBUGFS ] && fail "$1: $BG_DEBUGFS left"
	expect_eq "$(hooks_left)" "" "$1: functions traced"
	expect_eq "$(kprobes_registered)" "" "$1: kprobes registered"
}

# loop_start: a VFIO client claiming and releasing $GROUP in a loop
loop_start() {
	: >/tmp/loop.log
	vfio-hold -l "$GROUP" >/tmp/loop.log 2>&1 &
	LOOPER=$!
	wait_for 'grep -q "^looping" /tmp/loop.log' 10 ||
		fail "vfio-hold -l did not start: $(cat /tmp/loop.log)"
}

# loop_stop WHAT: stop it; every ioctl must have worked but claims refused
# with EBUSY (5.10: while bindguard loads), and some claims must have worked
loop_stop() {
	local line
	kill -TERM "$LOOPER" 2>/dev/null
	wait "$LOOPER"
	line=$(grep '^loop ok' /tmp/loop.log)
	if [ -z "$line" ]; then
		fail "$1: vfio-hold -l: $(cat /tmp/loop.log)"
		return
	fi
	diag "$1: vfio-hold -l: $line"
	set -- $line	# loop ok N busy N failed N last-error E
	expect_eq "$7" 0 "ioctls failed ($line)"
	[ "$3" -gt 0 ] || fail "no claim succeeded ($line)"
}

# insmod_fails WANT-TEXT ARGS...: insmod of the test build must fail with
# the errno whose text busybox prints
insmod_fails() {
	local want=$1 out
	shift
	if out=$(insmod $FAULT_KO "$@" 2>&1); then
		fail "insmod $*: loaded"
		rmmod bindguard
		return
	fi
	case $out in
	*"$want"*) ;;
	*) fail "insmod $*: '$out', want '$want'" ;;
	esac
}

# --- tests -----------------------------------------------------------------

t_dkms_module_plain() {
	expect_eq "$(modinfo -p "$BINDGUARD_KO" | grep -c '^fail_')" 0 \
		"fault-injection parameters in $BINDGUARD_KO"
	local want=4	# fail_step, fail_errno; fail_arm, fail_delay_ms before 5.19 only
	[ $NATIVE = 1 ] && want=2
	expect_eq "$(modinfo -p $FAULT_KO | grep -c '^fail_')" $want \
		"fault-injection parameters in the test build"
}

t_fail_step() {	# ARG NAME ERRNO TEXT: fail_step=ARG, the step NAME
	local n
	prepare
	n=$(dmesg_count "bindguard: cannot load: $2: -$3")
	loop_start
	usleep 300000
	insmod_fails "$4" fail_step="$1" fail_errno="$3"
	usleep 300000
	loop_stop "$2"
	# (busybox's insmod tries finit_module, then init_module: one line
	# or two)
	[ "$(dmesg_count "bindguard: cannot load: $2: -$3")" -gt "$n" ] ||
		fail "no 'cannot load: $2: -$3' log line"
	nothing_left "$2"
	# a VM takes the group, as on stock
	hold_start
	grep -q "^holding" /tmp/hold.log || fail "no VM after the failed load: $(cat /tmp/hold.log)"
	hold_stop
}

t_fail_step_bad() {
	local v
	for v in "$NSTEPS" nonsense; do
		insmod_fails "Invalid argument" fail_step="$v"
		[ "$(dmesg_count "bindguard: fail_step=$v fail_errno=12: no such step")" -gt 0 ] ||
			fail "no log line for fail_step=$v"
		nothing_left "fail_step=$v"
	done
}

t_load_after() {
	local n
	modprobe bindguard || { fail "modprobe bindguard"; return; }
	[ -e /sys/module/bindguard/parameters/fail_step ] &&
		fail "the loaded module has fail_step="
	hold_start
	expect_eq "$(group_field "$GROUP" 2)" user "state with a live owner"
	n=$(dmesg_count "bindguard: refused e1000 bind to $SIB")
	expect_eq "$(bind_to "$SIB" e1000)" "$REFUSED" "e1000 bind of $SIB while owned"
	expect_driver "$SIB" none
	expect_eq "$(dmesg_count "bindguard: refused e1000 bind to $SIB")" $((n + 1)) \
		"refusal log lines"
	hold_stop
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 || fail "group $GROUP stayed user"
	unload
	nothing_left "rmmod"
}

UNARMED="vfio's container hooks are not armed"

t_vfio_unarmed() {
	local n r
	# vfio loaded: arming fails the load
	n=$(dmesg_count "bindguard: cannot load: claim: -12")
	insmod_fails "Cannot allocate memory" fail_arm=1
	[ "$(dmesg_count "bindguard: cannot load: claim: -12")" -gt "$n" ] ||
		fail "no 'cannot load: claim: -12' log line"
	nothing_left "fail_arm=1 with vfio loaded"
	# vfio loaded after bindguard, arming failing: vfio drivers refused
	vfio_unload
	insmod $FAULT_KO fail_arm=1 || { fail "insmod fail_arm=1 without vfio"; return; }
	n=$(dmesg_count "bindguard: vfio loaded, but its container hooks cannot be armed (-12)")
	modprobe vfio-pci || fail "modprobe vfio-pci"
	expect_eq "$(dmesg_count "bindguard: vfio loaded, but its container hooks cannot be armed (-12)")" \
		$((n + 1)) "arming failure log lines"
	expect_eq "$(grep -c vfio $BG_DEBUGFS/hooks)" 0 "vfio hooks in $BG_DEBUGFS/hooks"
	unbind "$HELD"
	r=$(dmesg_count "bindguard: refused vfio-pci bind to $HELD (-EBUSY): $UNARMED")
	expect_eq "$(bind_to "$HELD" vfio-pci)" EBUSY "vfio-pci bind of $HELD"
	expect_driver "$HELD" none
	expect_eq "$(dmesg_count "bindguard: refused vfio-pci bind to $HELD (-EBUSY): $UNARMED")" \
		$((r + 1)) "refusal log lines"
	[ -e "/dev/vfio/$GROUP" ] && fail "/dev/vfio/$GROUP exists: the group can be claimed"
	vfio-hold -f "$GROUP" "$HELD" >/tmp/unarmed.log 2>&1 &&
		fail "a claim worked: $(cat /tmp/unarmed.log)"
	# nobody owns the group: the sibling binds, no BUG_ON
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	unbind "$SIB"
	# vfio loaded again, arming works: followed again
	echo 0 >/sys/module/bindguard/parameters/fail_arm
	vfio_unload
	modprobe vfio-pci || fail "modprobe vfio-pci"
	modprobe vfio_iommu_type1 || fail "modprobe vfio_iommu_type1"
	expect_eq "$(grep -c vfio_group_fops_unl_ioctl $BG_DEBUGFS/hooks)" 1 \
		"vfio ioctl hook in $BG_DEBUGFS/hooks"
	hold_start
	expect_driver "$HELD" vfio-pci
	expect_eq "$(group_field "$GROUP" 2)" user "state with a live owner"
	expect_eq "$(bind_to "$SIB" e1000)" "$REFUSED" "e1000 bind of $SIB while owned"
	hold_stop
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 || fail "group $GROUP stayed user"
	unbind "$HELD"	# (a vfio device with no VM: the next load presumes a VM)
	unload
	nothing_left "rmmod"
}

# before 5.19: another process's UNSET_CONTAINER on the same group fd
# overtakes a claim's commit (the test build holds the commit back for
# fail_delay_ms after vfio set the container): the claim is committed and
# released at once, the group is the kernel's, nothing pins the module.
# Loaded before and after the held device is bound to vfio-pci (after: the
# group is presumed owned at load, owner unknown). (5.19+: vfio's group
# lock serializes SET_CONTAINER and UNSET_CONTAINER, and the claim is
# committed under it.)
t_unset_overtakes_claim() {
	local out when
	for when in before after; do
		[ -e /sys/module/bindguard ] && rmmod bindguard
		unbind "$HELD"
		if [ $when = before ]; then
			insmod $FAULT_KO fail_delay_ms=1500 || { fail "insmod"; return; }
			prepare
		else
			prepare
			insmod $FAULT_KO fail_delay_ms=1500 || { fail "insmod"; return; }
			expect_eq "$(group_field "$GROUP" 2)" user "$when: presumed at load"
		fi
		out=$(vfio-hold -u 500 "$GROUP" 2>&1)
		expect_eq "$out" "set 0 unset 0" "$when: vfio-hold -u 500 (SET_CONTAINER, UNSET_CONTAINER)"
		expect_eq "$(group_field "$GROUP" 2)" kernel "$when: state after the claim and its release"
		[ $when = before ] &&
			expect_eq "$(grep -c "\] group=$GROUP user pid=[0-9]* comm=vfio-hold\$" $BG_DEBUGFS/events)/$(grep -c "\] group=$GROUP kernel\$" $BG_DEBUGFS/events)" \
				1/1 "$when: user/kernel events of group $GROUP"
		expect_eq "$(bind_to "$SIB" e1000)" OK "$when: e1000 bind of $SIB"
		unbind "$SIB"
		rmmod bindguard || fail "$when: rmmod: the module stayed pinned"
		nothing_left "$when: rmmod after the overtaken claim"
	done
}

# forced_rmmod_waits WHAT: rmmod -f in the background must wait (its log
# line, still loaded) until release_refs (a function) lets go
forced_rmmod_waits() {
	local n p
	n=$(dmesg_count "bindguard: forced unload: waiting for")
	rmmod -f bindguard 3<&- >/tmp/rmmod.log 2>&1 &
	p=$!
	wait_for "[ \$(dmesg_count 'bindguard: forced unload: waiting for') -gt $n ]" 10 ||
		fail "$1: no 'forced unload: waiting' log line"
	sleep 1
	grep -q '^bindguard ' /proc/modules || fail "$1: unloaded under it"
	"$2"
	wait $p || fail "$1: rmmod -f: $(cat /tmp/rmmod.log)"
	nothing_left "$1: rmmod -f"
}

close_groups() {
	exec 3<&-
}

t_forced_unload_open_file() {
	modprobe bindguard || { fail "modprobe bindguard"; return; }
	exec 3<$BG_DEBUGFS/groups
	forced_rmmod_waits "open debugfs file" close_groups
}

wait_binder() {
	wait "$BINDER"
}

# before 5.19: a kernel-driver probe in flight holds a reference (it is
# counted until it returns): rmmod -f waits for it
t_forced_unload_probe() {
	local n
	unbind "$HELD"
	unbind "$SIB"
	modprobe bindguard || { fail "modprobe bindguard"; return; }
	echo 5000 >/sys/module/bgtest/parameters/delay_ms
	n=$(dmesg_count "bgtest probing")
	(bind_to "$SIB" bgtest >/tmp/slowbind) &
	BINDER=$!
	wait_for "[ \$(dmesg_count 'bgtest probing') -gt $n ]" 10 || fail "bgtest probe did not start"
	forced_rmmod_waits "a probe in flight" wait_binder
	echo 0 >/sys/module/bgtest/parameters/delay_ms
	expect_eq "$(cat /tmp/slowbind)" OK "the slow bind"
	expect_driver "$SIB" bgtest
	unbind "$SIB"
}

# before 5.19: an owned group pins the module, but rmmod -f does not wait
# for the VM (the administrator forced it; the kernel is then as stock)
t_forced_unload_owned() {
	local n
	modprobe bindguard || { fail "modprobe bindguard"; return; }
	hold_start
	n=$(dmesg_count "bindguard: forced unload while 1 groups are owned by userspace")
	rmmod -f bindguard || fail "rmmod -f bindguard"
	expect_eq "$(dmesg_count "bindguard: forced unload while 1 groups are owned by userspace")" \
		$((n + 1)) "forced unload log lines"
	nothing_left "rmmod -f while owned"
	hold_stop
}

# --- run -------------------------------------------------------------------

for m in vfio vfio_iommu_type1 vfio-pci e1000 e1000e pci-stub bgtest; do
	modprobe $m || diag "modprobe $m failed"
done
scenario_init
NSTEPS=$(echo $STEPS | wc -w)

ktap_plan $((NSTEPS + 9))
run_test "the DKMS module has no fault-injection parameter" t_dkms_module_plain
for s in $STEPS; do
	run_test "load failing after step $s, a VFIO client in a claim loop: nothing left" \
		t_fail_step "$s" "$s" 12 "Cannot allocate memory"
done
# by number: the veto's place in STEPS, counted from 0
n=0
for s in $STEPS; do
	[ "$s" = veto ] && break
	n=$((n + 1))
done
run_test "load failing after step $n (veto) with ENODEV: nothing left" \
	t_fail_step $n veto 19 "No such device"
run_test "fail_step= naming no step: EINVAL, one log line" t_fail_step_bad
run_test "modprobe bindguard after the failed loads: the sibling refused" t_load_after
if [ $NATIVE = 0 ]; then
	run_test "vfio's hooks not armed: vfio-pci refused, no claim, no BUG_ON" t_vfio_unarmed
else
	skip_test "vfio's hooks not armed: vfio-pci refused, no claim, no BUG_ON" \
		"5.19+ follows claims in the iommu core: no hooks in vfio"
fi
if [ $NATIVE = 0 ]; then
	run_test "UNSET_CONTAINER overtaking a claim's commit: released, nothing pinned" \
		t_unset_overtakes_claim
else
	skip_test "UNSET_CONTAINER overtaking a claim's commit: released, nothing pinned" \
		"5.19+: vfio's group lock serializes SET_CONTAINER and UNSET_CONTAINER"
fi
run_test "rmmod -f waits for an open debugfs file" t_forced_unload_open_file
if [ $NATIVE = 0 ]; then
	run_test "rmmod -f waits for a kernel-driver probe in flight" t_forced_unload_probe
	run_test "rmmod -f while a VM holds a group: unloads, says so" t_forced_unload_owned
else
	skip_test "rmmod -f waits for a kernel-driver probe in flight" \
		"5.19+: the veto wraps no probe"
	skip_test "rmmod -f while a VM holds a group: unloads, says so" \
		"5.19+: no group pins the module"
fi
