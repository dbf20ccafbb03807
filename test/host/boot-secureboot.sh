# boot-secureboot.sh - bindguard on a trixie host booted through UEFI Secure
# Boot, as the package left it (sourced by test/host/run; KTAP on stdout).
#
# The boot (test/host/boots: secureboot uefi; test/qemu/boot-guest.sh
# BG_UEFI): OVMF with Secure Boot on and Microsoft's keys, shim (signed by
# Microsoft), GRUB and the kernel (signed by Debian) from an ESP disk, DKMS's
# certificate (/var/lib/dkms/mok.pub) enrolled in shim's MokList beforehand
# (test/host/uefi.sh: virt-fw-vars --add-mok, what `mokutil --import` and
# MokManager do on a real machine). Debian's kernel locks itself down
# (integrity) under Secure Boot and takes the MOK into its .machine keyring,
# which it trusts for modules. Nothing here installs bindguard: the module
# systemd-modules-load loaded at boot is the one DKMS built and signed when
# the image was made (docs/secure-boot.md follows these steps).
. "$HERE/libvirt.sh"

KVER=$(uname -r)
SB_KO=/lib/modules/$KVER/updates/dkms/bindguard.ko.xz
SB_MOK=/var/lib/dkms/mok.pub
SB_CN=$(openssl x509 -inform DER -in $SB_MOK -noout -subject -nameopt multiline 2>/dev/null |
	sed -n 's/^ *commonName *= *//p')
TRACEFS=/sys/kernel/tracing

# sb_dmesg STRING: dmesg has a line with STRING (printed), else the test fails
sb_dmesg() {
	local line
	line=$(dmesg | grep -F -- "$1" | tail -n1)
	[ -n "$line" ] && diag "dmesg: $line" || fail "no '$1' in dmesg"
}

# Secure Boot is on, as mokutil (the firmware's SecureBoot variable) and
# the kernel say, and this kernel came through shim and GRUB (GRUB puts
# BOOT_IMAGE first), not QEMU -kernel
t_sb_state() {
	local out
	out=$(mokutil --sb-state 2>&1)
	diag "mokutil --sb-state: $out"
	expect_eq "$out" "SecureBoot enabled" "mokutil --sb-state"
	sb_dmesg 'secureboot: Secure boot enabled'
	case $(cat /proc/cmdline) in
	"BOOT_IMAGE=/vmlinuz "*) ;;
	*) fail "not booted by GRUB from the ESP: $(cat /proc/cmdline)" ;;
	esac
}

t_sb_lockdown() {
	expect_eq "$(cat /sys/kernel/security/lockdown)" "none [integrity] confidentiality" "/sys/kernel/security/lockdown"
	sb_dmesg 'Kernel is locked down from EFI Secure Boot'
}

# DKMS's certificate is in the firmware's MOK list and in the kernel's
# keyring: the kernel logs each MOK it loads
t_sb_mok_enrolled() {
	local out
	[ -n "$SB_CN" ] || { fail "no commonName in $SB_MOK"; return; }
	out=$(mokutil --test-key $SB_MOK 2>&1)
	diag "mokutil --test-key $SB_MOK: $out"
	case $out in
	*"is already enrolled"*) ;;
	*) fail "mokutil --test-key: '$out'" ;;
	esac
	dmesg | grep -E 'MokListRT|Loaded X.509 cert' | sed 's/^/# dmesg: /'
	[ "$(dmesg_count "Loaded X.509 cert '$SB_CN: ")" -ge 1 ] ||
		fail "the kernel did not load '$SB_CN' (no \"Loaded X.509 cert '$SB_CN: ...'\")"
}

t_sb_signed_loaded() {
	[ -d /sys/module/bindguard ] || { fail "bindguard is not loaded"; return; }
	expect_eq "$(modinfo -F signer bindguard)" "$SB_CN" "modinfo -F signer"
	diag "signer: $(modinfo -F signer bindguard), $(modinfo -F sig_hashalgo bindguard), key $(modinfo -F sig_key bindguard)"
	dmesg | grep -q 'bindguard: loaded, mode enforce' || fail "no 'bindguard: loaded, mode enforce' in dmesg"
	# E: an unsigned (or unverified) module was loaded
	expect_eq "$(cat /sys/module/bindguard/taint)" O "/sys/module/bindguard/taint"
	[ "$(dmesg_count 'module verification failed')" = 0 ] ||
		fail "dmesg: $(dmesg | grep -F 'module verification failed')"
}

# bindguard's debugfs files have no write bit: readable under lockdown;
# a debugfs file with one (the kernel's fault_around_bytes) is refused,
# even to read
t_sb_debugfs() {
	local f out
	for f in groups events hooks listed; do
		expect_eq "$(stat -c %a $BG_DEBUGFS/$f)" 400 "mode of $BG_DEBUGFS/$f"
		head -n1 $BG_DEBUGFS/$f | grep -q '^# bindguard-' ||
			fail "$BG_DEBUGFS/$f: $(head -n1 $BG_DEBUGFS/$f 2>&1)"
	done
	grep "^$GROUP " $BG_DEBUGFS/groups | sed 's/^/# groups: /'
	out=$(cat /sys/kernel/debug/fault_around_bytes 2>&1) &&
		fail "read /sys/kernel/debug/fault_around_bytes (mode $(stat -c %a /sys/kernel/debug/fault_around_bytes)) under lockdown: $out"
	diag "cat: $out"
	sb_dmesg 'Lockdown: cat: debugfs access is restricted'
}

t_sb_trace_enable() {
	echo 1 >$TRACEFS/events/bindguard/enable || { fail "cannot enable $TRACEFS/events/bindguard"; return; }
	expect_eq "$(cat $TRACEFS/events/bindguard/enable)" 1 "$TRACEFS/events/bindguard/enable"
	: >$TRACEFS/trace
}

# a reservation through sysfs (docs/reservations.md): the group closes to
# e1000, and opens again when released
t_sb_reserve() {
	expect_write /sys/kernel/bindguard/reserve "$SIB" OK
	expect_eq "$(cat /sys/kernel/bindguard/reserve)" "$SIB" "/sys/kernel/bindguard/reserve"
	unbind "$SIB"
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" EBUSY
	expect_driver "$SIB" none
	sb_dmesg "bindguard: refused e1000 bind to $SIB: iommu group $GROUP is reserved"
	expect_write /sys/kernel/bindguard/release "$SIB" OK
	expect_eq "$(cat /sys/kernel/bindguard/reserve)" "" "/sys/kernel/bindguard/reserve after the release"
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" OK
	expect_driver "$SIB" e1000
}

# the tracepoints saw it
t_sb_trace_seen() {
	local want
	echo 0 >$TRACEFS/events/bindguard/enable
	grep -F bindguard_ $TRACEFS/trace | sed 's/^/# trace: /'
	for want in \
		"bindguard_reservation: bdf=$SIB group=$GROUP reserved=1 " \
		"bindguard_refusal: group=$GROUP dev=$SIB driver=e1000 " \
		"bindguard_reservation: bdf=$SIB group=$GROUP reserved=0 "; do
		grep -qF "$want" $TRACEFS/trace || fail "no trace line with '$want'"
	done
	: >$TRACEFS/trace
}

# sb_unsign KO OUT: KO without its appended signature (the signature, a
# 12-byte struct module_signature ending with the signature's length, big
# endian, and the 28-byte "~Module signature appended~\n")
sb_unsign() {
	local size len
	size=$(stat -c %s "$1")
	[ "$(tail -c 28 "$1" | head -c 27)" = "~Module signature appended~" ] || return 1
	len=$(od -An -tu1 -j $((size - 32)) -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
	head -c $((size - 28 - 12 - len)) "$1" >"$2"
}

# sb_refused KO WHY LINE: insmod KO is refused with EKEYREJECTED ("Key was
# rejected by service": Debian's kernel enforces module signatures under
# Secure Boot, not only lockdown's EPERM), and the kernel logs LINE once more
sb_refused() {
	local out n
	n=$(dmesg_count "$3")
	out=$(insmod "$1" 2>&1) && fail "insmod of bindguard $2 succeeded"
	diag "insmod ($2): $out"
	case $out in
	*"Key was rejected by service"*) ;;
	*) fail "insmod ($2): '$out', want Key was rejected by service" ;;
	esac
	[ -d /sys/module/bindguard ] && { fail "bindguard $2 is loaded"; rmmod bindguard; }
	dmesg | grep -F "$3" | tail -n1 | sed 's/^/# dmesg: /'
	[ "$(dmesg_count "$3")" -gt "$n" ] || fail "no new '$3' in dmesg"
}

# the same module with its signature cut off: refused
t_sb_unsigned_refused() {
	xz -dc $SB_KO >/tmp/bindguard-signed.ko || { fail "xz -dc $SB_KO failed"; return; }
	sb_unsign /tmp/bindguard-signed.ko /tmp/bindguard-unsigned.ko ||
		{ fail "$SB_KO has no appended signature"; return; }
	expect_eq "$(modinfo -F signer /tmp/bindguard-unsigned.ko)" "" "signer of the unsigned copy"
	expect_eq "$(modinfo -F vermagic /tmp/bindguard-unsigned.ko)" "$(modinfo -F vermagic bindguard)" "vermagic of the unsigned copy"
	run rmmod bindguard || { fail "rmmod bindguard failed"; return; }
	sb_refused /tmp/bindguard-unsigned.ko unsigned "Loading of unsigned module is rejected"
}

# the same module signed with a new key nobody enrolled: refused
t_sb_other_key_refused() {
	local sf
	sf=/usr/src/linux-headers-$KVER/scripts/sign-file
	[ -x "$sf" ] || sf=$(ls /usr/lib/linux-kbuild-*/scripts/sign-file 2>/dev/null | tail -n1)
	[ -x "$sf" ] || { fail "no sign-file in linux-headers-$KVER"; return; }
	openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=bindguard test: not enrolled" \
		-outform DER -out /tmp/other.der -keyout /tmp/other.key >/dev/null 2>&1 ||
		{ fail "openssl req failed"; return; }
	cp /tmp/bindguard-unsigned.ko /tmp/bindguard-other.ko
	run "$sf" sha256 /tmp/other.key /tmp/other.der /tmp/bindguard-other.ko || { fail "sign-file failed"; return; }
	expect_eq "$(modinfo -F signer /tmp/bindguard-other.ko)" "bindguard test: not enrolled" "signer of the copy"
	sb_refused /tmp/bindguard-other.ko "signed with a key not enrolled" "Loading of module with unavailable key is rejected"
}

t_sb_signed_back() {
	run modprobe bindguard || { fail "modprobe bindguard failed"; return; }
	[ -d /sys/module/bindguard ] || fail "bindguard is not loaded"
	expect_eq "$(dmesg_count 'bindguard: loaded, mode enforce')" 2 "'bindguard: loaded' lines"
	expect_eq "$(cat /sys/module/bindguard/taint)" O "/sys/module/bindguard/taint"
	[ "$(dmesg_count 'module verification failed')" = 0 ] ||
		fail "dmesg: $(dmesg | grep -F 'module verification failed')"
}

libvirt_init
diag "MOK: $SB_CN, module: $SB_KO"
ktap_plan 11
run_test "Secure Boot: enabled (mokutil, the kernel), booted by shim and GRUB" t_sb_state
run_test "Secure Boot: the kernel is locked down (integrity)" t_sb_lockdown
run_test "Secure Boot: DKMS's certificate enrolled as a MOK, loaded by the kernel" t_sb_mok_enrolled
run_test "Secure Boot: bindguard signed by DKMS's MOK, loaded at boot, not tainted" t_sb_signed_loaded
run_test "Secure Boot: debugfs readable, a writable debugfs file refused" t_sb_debugfs
run_test "Secure Boot: bindguard's tracepoints enabled in tracefs" t_sb_trace_enable
run_test "Secure Boot: a reservation through sysfs refuses e1000, released it binds" t_sb_reserve
run_test "Secure Boot: the tracepoints saw the reservation, the refusal and the release" t_sb_trace_seen
run_test "Secure Boot: the same module unsigned is refused" t_sb_unsigned_refused
run_test "Secure Boot: the same module signed with a key not enrolled is refused" t_sb_other_key_refused
run_test "Secure Boot: the signed module loads again (modprobe)" t_sb_signed_back
