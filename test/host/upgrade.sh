# upgrade.sh - an upgrade of bindguard-dkms with the previous release's
# module loaded (sourced by boot-host.sh, after the libvirt story; the
# trixie host, where test/host/image.sh built that module for the booted
# kernel from its git history, into /usr/local/lib/bindguard-upgrade).
#
# The module loaded is replaced by the previous release's (insmod), then
# this package's configure step runs as dpkg runs it on an upgrade from
# that version (postinst configure PREV), but for dh_dkms's part: DKMS
# built this version for the booted kernel when the image was made. A user who upgrades keeps the
# running module until the reboot; the new tools, hook and timer run at
# once, and must read the old module's debugfs formats: the timer's
# metrics, --check and the libvirt hook's refusal of a VM start.

UPGRADE_TESTS=4

upgrade_init() {
	UPGRADE_KO=$(ls /usr/local/lib/bindguard-upgrade/bindguard-*.ko 2>/dev/null | head -n1)
	PREV=${UPGRADE_KO##*/bindguard-}
	PREV=${PREV%.ko}
}

# upgrade_absent: no previous release here (SKIP_REASON says why)
upgrade_absent() {
	if [ -z "$UPGRADE_KO" ]; then
		SKIP_REASON="no previous release's module in this image: $(cat "$HERE/upgrade-absent" 2>/dev/null ||
			echo 'test/host/image.sh builds it on trixie')"
		return 0
	fi
	if [ $BINDGUARD = 0 ]; then
		SKIP_REASON="bindguard not loaded"
		return 0
	fi
	return 1
}

# upgrade_skip: as upgrade_absent; and a failure when the first upgrade
# test did not leave the previous release loaded
upgrade_skip() {
	upgrade_absent && return 0
	[ -n "$UPGRADE_OK" ] && return 1
	fail "the previous release's module is not loaded (the first upgrade test)"
	return 0
}

UPGRADE_OK=
# the previous release loaded, this package's configure step of an upgrade
# from it: the module stays, libvirt is restarted for the hook, nothing fails
t_upgrade_configure() {
	local out rc=0 ver=${PKGVER%-*}
	upgrade_absent && return
	diag "previous release: $PREV ($(modinfo -F vermagic "$UPGRADE_KO" | cut -d' ' -f1)), this package: $PKGVER"
	run timeout 120 modprobe -r bindguard || { fail "modprobe -r bindguard failed"; return; }
	run timeout 120 insmod "$UPGRADE_KO" || { fail "insmod of $PREV failed"; return; }
	expect_eq "$(cat /sys/module/bindguard/version)" "$PREV" "version loaded"
	# the postinst but its first debhelper section, dh_dkms's (DKMS built
	# and installed this version at image time; its build again here, under
	# TCG, would take many minutes): the systemd sections (the timer
	# restarted) and the package's own part, as dpkg runs them
	sed '/^# End automatically added section/q' /var/lib/dpkg/info/bindguard-dkms.postinst | grep -q 'dkms' ||
		fail "the postinst's first debhelper section is not dh_dkms's"
	{
		printf '#!/bin/sh\nset -e\n'
		sed '1,/^# End automatically added section/d' /var/lib/dpkg/info/bindguard-dkms.postinst
	} >/tmp/postinst-upgrade
	took
	out=$(DPKG_MAINTSCRIPT_PACKAGE=bindguard-dkms DPKG_MAINTSCRIPT_NAME=postinst DEBIAN_FRONTEND=noninteractive \
		timeout 300 sh /tmp/postinst-upgrade configure "$PREV" 2>&1) || rc=$?
	took
	diag "postinst configure $PREV took $TOOK"
	echo "$out" | sed 's/^/# postinst: /'
	expect_eq "$rc" 0 "postinst configure $PREV: exit status"
	echo "$out" | grep -qxF "bindguard: $PREV stays loaded; $ver takes effect at the next boot or on 'modprobe -r bindguard && modprobe bindguard'" ||
		fail "the postinst does not say that $PREV stays loaded"
	echo "$out" | grep -qF 'restarting virtqemud or libvirtd' ||
		fail "the postinst did not restart libvirt (an upgrade from $PREV, before the hook)"
	expect_eq "$(cat /sys/module/bindguard/version)" "$PREV" "version loaded after the postinst"
	wait_for "$VIRSH version >/dev/null 2>&1" 120 || fail "virsh cannot reach libvirt after the restart"
	[ "$(cat /sys/module/bindguard/version)" = "$PREV" ] && UPGRADE_OK=1
}

# the unit's next run reads the old module's formats: no series missing
t_upgrade_metrics() {
	upgrade_skip && return
	fleet_skip && return
	scrape_unit || return
	fleet_diag "$PREV loaded"
	fleet_scrape_ok
	expect_eq "$(metric "bindguard_info{kernel=\"$(uname -r)\",mode=\"enforce\",version=\"$PREV\"}")" 1 "bindguard_info of $PREV"
	expect_eq "$(metric bindguard_debugfs_readable)" 1 "bindguard_debugfs_readable with $PREV loaded"
	expect_eq "$(metric 'bindguard_groups{state="user"}')" 0 'bindguard_groups{state="user"}'
	[ -n "$(metric "bindguard_binds_refused_total{group=\"$GROUP\"}")" ] ||
		fail "no bindguard_binds_refused_total{group=\"$GROUP\"} with $PREV loaded"
}

# --check and --json read the old module's formats
t_upgrade_check() {
	local out
	upgrade_skip && return
	head -n1 $BG_DEBUGFS/groups | sed "s/^/# $PREV: /"
	out=$(bindguard-status --check "$HELD" --assign "$HELD" 2>&1) && fail "--check with $SIB on e1000: exit 0"
	expect_eq "$out" "bindguard-status: iommu group $GROUP not viable: $SIB is bound to e1000 $(status_fix "$SIB")" "--check with $PREV loaded"
	json_dump upgrade
}

# the libvirt hook reads the old module's formats: a VM start the sibling
# blocks is refused, with the fix
t_upgrade_start_refused() {
	upgrade_skip && return
	t_start_refused
}
