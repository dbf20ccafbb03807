# boot-bench.sh - what bindguard costs, measured side by side in one boot
# (test/bench/bench.sh boots it under QEMU's -icount shift=0,sleep=off; it is not
# one of the default boots: no timing is ever asserted). /bin/bench
# (test/tools/bench.c) times each operation and prints one line per round:
#
#   # bench: LABEL n=N ok=K p50=NS p90=NS min=NS mean=NS
#
# Rounds of one measure alternate without and with bindguard loaded
# (insmod/rmmod between them), ROUNDS times:
#   unowned   bind + unbind of LONE to pci-stub (a group nobody owns):
#             "unowned without rR", "unowned with rR", "unowned without2 rR"
#             (the second unloaded round of each triple gives the A/A ratio)
#   refuse    bind of SIB to e1000 while vfio-hold holds its group: "refuse
#             kernel rR" (5.19+ only, the kernel's own refusal, bindguard not
#             loaded) and "refuse bindguard rR" (before 5.19 bindguard stays
#             loaded across the rounds: without it the bind would BUG)
#             and "nomatch rR": SIB written to e1000e's bind, which does
#             not match it (ENODEV): the kernel's lookup of the device by
#             name and the match, without a probe
#   claim     claim + release of GROUP by a VFIO client (bench claim):
#             "claim without rR", "claim with rR"
# and once, on the first load: "insmod rR" (3 loads), "groups read" (reads
# of debugfs groups), and the slab bytes the first load added ("# bench-slab:
# CACHE BYTES" for each cache that changed, "# bench-mem: slab_delta=B
# groups=G"). The "wide" boot (boot-benchwide.sh: BENCH_WIDE=1, booted with
# BG_TOPOLOGY=wide) runs all but unowned.
#
# Kernel command line: bg.bench_cycles= (bind rounds, default 400),
# bg.bench_claims= (claim rounds, default 200), bg.bench_rounds= (default 3),
# bg.bench_reads= (default 20).
. /tests/lib.sh
. /tests/scenario.sh

CYCLES=$(bg_arg bench_cycles 400)
CLAIMS=$(bg_arg bench_claims 200)
ROUNDS=$(bg_arg bench_rounds 3)
READS=$(bg_arg bench_reads 20)
BENCH_WIDE=${BENCH_WIDE:-}

bench_load() {
	insmod "$BINDGUARD_KO" || fail "insmod bindguard"
}

# slab_bytes: "CACHE BYTES" (active objects x object size) for every cache
slab_bytes() {
	awk 'NR > 2 { print $1, $2 * $4 }' /proc/slabinfo
}

t_topology() {
	NGROUPS=$(ls /sys/kernel/iommu_groups | wc -l)
	local topo=small
	[ -n "$BENCH_WIDE" ] && topo=wide
	diag "bench: topology $topo: $NGROUPS IOMMU groups, $(ls /sys/bus/pci/devices | wc -l) PCI devices, $(grep -c ^processor /proc/cpuinfo) CPUs"
	if [ -n "$BENCH_WIDE" ] && [ "$NGROUPS" -lt 256 ]; then
		fail "wide topology: $NGROUPS IOMMU groups, want >= 256"
	fi
}

t_bench_load() {
	local r=1
	slab_bytes >/tmp/slab0
	bench exec "insmod r1" insmod "$BINDGUARD_KO" || fail "insmod bindguard"
	slab_bytes >/tmp/slab1
	awk 'FNR == NR { a[$1] = $2; next }
	     { d = $2 - a[$1]; t += d; if (d != 0) print "# bench-slab: " $1, d }
	     END { print "# bench-mem: slab_delta=" t " groups=" G }' G="$NGROUPS" /tmp/slab0 /tmp/slab1
	diag "bench: debugfs groups: $(grep -vc '^#' $BG_DEBUGFS/groups) lines, $(wc -c <$BG_DEBUGFS/groups) bytes"
	bench read "$READS" $BG_DEBUGFS/groups "groups read" || fail "reading debugfs groups"
	unload
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		bench exec "insmod r$r" insmod "$BINDGUARD_KO" || fail "insmod bindguard"
		unload
	done
}

t_unowned() {
	local r=0
	unbind "$LONE"
	echo pci-stub >"/sys/bus/pci/devices/$LONE/driver_override"
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		bench bind "$CYCLES" "$LONE" pci-stub "unowned without r$r" || fail "bind/unbind without"
		bench_load
		bench bind "$CYCLES" "$LONE" pci-stub "unowned with r$r" || fail "bind/unbind with"
		unload
		bench bind "$CYCLES" "$LONE" pci-stub "unowned without2 r$r" || fail "bind/unbind without (A/A)"
	done
	echo >"/sys/bus/pci/devices/$LONE/driver_override"
	bind_to "$LONE" e1000e >/dev/null
}

t_refuse() {
	local r=0
	unbind "$SIB"
	echo >"/sys/bus/pci/devices/$SIB/driver_override"
	[ "$NATIVE" = 1 ] || bench_load	# before 5.19 the bind would BUG without it
	hold_start
	if ! kill -0 "$HOLDER" 2>/dev/null || ! grep -q "^holding" /tmp/hold.log; then
		# nobody owns the group: every bind would probe e1000 for real
		fail "vfio-hold did not start"
		[ "$NATIVE" = 1 ] || unload
		return
	fi
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		if [ "$NATIVE" = 1 ]; then
			bench refuse "$CYCLES" "$SIB" e1000 "refuse kernel r$r" || fail "a bind was not refused by the kernel"
			bench_load
		fi
		bench refuse "$CYCLES" "$SIB" e1000 "refuse bindguard r$r" || fail "a bind was not refused by bindguard"
		# the same device to a driver that does not match it: the
		# kernel's sysfs lookup and match alone, no probe (ENODEV)
		bench refuse "$CYCLES" "$SIB" e1000e "nomatch r$r" || fail "e1000e took $SIB"
		[ "$NATIVE" = 1 ] && unload
	done
	hold_stop
	[ "$NATIVE" = 1 ] || unload
}

t_claim() {
	local r=0
	prepare
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		bench claim "$CLAIMS" "$GROUP" "claim without r$r" || fail "claim/release without"
		bench_load
		bench claim "$CLAIMS" "$GROUP" "claim with r$r" || fail "claim/release with"
		unload
	done
}

for m in vfio vfio_iommu_type1 vfio-pci e1000 e1000e pci-stub; do
	modprobe $m || diag "modprobe $m failed"
done
scenario_init
diag "bench: kernel $(uname -r), $(cat /proc/cmdline)"
if [ -n "$BENCH_WIDE" ]; then
	ktap_plan 4
else
	ktap_plan 5
fi
run_test "topology" t_topology
run_test "insmod, debugfs groups read, slab bytes" t_bench_load
if [ -z "$BENCH_WIDE" ]; then
	run_test "bind + unbind to pci-stub, interleaved" t_unowned
fi
run_test "refused bind, interleaved" t_refuse
run_test "claim + release, interleaved" t_claim
