# boot-nobindguard.sh - the libvirt story on the same host with bindguard
# kept out (modprobe.blacklist=bindguard on the kernel command line; sourced
# by test/host/run). On bullseye's 5.10 the sibling's reattach while the VM
# runs ends in vfio's BUG_ON (test/host/boots says expect=crash): the hazard
# bindguard exists for, met the way an operator meets it.
. "$HERE/libvirt.sh"

t_bindguard_kept_out() {
	[ -d /sys/module/bindguard ] && fail "bindguard is loaded"
	grep -qw 'modprobe.blacklist=bindguard' /proc/cmdline || fail "not booted with modprobe.blacklist=bindguard"
}

libvirt_init
ktap_plan $((1 + LIBVIRT_TESTS))
run_test "bindguard kept out (modprobe.blacklist=bindguard)" t_bindguard_kept_out
[ $NATIVE = 0 ] && diag "before 5.19: the reattach below is expected to end in vfio's BUG_ON"
libvirt_story
