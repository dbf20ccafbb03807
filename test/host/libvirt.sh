# libvirt.sh - the seed scenario as an operator meets it, with libvirt
# (sourced by boot-host.sh and boot-nobindguard.sh).
#
# The topology (test/qemu/boot-guest.sh): two conventional e1000 behind a
# pcie-pci-bridge, one IOMMU group with the bridge. The VM ("seed", a
# type='qemu' domain: nested TCG, SeaBIOS and no disk, so no OS is needed)
# holds the first e1000 (HELD) as a managed hostdev; the operator detached
# the second (SIB) with `virsh nodedev-detach` so that the group is viable.
# While the VM runs, the operator hands SIB back to the host with `virsh
# nodedev-reattach`: libvirt unbinds it from vfio-pci and has the kernel
# probe it again, and e1000 would bind into a group QEMU owns. With
# bindguard that bind is refused (its log line; the host stays up); without
# it, 5.10's vfio hits BUG_ON (boot-nobindguard.sh) and 5.19+ refuses it
# silently. `virsh destroy` then ends the VM: the group is back to the
# kernel and libvirt's managed reattach gives HELD back to e1000, which
# bindguard must let through.

LIBVIRT_TESTS=7
VIRSH="virsh -q -c qemu:///system"

libvirt_init() {
	set -- $(pci_find 0x8086 0x100e)
	HELD=$1
	SIB=$2
	GROUP=$(group_of "$HELD")
	diag "held $HELD sibling $SIB group $GROUP: $(ls /sys/kernel/iommu_groups/"$GROUP"/devices | tr '\n' ' ')"
	BINDGUARD=0
	[ -d /sys/module/bindguard ] && BINDGUARD=1
	NATIVE=0
	grep -qw iommu_group_claim_dma_owner /proc/kallsyms && NATIVE=1
	QPID=
	VM_COMM=
}

# run CMD...: run it, its output as diagnostics; the exit status is CMD's
run() {
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | sed "s/^/# $1: /"
	return $rc
}

# took: sets TOOK to the seconds since the last call (a diagnostic only,
# never asserted; call it in this shell, not in $(...))
T_LAST=$(date +%s.%N)
took() {
	local now
	now=$(date +%s.%N)
	TOOK=$(echo "$now $T_LAST" | awk '{ printf "%.1f s", $1 - $2 }')
	T_LAST=$now
}

t_libvirtd() {
	took
	wait_for "$VIRSH version >/dev/null 2>&1" 300 ||
		{ fail "virsh cannot reach libvirt in 300 s: $($VIRSH version 2>&1 | tail -n1)"; return; }
	took
	diag "libvirt answered after $TOOK: $($VIRSH version 2>/dev/null | tr '\n' ' ' | tr -s ' ')"
	run $VIRSH nodedev-list --cap pci >/dev/null || fail "virsh nodedev-list failed"
	$VIRSH nodedev-list --cap pci | grep -qx "$(nodedev "$SIB")" ||
		fail "$(nodedev "$SIB") is not in virsh nodedev-list"
}

# bindguard-status --check, as a libvirt hook would ask before a start: HELD
# is about to be assigned (managed='yes'), so only SIB can block
t_detach_sibling() {
	local out
	if [ $BINDGUARD = 1 ]; then
		out=$(bindguard-status --check "$HELD" --assign "$HELD" 2>&1) &&
			fail "bindguard-status --check before the detach: exit 0"
		expect_eq "$out" "bindguard-status: iommu group $GROUP not viable: $SIB is bound to e1000 $(status_fix "$SIB")" "--check before the detach"
	fi
	took
	run $VIRSH nodedev-detach "$(nodedev "$SIB")" || fail "virsh nodedev-detach $(nodedev "$SIB") failed"
	expect_driver "$SIB" vfio-pci
	if [ $BINDGUARD = 1 ]; then
		run bindguard-status --check "$HELD" --assign "$HELD" ||
			fail "bindguard-status --check after the detach: exit $?"
	fi
	took
	diag "nodedev-detach took $TOOK"
}

# held_by PID: has PID /dev/vfio/$GROUP open?
held_by() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd")" = "/dev/vfio/$GROUP" ] && return 0
	done
	return 1
}

domain_xml() {
	local b=${HELD#0000:}
	cat <<-XML
	<domain type='qemu'>
	  <name>seed</name>
	  <memory unit='MiB'>64</memory>
	  <vcpu>1</vcpu>
	  <os><type arch='x86_64' machine='pc'>hvm</type></os>
	  <on_poweroff>destroy</on_poweroff>
	  <devices>
	    <hostdev mode='subsystem' type='pci' managed='yes'>
	      <source>
	        <address domain='0x0000' bus='0x${b%%:*}' slot='0x$(echo "$b" | cut -d: -f2 | cut -d. -f1)' function='0x${b##*.}'/>
	      </source>
	      <rom bar='off'/>
	    </hostdev>
	    <memballoon model='none'/>
	  </devices>
	</domain>
	XML
}

t_start_vm() {
	domain_xml >/tmp/seed.xml
	run $VIRSH define /tmp/seed.xml || { fail "virsh define failed"; return; }
	vm_start
}

# While SIB is on e1000 the group cannot be handed to the VM: bindguard's
# libvirt hook (/etc/libvirt/hooks/qemu.d/bindguard) refuses the start at
# "prepare begin", before libvirt detaches HELD, and virsh start's error
# says why and what to run
t_start_refused() {
	local out
	if [ $BINDGUARD = 0 ]; then
		SKIP_REASON="bindguard not loaded: its hook has no opinion"
		return
	fi
	domain_xml >/tmp/seed.xml
	run $VIRSH define /tmp/seed.xml || { fail "virsh define failed"; return; }
	out=$($VIRSH start seed 2>&1) && { fail "virsh start seed succeeded"; vm_destroy_quiet; return; }
	echo "$out" | sed 's/^/# virsh start: /'
	case $out in
	*"bindguard: refusing to start seed: "*) ;;
	*) fail "virsh start's error does not name bindguard's refusal" ;;
	esac
	case $out in
	*"iommu group $GROUP not viable: $SIB is bound to e1000 $(status_fix "$SIB")"*) ;;
	*) fail "virsh start's error does not name $SIB and its fix" ;;
	esac
	expect_driver "$HELD" e1000
	expect_eq "$($VIRSH domstate seed 2>&1)" "shut off" "domain state"
	run $VIRSH undefine seed || fail "virsh undefine seed failed"
}

vm_destroy_quiet() {
	$VIRSH destroy seed >/dev/null 2>&1
}

# vm_start: virsh start of the defined domain; QPID and VM_COMM are its
# QEMU's, which must hold the group (bindguard's table says so too)
vm_start() {
	local pidfile=/run/libvirt/qemu/seed.pid comm
	QPID=
	took
	run $VIRSH start seed || { fail "virsh start seed failed"; return; }
	took
	diag "virsh start took $TOOK"
	QPID=$(cat $pidfile 2>/dev/null)
	[ -n "$QPID" ] && [ -d "/proc/$QPID" ] || { fail "no QEMU process ($pidfile: '$QPID')"; return; }
	comm=$(cat "/proc/$QPID/comm")
	VM_COMM=$comm
	diag "QEMU pid $QPID comm $comm: $(tr '\0' ' ' <"/proc/$QPID/cmdline" | cut -c1-200)"
	expect_driver "$HELD" vfio-pci
	held_by "$QPID" || fail "QEMU has no /dev/vfio/$GROUP open"
	if [ $BINDGUARD = 1 ]; then
		grep "^$GROUP " $BG_DEBUGFS/groups | sed 's/^/# groups: /'
		expect_eq "$(group_field "$GROUP" 2)" user "group $GROUP state"
		expect_eq "$(group_field "$GROUP" 3)" "$QPID" "group $GROUP owner pid"
		expect_eq "$(group_field "$GROUP" 4)" "$comm" "group $GROUP owner comm"
		bindguard-status | sed 's/^/# bindguard-status: /'
		json_dump vm
		expect_eq "$(bindguard-status --check "$HELD" 2>&1)" \
			"bindguard-status: iommu group $GROUP is owned by userspace (pid $QPID $comm) (fix: virsh shutdown seed; or: virsh destroy seed)" "--check while the VM runs"
	fi
}

t_reattach_sibling_refused() {
	local refused=0 rc=0
	[ -n "$QPID" ] || { fail "no VM running"; return; }
	[ $BINDGUARD = 1 ] && refused=$(group_field "$GROUP" 6)
	diag "virsh nodedev-reattach $(nodedev "$SIB") while QEMU (pid $QPID) holds group $GROUP"
	took
	run $VIRSH nodedev-reattach "$(nodedev "$SIB")" || rc=$?
	took
	diag "nodedev-reattach: exit status $rc after $TOOK; $SIB is on $(driver_of "$SIB")"
	[ "$(driver_of "$SIB")" = e1000 ] && fail "$SIB was bound to e1000 while QEMU owns group $GROUP"
	kill -0 "$QPID" 2>/dev/null || fail "QEMU (pid $QPID) is gone"
	if [ $BINDGUARD = 1 ]; then
		dmesg | grep -F "bindguard: refused e1000 bind to $SIB: iommu group $GROUP owned by userspace (pid $QPID " |
			sed 's/^/# dmesg: /' | grep -q . ||
			fail "no refusal line for $SIB in dmesg"
		[ "$(group_field "$GROUP" 6)" -gt "$refused" ] ||
			fail "refused count of group $GROUP did not grow: $refused -> $(group_field "$GROUP" 6)"
	fi
}

t_destroy_vm() {
	[ -n "$QPID" ] || { fail "no VM running"; return; }
	vm_destroy
	# libvirt's managed reattach: HELD back to its host driver
	wait_for "[ \"\$(driver_of $HELD)\" = e1000 ]" 30 ||
		fail "$HELD not given back to e1000 (driver: $(driver_of "$HELD"))"
	if [ $BINDGUARD = 1 ]; then
		grep "^$GROUP " $BG_DEBUGFS/groups | sed 's/^/# groups: /'
		expect_eq "$(group_field "$GROUP" 2)" kernel "group $GROUP state"
	fi
	run $VIRSH undefine seed || fail "virsh undefine seed failed"
}

# vm_destroy: virsh destroy, until its QEMU (QPID) is gone
vm_destroy() {
	took
	run $VIRSH destroy seed || fail "virsh destroy seed failed"
	took
	diag "virsh destroy took $TOOK"
	wait_for "[ ! -d /proc/$QPID ]" 30 || fail "QEMU (pid $QPID) still running"
}

t_reattach_sibling_after() {
	run $VIRSH nodedev-reattach "$(nodedev "$SIB")" || fail "virsh nodedev-reattach $(nodedev "$SIB") failed"
	wait_for "[ \"\$(driver_of $SIB)\" = e1000 ]" 10 ||
		fail "$SIB not on e1000 (driver: $(driver_of "$SIB"))"
}

# libvirt_story [AFTER]: the story's tests in order; AFTER STEP, if given,
# runs after each step (detach, start, reattach, destroy, after: what
# follows the story's last test)
libvirt_story() {
	local after=${1:-:}
	run_test "libvirt: virsh reaches libvirt, lists the seed's devices" t_libvirtd
	run_test "libvirt: virsh start refused by bindguard's hook while the sibling is on e1000, with the fix" t_start_refused
	run_test "libvirt: nodedev-detach of the sibling: vfio-pci" t_detach_sibling
	$after detach
	run_test "libvirt: virsh start: QEMU owns the group" t_start_vm
	$after start
	run_test "libvirt: nodedev-reattach of the sibling while the VM runs: refused, host up" t_reattach_sibling_refused
	$after reattach
	run_test "libvirt: virsh destroy: group back to the kernel, managed reattach to e1000" t_destroy_vm
	$after destroy
	run_test "libvirt: nodedev-reattach of the sibling after the VM: e1000" t_reattach_sibling_after
	$after after
}
