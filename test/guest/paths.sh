# paths.sh - every way a driver can come to probe a device, as one function
# each: path_<name> DRIVER tries to bind $SIB to DRIVER that way. The main
# boot runs each path twice, while nobody owns the group (the bind must
# happen) and while the VM owns it (refused and counted; the driver's probe
# never runs). Test names "bind path <name>: <owned|unowned>" feed the matrix
# that make matrix prints (test/matrix.sh).

BIND_PATHS="sysfs_bind:e1000 drivers_probe:e1000 autoprobe:e1000 driver_override:e1000 new_id:bgtest remove_rescan:e1000"

path_sysfs_bind() {	# echo BDF > /sys/bus/pci/drivers/DRIVER/bind
	sysfs_write "/sys/bus/pci/drivers/$1/bind" "$SIB" >/dev/null
}

path_drivers_probe() {	# the bus tries every matching driver
	sysfs_write /sys/bus/pci/drivers_probe "$SIB" >/dev/null
}

path_autoprobe() {	# the driver registers and probes unbound devices
	# a debug kernel (DEBUG_KOBJECT_RELEASE) removes the old driver's sysfs
	# directory a few seconds late: registering again before would fail
	rmmod "$1" && wait_for "[ ! -e /sys/bus/pci/drivers/$1 ]" 10 && modprobe "$1"
}

path_driver_override() {	# driver_override + drivers_probe
	echo "$1" >"/sys/bus/pci/devices/$SIB/driver_override"
	sysfs_write /sys/bus/pci/drivers_probe "$SIB" >/dev/null
	echo >"/sys/bus/pci/devices/$SIB/driver_override"
}

path_new_id() {	# dynamic IDs: the driver probes matching unbound devices
	local id
	id="$(cat "/sys/bus/pci/devices/$SIB/vendor") $(cat "/sys/bus/pci/devices/$SIB/device")"
	id=$(echo "$id" | sed 's/0x//g')
	sysfs_write "/sys/bus/pci/drivers/$1/new_id" "$id" >/dev/null
	echo "$id" >"/sys/bus/pci/drivers/$1/remove_id"
}

path_remove_rescan() {	# the device goes away and comes back: autoprobe
	echo 1 >"/sys/bus/pci/devices/$SIB/remove"
	echo 1 >/sys/bus/pci/rescan
	wait_for "[ -e /sys/bus/pci/devices/$SIB ]" 10 || fail "$SIB did not come back"
}

bgtest_probes() {
	cat /sys/module/bgtest/parameters/probes
}

t_path_unowned() {	# PATH DRIVER
	unbind "$SIB"
	"path_$1" "$2"
	expect_driver "$SIB" "$2"
	unbind "$SIB"
}

t_path_owned() {	# PATH DRIVER
	local refused probes
	refused=$(group_field "$GROUP" 6)
	probes=$(bgtest_probes)
	"path_$1" "$2"
	expect_driver "$SIB" none
	[ "$(group_field "$GROUP" 6)" -gt "$refused" ] ||
		fail "refused count stayed $refused"
	expect_eq "$(bgtest_probes)" "$probes" "bgtest probes"
}

# run_paths unowned|owned
run_paths() {
	local p
	for p in $BIND_PATHS; do
		run_test "bind path ${p%%:*}: $1" "t_path_$1" "${p%%:*}" "${p#*:}"
	done
}
