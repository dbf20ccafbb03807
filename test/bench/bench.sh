#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [SERIES...] - what bindguard costs, as ratios measured side by
# side in one boot (make bench; default series: trixie, Debian 13's 6.12).
#
# Per series three boots, one at a time, both under QEMU's
# -icount shift=0,sleep=off (BG_ICOUNT=1: guest time counts executed
# instructions, one per ns, so a ratio repeats run to run; one vCPU):
#   bench      test/guest/boot-bench.sh in the default ("small") topology:
#              interleaved rounds without / with bindguard of bind + unbind
#              to pci-stub in a group nobody owns, of a refused bind in a
#              group vfio-hold owns, of claim + release by a VFIO client;
#              insmod, a read of debugfs groups, the slab bytes of a load
#   benchwide  test/guest/boot-benchwide.sh with BG_TOPOLOGY=wide (>= 256
#              IOMMU groups, test/qemu/boot-guest.sh): the load, the read, the
#              slab bytes and the refused binds again
#   benchvf    test/guest/boot-benchvf.sh with BG_TOPOLOGY=sriov (an NVMe
#              controller with BG_SRIOV_VFS VFs, default 32): interleaved
#              rounds of VF creation + destruction without / with bindguard,
#              and an unload with the VFs present and without
# /bin/bench (test/tools/bench.c) times each operation with
# clock_gettime(CLOCK_MONOTONIC) and prints p50/p90 per round; this script
# turns the two ktap.logs into one table of ratios. A ratio of rounds is
# p50 ÷ p50 (and p90 ÷ p90) of the two rounds of one pair; "pooled" is the
# sum of the numerators' p50s ÷ the sum of the denominators'. Memory per
# group: from the module's own allocation sizes (pahole on bindguard.ko,
# rounded up to the kmalloc size class: ksize), and, independently, from
# /proc/slabinfo across the first insmod: (delta wide - delta small) ÷
# (groups wide - groups small), which cancels what a load allocates once.
#
# Environment: BG_BENCH_CYCLES (binds per round, default 400),
# BG_BENCH_VF_CYCLES (VF churns per round, default 10), BG_SRIOV_VFS,
# BG_BENCH_CLAIMS (claims per round, default 200), BG_BENCH_ROUNDS (pairs,
# default 3), BG_WIDE_PORTS (test/qemu/boot-guest.sh), BG_CACHE, BG_SKIP_HOST_DEPS=1,
# BG_BOOT_TIMEOUT (default 1800 s per boot); BG_BENCH_KVER=KVER boots
# nothing and prints the table of the last boots of that kernel. Nothing here is asserted: the
# exit status is 1 only when a boot gave no result.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
[[ $# -gt 0 ]] || set -- trixie
cmd="test/bench/bench.sh $*"
[[ -n ${BG_BENCH_CMD:-} ]] && cmd=$BG_BENCH_CMD
if [[ -z ${BG_SKIP_HOST_DEPS:-} ]]; then
	"$TEST/lib/host-deps.sh"
fi
export BG_SKIP_HOST_DEPS=1 BG_ICOUNT=1
export BG_BOOT_TIMEOUT=${BG_BOOT_TIMEOUT:-1800}
args="bg.bench_cycles=${BG_BENCH_CYCLES:-400} bg.bench_claims=${BG_BENCH_CLAIMS:-200} bg.bench_rounds=${BG_BENCH_ROUNDS:-3}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "bench $args" >"$tmp/small"
echo "benchwide $args" >"$tmp/wide"
echo "benchvf $args bg.bench_vfs=${BG_SRIOV_VFS:-32} bg.bench_vf_cycles=${BG_BENCH_VF_CYCLES:-10}" >"$tmp/vf"

# boot FILE TOPOLOGY: run.sh's output; prints the kernel version
boot() {
	local out kver
	out=$(BG_TOPOLOGY=$2 BG_BOOTS_FILE=$1 "$TEST/run.sh" "$s" 2>"$tmp/stderr") || true
	echo "$out" >>"$tmp/run.out"
	kver=$(sed -n 's/^[^ ]* [^ ]* - \([^:]*\): W=1.*/\1/p' <<<"$out" | head -n1)
	[[ -n $kver ]] || kver=$(sed -n 's/^run: \([^:]*\): boot:.*/\1/p' "$tmp/stderr" | head -n1)
	if grep -q '^[^ ]* not ok' <<<"$out"; then
		grep '^[^ ]* not ok\|^#' <<<"$out" | sed 's/^/# run.sh: /' >&2
	fi
	echo "$kver"
}

status=0
for s in "$@"; do
	: >"$tmp/run.out"
	if [[ -n ${BG_BENCH_KVER:-} ]]; then	# only the table, from the last logs
		kver=$BG_BENCH_KVER kver2=$BG_BENCH_KVER
	else
		kver=$(boot "$tmp/small" small)
		kver2=$(boot "$tmp/wide" wide)
		boot "$tmp/vf" sriov >/dev/null
	fi
	logs=$BG_WORK/logs/$kver
	if [[ -z $kver || ! -f $logs/bench/ktap.log ]]; then
		echo "$s: no result"
		tail -n 5 "$tmp/run.out"
		status=1
		continue
	fi
	[[ $kver2 == "$kver" ]] || echo "# note: the wide boot ran $kver2, the small one $kver"
	python3 - "$logs" "$kver" "$cmd" <<'EOF'
import os, re, statistics, subprocess, sys, time
logs, kver, cmd = sys.argv[1:4]

def parse(boot):
    path = os.path.join(logs, boot, 'ktap.log')
    b = {'bench': {}, 'slab': {}, 'mem': {}, 'diag': [], 'ok': True, 'path': path}
    try:
        text = open(path, errors='replace').read().replace('\r', '')
    except OSError:
        return None
    for line in text.split('\n'):
        m = re.match(r'# bench: (.*) n=(\d+) ok=(\d+) p50=(\d+) p90=(\d+) min=(\d+) mean=(\d+)', line)
        if m:
            b['bench'][m.group(1)] = dict(n=int(m.group(2)), ok=int(m.group(3)),
                                          p50=int(m.group(4)), p90=int(m.group(5)),
                                          mean=int(m.group(7)))
        m = re.match(r'# bench-slab: (\S+) (-?\d+)', line)
        if m:
            b['slab'][m.group(1)] = int(m.group(2))
        m = re.match(r'# bench-mem: slab_delta=(-?\d+) groups=(\d+)', line)
        if m:
            b['mem'] = dict(delta=int(m.group(1)), groups=int(m.group(2)))
        m = re.match(r'# bench: debugfs groups: (\d+) lines', line)
        if m:
            b['lines'] = int(m.group(1))
        if (line.startswith('# bench: topology') or line.startswith('# bench: debugfs')
                or re.match(r'# bench: \d+ VFs', line)):
            b['diag'].append(line[len('# bench: '):])
        if line.startswith('not ok'):
            b['ok'] = False
    try:
        b['secs'] = float(open(os.path.join(logs, boot, 'boot-seconds')).read())
    except (OSError, ValueError):
        b['secs'] = None
    return b

small, wide, vf = parse('bench'), parse('benchwide'), parse('benchvf')

def rounds(b, label):
    out, r = [], 1
    while b and f'{label} r{r}' in b['bench']:
        out.append(b['bench'][f'{label} r{r}'])
        r += 1
    return out

def med(b, label):
    v = [x['p50'] for x in rounds(b, label)]
    return statistics.median(v) if v else None

def ratio_row(name, goal, num, den, how):
    if not num or not den or len(num) != len(den):
        return f'| {name} | {how} | n/a | | | | {goal} |'
    p50 = [a['p50'] / b['p50'] for a, b in zip(num, den)]
    p90 = [a['p90'] / b['p90'] for a, b in zip(num, den)]
    pooled50 = sum(a['p50'] for a in num) / sum(b['p50'] for b in den)
    pooled90 = sum(a['p90'] for a in num) / sum(b['p90'] for b in den)
    pooledm = sum(a['mean'] for a in num) / sum(b['mean'] for b in den)
    return (f'| {name} | {how} | **{pooled50:.4f}** | {pooled90:.4f} | {pooledm:.4f} | '
            + ', '.join(f'{x:.4f}' for x in p50) + ' / ' + ', '.join(f'{x:.4f}' for x in p90)
            + f' | {goal} |')

def us(x):
    if x < 1000:
        return f'{x:.0f} ns'
    return f'{x / 1000:.1f} µs' if x < 10_000_000 else f'{x / 1e6:.1f} ms'

qemu = subprocess.run(['qemu-system-x86_64', '--version'], capture_output=True, text=True).stdout.split('\n')[0]
cpu = ''
for line in open('/proc/cpuinfo'):
    if line.startswith('model name'):
        cpu = line.split(':', 1)[1].strip()
        break
print(f'## bindguard bench: {kver}')
print()
print(f'- command: `{cmd}`')
print(f'- date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}')
print(f'- kernel: {kver} (stock Debian), bindguard built by DKMS')
print(f'- machine: {qemu}, TCG (single-threaded), `-icount shift=0,sleep=off`, 1 vCPU, '
      f'q35 + intel-iommu, 1 GiB; host {cpu}, {os.cpu_count()} CPUs')
print('- guest time counts executed instructions (1 ns each), not host time: '
      'ratios are near-deterministic and do not depend on host load; absolute '
      'times are instruction counts, not a real machine\'s')
for b, name in ((small, 'small'), (wide, 'wide'), (vf, 'sriov')):
    if b:
        for d in b['diag']:
            print(f'- {name} boot: {d}')
        secs = f'{b["secs"]:.0f} s wall (QEMU start to exit, under nice -n 19 on a shared host)' if b['secs'] else 'no time'
        print(f'- {name} boot: {secs}' + ('' if b['ok'] and b['bench'] else f'; FAILED or incomplete, see {b["path"]}'))
    else:
        print(f'- {name} boot: no result')
print()
print('| measure | rounds | ratio p50 (pooled) | ratio p90 (pooled) | ratio of means (pooled) | per pair p50 / p90 | goal |')
print('|---|---|---|---|---|---|---|')
n = small['bench'].get('unowned without r1', {}).get('n', '?')
print(ratio_row('A/A: bind + unbind to pci-stub, not loaded ÷ not loaded', 'defines noise',
                rounds(small, 'unowned without2'), rounds(small, 'unowned without'), f'{n} × {len(rounds(small, "unowned without"))}'))
print(ratio_row('bind + unbind to pci-stub, un-owned group, loaded ÷ not loaded', '≤ 1.02',
                rounds(small, 'unowned with'), rounds(small, 'unowned without'), f'{n} × {len(rounds(small, "unowned with"))}'))
kern = rounds(small, 'refuse kernel')
n = small['bench'].get('refuse bindguard r1', {}).get('n', '?')
if kern:
    print(ratio_row("refused bind (e1000, owned group), bindguard ÷ the kernel's own (not loaded)", '≤ 1.0',
                    rounds(small, 'refuse bindguard'), kern, f'{n} × {len(kern)}'))
else:
    print("| refused bind, bindguard ÷ the kernel's own | — | n/a: before 5.19 the kernel does not refuse (the bind would hit vfio's BUG_ON) | | | | ≤ 1.0 |")
print(ratio_row('refused bind by bindguard, wide (≥ 256 groups) ÷ small', '≤ 1.10',
                rounds(wide, 'refuse bindguard'), rounds(small, 'refuse bindguard'), f'{n} × {len(rounds(wide, "refuse bindguard"))}, paired boots'))
if kern and wide and rounds(wide, 'refuse kernel'):
    # the kernel's own part of a refused bind (sysfs bind_store looks the
    # device up by name, walking every device on the bus) grows with the
    # topology; bindguard's share of it, each boot's bindguard ÷ kernel
    bw = sum(a['p50'] for a in rounds(wide, 'refuse bindguard')) / sum(a['p50'] for a in rounds(wide, 'refuse kernel'))
    bs = sum(a['p50'] for a in rounds(small, 'refuse bindguard')) / sum(a['p50'] for a in kern)
    print(f"| refused bind, wide ÷ small, each boot's bindguard ÷ kernel's own: {bw:.4f} ÷ {bs:.4f} | {n} × {len(kern)}, paired boots | **{bw / bs:.4f}** | | | | ≤ 1.10 |")
    print(ratio_row("(for comparison) the kernel's own refusal, wide ÷ small", '—',
                    rounds(wide, 'refuse kernel'), kern, f'{n} × {len(kern)}, paired boots'))
nm_w, nm_s = rounds(wide, 'nomatch'), rounds(small, 'nomatch')
bg_w, bg_s = rounds(wide, 'refuse bindguard'), rounds(small, 'refuse bindguard')
if nm_w and nm_s and bg_w and bg_s:
    # what a refused bind costs past the kernel's lookup of the device by
    # name (bind_store walks every device on the bus: linear in devices)
    ew = (sum(a['p50'] for a in bg_w) - sum(a['p50'] for a in nm_w)) / len(bg_w)
    es = (sum(a['p50'] for a in bg_s) - sum(a['p50'] for a in nm_s)) / len(bg_s)
    lw = sum(a['p50'] for a in nm_w) / len(nm_w)
    ls = sum(a['p50'] for a in nm_s) / len(nm_s)
    print(f'| (for comparison) a non-matching bind of the same device (sysfs lookup + match, no probe), wide ÷ small: {us(lw)} ÷ {us(ls)} | {n} × {len(nm_w)}, paired boots | **{lw / ls:.4f}** | | | | — |')
    if ew > 0 and es > 0:
        print(f'| refused bind by bindguard minus that lookup, wide ÷ small: {us(ew)} ÷ {us(es)} | {n} × {len(bg_w)}, paired boots | **{ew / es:.4f}** | | | | ≤ 1.10 |')
    else:
        # the refusal costs less than the non-matching bind: no ratio, the
        # growth from the small topology to the wide one is what is left
        print(f'| refused bind by bindguard minus that lookup, wide − small: {us(ew)} − {us(es)} (below zero: the refusal costs less than the non-matching bind, so no ratio) | {n} × {len(bg_w)}, paired boots | **{ew - es:+.0f} ns** | | | | ≤ 1.10 |')
n = small['bench'].get('claim with r1', {}).get('n', '?')
print(ratio_row('claim + release (group open, set container + IOMMU, close), loaded ÷ not loaded', '≤ 1.05',
                rounds(small, 'claim with'), rounds(small, 'claim without'), f'{n} × {len(rounds(small, "claim with"))}'))
print(ratio_row('(for comparison) claim + release, wide, loaded ÷ not loaded', '—',
                rounds(wide, 'claim with'), rounds(wide, 'claim without'), f'{n} × {len(rounds(wide, "claim with"))}'))
print(ratio_row('(for comparison) claim + release loaded, wide ÷ small', '—',
                rounds(wide, 'claim with'), rounds(small, 'claim with'), f'{n} × {len(rounds(wide, "claim with"))}, paired boots'))

ins_s, ins_w = med(small, 'insmod'), med(wide, 'insmod')
rd_s = small['bench'].get('groups read', {}).get('p50') if small else None
rd_w = wide['bench'].get('groups read', {}).get('p50') if wide else None
if ins_s and ins_w:
    print(f'| insmod, wide ÷ small | median of 3 loads each: {us(ins_w)} ÷ {us(ins_s)} | **{ins_w / ins_s:.3f}** | | | | ≤ 2 |')
if rd_s and rd_w:
    print(f'| one read of debugfs groups, wide ÷ small | p50 of {wide["bench"]["groups read"]["n"]} reads: {us(rd_w)} ÷ {us(rd_s)} | **{rd_w / rd_s:.3f}** | | | | ≤ 2 |')
    lw, ls = wide.get('lines'), small.get('lines')
    if lw and ls:
        print(f'| the same per line of groups (one line per group) | {us(rd_w / lw)} ÷ {us(rd_s / ls)} | **{(rd_w / lw) / (rd_s / ls):.3f}** | | | | |')
n = vf['bench'].get('vf without r1', {}).get('n', '?') if vf else '?'
print(ratio_row('A/A: VF creation + destruction, not loaded ÷ not loaded', 'defines noise',
                rounds(vf, 'vf without2'), rounds(vf, 'vf without'), f'{n} × {len(rounds(vf, "vf without"))}'))
print(ratio_row('VF creation + destruction (sriov_numvfs, all VFs, then 0), loaded ÷ not loaded', '≤ 1.05',
                rounds(vf, 'vf with'), rounds(vf, 'vf without'), f'{n} × {len(rounds(vf, "vf with"))}'))
vw, vo = rounds(vf, 'vf with'), rounds(vf, 'vf without')
if vw and vo and len(vw) == len(vo):
    # a churn is mostly the kernel's own waits (sriov_enable() sleeps
    # 100 ms after VF Enable, sriov_disable() 1 s after clearing it): the
    # difference per VF is what bindguard adds, each VF added and removed
    nvf = int(re.search(r'bg\.bench_vfs=(\d+)', open(vf['path']).read()).group(1))
    d = (sum(a['p50'] for a in vw) - sum(b['p50'] for b in vo)) / len(vw) / nvf
    a = (sum(a['p50'] for a in rounds(vf, 'vf without2')) - sum(b['p50'] for b in vo)) / len(vo) / nvf
    print(f'| VF creation + destruction, loaded − not loaded, per VF (A/A: {a:+.0f} ns) | p50s of {len(vw)} rounds, {nvf} VFs each | **{d:+.0f} ns** | | | | — |')
rv, rn = med(vf, 'rmmod vfs'), med(vf, 'rmmod novfs')
if rv and rn:
    print(f'| rmmod with the VFs present ÷ without them | median of {len(rounds(vf, "rmmod vfs"))} unloads each: {us(rv)} ÷ {us(rn)} | **{rv / rn:.3f}** | | | | bounded |')
print()

# memory: what the slab caches gained per group, wide - small
print('| memory per tracked group | bytes | goal |')
print('|---|---|---|')
if small and wide and small['mem'] and wide['mem'] and wide['mem']['groups'] > small['mem']['groups']:
    dg = wide['mem']['groups'] - small['mem']['groups']
    # the caches bindguard's table allocates from: kmalloc-* (bg_group,
    # bg_member) and radix_tree_node (the xarray's nodes); the others move
    # with whatever else the guest does (task_struct, dentries)
    mine = lambda c: c.startswith('kmalloc') or c == 'radix_tree_node'
    dw = sum(v for c, v in wide['slab'].items() if mine(c))
    ds = sum(v for c, v in small['slab'].items() if mine(c))
    d = (dw - ds) / dg
    print(f'| one-device group, from /proc/slabinfo across the first insmod, kmalloc-* and radix_tree_node: (Δ wide {dw} B − Δ small '
          f'{ds} B) ÷ ({wide["mem"]["groups"]} − {small["mem"]["groups"]} groups) | **{d:.0f}** | ≤ 256 |')
    caches = sorted(set(wide['slab']) | set(small['slab']),
                    key=lambda c: -abs(wide['slab'].get(c, 0) - small['slab'].get(c, 0)))
    per = {c: (wide['slab'].get(c, 0) - small['slab'].get(c, 0)) / dg for c in caches}
    print('| per cache, per group: ' + ', '.join(f'{c} {per[c]:+.0f}' for c in caches if abs(per[c]) >= 1) + ' | | |')
    k2 = per.get('kmalloc-2k', 0)
    k1 = per.get('kmalloc-1k', 0)
    xa = per.get('radix_tree_node', 0)
    k128 = per.get('kmalloc-128', 0)
    k64 = per.get('kmalloc-64', 0)
    if k2 > 1500 and k1 > 700:
        # a one-device group: one bg_group (kmalloc-2k) + one bg_member (kmalloc-1k)
        print(f'| as allocated (ksize): bg_group 2048 (kmalloc-2k) + bg_member 1024 (kmalloc-1k) + xarray {max(xa, 9):.0f}: one-device group | **{2048 + 1024 + max(xa, 9):.0f}** | ≤ 256 |')
        print(f'| as allocated (ksize): four-device group, 2048 + 4 × 1024 + xarray | **{2048 + 4096 + max(xa, 9):.0f}** | |')
    elif k2 < 100 and k128 > 100:
        # names to their length: bg_group 128 B (kmalloc-128); bg_member
        # 64 B + its BDF (kmalloc-96); the bound driver's name, kstrdup()
        # (kmalloc-8 for "e1000e", kmalloc-16 for "pcieport"; none unbound)
        print(f'| as allocated (ksize): bg_group 128 (kmalloc-128) + bg_member with its BDF 96 (kmalloc-96) + driver name 16 (kmalloc-16; 8 for "e1000e", none unbound) + xarray {max(xa, 9):.0f}: one-device group | **{128 + 96 + 16 + max(xa, 9):.0f}** | ≤ 256 |')
        print(f'| as allocated (ksize): four-device group, 128 + 4 × (96 + 16) + xarray | **{128 + 4 * 112 + max(xa, 9):.0f}** | |')
else:
    print('| n/a: no slab figures from both boots | | |')
EOF
done
exit "$status"
