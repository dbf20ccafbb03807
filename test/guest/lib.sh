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

run_test() {
	TEST_NAME=$1
	TEST_OK=1
	shift
	KTAP_N=$((KTAP_N + 1))
	"$@"
	if [ "$TEST_OK" = 1 ]; then
		echo "ok $KTAP_N $TEST_NAME"
	else
		echo "not ok $KTAP_N $TEST_NAME"
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

events_count() {	# PATTERN (extended regex)
	grep -cE "$1" $BG_DEBUGFS/events
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
