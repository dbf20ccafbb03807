# boot-stress.sh - binds racing the owner's coming and going.
#
# For BG_STRESS_SECONDS of guest time (kernel cmdline bg.stress_seconds=N,
# default 60), two loops run in parallel:
#   A binds the sibling to e1000 (driver_override + bind), counting every
#     EBUSY it sees; after a bind it unbinds and pauses up to 0.3 s (while
#     the sibling has e1000 no owner can take the group);
#   B starts the owner (vfio-hold) and SIGKILLs it after up to 0.2 s (in
#     the middle of its setup, or after it took the group), or every other
#     time once it holds or has given up (waiting up to 5 s); when it was
#     seen holding, after up to 0.4 s more.
# Afterwards bindguard's "refused" counter for the group must equal the
# EBUSYs loop A saw: bindguard refuses every bind into a user-owned group
# before the kernel's own check (5.19+) could, since it marks a claim pending
# on entry of the claim function; an EBUSY that bindguard did not count would
# be the kernel refusing first (a finding, not something to round away).
# "events" must agree: its refused lines for the group equal the counter
# when the ring did not overflow; when it did ("# N older events dropped"),
# the visible lines are between counter - N and the counter.
# The figures are printed as "# stress: ..." diagnostics.
. /tests/lib.sh
. /tests/scenario.sh

SECONDS_=$(bg_arg stress_seconds 60)

t_stress() {
	local end a b refused0 refused busy other ok rounds holds dropped lines
	unbind "$SIB"
	[ "$(driver_of "$HELD")" = vfio-pci ] || {
		unbind "$HELD"
		bind_to "$HELD" vfio-pci >/dev/null
	}
	refused0=$(group_field "$GROUP" 6)
	end=$(($(date +%s) + SECONDS_))
	(
		busy=0 ok=0 other=0 rounds=0
		while [ "$(date +%s)" -lt $end ]; do
			case $(bind_to "$SIB" e1000) in
			OK)	# leave the owner a window
				ok=$((ok + 1))
				unbind "$SIB"
				usleep $((RANDOM % 300000))
				;;
			"$REFUSED") busy=$((busy + 1)) ;;
			*) other=$((other + 1)) ;;
			esac
			rounds=$((rounds + 1))
		done
		echo "$rounds $ok $busy $other" >/tmp/loop-a
	) &
	a=$!
	(
		holds=0 starts=0
		while [ "$(date +%s)" -lt $end ]; do
			vfio-hold "$GROUP" "$HELD" >/tmp/hold-b.log 2>&1 &
			p=$!
			# every other owner is killed at a random moment (during
			# setup, or after a hold of up to 0.4 s); the others once
			# they hold (up to 5 s: a sanitizer guest under load is
			# slow to get there), so that loop A meets owners
			if [ $((starts % 2)) = 0 ]; then
				wait_for "grep -qE '^(holding|vfio-hold: )' /tmp/hold-b.log" 5 || :
			else
				usleep $((RANDOM % 200000))
			fi
			if grep -q '^holding' /tmp/hold-b.log; then
				holds=$((holds + 1))
				usleep $((RANDOM % 400000))
			fi
			kill -9 $p 2>/dev/null
			wait $p 2>/dev/null
			starts=$((starts + 1))
		done
		echo "$starts $holds" >/tmp/loop-b
	) &
	b=$!
	wait $a
	wait $b
	read -r rounds ok busy other </tmp/loop-a
	read -r starts holds </tmp/loop-b
	wait_for "[ \"\$(group_field $GROUP 2)\" = kernel ]" 10 ||
		fail "group $GROUP: $(grep "^$GROUP " $BG_DEBUGFS/groups)"
	refused=$(($(group_field "$GROUP" 6) - refused0))
	dropped=$(sed -n 's/^# \([0-9]*\) older events dropped$/\1/p' $BG_DEBUGFS/events)
	dropped=${dropped:-0}
	lines=$(events_count "group=$GROUP refused dev=$SIB driver=e1000 ")
	diag "stress: ${SECONDS_}s, loop A $rounds binds: $ok bound, $busy $REFUSED, $other other errors;" \
		"loop B $starts owner starts, $holds seen holding"
	diag "stress: refused counter $refused, refused events $lines, events dropped $dropped" \
		"($(grep -vc '^#' $BG_DEBUGFS/events) events in the ring)"
	expect_eq "$refused" "$busy" "refused counter vs $REFUSED seen by loop A"
	expect_eq "$other" 0 "binds failing with another error"
	if [ "$dropped" = 0 ]; then
		expect_eq "$lines" "$refused" "refused events"
	elif [ "$lines" -gt "$refused" ] || [ "$lines" -lt $((refused - dropped)) ]; then
		fail "refused events: $lines, want $((refused - dropped))..$refused ($dropped dropped)"
	fi
	[ "$busy" -gt 0 ] || fail "loop A never met an owner: nothing was tested"
	[ "$ok" -gt 0 ] || fail "loop A never bound: the owner never left"
	expect_eq "$(bind_to "$SIB" e1000)" OK "e1000 bind after the loops"
	expect_driver "$SIB" e1000
}

for m in vfio vfio_iommu_type1 vfio-pci e1000 e1000e pci-stub; do
	modprobe $m || diag "modprobe $m failed"
done
modprobe bindguard || diag "modprobe bindguard failed"
scenario_init

ktap_plan 1
run_test "binds racing the owner for ${SECONDS_}s: every refusal is bindguard's" t_stress
