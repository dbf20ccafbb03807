# boot-cost.sh - what bindguard adds to a bind + unbind in a group nobody
# owns, measured side by side in one boot. Not one of the default boots
# (timings are no test): run it with test/cost.sh, which boots with
# QEMU's -icount shift=0,sleep=off so that guest time counts instructions
# and the ratio repeats run to run.
#
# Rounds alternate without and with bindguard loaded (ABAB...), each round
# ROUNDS bind/unbind pairs of the lone e1000e (its own group, never owned);
# each "# cost:" line gives one round's guest seconds. The one test asserts
# only that every bind and unbind succeeded.
. /tests/lib.sh
. /tests/scenario.sh

PAIRS=100
ROUNDS=3
for arg in $(cat /proc/cmdline); do
	case $arg in
	bg.cost_pairs=*) PAIRS=${arg#bg.cost_pairs=} ;;
	bg.cost_rounds=*) ROUNDS=${arg#bg.cost_rounds=} ;;
	esac
done

uptime_cs() {	# guest uptime in centiseconds
	local up
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}"
}

round() {	# LABEL: PAIRS bind/unbind pairs of LONE; prints the guest seconds
	local i=0 t0 t1
	t0=$(uptime_cs)
	while [ $i -lt "$PAIRS" ]; do
		echo "$LONE" >/sys/bus/pci/drivers/e1000e/bind || BAD=1
		echo "$LONE" >/sys/bus/pci/drivers/e1000e/unbind || BAD=1
		i=$((i + 1))
	done
	t1=$(uptime_cs)
	echo "# cost: $1 $PAIRS pairs $((t1 - t0)) cs"
}

t_cost() {
	local r=0
	BAD=0
	unbind "$LONE"
	while [ $r -lt "$ROUNDS" ]; do
		round without
		modprobe bindguard || fail "modprobe bindguard"
		round with
		rmmod bindguard || fail "rmmod bindguard"
		r=$((r + 1))
	done
	[ $BAD = 0 ] || fail "a bind or unbind failed"
	echo "$LONE" >/sys/bus/pci/drivers/e1000e/bind
}

for m in vfio vfio_iommu_type1 vfio-pci e1000 e1000e; do
	modprobe $m || diag "modprobe $m failed"
done
scenario_init
ktap_plan 1
run_test "bind/unbind rounds with and without bindguard" t_cost
