# fleet.sh - bindguard's metrics as Prometheus gets them: through Debian's
# own prometheus-node-exporter, its textfile collector reading what the
# package's bindguard-metrics.timer wrote, and the NFD labels the same timer
# writes (sourced by boot-host.sh; the trixie host has node_exporter and
# Debian's promtool, test/host/image.sh).
#
# Each check follows the libvirt story (libvirt.sh) on the host as it runs:
# idle, VM running, the sibling's refused reattach, VM destroyed. A value is
# read from a scrape of node_exporter made after the unit's next run
# (node_textfile_mtime_seconds of bindguard.prom after the second asked
# for): idle, the timer's own last run; at the other steps the unit the
# timer runs, started at once; what Prometheus would see, never
# bindguard-status run by hand. (The test host's timer runs every 5 min,
# not every 30 s: test/host/image.sh. Under TCG each run of the unit costs
# the guest seconds of CPU, and on a loaded machine a run every 30 s kept
# the guest busy enough to starve the tests.)

FLEET_TESTS=5
PROM=/var/lib/prometheus/node-exporter/bindguard.prom
NFD=/etc/kubernetes/node-feature-discovery/features.d/bindguard
SCRAPE=/tmp/scrape.txt

fleet_init() {
	FLEET=0
	command -v prometheus-node-exporter >/dev/null 2>&1 && FLEET=1
}

fleet_skip() {
	if [ $FLEET = 0 ]; then
		SKIP_REASON="no prometheus-node-exporter on this host (the trixie host has it)"
		return 0
	fi
	if [ $BINDGUARD = 0 ]; then
		SKIP_REASON="bindguard not loaded"
		return 0
	fi
	return 1
}

# metric SERIES: its value in the last scrape (SERIES as node_exporter
# prints it: name{labels}), nothing if absent
metric() {
	awk -v s="$1" '$1 == s { print $2; exit }' $SCRAPE
}

# scrape_after T: scrape node_exporter until bindguard.prom's mtime (as
# node_exporter reports it) is after second T, for up to 150 s; then the
# scrape is in $SCRAPE. Fails (diagnostics) if not.
scrape_after() {
	local i=0 mt
	while [ $i -lt 75 ]; do
		if curl -sf --max-time 20 http://127.0.0.1:9100/metrics >$SCRAPE.new; then
			mv -f $SCRAPE.new $SCRAPE
			# (the label is the file's path, or its name before 1.5)
			mt=$(awk '$1 ~ /^node_textfile_mtime_seconds\{file="(.*\/)?bindguard\.prom"\}$/ { print $2; exit }' $SCRAPE)
			# 1.7e+09 or 1733370000: compare as numbers
			# later than T: a run in T's second may have come before it
			[ -n "$mt" ] && awk -v m="$mt" -v t="$1" 'BEGIN { exit !(m + 0 > t + 0) }' && return 0
		fi
		i=$((i + 1))
		sleep 2
	done
	fail "no scrape with $PROM written after $1 in 150 s (last mtime '${mt:-}'; $(systemctl status bindguard-metrics.timer 2>&1 | grep -E 'Active|Trigger' | tr -s ' ' | tr '\n' ';'))"
	return 1
}

# scrape_unit: the unit the timer runs, started now (systemctl start, a
# second after this step began), then scrape_after that second
scrape_unit() {
	local t
	t=$(date +%s)
	sleep 1
	systemctl start bindguard-metrics.service || { fail "systemctl start bindguard-metrics.service failed"; return 1; }
	scrape_after "$t"
}

# the series of the scrape that are bindguard's or node_exporter's textfile
# collector's, as diagnostics
fleet_diag() {
	grep -E '^(bindguard_|node_textfile_)' $SCRAPE | sed "s/^/# scrape ($1): /"
}

# the checks every scrape must pass: node_exporter read the file without
# error, and Debian's promtool lints bindguard's part of the scrape
fleet_scrape_ok() {
	local out
	expect_eq "$(metric node_textfile_scrape_error)" 0 "node_textfile_scrape_error"
	out=$(grep -E '^(# (HELP|TYPE) )?bindguard_' $SCRAPE | promtool check metrics 2>&1) ||
		fail "promtool check metrics: $out"
}

# node_exporter serves bindguard's metrics written by the timer, idle: its
# own run (the first, OnBootSec), the last the timer triggered
t_fleet_idle() {
	local last i=0
	fleet_skip && return
	expect_eq "$(systemctl is-active prometheus-node-exporter.service)" active "prometheus-node-exporter.service"
	expect_eq "$(systemctl is-enabled bindguard-metrics.timer)" enabled "bindguard-metrics.timer enabled"
	expect_eq "$(systemctl is-active bindguard-metrics.timer)" active "bindguard-metrics.timer"
	promtool --version 2>&1 | head -n1 | sed 's/^/# /'
	systemctl cat bindguard-metrics.timer | grep -E '^(# /|On)' | sed 's/^/# timer: /'
	while :; do
		last=$(systemctl show -p LastTriggerUSec --value bindguard-metrics.timer)
		case $last in '' | n/a | 0) ;; *) break ;; esac
		[ $i -lt 90 ] || { fail "bindguard-metrics.timer never triggered (LastTriggerUSec '$last')"; return; }
		i=$((i + 1))
		sleep 2
	done
	diag "bindguard-metrics.timer last triggered: $last"
	# the file its run wrote: after the second before that trigger
	scrape_after "$(($(date -d "$last" +%s) - 1))" || return
	fleet_diag idle
	fleet_scrape_ok
	expect_eq "$(metric bindguard_loaded)" 1 "bindguard_loaded"
	# node_exporter prints the labels sorted by name
	expect_eq "$(metric "bindguard_info{kernel=\"$(uname -r)\",mode=\"enforce\",version=\"$(cat /sys/module/bindguard/version)\"}")" 1 "bindguard_info"
	expect_eq "$(metric bindguard_debugfs_readable)" 1 "bindguard_debugfs_readable"
	expect_eq "$(metric 'bindguard_groups{state="user"}')" 0 'bindguard_groups{state="user"}'
	# the unit ran under systemd, hardened, and succeeded
	expect_eq "$(systemctl show -p Result --value bindguard-metrics.service)" success "bindguard-metrics.service result"
	# written as the directory's owner (prometheus, Debian's package
	# makes it so), readable by node_exporter
	expect_eq "$(stat -c '%U %a' $PROM)" "$(stat -c %U "${PROM%/*}") 644" "owner and mode of $PROM"
	diag "$(stat -c '%U:%G %a %n' "${PROM%/*}" $PROM | tr '\n' ' ')"
	journalctl -b -u bindguard-metrics.service -o cat | sort | uniq -c | sed 's/^/# journal: /' | tail -n5
}

# the VM runs: its group is user's in the next scrape
t_fleet_vm() {
	fleet_skip && return
	scrape_unit || return
	fleet_diag "VM running"
	fleet_scrape_ok
	expect_eq "$(metric 'bindguard_groups{state="user"}')" 1 'bindguard_groups{state="user"} while the VM runs'
	expect_eq "$(metric bindguard_vfio_devices)" 2 "bindguard_vfio_devices while the VM runs"
	FLEET_REFUSED=$(metric "bindguard_binds_refused_total{group=\"$GROUP\"}")
	[ -n "$FLEET_REFUSED" ] || fail "no bindguard_binds_refused_total{group=\"$GROUP\"}"
}

# after the sibling's refused reattach the group's refusals counter rose
t_fleet_refused() {
	local now
	fleet_skip && return
	scrape_unit || return
	now=$(metric "bindguard_binds_refused_total{group=\"$GROUP\"}")
	diag "bindguard_binds_refused_total{group=\"$GROUP\"}: ${FLEET_REFUSED:-?} before the reattach, $now after"
	fleet_scrape_ok
	[ -n "$now" ] && [ -n "${FLEET_REFUSED:-}" ] && [ "$now" -gt "$FLEET_REFUSED" ] ||
		fail "bindguard_binds_refused_total{group=\"$GROUP\"} did not rise: '${FLEET_REFUSED:-}' -> '$now'"
}

# virsh destroy: no group is user's in the next scrape
t_fleet_destroyed() {
	fleet_skip && return
	scrape_unit || return
	fleet_diag "VM destroyed"
	fleet_scrape_ok
	expect_eq "$(metric 'bindguard_groups{state="user"}')" 0 'bindguard_groups{state="user"} after virsh destroy'
}

# the same timer wrote the NFD labels, with an expiry in the future
t_fleet_nfd() {
	local exp
	fleet_skip && return
	[ -f $NFD ] || { fail "no $NFD"; return; }
	sed 's/^/# features.d: /' $NFD
	expect_eq "$(grep -v '^#' $NFD | tr '\n' ' ')" \
		"bindguard.io/loaded=true bindguard.io/version=$(cat /sys/module/bindguard/version | tr '+~' '_-') bindguard.io/mode=enforce bindguard.io/protection=kernel " "labels"
	exp=$(sed -n 's/^# +expiry-time=//p' $NFD)
	[ -n "$exp" ] && [ "$(date -d "$exp" +%s)" -gt "$(date +%s)" ] || fail "expiry-time '$exp' is not in the future"
}

# fleet_after STEP: the checks after each step of the libvirt story
# (libvirt_story fleet_after)
fleet_after() {
	case $1 in
	detach) run_test "fleet: node_exporter serves what bindguard-metrics.timer wrote: bindguard_info, no group user, 0 scrape errors, promtool clean" t_fleet_idle ;;
	start) run_test "fleet: the VM's group is user's at the unit's next run" t_fleet_vm ;;
	reattach) run_test "fleet: after the refused reattach the group's bindguard_binds_refused_total rose at the unit's next run" t_fleet_refused ;;
	destroy) run_test "fleet: after virsh destroy no group is user's at the unit's next run" t_fleet_destroyed ;;
	after) run_test "fleet: the NFD labels from the same timer, expiry ahead" t_fleet_nfd ;;
	esac
}
