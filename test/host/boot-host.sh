# boot-host.sh - bindguard on a real Debian host, as the package left it
# (sourced by test/host/run; KTAP on stdout).
#
# The image (test/host/image.sh) was made with the suite's point-release
# kernel (old-kernel), bindguard-dkms was installed with apt (its maintainer
# scripts had DKMS build it for that kernel), then the kernel was upgraded
# from the suite's -security: Debian's DKMS kernel hooks built bindguard for
# the new kernel, which is the one booted here. Nothing here installs or
# loads bindguard: every test looks at what the host did by itself.
. "$HERE/libvirt.sh"
. "$HERE/fleet.sh"
. "$HERE/upgrade.sh"

OLDKVER=$(cat "$HERE/old-kernel")
KVER=$(uname -r)
PKGVER=$(dpkg-query -W -f='${Version}' bindguard-dkms 2>/dev/null)
DKMS_VER=$(dpkg-query -W -f='${Version}' dkms 2>/dev/null)
diag "bindguard-dkms $PKGVER, dkms $DKMS_VER, kernels: booted $KVER, image made with $OLDKVER"

t_upgraded_kernel() {
	[ "$KVER" != "$OLDKVER" ] || fail "booted the image's first kernel $OLDKVER, not the upgrade's"
	expect_eq "$(ls /lib/modules | sort -V | tail -n1)" "$KVER" "newest kernel in /lib/modules"
}

# dkms status lines: "bindguard/0.1.0, 6.12.118+deb13-amd64, x86_64: installed"
# (dkms 3) or "bindguard, 0.1.0, 5.10.0-46-amd64, x86_64: installed" (2.8).
dkms_installed_for() {
	dkms status bindguard 2>/dev/null | grep -F -- ", $1, " | grep -q ': installed'
}

t_dkms_status() {
	local k
	for k in "$OLDKVER" "$KVER"; do
		dkms_installed_for "$k" || fail "dkms status: not installed for $k: $(dkms status bindguard 2>&1 | tr '\n' ';')"
	done
}

t_built_for_running_kernel() {
	local ko=/lib/modules/$KVER/updates/dkms/bindguard.ko
	[ -f "$ko" ] || [ -f "$ko.xz" ] || fail "no $ko"
	expect_eq "$(modinfo -F version bindguard)" "${PKGVER%%-*}" "modinfo -F version"
	expect_eq "$(modinfo -F vermagic bindguard | cut -d' ' -f1)" "$KVER" "vermagic"
}

t_loaded_at_boot() {
	[ -d /sys/module/bindguard ] || fail "bindguard is not loaded"
	# (on trixie the line reached the journal without the unit's fields,
	# after the unit finished: match the program's identifier, not -u)
	local line
	line=$(journalctl -b -o short-monotonic | grep -E "systemd-modules-load\[[0-9]+\]: Inserted module 'bindguard'\$")
	[ -n "$line" ] && diag "journal: $line" ||
		fail "no \"Inserted module 'bindguard'\" from systemd-modules-load: $(journalctl -b -o short-monotonic | grep -F systemd-modules-load | tail -n3 | tr '\n' ';')"
	dmesg | grep -q 'bindguard: loaded, mode enforce' || fail "no 'bindguard: loaded, mode enforce' in dmesg"
}

# dkms 3 signs with its MOK key (/var/lib/dkms/mok.pub, made at the first
# build); bullseye's dkms 2.8 signs nothing.
t_signed_by_dkms() {
	local signer cn
	signer=$(modinfo -F signer bindguard)
	case $DKMS_VER in
	2.*)
		expect_eq "$signer" "" "signer (dkms $DKMS_VER)"
		SKIP_REASON="dkms $DKMS_VER ($(. /etc/os-release && echo "$VERSION_CODENAME")) does not sign modules; unsigned, as it left it"
		return
		;;
	esac
	[ -f /var/lib/dkms/mok.pub ] || { fail "no /var/lib/dkms/mok.pub"; return; }
	cn=$(openssl x509 -inform DER -in /var/lib/dkms/mok.pub -noout -subject -nameopt multiline 2>/dev/null |
		sed -n 's/^ *commonName *= *//p')
	[ -n "$cn" ] || fail "no commonName in /var/lib/dkms/mok.pub"
	expect_eq "$signer" "$cn" "modinfo -F signer"
	diag "signer: $signer, $(modinfo -F sig_hashalgo bindguard)"
}

# modinfo of the installed module: what an admin reads before setting an
# option in /etc/modprobe.d/bindguard.conf
t_modinfo() {
	local p desc
	[ -n "$(modinfo -F description bindguard)" ] || fail "no description"
	for p in mode allow strict maxactive reserve protect; do
		desc=$(modinfo -F parm bindguard | grep "^$p:")
		case $desc in
		*"default "*) ;;
		*) fail "parameter $p: '$desc' (no default)" ;;
		esac
		grep -q "^#* *options bindguard .*$p=" /etc/modprobe.d/bindguard.conf ||
			fail "$p is not in /etc/modprobe.d/bindguard.conf"
	done
	expect_eq "$(modinfo -F parm bindguard | wc -l)" 6 "parameters"
}

t_debugfs_readable() {
	local f
	for f in groups events hooks; do
		head -n1 "$BG_DEBUGFS/$f" | grep -q '^# bindguard-' ||
			fail "$BG_DEBUGFS/$f: $(head -n1 "$BG_DEBUGFS/$f" 2>&1)"
	done
	grep -q "^$GROUP kernel " $BG_DEBUGFS/groups ||
		fail "group $GROUP: $(grep "^$GROUP " $BG_DEBUGFS/groups)"
}

# trace-cmd (Debian's package) follows bindguard's tracepoints through the
# libvirt story: its own binary buffer and libtraceevent parse each event's
# format file, as perf and bpftrace do.
t_trace_cmd_start() {
	trace-cmd --version 2>&1 | head -n1 | sed 's/^/# /'
	run trace-cmd start -e bindguard || fail "trace-cmd start -e bindguard failed"
}

t_trace_cmd_report() {
	local want
	run trace-cmd stop || fail "trace-cmd stop failed"
	run trace-cmd extract -o /tmp/bindguard.dat || { fail "trace-cmd extract failed"; return; }
	trace-cmd report -i /tmp/bindguard.dat >/tmp/bindguard.report 2>&1 ||
		fail "trace-cmd report failed: $(tail -n1 /tmp/bindguard.report)"
	sed 's/^/# trace-cmd report: /' /tmp/bindguard.report
	trace-cmd reset >/dev/null 2>&1
	# libtraceevent warns about formats it cannot parse ("[xen:...] function
	# pte_val not defined" on bullseye): none may be bindguard's
	grep -F '[bindguard:' /tmp/bindguard.report && fail "trace-cmd cannot parse a bindguard event format"
	[ -n "$QPID" ] || { fail "no VM pid to look for"; return; }
	for want in \
		"bindguard_owner: *group=$GROUP owner=user pid=$QPID comm=$VM_COMM\$" \
		"bindguard_refusal: *group=$GROUP dev=$SIB driver=e1000 pid=$QPID comm=$VM_COMM mode=enforce refused=[0-9]+\$" \
		"bindguard_owner: *group=$GROUP owner=kernel pid=0 comm=-\$"; do
		grep -Eq "$want" /tmp/bindguard.report || fail "no trace-cmd report line like '$want'"
	done
}

# the PCI function behind the root filesystem's disk (root=/dev/vda: the
# virtio-blk controller)
root_controller() {
	basename "$(dirname "$(readlink -f /sys/class/block/vda/device)")"
}

# bindguard-protect.service protected the root disk's controller at boot,
# with its IDs and why
t_root_protected() {
	local ctl line
	ctl=$(root_controller)
	diag "root disk controller: $ctl ($(cat "/sys/bus/pci/devices/$ctl/vendor"):$(cat "/sys/bus/pci/devices/$ctl/device"))"
	expect_eq "$(systemctl is-active bindguard-protect.service)" active "bindguard-protect.service"
	journalctl -b -u bindguard-protect.service -o cat | sed 's/^/# journal: /'
	grep -qx "$ctl" /sys/kernel/bindguard/protect || fail "$ctl not in /sys/kernel/bindguard/protect: $(tr '\n' ' ' </sys/kernel/bindguard/protect)"
	line=$(grep "^protect $ctl " $BG_DEBUGFS/listed)
	diag "listed: $line"
	case $line in
	"protect $ctl "*" applies "*" backs\\040/\\040on\\040vda") ;;
	*) fail "listed: '$line'" ;;
	esac
}

# virsh nodedev-detach of the root disk's controller: refused, and the host
# keeps its root filesystem
t_detach_root_refused() {
	local ctl out
	ctl=$(root_controller)
	out=$($VIRSH nodedev-detach "$(nodedev "$ctl")" 2>&1) &&
		fail "virsh nodedev-detach $(nodedev "$ctl") succeeded: $out"
	echo "$out" | sed 's/^/# virsh: /'
	expect_driver "$ctl" virtio-pci
	dmesg | grep -F "bindguard: refused unbind of $ctl from virtio-pci (-EBUSY): the device is protected (backs / on vda); to lift: echo $ctl > /sys/kernel/bindguard/unprotect" |
		sed 's/^/# dmesg: /' | grep -q . || fail "no refusal line for $ctl in dmesg"
	echo probe >/root/still-writable && sync && [ "$(cat /root/still-writable)" = probe ] ||
		fail "the root filesystem is gone"
	echo >"/sys/bus/pci/devices/$ctl/driver_override" 2>/dev/null || true
}

libvirt_init
fleet_init
upgrade_init
ktap_plan $((11 + LIBVIRT_TESTS + FLEET_TESTS + UPGRADE_TESTS))
run_test "booted the upgraded kernel" t_upgraded_kernel
run_test "dkms status: installed for both kernels" t_dkms_status
run_test "built for the running kernel by the DKMS kernel hook" t_built_for_running_kernel
run_test "loaded at boot by systemd-modules-load" t_loaded_at_boot
run_test "signed with DKMS's MOK key" t_signed_by_dkms
run_test "modinfo: description, version, every parameter with its default" t_modinfo
run_test "debugfs readable" t_debugfs_readable
run_test "trace-cmd start -e bindguard" t_trace_cmd_start
run_test "protected at boot: the root disk's controller, with why" t_root_protected
run_test "virsh nodedev-detach of the root disk's controller: refused, the host keeps its root" t_detach_root_refused
libvirt_story fleet_after
run_test "trace-cmd report: the story's ownership changes and refusal" t_trace_cmd_report
run_test "upgrade: ${PREV:-the previous release} loaded, this package's configure step: it stays, libvirt restarted for the hook" t_upgrade_configure
run_test "upgrade: the unit's next metrics read ${PREV:-its} debugfs: bindguard_info, readable, every series" t_upgrade_metrics
run_test "upgrade: --check and --json read ${PREV:-its} debugfs" t_upgrade_check
run_test "upgrade: virsh start refused by the hook with ${PREV:-it} loaded, with the fix" t_upgrade_start_refused
