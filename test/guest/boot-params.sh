# boot-params.sh - module parameters at load (src/params.c, reserve= in
# src/reserve.c): a configuration mistake never leaves the host less
# protected than without it.
#
# The story: each parameter loaded with bad values, alone and mixed with
# good ones (empty, bare, blanks, a newline, overlong, duplicates, past
# the limits): bindguard loads every time, logs one line per refused value,
# lists it in /sys/kernel/bindguard/config_errors, and the safest reading
# is in effect (mode enforce, strict 1, maxactive 256, a list's valid
# entries; the valid reserved group refuses a kernel driver). The kernel
# itself ignores an unknown parameter name. A typo in /etc/modprobe.d
# loads too. A bad write at run time is still EINVAL and changes nothing.
# bindguard-status shows the refusals.
. /tests/lib.sh
. /tests/scenario.sh

SYS=/sys/kernel/bindguard
ERRS=$SYS/config_errors
PARAMS=/sys/module/bindguard/parameters

# insmod_with ARG...: insmod bindguard with ARGs (unloading it first); the log
# lines it printed are in $LOG_NEW afterwards. The test fails unless it loaded.
# (insmod joins the ARGs with spaces; the kernel splits them at blanks
# outside double quotes: a value holding a blank is given quoted.)
LOADS=0
insmod_with() {
	local out
	[ -d /sys/module/bindguard ] && { rmmod bindguard || fail "rmmod"; }
	LOADS=$((LOADS + 1))
	echo "boot-params: load $LOADS" >/dev/kmsg
	out=$(insmod "$BINDGUARD_KO" "$@" 2>&1) || fail "insmod $*: '$out'"
	LOG_NEW=$(dmesg | sed -n "/ boot-params: load $LOADS\$/,\$p")
	[ -d $SYS ] || fail "not loaded with $*"
}

# log_count FIXED-STRING: lines of the last load's log holding it
log_count() {
	printf '%s\n' "$LOG_NEW" | grep -cF "$1"
}

refused_lines() {
	log_count "bindguard: refused "
}

errors() {
	tr '\n' '|' <$ERRS
}

reservations() {
	tr '\n' ' ' <$SYS/reserve
}

# one_refusal PARAM VALUE-AS-ESCAPED REASON INSTEAD WHY: the last load
# refused exactly this one value: one log line, one config_errors line
one_refusal() {
	local used="using $4"
	[ "$4" = - ] && used="left out"
	expect_eq "$(errors)" "$1 $3 $2 $4|" "config_errors"
	expect_eq "$(refused_lines)" 1 "refusal log lines"
	expect_eq "$(log_count "bindguard: refused $1 value '$2' at load: $5; $used")" 1 "log line for $1 '$2'"
}

# --- tests -----------------------------------------------------------------

t_clean_load() {
	insmod_with mode=audit allow=vfio-pci strict=0 maxactive=64 reserve=
	expect_eq "$(stat -c %a $ERRS)" 444 "config_errors mode"
	expect_eq "$(wc -c <$ERRS)" 0 "config_errors bytes"
	expect_eq "$(refused_lines)" 0 "refusal log lines"
	expect_eq "$(cat $PARAMS/mode)" audit mode
	expect_eq "$(cat $PARAMS/maxactive)" 64 maxactive
	expect_eq "$(reservations)" "" reservations
}

t_unknown_name() {
	insmod_with mode=audit no_such_param=1
	expect_eq "$(log_count "bindguard: unknown parameter 'no_such_param' ignored")" 1 "the kernel's warning"
	expect_eq "$(cat $PARAMS/mode)" audit mode
	expect_eq "$(wc -c <$ERRS)" 0 "config_errors bytes"
}

t_mode() {
	local long
	long=enforce-$(printf '%0300d' 0)
	insmod_with mode=enforec
	expect_eq "$(cat $PARAMS/mode)" enforce mode
	one_refusal mode enforec invalid enforce "expected enforce, audit or off"
	for v in "" Enforce " audit" "audit,off" "en force"; do
		insmod_with "mode=\"$v\""
		expect_eq "$(cat $PARAMS/mode)" enforce "mode after mode='$v'"
		expect_eq "$(refused_lines)" 1 "refusal log lines for mode='$v'"
	done
	expect_eq "$(errors)" 'mode invalid en\040force enforce|' "config_errors, blanks escaped"
	insmod_with mode
	expect_eq "$(errors)" "mode invalid - enforce|" "config_errors, a bare mode"
	insmod_with "mode=$long"
	expect_eq "$(cat $PARAMS/mode)" enforce "mode after an overlong value"
	case $(errors) in
	"mode invalid enforce-000"*"... enforce|") ;;
	*) fail "config_errors, overlong: $(errors)" ;;
	esac
	[ "$(wc -c <$ERRS)" -lt 150 ] || fail "overlong value not cut: $(wc -c <$ERRS) bytes"
	# the last value wins, a bad one reads enforce; config_errors says
	# what stands at the end of the load
	insmod_with mode=audit mode=bogus
	expect_eq "$(cat $PARAMS/mode)" enforce "mode after audit, then bogus"
	expect_eq "$(errors)" "mode invalid bogus enforce|" "config_errors"
	insmod_with mode=bogus mode=audit
	expect_eq "$(cat $PARAMS/mode)" audit "mode after bogus, then audit"
	expect_eq "$(errors)" "mode invalid bogus audit|" "config_errors"
	expect_eq "$(log_count 'bindguard: mode: a later value stands: audit')" 1 "the log line saying audit stands"
}

# The sibling's group reserved at load refuses a kernel driver's bind.
expect_reserved_refuses() {
	expect_eq "$(group_field "$GROUP" 2)" reserved "state of group $GROUP"
	expect_write /sys/bus/pci/drivers/e1000/bind "$SIB" "$REFUSED"
	expect_driver "$SIB" none
}

t_reserve_param() {
	unbind "$SIB"
	unbind "$HELD"
	insmod_with reserve="$SIB,nonsense"
	expect_eq "$(reservations)" "$SIB " reservations
	one_refusal reserve nonsense invalid - "expected a PCI device name (dddd:bb:dd.f), optionally @vvvv:dddd[:ssss:ssss]"
	expect_reserved_refuses
	insmod_with reserve="nonsense,0000:02:02.0x,$SIB,0000:02:20.0"
	expect_eq "$(reservations)" "$SIB " "reservations, bad entries first and last"
	expect_eq "$(errors)" "reserve invalid nonsense -|reserve invalid 0000:02:02.0x -|reserve invalid 0000:02:20.0 -|" "config_errors"
	expect_eq "$(refused_lines)" 3 "refusal log lines"
	expect_reserved_refuses
}

t_reserve_forms() {
	unbind "$SIB"
	# a name twice, blanks around names, empty entries: no mistake
	insmod_with "reserve=\"$SIB,$SIB, $HELD ,,\""
	expect_eq "$(reservations)" "$SIB $HELD " "reservations, duplicates and blanks"
	expect_eq "$(wc -c <$ERRS)" 0 "config_errors bytes"
	expect_reserved_refuses
	insmod_with reserve=
	expect_eq "$(reservations)" "" "reservations, reserve="
	expect_eq "$(wc -c <$ERRS)" 0 "config_errors bytes, reserve="
	insmod_with reserve
	expect_eq "$(reservations)" "" "reservations, a bare reserve"
	expect_eq "$(errors)" "reserve invalid - -|" "config_errors, a bare reserve"
	# a newline inside the (quoted) value: one bad entry, escaped; no forged line
	insmod_with "reserve=\"$SIB
bindguard:forged\""
	expect_eq "$(reservations)" "" "reservations, a newline inside"
	expect_eq "$(errors)" "reserve invalid $SIB\\012bindguard:forged -|" "config_errors, a newline inside"
	dmesg | grep -q '^\[[ 0-9.]*\] bindguard:forged' && fail "a value forged a log line"
	insmod_with reserve="$SIB,$(printf '%0300d' 0)"
	expect_eq "$(reservations)" "$SIB " "reservations, an overlong entry"
	case $(errors) in
	"reserve invalid 0000"*"... -|") ;;
	*) fail "config_errors, overlong: $(errors)" ;;
	esac
}

# 65 names: the first 64 are reserved, the 65th refused; past 16 refusals
# the rest are counted.
t_reserve_limits() {
	local list s f i
	unbind "$SIB"
	list=$SIB
	for s in 0 1 2 3 4 5 6 7; do
		for f in 0 1 2 3 4 5 6 7; do
			list="$list,0000:0f:0$s.$f"
		done
	done
	insmod_with reserve="$list"
	expect_eq "$(wc -l <$SYS/reserve)" 64 "reservations of 65 names"
	expect_eq "$(head -n1 $SYS/reserve)" "$SIB" "the first reservation"
	one_refusal reserve 0000:0f:07.7 over-limit - "more than 64 reservations"
	expect_reserved_refuses
	list=$SIB
	for i in $(seq 20); do
		list="$list,bad$i"
	done
	insmod_with reserve="$list"
	expect_eq "$(reservations)" "$SIB " "reservations among 20 bad names"
	expect_eq "$(grep -c '^reserve invalid bad[0-9]* -$' $ERRS)" 16 "config_errors lines listed"
	expect_eq "$(tail -n1 $ERRS)" "# 4 more refused" "config_errors, the last line"
	expect_eq "$(refused_lines)" 17 "log lines: 16 refusals, and one for the rest"
	expect_eq "$(log_count "bindguard: refused 4 more values at load (not logged, not listed)")" 1 "log line for the rest"
	expect_reserved_refuses
}

t_allow() {
	local many i
	insmod_with allow="vfio-pci,no/such,pci-stub"
	expect_eq "$(cat $PARAMS/allow)" "vfio-pci,pci-stub" allow
	one_refusal allow no/such invalid - "expected a driver name"
	insmod_with "allow=\"vfio-pci, pci-stub ,vfio-pci,,\""
	expect_eq "$(cat $PARAMS/allow)" "vfio-pci,pci-stub" "allow, duplicates and blanks"
	expect_eq "$(wc -c <$ERRS)" 0 "config_errors bytes"
	insmod_with allow=
	expect_eq "$(cat $PARAMS/allow)" "" "allow="
	expect_eq "$(wc -c <$ERRS)" 0 "config_errors bytes, allow="
	insmod_with allow
	expect_eq "$(cat $PARAMS/allow)" "vfio-pci,pci-stub,pcieport" "allow, bare: unchanged"
	expect_eq "$(errors)" "allow invalid - -|" "config_errors, a bare allow"
	many=vfio-pci
	for i in $(seq 2 17); do
		many="$many,vfio$i"
	done
	insmod_with allow="$many"
	expect_eq "$(cat $PARAMS/allow)" "${many%,vfio17}" "allow, 17 names"
	one_refusal allow vfio17 over-limit - "more than 16 names"
	insmod_with allow="vfio-pci,e1000"
	if [ $NATIVE = 1 ]; then
		expect_eq "$(cat $PARAMS/allow)" "vfio-pci,e1000" "allow= with e1000"
		expect_eq "$(wc -c <$ERRS)" 0 "config_errors bytes"
	else
		expect_eq "$(cat $PARAMS/allow)" "vfio-pci" "allow= with e1000 (before 5.19)"
		one_refusal allow e1000 unsafe - "would end in vfio's BUG_ON before 5.19 (only vfio drivers, pci-stub and pcieport)"
	fi
}

# strict=1 with pci-stub misspelt in allow=: pci-stub is not admitted into
# the reserved group, vfio-pci is.
t_allow_in_effect() {
	unbind "$SIB"
	insmod_with strict=1 allow="vfio-pci,pci-stub/" reserve="$SIB"
	expect_eq "$(errors)" "allow invalid pci-stub/ -|" "config_errors"
	expect_eq "$(bind_to "$SIB" pci-stub)" "$REFUSED" "pci-stub bind"
	expect_eq "$(bind_to "$SIB" vfio-pci)" OK "vfio-pci bind"
	unbind "$SIB"
}

t_strict() {
	local v
	insmod_with strict=ture
	expect_eq "$(cat $PARAMS/strict)" Y strict
	one_refusal strict ture invalid 1 "expected 0 or 1 (n, y, no, yes, off, on)"
	# kstrtobool() alone would read these 0
	for v in nonsense 0x no-thanks off2 ""; do
		insmod_with "strict=\"$v\""
		expect_eq "$(cat $PARAMS/strict)" Y "strict after strict='$v'"
		expect_eq "$(refused_lines)" 1 "refusal log lines for strict='$v'"
	done
	for v in 0:N n:N no:N off:N 1:Y y:Y yes:Y on:Y; do
		insmod_with "strict=${v%:*}"
		expect_eq "$(cat $PARAMS/strict)" "${v#*:}" "strict after strict=${v%:*}"
		expect_eq "$(wc -c <$ERRS)" 0 "config_errors bytes after strict=${v%:*}"
	done
	insmod_with strict
	expect_eq "$(cat $PARAMS/strict)" Y "strict, bare"
	expect_eq "$(wc -c <$ERRS)" 0 "config_errors bytes, a bare strict"
}

t_maxactive() {
	local v
	for v in 0 4097 -1 x "" 99999999999; do
		insmod_with "maxactive=$v"
		expect_eq "$(cat $PARAMS/maxactive)" 256 "maxactive after maxactive='$v'"
		expect_eq "$(refused_lines)" 1 "refusal log lines for maxactive='$v'"
	done
	insmod_with maxactive=x
	one_refusal maxactive x invalid 256 "expected 1 to 4096"
	insmod_with maxactive=100 maxactive=0
	expect_eq "$(cat $PARAMS/maxactive)" 256 "maxactive after 100, then 0"
	expect_eq "$(errors)" "maxactive invalid 0 256|" "config_errors after 100, then 0"
	insmod_with maxactive=0 maxactive=100
	expect_eq "$(cat $PARAMS/maxactive)" 100 "maxactive after 0, then 100"
	expect_eq "$(errors)" "maxactive invalid 0 100|" "config_errors after 0, then 100"
	insmod_with maxactive
	expect_eq "$(errors)" "maxactive invalid - 256|" "config_errors, a bare maxactive"
	insmod_with maxactive=4096
	expect_eq "$(cat $PARAMS/maxactive)" 4096 maxactive
	expect_eq "$(wc -c <$ERRS)" 0 "config_errors bytes"
}

# Every parameter wrong at once, in the order given: all listed, one line each.
t_all_at_once() {
	unbind "$SIB"
	insmod_with mode=x allow=a/b strict=q maxactive=0 reserve="$SIB,zz"
	expect_eq "$(errors)" "mode invalid x enforce|allow invalid a/b -|strict invalid q 1|maxactive invalid 0 256|reserve invalid zz -|" "config_errors"
	expect_eq "$(refused_lines)" 5 "refusal log lines"
	expect_eq "$(cat $PARAMS/mode)" enforce mode
	expect_reserved_refuses
}

# The mistake where it is made: /etc/modprobe.d, read by modprobe.
t_modprobe_conf() {
	unbind "$SIB"
	rmmod bindguard || fail rmmod
	mkdir -p /etc/modprobe.d
	echo "options bindguard mode=enforec reserve=$SIB,0000:00:06.2x" >/etc/modprobe.d/bindguard.conf
	modprobe bindguard || fail "modprobe bindguard with a typo in /etc/modprobe.d"
	rm -f /etc/modprobe.d/bindguard.conf
	expect_eq "$(errors)" "mode invalid enforec enforce|reserve invalid 0000:00:06.2x -|" "config_errors"
	expect_eq "$(cat $PARAMS/mode)" enforce mode
	expect_reserved_refuses
}

t_runtime_write() {
	local before n
	insmod_with mode=bogus
	before=$(errors)
	n=$(dmesg_count "bindguard: invalid mode 'nonsense': expected enforce, audit or off")
	expect_write $PARAMS/mode nonsense EINVAL
	expect_eq "$(dmesg_count "bindguard: invalid mode 'nonsense': expected enforce, audit or off")" $((n + 1)) "log line"
	expect_eq "$(cat $PARAMS/mode)" enforce "mode after a bad write"
	expect_write $PARAMS/mode audit OK
	expect_write $PARAMS/mode "" EINVAL
	expect_write $PARAMS/mode "audit,off" EINVAL
	expect_eq "$(cat $PARAMS/mode)" audit "mode after bad writes"
	expect_eq "$(errors)" "$before" "config_errors after run-time writes"
	expect_write $PARAMS/mode enforce OK
	expect_write $ERRS x EACCES
}

t_status_config_errors() {
	local out
	unbind "$SIB"
	insmod_with mode=enforec reserve="$SIB,nonsense"
	out=$(bindguard-status) || fail "bindguard-status: exit $?"
	echo "$out" | grep -qxF "WARNING: bindguard refused 2 parameter value(s) at load ($ERRS): mode=enforec (enforce used), reserve=nonsense (left out)" ||
		fail "no warning line: $(echo "$out" | head -n2)"
	out=$(bindguard-status --json)
	case $out in
	*',"config_errors":[{"param":"mode","reason":"invalid","value":"enforec","instead":"enforce"},{"param":"reserve","reason":"invalid","value":"nonsense","instead":null}],"listed":[{"list":"reserve","name":"'"$SIB"'",'*) ;;
	*) fail "--json: ...$(echo "$out" | tail -c 200)" ;;
	esac
	insmod_with
	bindguard-status | grep -q WARNING && fail "a warning after a clean load"
	case $(bindguard-status --json) in
	*',"config_errors":[],"listed":[]}') ;;
	*) fail "--json after a clean load: ...$(bindguard-status --json | tail -c 100)" ;;
	esac
	rmmod bindguard || fail rmmod
	[ -e $SYS ] && fail "$SYS left after rmmod"
}

for m in vfio vfio_iommu_type1 vfio-pci e1000 pci-stub; do
	modprobe $m || diag "modprobe $m failed"
done
scenario_init

ktap_plan 14
run_test "params: good values load with no config error" t_clean_load
run_test "params: an unknown name is ignored by the kernel" t_unknown_name
run_test "params: a bad mode= loads enforce" t_mode
run_test "params: reserve= keeps its valid names" t_reserve_param
run_test "params: reserve= duplicates, blanks, empty, a newline, overlong" t_reserve_forms
run_test "params: reserve= past 64 names, more than 16 refusals" t_reserve_limits
run_test "params: allow= keeps its valid names" t_allow
run_test "params: a bad allow= entry is not admitted" t_allow_in_effect
run_test "params: a bad strict= reads 1" t_strict
run_test "params: a bad maxactive= reads 256" t_maxactive
run_test "params: every parameter bad at once" t_all_at_once
run_test "params: a typo in /etc/modprobe.d loads" t_modprobe_conf
run_test "params: a bad mode written at run time is EINVAL" t_runtime_write
run_test "params: bindguard-status shows the refusals" t_status_config_errors
