# boot-lockdown.sh - bindguard under kernel lockdown (debug kernel only:
# test/guest/boots runs it with lockdown=integrity).
#
# What a Secure Boot host with Debian's kernel does to modules, shown with
# the one kernel here whose signing key the suite holds: the debug kernel
# (test/kernel/build-debug-kernel.sh) signs its own modules with its build key.
# test/run.sh installs bindguard re-signed with that key as
# /lib/modules/.../bindguard.ko, and puts two copies in /tests: DKMS's
# module as DKMS signed it (with DKMS's own key, which this kernel does not
# trust: a MOK nobody enrolled) and the same module with no signature.
# Under lockdown=integrity the kernel loads only modules signed with a key
# it trusts; bindguard's hooks (ftrace, kretprobes) are allowed from a
# signed module; debugfs refuses every file that has a write bit, and
# bindguard's files have none, so they stay readable. (kmemleak's file is
# writable, so the debug kernel's leak scan cannot run in this boot: its
# leak check is empty here; the other debug boots cover leaks.)
. /tests/lib.sh
. /tests/scenario.sh

SIG_TRAILER='~Module signature appended~'

# signed FILE: does FILE end with a module signature?
signed() {
	[ "$(tail -c 28 "$1" | head -c 27)" = "$SIG_TRAILER" ]
}

# The debug kernel has no securityfs (/sys/kernel/security/lockdown), and
# its early "Kernel is locked down from command line" line is gone from the
# log buffer by now: ask the lockdown itself. A writable debugfs file
# (kmemleak's) is refused at the integrity level.
t_locked_down() {
	grep -qw 'lockdown=integrity' /proc/cmdline || fail "no lockdown=integrity on the command line"
	expect_write /sys/kernel/debug/kmemleak scan EPERM
	[ "$(dmesg_count 'Lockdown: sh: debugfs access is restricted')" -ge 1 ] ||
		fail "no lockdown line for debugfs: $(dmesg | grep Lockdown | tail -n1)"
}

t_unsigned_refused() {
	local out
	signed /tests/bindguard-unsigned.ko && fail "/tests/bindguard-unsigned.ko has a signature"
	out=$(insmod /tests/bindguard-unsigned.ko 2>&1) && fail "insmod of an unsigned bindguard succeeded"
	diag "insmod: $out"
	[ -d /sys/module/bindguard ] && { fail "bindguard is loaded"; rmmod bindguard; }
	[ "$(dmesg_count 'Lockdown: insmod: unsigned module loading is restricted')" -ge 1 ] ||
		fail "no lockdown line in dmesg"
}

t_untrusted_key_refused() {
	local out
	signed /tests/bindguard-dkms.ko || fail "/tests/bindguard-dkms.ko (DKMS's module) is not signed"
	out=$(insmod /tests/bindguard-dkms.ko 2>&1) && fail "insmod of bindguard signed with DKMS's key succeeded"
	diag "insmod: $out"
	[ -d /sys/module/bindguard ] && { fail "bindguard is loaded"; rmmod bindguard; }
}

t_signed_loads_and_hooks() {
	signed "$BINDGUARD_KO" || fail "$BINDGUARD_KO is not signed"
	modprobe bindguard || { fail "modprobe bindguard (signed with the build key) failed"; return; }
	grep -q '^really_probe ' $HOOKS || fail "really_probe is not hooked: $(cat $HOOKS)"
	dmesg | grep -q 'bindguard: loaded, mode enforce' || fail "no 'loaded' line"
}

t_lockdown_debugfs() {
	local f
	for f in groups events hooks; do
		[ "$(stat -c %a $BG_DEBUGFS/$f)" = 400 ] || fail "$f: mode $(stat -c %a $BG_DEBUGFS/$f)"
		head -n1 $BG_DEBUGFS/$f | grep -q '^# bindguard-' ||
			fail "$f unreadable: $(head -n1 $BG_DEBUGFS/$f 2>&1)"
	done
}

t_refuses() {
	hold_start
	grep -q "^holding" /tmp/hold.log || { fail "vfio-hold: $(cat /tmp/hold.log)"; return; }
	expect_eq "$(group_field "$GROUP" 2)" user "group $GROUP state"
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
	expect_driver "$SIB" none
	[ "$(dmesg_count "bindguard: refused e1000 bind to $SIB: iommu group $GROUP owned by userspace (pid $HOLDER ")" -ge 1 ] ||
		fail "no refusal line"
	expect_eq "$(group_field "$GROUP" 6)" 1 "refused in group $GROUP"
	hold_stop
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 || fail "group $GROUP still owned"
}

t_lockdown_unload() {
	rmmod bindguard || fail "rmmod bindguard failed"
	[ -d /sys/module/bindguard ] && fail "still loaded"
}

for m in vfio vfio_iommu_type1 vfio-pci e1000; do
	modprobe $m || diag "modprobe $m failed"
done
scenario_init
ktap_plan 7
run_test "lockdown: integrity" t_locked_down
run_test "lockdown: unsigned bindguard refused" t_unsigned_refused
run_test "lockdown: bindguard signed with DKMS's untrusted key refused" t_untrusted_key_refused
run_test "lockdown: bindguard signed with the kernel's key loads and hooks" t_signed_loads_and_hooks
run_test "lockdown: debugfs files readable" t_lockdown_debugfs
run_test "lockdown: sibling bind refused while owned" t_refuses
run_test "lockdown: rmmod" t_lockdown_unload
