# lib.sh - KTAP output and sysfs helpers for the guest tests (busybox sh).
#
# A test is a shell function run by `run_test "name" func`; its assertions
# (expect_*) print a "# name: ..." diagnostic and mark it failed. Results go
# out as KTAP: "ok N name", "not ok N name", "ok N name # SKIP reason".

KTAP_N=0

ktap_plan() {
	echo "KTAP version 1"
	echo "1..$1"
}

# A test that ran but could not show what it is about sets SKIP_REASON: it
# is reported "# SKIP" when nothing failed (a failure still fails).
run_test() {
	local t0
	TEST_NAME=$1
	TEST_OK=1
	SKIP_REASON=
	shift
	KTAP_N=$((KTAP_N + 1))
	t0=$(cut -d' ' -f1 /proc/uptime)
	if type "$1" >/dev/null 2>&1; then
		"$@"
	else
		fail "no such test function: $1"
	fi
	hooks_left_check
	# where a boot's time goes (guest time: TCG runs it about as fast as
	# the host gives it a core)
	echo "# time: test $KTAP_N took $(awk -v t0="$t0" '{ printf "%.1f", $1 - t0 }' /proc/uptime) s"
	if [ "$TEST_OK" != 1 ]; then
		echo "not ok $KTAP_N $TEST_NAME"
	elif [ -n "$SKIP_REASON" ]; then
		echo "ok $KTAP_N $TEST_NAME # SKIP $SKIP_REASON"
	else
		echo "ok $KTAP_N $TEST_NAME"
	fi
}

# Functions still hooked (ftrace, or kprobes through ftrace) by anybody: in
# the test guest only bindguard hooks anything. On a real host systemd's BPF
# LSM programs hook too (bpf_lsm_file_open, through a BPF trampoline: a
# "direct-->bpf_trampoline" line under the function's): not bindguard's,
# left out.
HOOKS=/sys/kernel/tracing/enabled_functions
hooks_left() {
	awk '/^[^\t]/ { if (r !~ /direct-->bpf_trampoline/) printf "%s", r; r = "" }
		{ r = r $0 "\n" }
		END { if (r !~ /direct-->bpf_trampoline/) printf "%s", r }' $HOOKS
}

# With bindguard unloaded, no function may stay traced: not its own hooks,
# and not a stale kprobe address left in ftrace (a probe in a module that
# went away, traced again in the next module loaded there).
hooks_left_check() {
	[ -d /sys/module/bindguard ] && return
	if [ ! -r $HOOKS ]; then
		fail "cannot read $HOOKS (tracefs not mounted?)"
	elif [ -n "$(hooks_left | head -c1)" ]; then
		fail "functions still traced with bindguard unloaded: $(hooks_left | head -n3)"
	fi
}

skip_test() {
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N $1 # SKIP $2"
}

fail() {
	echo "# $TEST_NAME: $*"
	TEST_OK=0
}

# bg_arg NAME DEFAULT: the value of bg.NAME=VALUE on the kernel command line
# (the last one), else DEFAULT
bg_arg() {
	local arg v=$2
	for arg in $(cat /proc/cmdline); do
		case $arg in "bg.$1="*) v=${arg#*=} ;; esac
	done
	echo "$v"
}

# unload: rmmod bindguard; the test fails if it does not unload
unload() {
	rmmod bindguard || fail "rmmod bindguard"
}

diag() {
	echo "# $*"
}

expect_eq() {	# GOT WANT WHAT
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# sysfs_write FILE VALUE: echoes OK or the errno name the write failed with.
sysfs_write() {
	local err
	# (busybox's printf fails silently; echo names the error on stderr)
	err=$(echo "$2" 2>&1 >"$1") && { echo OK; return; }
	case $err in
	*"Device or resource busy"*) echo EBUSY ;;
	*"Invalid argument"*) echo EINVAL ;;
	*"No such device"*) echo ENODEV ;;
	*"No such file or directory"*) echo ENOENT ;;
	*"No space left on device"*) echo ENOSPC ;;
	*"Operation not permitted"*) echo EPERM ;;
	*"Permission denied"*) echo EACCES ;;
	*"File exists"*) echo EEXIST ;;
	*) echo "ERR($err)" ;;
	esac
}

expect_write() {	# FILE VALUE WANT
	local got
	got=$(sysfs_write "$1" "$2")
	[ "$got" = "$3" ] || fail "echo $2 > $1: got $got, want $3"
}

# driver_of BDF: the bound driver's name, or "none".
driver_of() {
	local link
	link=$(readlink "/sys/bus/pci/devices/$1/driver") || { echo none; return; }
	basename "$link"
}

expect_driver() {	# BDF WANT
	expect_eq "$(driver_of "$1")" "$2" "driver of $1"
}

pci_find() {	# VENDOR DEVICE: BDFs, sorted
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ] &&
			basename "$d"
	done | sort
}

group_of() {
	basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"
}

unbind() {
	[ -e "/sys/bus/pci/devices/$1/driver" ] &&
		echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
	return 0
}

# bind_to BDF DRIVER: driver_override + bind; echoes OK or the errno name.
bind_to() {
	echo "$2" >"/sys/bus/pci/devices/$1/driver_override"
	sysfs_write "/sys/bus/pci/drivers/$2/bind" "$1"
	echo >"/sys/bus/pci/devices/$1/driver_override"
}

# The debugfs files.
BG_DEBUGFS=/sys/kernel/debug/bindguard

# group_field GROUP N: field N of the group's line in "groups"
# (1 id, 2 state, 3 pid, 4 comm, 5 since, 6 refused, 7 last refusal).
group_field() {
	awk -v g="$1" -v n="$2" '$1 == g { print $n }' $BG_DEBUGFS/groups
}

# libvirt's node device name of a BDF: pci_0000_02_01_0
nodedev() {
	echo "pci_$1" | tr ':.' '__'
}

# status_fix BDF: the fix bindguard-status --check names for a blocker BDF
status_fix() {
	echo "(fix: virsh nodedev-detach $(nodedev "$1"); or: echo $1 > /sys/bus/pci/devices/$1/driver/unbind; echo vfio-pci > /sys/bus/pci/devices/$1/driver_override; echo $1 > /sys/bus/pci/drivers_probe)"
}

events_count() {	# PATTERN (extended regex)
	grep -cE "$1" $BG_DEBUGFS/events
}

# the protected names, one line
protected_list() {
	tr '\n' ' ' </sys/kernel/bindguard/protect
}

# debugfs "listed" without its two header lines, one line a "|"
listed() {
	sed 1,2d $BG_DEBUGFS/listed | tr '\n' '|'
}

# pci_ids BDF: "vvvv:dddd:ssss:ssss", as debugfs "listed" prints them
pci_ids() {
	local f
	for f in vendor device subsystem_vendor subsystem_device; do
		sed 's/^0x//' "/sys/bus/pci/devices/$1/$f"
	done | tr '\n' : | sed 's/:$//'
}

# json_dump NAME: bindguard-status --json into the log, between "# json-begin
# NAME" and "# json-end", each line "# json: "; test/run.sh checks each
# such document against docs/bindguard-status.schema.json on the host
# (the guest has no python3-jsonschema)
json_dump() {
	echo "# json-begin $1"
	bindguard-status --json | sed 's/^/# json: /'
	echo "# json-end"
}

# The fix a "not viable" line ends with, for blocker BDF in group GROUP
# (a regular expression: dots match themselves too).
viable_fix() {	# BDF GROUP
	echo "; to fix, detach each: virsh nodedev-detach $(nodedev "$1") (or echo $1 > /sys/bus/pci/devices/$1/driver/unbind); all of it: bindguard-status --explain $2"
}

dmesg_count() {	# FIXED STRING
	dmesg | grep -cF "$1"
}

# Wait up to $2 seconds (default 10) for shell condition $1.
wait_for() {
	local i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ $i -ge $((${2:-10} * 10)) ] && return 1
		sleep 0.1
	done
}

# --- the host (test/qemu/qmp-agent.py, boots with the `qmp` key) -------------
#
# host_cmd VERB ARGS...: ask the host to do something over QMP and print
# its answer: "ok JSON", "error JSON", "timeout", "bad MESSAGE", or
# "noreply" when no answer came in time (no agent: a boot without the `qmp`
# key, or the agent died). The request goes out on ttyS1 (the KTAP stream,
# as "# host: SEQ VERB ARGS..."), the answer comes back on ttyS2 as
# "reply SEQ ...". Verbs (see test/qemu/qmp-agent.py): device_add
# DRIVER,k=v,..., device_del ID, wait_event EVENT [ID] [SECONDS],
# event_count EVENT [ID], qmp JSON. Waits at most SECONDS + 10 for a
# wait_event, 15 s otherwise. Safe inside $(...).
HOST_TTY=/dev/ttyS2
exec 8>&1	# where requests go, even from inside $(...)
if [ -c $HOST_TTY ]; then
	stty -F $HOST_TTY raw -echo 2>/dev/null
	exec 7<>$HOST_TTY
fi

host_cmd() {
	local seq limit end line
	[ -c $HOST_TTY ] || { echo noreply; return; }
	seq=$(($(cat /tmp/host_seq 2>/dev/null || echo 0) + 1))
	echo $seq >/tmp/host_seq
	limit=15
	[ "$1" = wait_event ] && limit=$((${4:-20} + 10))
	end=$(($(date +%s) + limit))
	echo "# host: $seq $*" >&8
	while [ "$(date +%s)" -le $end ]; do
		line=
		read -t 1 -r line <&7 || continue
		line=$(echo "$line" | tr -d '\r')
		case $line in
		"reply $seq "*) echo "${line#reply $seq }"; return ;;
		esac
	done
	echo noreply
}

# host_ok VERB ARGS...: host_cmd, failing the test unless the answer is ok.
host_ok() {
	local r
	r=$(host_cmd "$@")
	case $r in
	ok*) ;;
	*) fail "host $*: $r" ;;
	esac
}
