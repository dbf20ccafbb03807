# boot-benchwide.sh - boot-bench.sh's subset for the wide topology
# (BG_TOPOLOGY=wide, >= 256 IOMMU groups): the group count, insmod, debugfs
# groups read, slab bytes, refused binds, claims. Booted by test/bench/bench.sh
# only.
BENCH_WIDE=1
. /tests/boot-bench.sh
