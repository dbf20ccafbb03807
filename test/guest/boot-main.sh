# boot-main.sh - the core suite, one boot: every non-destructive test.
#
# The story: load the drivers; refuse bad parameters (loaded all the same); check that groups
# nobody claimed are left alone; let a VFIO user take the bridged e1000
# group; try every way to bind the sibling to a kernel driver and see each
# refused and recorded; switch modes; unload and reload bindguard while the
# group is owned; kill the owner and see the group return to the kernel.
#
# On 5.19+ the kernel refuses most of these binds by itself (silently), so
# each test asserts what only bindguard shows: its records, its log line,
# the test driver's probe counter, and binds the kernel would allow.
. /tests/lib.sh
. /tests/scenario.sh
. /tests/paths.sh

PARAMS=/sys/module/bindguard/parameters

# Expectations below differ on NATIVE (scenario.sh), and only on that.

# --- tests -----------------------------------------------------------------

# A bad value at load is refused, not the load (boot-params.sh tells it all).
t_bad_params_at_insmod() {
	local out
	out=$(insmod "$BINDGUARD_KO" mode=bogus allow='vfio-pci,no/such' 2>&1) ||
		fail "insmod with bad values: '$out'"
	expect_eq "$(cat $PARAMS/mode)" enforce "mode after mode=bogus"
	expect_eq "$(cat $PARAMS/allow)" vfio-pci "allow= after a bad entry"
	expect_eq "$(dmesg_count "bindguard: refused mode value 'bogus' at load")" 1 "log line for mode=bogus"
	expect_eq "$(dmesg_count "bindguard: refused allow value 'no/such' at load")" 1 "log line for the bad allow= entry"
	unload
}

t_load() {
	modprobe bindguard || fail "modprobe bindguard failed"
	expect_eq "$(cat $PARAMS/mode)" enforce "default mode"
	expect_eq "$(cat $PARAMS/allow)" "vfio-pci,pci-stub,pcieport" "default allow="
	expect_eq "$(stat -c %a $BG_DEBUGFS/groups)" 400 "groups file mode"
	expect_eq "$(stat -c %a $BG_DEBUGFS/events)" 400 "events file mode"
	grep -q '^really_probe ' $HOOKS ||
		fail "really_probe is not hooked: $(cat $HOOKS)"
}

# The unbind hook is found by address on each kernel (src/unbind.c): armed,
# and refusing a protected device's sysfs unbind; the protect boot tells
# the rest.
t_unbind_hook() {
	grep -qx 'unbind_store unbind -' $BG_DEBUGFS/hooks ||
		fail "unbind_store is not hooked: $(cat $BG_DEBUGFS/hooks)"
	[ "$(driver_of "$LONE")" = e1000e ] || bind_to "$LONE" e1000e >/dev/null
	expect_write /sys/kernel/bindguard/protect "$LONE" OK
	expect_write "/sys/bus/pci/devices/$LONE/driver/unbind" "$LONE" EBUSY
	expect_driver "$LONE" e1000e
	expect_write /sys/kernel/bindguard/unprotect "$LONE" OK
	grep -q '^unbind_store ' $HOOKS || fail "unbind_store is not traced: $(cat $HOOKS)"
}

t_bad_mode_write() {
	expect_write $PARAMS/mode bogus EINVAL
	expect_write $PARAMS/mode "" EINVAL
	expect_write $PARAMS/mode "enforce-and-more-$(printf '%0200d' 0)" EINVAL
	expect_eq "$(cat $PARAMS/mode)" enforce "mode after bad writes"
}

t_groups_lists_every_pci_group() {
	local want got g
	want=0
	for g in /sys/kernel/iommu_groups/*; do
		ls "$g/devices" | grep -q '^0000:' && want=$((want + 1))
	done
	got=$(grep -vc '^#' $BG_DEBUGFS/groups)
	expect_eq "$got" "$want" "groups listed"
	expect_eq "$(grep -v '^#' $BG_DEBUGFS/groups | grep -vc ' kernel ')" 0 "groups not in state kernel"
	grep -q "^$GROUP kernel .* $SIB=e1000" $BG_DEBUGFS/groups ||
		fail "group $GROUP line: $(grep "^$GROUP " $BG_DEBUGFS/groups)"
}

t_unclaimed_groups_untouched() {
	unbind "$LONE"
	expect_write /sys/bus/pci/drivers/e1000e/bind "$LONE" OK
	expect_driver "$LONE" e1000e
	unbind "$SIB"
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" OK
	expect_driver "$SIB" e1000
	expect_eq "$(grep -vc '^#' $BG_DEBUGFS/events)" 0 "events recorded"
	expect_eq "$(group_field "$GROUP" 6)" 0 "refused in group $GROUP"
}

t_hold() {
	hold_start
	expect_eq "$(group_field "$GROUP" 2)" user "state of group $GROUP"
	expect_eq "$(group_field "$GROUP" 3)" "$HOLDER" "owner pid"
	expect_eq "$(group_field "$GROUP" 4)" vfio-hold "owner comm"
	expect_eq "$(events_count "group=$GROUP user pid=$HOLDER comm=vfio-hold$")" 1 "user event"
	expect_driver "$SIB" none
}

# scripts/bindguard-status (busybox sh + awk here) against debugfs and sysfs,
# while the VM holds the seed group.
t_status_tool() {
	local out rc d want lone_group
	out=$(bindguard-status) || fail "bindguard-status: exit $?"
	echo "$out" | sed 's/^/# status: /'
	want=0
	for d in /sys/kernel/iommu_groups/*; do
		ls "$d/devices" | grep -q '^0000:' && want=$((want + 1))
	done
	expect_eq "$(echo "$out" | grep -c '^[0-9]')" "$want" "groups in the table"
	echo "$out" | grep -q "^$GROUP  *user  *$HOLDER vfio-hold " || fail "no owner line for group $GROUP"
	for d in /sys/kernel/iommu_groups/"$GROUP"/devices/*; do
		d=$(basename "$d")
		want=$(driver_of "$d")
		[ "$want" = none ] && want=-
		echo "$out" | grep "^$GROUP " | grep -qE " $d=$want( |$)" || fail "table: $d is not on $want"
	done
	bindguard-status --json | grep -q "{\"group\":$GROUP,\"state\":\"user\",\"pid\":$HOLDER,\"comm\":\"vfio-hold\"," ||
		fail "--json: $(bindguard-status --json | head -c 300)"
	json_dump owned
	out=$(bindguard-status --check "$SIB" 2>&1) && fail "--check $SIB: exit 0 while owned"
	expect_eq "$out" "bindguard-status: iommu group $GROUP is owned by userspace (pid $HOLDER vfio-hold) (fix: stop pid $HOLDER (vfio-hold), which holds it)" "--check $SIB"
	lone_group=$(group_of "$LONE")
	out=$(bindguard-status --check "$lone_group" 2>&1)
	rc=$?
	expect_eq "$rc:$out" "1:bindguard-status: iommu group $lone_group not viable: $LONE is bound to e1000e $(status_fix "$LONE")" "--check $lone_group"
	bindguard-status --check "$LONE" --assign "$LONE" || fail "--check $LONE --assign $LONE: exit $?"
	bindguard-status --metrics /tmp/bg.prom || fail "--metrics: exit $?"
	grep -qx 'bindguard_groups{state="user"} 1' /tmp/bg.prom || fail "metrics: $(grep -v '^#' /tmp/bg.prom | head -n3)"
	[ -z "$(ls -a /tmp | grep '^\.bg\.prom')" ] || fail "metrics: a temporary file is left"
}

t_sysfs_bind_refused() {
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
	expect_driver "$SIB" none
	expect_eq "$(dmesg_count "bindguard: refused e1000 bind to $SIB: iommu group $GROUP owned by userspace (pid $HOLDER vfio-hold)")" 1 "log line"
	expect_eq "$(group_field "$GROUP" 6)" 1 "refused"
	case $(group_field "$GROUP" 7) in
	"$SIB/e1000@"*) ;;
	*) fail "last refusal: $(group_field "$GROUP" 7)" ;;
	esac
	expect_eq "$(events_count "group=$GROUP refused dev=$SIB driver=e1000 pid=$HOLDER comm=vfio-hold$")" 1 "refused event"
}

t_drivers_probe_refused() {
	sysfs_write /sys/bus/pci/drivers_probe "$SIB" >/dev/null
	expect_driver "$SIB" none
	expect_eq "$(group_field "$GROUP" 6)" 2 "refused"
}

t_autoprobe_refused() {
	path_autoprobe e1000 || fail "rmmod + modprobe e1000"
	expect_driver "$SIB" none
	expect_eq "$(group_field "$GROUP" 6)" 3 "refused"
	expect_eq "$(events_count "refused dev=$SIB driver=e1000 ")" 3 "refused events"
}

t_dma_managing_drivers_bind() {
	expect_eq "$(bind_to "$SIB" vfio-pci)" OK "vfio-pci bind"
	expect_driver "$SIB" vfio-pci
	unbind "$SIB"
	expect_eq "$(bind_to "$SIB" pci-stub)" OK "pci-stub bind"
	expect_driver "$SIB" pci-stub
	unbind "$SIB"
	expect_eq "$(group_field "$GROUP" 6)" 3 "refused"
}

t_new_id_never_probes() {
	local probes
	probes=$(cat /sys/module/bgtest/parameters/probes)
	expect_write /sys/bus/pci/drivers/bgtest/new_id "8086 100e" OK
	expect_driver "$SIB" none
	expect_eq "$(cat /sys/module/bgtest/parameters/probes)" "$probes" "bgtest probes"
	expect_eq "$(group_field "$GROUP" 6)" 4 "refused"
	expect_eq "$(events_count "refused dev=$SIB driver=bgtest ")" 1 "bgtest refused event"
	echo "8086 100e" >/sys/bus/pci/drivers/bgtest/remove_id
}

t_modes() {
	local n
	if [ $NATIVE = 0 ]; then
		# Nothing else stops vfio's BUG_ON: every mode still refuses.
		n=$(dmesg_count "this kernel has no DMA-ownership check of its own")
		expect_write $PARAMS/mode audit OK
		expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
		expect_write $PARAMS/mode off OK
		expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
		expect_eq "$(dmesg_count "this kernel has no DMA-ownership check of its own")" $((n + 2)) "mode warnings"
		expect_write $PARAMS/mode enforce OK
		expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
		expect_eq "$(group_field "$GROUP" 6)" 7 "refused"
		expect_eq "$(events_count "group=$GROUP audit ")" 0 "audit events"
		expect_driver "$SIB" none
		return
	fi
	expect_write $PARAMS/mode audit OK
	sysfs_write /sys/bus/pci/drivers/e1000/bind "$SIB" >/dev/null
	expect_eq "$(events_count "group=$GROUP audit dev=$SIB driver=e1000 pid=$HOLDER")" 1 "audit event"
	expect_eq "$(group_field "$GROUP" 6)" 5 "refused after audit"
	expect_write $PARAMS/mode off OK
	n=$(grep -c . $BG_DEBUGFS/events)
	sysfs_write /sys/bus/pci/drivers/e1000/bind "$SIB" >/dev/null
	expect_eq "$(grep -c . $BG_DEBUGFS/events)" "$n" "events in mode off"
	expect_eq "$(group_field "$GROUP" 2)" user "state tracked in mode off"
	expect_write $PARAMS/mode enforce OK
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
	expect_eq "$(group_field "$GROUP" 6)" 6 "refused after enforce"
	expect_driver "$SIB" none
}

# No native check: rmmod is refused while a group is owned.
t_rmmod_refused_while_owned() {
	local n
	n=$(group_field "$GROUP" 6)
	rmmod bindguard 2>/dev/null && fail "rmmod bindguard succeeded"
	[ -d /sys/module/bindguard ] || fail "bindguard unloaded"
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
	expect_eq "$(group_field "$GROUP" 6)" $((n + 1)) "refused"
}

t_rmmod_while_owned() {
	local n
	n=$(dmesg_count "bindguard: refused")
	rmmod bindguard || fail "rmmod bindguard"
	[ -d /sys/module/bindguard ] && fail "bindguard still loaded"
	[ -e $BG_DEBUGFS ] && fail "debugfs directory left behind"
	expect_eq "$(hooks_left)" "" "hooks left"
	# Stock behaviour: the kernel's own check (5.19+) refuses, silently.
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
	expect_eq "$(dmesg_count "bindguard: refused")" "$n" "bindguard log lines"
	# The kernel admits pci-stub into the owned group.
	expect_eq "$(bind_to "$SIB" pci-stub)" OK "pci-stub bind without bindguard"
	unbind "$SIB"
}

t_insmod_while_owned() {
	modprobe bindguard strict=1 allow=vfio-pci || fail "modprobe strict=1"
	expect_eq "$(group_field "$GROUP" 2)" user "state of group $GROUP"
	expect_eq "$(group_field "$GROUP" 3)" - "owner pid (unknown at load)"
	expect_eq "$(group_field "$MACHINE_GROUP" 2)" kernel "state of the machine's group ($MACHINE_GROUP)"
	expect_eq "$(group_field "$(group_of "$LONE")" 2)" kernel "state of the lone e1000e group"
	unbind "$LONE"
	expect_write /sys/bus/pci/drivers/e1000e/bind "$LONE" OK
	expect_driver "$LONE" e1000e
}

t_strict_refuses_pci_stub() {
	local n owner=-
	if [ $NATIVE = 0 ]; then
		# Reload with strict=1 while nobody owns the group, then hold it.
		hold_stop
		rmmod bindguard || fail "rmmod bindguard"
		modprobe bindguard strict=1 allow=vfio-pci || fail "modprobe strict=1"
		hold_start
		owner=$HOLDER
	fi
	n=$(dmesg_count "claimed by stub")
	expect_eq "$(bind_to "$SIB" pci-stub)" "$REFUSED" "pci-stub bind with strict=1"
	expect_driver "$SIB" none
	expect_eq "$(dmesg_count "claimed by stub")" "$n" "pci-stub probe ran"
	expect_eq "$(events_count "group=$GROUP refused dev=$SIB driver=pci-stub pid=$owner ")" 1 "refused event"
	expect_eq "$(bind_to "$SIB" vfio-pci)" OK "vfio-pci bind with strict=1"
	unbind "$SIB"
	if [ $NATIVE = 0 ]; then
		hold_stop
		rmmod bindguard || fail "rmmod bindguard"
		modprobe bindguard || fail "modprobe bindguard"
		hold_start
	else
		rmmod bindguard || fail "rmmod bindguard"
		modprobe bindguard || fail "modprobe bindguard"
	fi
}

t_owner_killed() {
	expect_eq "$(group_field "$GROUP" 2)" user "state before the kill"
	hold_stop
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 ||
		fail "group $GROUP: $(grep "^$GROUP " $BG_DEBUGFS/groups)"
	expect_eq "$(events_count "group=$GROUP kernel$")" 1 "kernel event"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind after the owner died"
	expect_driver "$SIB" e1000
}

t_new_id_probes_after_owner() {
	local probes
	probes=$(cat /sys/module/bgtest/parameters/probes)
	unbind "$SIB"
	expect_eq "$(bind_to "$SIB" bgtest)" OK "bgtest bind"
	expect_driver "$SIB" bgtest
	expect_eq "$(cat /sys/module/bgtest/parameters/probes)" $((probes + 1)) "bgtest probes"
	unbind "$SIB"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind"
}

# viable_agrees WHAT: for every IOMMU group with a member on a vfio driver
# (/dev/vfio/N exists) and no owner, bindguard's verdict (no line in
# "blockers") equals the kernel's own (VFIO_GROUP_GET_STATUS, vfio-hold -s).
viable_agrees() {
	local g kernel ours n=0
	for g in $(ls /sys/kernel/iommu_groups); do
		[ -c /dev/vfio/$g ] || continue
		kernel=$(vfio-hold -s $g)
		ours=viable
		grep -q "^$g " $BG_DEBUGFS/blockers && ours=not-viable
		expect_eq "$ours" "$kernel" "group $g, $1 ($(grep "^$g " $BG_DEBUGFS/groups | cut -d' ' -f8-); blockers: $(grep "^$g " $BG_DEBUGFS/blockers | cut -d' ' -f2- | tr '\n' ' '))"
		n=$((n + 1))
	done
	[ $n -gt 0 ] || fail "no group on vfio-pci to compare ($1)"
}

# The seed group's sibling, its bridge and the e1000e pair through every kind of
# driver: bindguard's "blockers" never disagrees with the kernel.
t_blockers_match_kernel() {
	local pair d bridge was
	head -n1 $BG_DEBUGFS/blockers | grep -qx '# bindguard-blockers 1' ||
		fail "blockers header: $(head -n1 $BG_DEBUGFS/blockers)"
	expect_eq "$(stat -c %a $BG_DEBUGFS/blockers)" 400 "blockers file mode"
	prepare
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	grep -qx "$GROUP $SIB e1000" $BG_DEBUGFS/blockers || fail "no '$GROUP $SIB e1000' in blockers"
	viable_agrees "$SIB on e1000"
	# the "not viable" answer vfio-hold -s got, explained (5.19+: from a
	# work item, so wait)
	wait_for "dmesg | grep -q 'bindguard: iommu group $GROUP not viable for pid [0-9]* (vfio-hold): $SIB is bound to e1000$(viable_fix $SIB $GROUP)\$'" 10 ||
		fail "no 'not viable' line for group $GROUP: $(dmesg | grep 'not viable' | tail -n2)"
	[ "$(events_count "group=$GROUP not-viable dev=$SIB driver=e1000 pid=[0-9]+ comm=vfio-hold$")" -ge 1 ] ||
		fail "no not-viable event: $(tail -n2 $BG_DEBUGFS/events)"
	unbind "$SIB"
	viable_agrees "$SIB unbound"
	expect_eq "$(bind_to "$SIB" pci-stub)" OK "pci-stub bind"
	viable_agrees "$SIB on pci-stub"
	unbind "$SIB"
	expect_eq "$(bind_to "$SIB" bgtest)" OK "bgtest bind"
	viable_agrees "$SIB on bgtest"
	unbind "$SIB"
	expect_eq "$(bind_to "$SIB" vfio-pci)" OK "vfio-pci bind"
	viable_agrees "$SIB on vfio-pci"
	unbind "$SIB"
	# the group's bridge, HELD's parent: q35's pcie-pci-bridge (no driver),
	# virt's root port (on pcieport, unbound for this and bound again:
	# test/qemu/boot-guest.sh). 5.10's vfio accepts a bridge on any
	# driver, 5.19+ only on one that manages DMA itself (pci-stub does,
	# bgtest does not)
	bridge=$(basename "$(dirname "$(readlink -f "/sys/bus/pci/devices/$HELD")")")
	[ "$(cat "/sys/bus/pci/devices/$bridge/class" 2>/dev/null)" = 0x060400 ] || bridge=
	was=$(driver_of "$bridge")
	[ -z "$bridge" ] || unbind "$bridge"
	if [ -z "$bridge" ] || [ "$(driver_of "$bridge")" != none ]; then
		fail "no bridge to unbind in group $GROUP: '$bridge'"
	else
		expect_eq "$(bind_to "$bridge" pci-stub)" OK "pci-stub bind of bridge $bridge"
		viable_agrees "bridge $bridge on pci-stub"
		unbind "$bridge"
		expect_eq "$(bind_to "$bridge" bgtest)" OK "bgtest bind of bridge $bridge"
		viable_agrees "bridge $bridge on bgtest"
		expect_eq "$(grep -c "^$GROUP $bridge bgtest\$" $BG_DEBUGFS/blockers)" $NATIVE "bridge on bgtest in blockers"
		unbind "$bridge"
		viable_agrees "bridge $bridge unbound"
		[ "$was" = none ] || expect_eq "$(bind_to "$bridge" "$was")" OK "$was bind of bridge $bridge"
	fi
	# the e1000e pair: one function on vfio-pci, the other on e1000e, then unbound
	pair=$(pci_find 0x8086 0x10d3 | grep -v "^$LONE\$")
	set -- $pair
	unbind "$1"
	expect_eq "$(bind_to "$1" vfio-pci)" OK "vfio-pci bind of $1"
	viable_agrees "$2 on $(driver_of "$2")"
	unbind "$2"
	viable_agrees "$2 unbound"
	expect_eq "$(bind_to "$2" e1000e)" OK "e1000e bind of $2"
	unbind "$1"
	expect_eq "$(bind_to "$1" e1000e)" OK "e1000e bind of $1"
	unbind "$HELD"
	expect_eq "$(bind_to "$HELD" e1000)" OK "e1000 bind of $HELD"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind of $SIB"
	expect_eq "$(grep -c "^$GROUP " $BG_DEBUGFS/blockers)" 2 "blockers of group $GROUP, both on e1000"
}

# Tracepoints (bindguard_trace.h): every event "events" records also goes
# to the trace, with the same escaped names.
t_tracepoints() {
	local T=/sys/kernel/tracing ev audit_refused=0 want holder
	for ev in bindguard_refusal bindguard_owner bindguard_claim_refused; do
		[ -f $T/events/bindguard/$ev/format ] || fail "no $T/events/bindguard/$ev"
	done
	echo 1 >$T/events/bindguard/enable || { fail "cannot enable events/bindguard"; return; }
	echo >$T/trace
	hold_start
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
	expect_write $PARAMS/mode audit OK
	sysfs_write /sys/bus/pci/drivers/e1000/bind "$SIB" >/dev/null
	expect_write $PARAMS/mode enforce OK
	holder=$HOLDER
	hold_stop
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 || fail "group $GROUP still owned"
	echo 0 >$T/events/bindguard/enable
	grep bindguard_ $T/trace | sed 's/^ */# trace: /'
	# before 5.19 audit still refuses
	[ $NATIVE = 0 ] && audit_refused=1
	for want in \
		"bindguard_owner: group=$GROUP owner=user pid=$holder comm=vfio-hold" \
		"bindguard_refusal: group=$GROUP dev=$SIB driver=e1000 pid=$holder comm=vfio-hold mode=enforce refused=1" \
		"bindguard_refusal: group=$GROUP dev=$SIB driver=e1000 pid=$holder comm=vfio-hold mode=audit refused=$audit_refused" \
		"bindguard_owner: group=$GROUP owner=kernel pid=0 comm=-"; do
		expect_eq "$(grep -cF ": $want" $T/trace)" 1 "trace lines '$want'"
	done
	echo >$T/trace
}

# A noisy group (BG_EVENTS + 44 reserve and release events of the seed
# group) evicts a quiet one's events (one reservation of LONE's group) from
# the ring; debugfs "history" still holds the quiet group's, and the last
# BG_GROUP_EVENTS (8) of the noisy one.
t_group_history() {
	local H=$BG_DEBUGFS/history lg i out
	lg=$(group_of "$LONE")
	expect_eq "$(head -n1 $H)" "# bindguard-history 1" "history format"
	expect_eq "$(stat -c %a $H)" 400 "history file mode"
	expect_write /sys/kernel/bindguard/reserve "$LONE" OK
	expect_write /sys/kernel/bindguard/release "$LONE" OK
	i=0
	while [ $i -lt 150 ]; do
		echo "$SIB" >/sys/kernel/bindguard/reserve && echo "$SIB" >/sys/kernel/bindguard/release ||
			{ fail "reserve/release $SIB failed at $i"; return; }
		i=$((i + 1))
	done
	expect_eq "$(events_count "group=$lg ")" 0 "group $lg's events left in the ring"
	grep -q '^# [0-9]* older events dropped$' $BG_DEBUGFS/events || fail "the ring did not overflow"
	sed 's/^/# history: /' $H
	out=$(grep " group=$lg " $H | tail -n2 | sed 's/^\[[0-9]*\.[0-9]*\] //; s/ pid=[0-9]* comm=[^ ]*$//')
	expect_eq "$out" "group=$lg reserve dev=$LONE
group=$lg release dev=$LONE" "group $lg's last events in history"
	expect_eq "$(grep -c " group=$GROUP " $H)" 8 "group $GROUP's events in history"
	expect_eq "$(grep " group=$GROUP " $H | grep -vcE " (reserve|release) dev=$SIB pid=[0-9]+ comm=[^ ]+$")" 0 \
		"group $GROUP's history: its last reservations only"
	out=$(sed -n "s/^# group $GROUP: \([0-9]*\) older events$/\1/p" $H)
	[ "${out:-0}" -ge 292 ] || fail "group $GROUP: '$out' older events, want at least 292"
}

t_unload() {
	local out
	rmmod bindguard || fail "rmmod bindguard"
	out=$(bindguard-status 2>&1) && fail "bindguard-status succeeded with bindguard unloaded"
	expect_eq "$out" "bindguard-status: bindguard is not loaded (modprobe bindguard)" "bindguard-status, unloaded"
	expect_eq "$(hooks_left)" "" "hooks left"
	expect_eq "$(dmesg | grep -c 'bindguard: .*missed')" 0 "missed kretprobe calls"
}

# --- run -------------------------------------------------------------------

for m in vfio vfio_iommu_type1 vfio-pci e1000 e1000e pci-stub bgtest; do
	modprobe $m || diag "modprobe $m failed"
done
scenario_init

ktap_plan $((23 + 2 * $(echo $BIND_PATHS | wc -w)))
run_test "bad params at insmod: refused, loaded in enforce" t_bad_params_at_insmod
run_test "modprobe bindguard hooks really_probe" t_load
run_test "bad mode writes fail with EINVAL" t_bad_mode_write
run_test "groups lists every PCI group" t_groups_lists_every_pci_group
run_test "unclaimed groups bind untouched" t_unclaimed_groups_untouched
run_paths unowned
run_test "VFIO user owns the bridged group" t_hold
run_test "bindguard-status: table, --json, --check, --metrics" t_status_tool
run_test "sibling sysfs bind refused" t_sysfs_bind_refused
run_test "sibling drivers_probe refused" t_drivers_probe_refused
run_test "sibling autoprobe refused" t_autoprobe_refused
run_test "vfio-pci and pci-stub bind into owned group" t_dma_managing_drivers_bind
run_test "new_id driver never probes in owned group" t_new_id_never_probes
run_test "audit records, off ignores, enforce refuses" t_modes
run_paths owned
if [ $NATIVE = 1 ]; then
	run_test "rmmod while owned restores stock" t_rmmod_while_owned
	run_test "insmod while owned finds the owned group" t_insmod_while_owned
else
	run_test "rmmod refused while owned (no native check)" t_rmmod_refused_while_owned
	skip_test "insmod while owned finds the owned group" \
		"here bindguard refuses rmmod while owned; boot harden loads it late instead"
fi
run_test "strict=1 refuses pci-stub" t_strict_refuses_pci_stub
run_test "owner SIGKILL returns group to kernel" t_owner_killed
run_test "new_id driver probes once owner is gone" t_new_id_probes_after_owner
run_test "blockers: bindguard's verdict equals VFIO_GROUP_FLAGS_VIABLE; not viable explained" t_blockers_match_kernel
run_test "tracepoints: owner changes and refusals, fields as in events" t_tracepoints
run_test "history: a noisy group evicts no other group's last events" t_group_history
run_test "unbind_store hooked: a protected device's unbind refused" t_unbind_hook
run_test "rmmod leaves no hook" t_unload
