#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# status-check.sh - scripts/bindguard-status on the host, no guest: crafted
# debugfs files (BINDGUARD_DEBUGFS), hostile names and a hostile textfile
# directory, under each awk the tool may meet. Run by `make checkstyle`.
#
# Usage: test/status-check.sh
#
# The tool runs three ways: sh (dash) with gawk, sh with mawk, and busybox
# sh with every command a busybox applet (awk, mktemp, stat, mv, chmod, ...:
# the guest's and a minimal host's tool set). A missing gawk or busybox is
# reported "# SKIP" (apt-get install gawk busybox-static), never as a pass.
# For each:
#  - --json of names holding every byte 1..255, invalid and valid UTF-8,
#    ", \ and controls, and of 300 groups of random names: strict UTF-8 and
#    JSON (Python), and each name equal to what an independent reading
#    gives (Python's UTF-8 decoder; a byte it rejects is U+00XX); the table
#    and --check keep debugfs's escapes (printable ASCII only);
#  - a record that does not parse (a number field that is not one, a member
#    without "="), and an unknown format version: exit 2, one line on
#    stderr, nothing on stdout, no metrics file;
#  - --metrics: Prometheus text, each sample line well formed; the file
#    mode 0644 under umask 077; relative names, spaces, a leading "-";
#    a symlink at the final name (to a file, to a directory) replaced and
#    its target untouched; a directory there, a missing or (as nobody) a
#    read-only directory, a write error (ulimit -f 0): exit 2, the old file
#    unchanged, no temporary file left; a symlink planted at the old tool's
#    predictable temporary name (.FILE.PID) not followed; the temporary
#    file swapped after mktemp made it (for a symlink to a victim file, a
#    hard link to it): nothing written or chmod-ed through it;
#  - debugfs listed (entries of reserve and protect that apply, have
#    drifted, or name no device): the WARNING line, --check's reasons and
#    fixes (a drifted entry fails it, a drifted protection protects
#    nothing), --explain's story line by line, the bindguard_listed
#    gauges, "listed" in --json; a listed that does not parse or of
#    another version: exit 2; without listed (an older module) the
#    protected names are sysfs's protect, as before;
#  - scripts/bindguard-libvirt-hook fed domain XML: "prepare begin"
#    refuses (exit 1, the reasons and fixes on stderr) while a sibling
#    blocks, passes when the only blockers are the domain's own managed
#    devices (<interface type='hostdev'> unmanaged unless it says so,
#    <metadata> ignored); every other phase, bindguard-status missing or
#    exiting 2: exit 0; never a byte on stdout.
#
# Output: one line per check, "ok N - SET: what" or "not ok N - SET: what"
# (a "# " line after it says what was seen), then "N passed, N failed,
# N skipped". Exit status 1 if any check failed.
#
# Environment: BG_STATUS_TOOL, the tool to check (default
# scripts/bindguard-status of this tree); BG_HOOK, the hook (default
# scripts/bindguard-libvirt-hook of this tree).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

tool=${BG_STATUS_TOOL:-$REPO/scripts/bindguard-status}
hook=${BG_HOOK:-$REPO/scripts/bindguard-libvirt-hook}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
n=0 passed=0 failed=0 skipped=0

st_report() { # st_report ok|fail|skip TEXT [SEEN]
	n=$((n + 1))
	case $1 in
	ok) echo "ok $n - $2"; passed=$((passed + 1)) ;;
	skip) echo "ok $n - $2 # SKIP $3"; skipped=$((skipped + 1)) ;;
	*)
		echo "not ok $n - $2"
		[[ -z ${3:-} ]] || printf '%s\n' "$3" | head -n5 | sed 's/^/#   /'
		failed=$((failed + 1))
		;;
	esac
}

st_check() { # st_check TEXT CMD...: one result for CMD's exit status, its output shown on failure
	local text=$1 st_out
	shift
	if st_out=$("$@" 2>&1); then
		st_report ok "$set: $text"
	else
		st_report fail "$set: $text" "$st_out"
	fi
}

# st_tool ARG...: the tool in the current set ($bin first in PATH, run by
# $shell), reading the fixture $fx
st_tool() {
	PATH=$bin:$PATH BINDGUARD_DEBUGFS=$fx $shell "$tool" "$@"
}

# st_fix_blocker BDF: the fix --check names for a blocker
st_fix_blocker() {
	local r=${1//[:.]/_}
	echo "(fix: virsh nodedev-detach pci_$r; or: echo $1 > /sys/bus/pci/devices/$1/driver/unbind; echo vfio-pci > /sys/bus/pci/devices/$1/driver_override; echo $1 > /sys/bus/pci/drivers_probe)"
}

# --- fixtures ------------------------------------------------------------------
# fx/hostile: hand-written names; fx/fuzz: random ones; each with
# expect.json, the names as an independent reader decodes them. Names are
# escaped as the module escapes them (docs/interfaces.md, "Names").
python3 - "$work" <<'PY'
import json, os, random, sys

work = sys.argv[1]

def esc(b):
    if b == b'-':
        return '\\055'
    return ''.join(chr(c) if 0x21 <= c <= 0x7e and c != 0x5c else '\\%03o' % c for c in b)

def want(b):
    # valid UTF-8 as it decodes, every other byte U+00XX
    s = b.decode('utf-8', 'surrogateescape')
    return ''.join(chr(ord(c) - 0xdc00) if 0xdc80 <= ord(c) <= 0xdcff else c for c in s)

def write(name, groups):
    d = os.path.join(work, 'fx', name)
    os.makedirs(d)
    exp = []
    with open(os.path.join(d, 'groups'), 'w') as g, open(os.path.join(d, 'blockers'), 'w') as bl:
        g.write('# bindguard-groups 3\n# group state pid comm since refused last_refusal members\n')
        bl.write('# bindguard-blockers 1\n# group dev driver\n')
        for i, (comm, drv) in enumerate(groups):
            g.write('%d user %d %s 1.000001 1 0000:00:%02x.0/%s@2.5 0000:00:%02x.0=%s 0000:00:%02x.1=-\n'
                    % (i, 100 + i, esc(comm), i % 256, esc(drv), i % 256, esc(drv), i % 256))
            bl.write('%d 0000:00:%02x.0 %s\n' % (i, i % 256, esc(drv)))
            exp.append({'comm': want(comm), 'driver': want(drv)})
    with open(os.path.join(d, 'expect.json'), 'w') as f:
        json.dump(exp, f)

hostile = [
    (bytes(range(1, 128)), bytes(range(128, 256))),
    (b'q\xff\xc3x"\\\n\xc3\xa9\xf0\x9f\x98\x80', b'e\xed\xa0\x80\xc0\x80'),
    (b'\xe0\xa0x\xf4\x90\x80\x80\xf0\x8f\xbf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf', b'-'),
    (b'\xc3', b'vfio-pci'),
    (b'"q\n9 user 1 x', b'\\'),
]
write('hostile', hostile)
rnd = random.Random(18)
pool = list(range(1, 256)) + [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80] * 8
write('fuzz', [(bytes(rnd.choice(pool) for _ in range(rnd.randint(1, 24))),
                bytes(rnd.choice(pool) for _ in range(rnd.randint(1, 24)))) for _ in range(300)])
PY

# st_json_check FIXTURE: stdin is --json of it: strict UTF-8, JSON, each
# group's comm, member and blocker drivers and last refusal's driver as
# expected
st_json_check() {
	python3 -c '
import json, sys
doc = json.loads(sys.stdin.buffer.read().decode("utf-8"))
exp = json.load(open(sys.argv[1]))
assert doc["format"] == 1 and len(doc["groups"]) == len(exp), "groups: %d" % len(doc["groups"])
for g, e in zip(doc["groups"], exp):
    got = (g["comm"], g["members"][0]["driver"], g["blockers"][0]["driver"], g["last_refusal"]["driver"],
           g["members"][1]["driver"], g["pid"], g["since"], g["last_refusal"]["at"])
    want = (e["comm"], e["driver"], e["driver"], e["driver"], None, 100 + g["group"], 1.000001, 2.5)
    assert got == want, "group %d: %r, want %r" % (g["group"], got, want)
' "$1"
}

# st_prom_check FILE: every line a comment or a well-formed sample
st_prom_check() {
	local bad
	bad=$(LC_ALL=C grep -Evx '# (HELP|TYPE) .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*")*\})? -?[0-9]+(\.[0-9]+)?' "$1")
	[[ -z $bad && $(tail -c1 "$1" | od -An -c | tr -d ' ') == '\n' ]] || { echo "$bad"; return 1; }
}

# st_metrics_case NAME: a fresh directory $d (0755) for one --metrics case
st_metrics_case() {
	d=$work/m-$set-$1
	rm -rf "$d"
	mkdir -p "$d"
	chmod 755 "$d"
}

# st_no_temp DIR: no temporary file (.NAME.*) left in DIR
st_no_temp() {
	local left
	left=$(find "$1" -maxdepth 1 -name '.*.prom.*' | head -n3)
	[[ -z $left ]] || { echo "left: $left"; return 1; }
}

# st_failed_write RC FILE WANT: exit status 2, FILE's content still WANT,
# nothing left in its directory
st_failed_write() {
	[[ $1 == 2 ]] || { echo "exit status $1, want 2"; return 1; }
	[[ $(cat "$2" 2>/dev/null) == "$3" ]] || { echo "$2 changed: $(head -c 80 "$2")"; return 1; }
	st_no_temp "$(dirname "$2")"
}

st_metrics_checks() {
	local rc out
	fx=$work/fx/hostile
	st_metrics_case plain
	(umask 077 && st_tool --metrics "$d/bindguard.prom") || true
	st_check "--metrics: exit 0, mode 0644 under umask 077, Prometheus text, nothing else left" \
		eval '[[ $(stat -c %a "$d/bindguard.prom") == 644 ]] && st_prom_check "$d/bindguard.prom" &&
			[[ $(ls -A "$d") == bindguard.prom ]] &&
			grep -qx "bindguard_binds_refused_total{group=\"4\"} 1" "$d/bindguard.prom"'

	st_metrics_case relative
	mkdir "$d/x y"
	(cd "$d" && st_tool --metrics "-a b.prom" && cd "x y" && st_tool --metrics "../c d.prom") || true
	st_check "--metrics, relative names with spaces and a leading -" \
		eval '[[ $(ls -A "$d" | tr "\n" /) == "-a b.prom/c d.prom/x y/" ]] &&
			st_prom_check "$d/-a b.prom" && st_prom_check "$d/c d.prom" && st_no_temp "$d/x y"'

	st_metrics_case symlink
	echo secret >"$work/victim-$set"
	chmod 600 "$work/victim-$set"
	ln -s "$work/victim-$set" "$d/bindguard.prom"
	st_tool --metrics "$d/bindguard.prom" || true
	st_check "--metrics over a symlink to a file: the link replaced by the metrics, its target untouched" \
		eval '[[ ! -L "$d/bindguard.prom" && $(cat "$work/victim-$set") == secret &&
			$(stat -c %a "$work/victim-$set") == 600 ]] && st_prom_check "$d/bindguard.prom" && st_no_temp "$d"'

	st_metrics_case symlink-dir
	mkdir "$work/victimdir-$set"
	ln -s "$work/victimdir-$set" "$d/bindguard.prom"
	st_tool --metrics "$d/bindguard.prom" || true
	st_check "--metrics over a symlink to a directory: the link replaced, nothing written into the directory" \
		eval '[[ ! -L "$d/bindguard.prom" && -z $(ls -A "$work/victimdir-$set") ]] && st_prom_check "$d/bindguard.prom"'

	st_metrics_case dir
	mkdir "$d/bindguard.prom"
	rc=0
	out=$(st_tool --metrics "$d/bindguard.prom" 2>&1) || rc=$?
	st_check "--metrics onto a directory: exit 2, one line, the directory empty, no temporary file" \
		eval '[[ $rc == 2 && $(wc -l <<<"$out") == 1 && -z $(ls -A "$d/bindguard.prom") ]] && st_no_temp "$d" || { echo "$rc: $out"; false; }'

	st_metrics_case missing
	rc=0
	out=$(st_tool --metrics "$d/none/bindguard.prom" 2>&1) || rc=$?
	st_check "--metrics into a missing directory: exit 2, one line" \
		eval '[[ $rc == 2 && $(wc -l <<<"$out") == 1 && ! -e "$d/none" ]] || { echo "$rc: $out"; false; }'

	st_metrics_case readonly
	echo old >"$d/bindguard.prom"
	chmod 644 "$d/bindguard.prom"
	rc=0
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env PATH="$bin:$PATH" BINDGUARD_DEBUGFS="$fx" \
		$shell "$tool" --metrics "$d/bindguard.prom" 2>&1) || rc=$?
	st_check "--metrics as nobody into root's 0755 directory: exit 2, one line, the old file kept" \
		eval 'st_failed_write "$rc" "$d/bindguard.prom" old && [[ $(wc -l <<<"$out") == 1 ]] || { echo "$out"; false; }'

	st_metrics_case others
	chmod 777 "$d"
	rc=0
	out=$(st_tool --metrics "$d/bindguard.prom" 2>&1) || rc=$?
	st_check "--metrics as root into root's 0777 directory (no sticky bit): refused, exit 2, one line, nothing written" \
		eval '[[ $rc == 2 && $(wc -l <<<"$out") == 1 && -z $(ls -A "$d") ]] || { echo "$rc: $out"; false; }'

	st_metrics_case sticky
	chmod 1777 "$d"
	st_tool --metrics "$d/bindguard.prom" || true
	st_check "--metrics as root into a 1777 directory: written" \
		eval 'st_prom_check "$d/bindguard.prom" && st_no_temp "$d"'

	st_metrics_case owned
	echo old >"$d/bindguard.prom"
	chown -R 65534:65534 "$d"
	rc=0
	out=$(st_tool --metrics "$d/bindguard.prom" 2>&1) || rc=$?
	if [[ $set == busybox ]]; then
		# busybox's setpriv cannot change users: fail closed
		st_check "--metrics as root into nobody's directory, busybox: exit 2, the old file kept" \
			eval 'st_failed_write "$rc" "$d/bindguard.prom" old || { echo "$out"; false; }'
	else
		st_check "--metrics as root into nobody's directory: written as nobody, mode 0644" \
			eval '[[ $rc == 0 && $(stat -c "%u %a" "$d/bindguard.prom") == "65534 644" ]] &&
				st_prom_check "$d/bindguard.prom" && st_no_temp "$d" || { echo "$rc: $out"; false; }'
	fi

	st_metrics_case full
	echo old >"$d/bindguard.prom"
	rc=0
	(trap '' XFSZ && ulimit -f 0 && st_tool --metrics "$d/bindguard.prom") 2>/dev/null || rc=$?
	st_check "--metrics with a write error (ulimit -f 0): exit 2, the old file kept, no temporary file" \
		st_failed_write "$rc" "$d/bindguard.prom" old

	st_metrics_case bad-input
	echo old >"$d/bindguard.prom"
	rc=0
	fx=$work/fx/bad-pid st_tool --metrics "$d/bindguard.prom" 2>/dev/null || rc=$?
	st_check "--metrics of a record that does not parse: exit 2, the old file kept" \
		st_failed_write "$rc" "$d/bindguard.prom" old

	# the tool before this check wrote .FILE.$$: its pid is the pid of
	# the shell that execs it
	st_metrics_case predictable
	echo secret >"$work/victim-$set"
	(
		export PATH=$bin:$PATH BINDGUARD_DEBUGFS=$fx
		exec $shell -c 'ln -s "$1" "$2/.bindguard.prom.$$" && exec '"$shell"' "$3" --metrics "$2/bindguard.prom"' \
			sh "$work/victim-$set" "$d" "$tool"
	) || true
	st_check "--metrics with a symlink planted at .bindguard.prom.PID: not followed" \
		eval '[[ $(cat "$work/victim-$set") == secret ]] && st_prom_check "$d/bindguard.prom"'

	# the race: the temporary file's name taken over between mktemp and
	# the write (an inotify watcher wins it easily), by a symlink or a hard
	# link to a victim
	for how in symlink hardlink; do
		if [[ $set == busybox ]]; then
			st_report skip "$set: --metrics, its temporary file swapped for a $how" \
				"busybox sh runs its own mktemp whatever PATH says: no stand-in to swap it"
			continue
		fi
		st_metrics_case "swap-$how"
		printf '' >"$d/victim"
		chmod 600 "$d/victim"
		echo old >"$d/bindguard.prom"
		mkdir -p "$work/swap-$set-$how"
		cat >"$work/swap-$set-$how/mktemp" <<-EOF
			#!/bin/sh
			t=\$(PATH="$bin:$PATH" mktemp "\$@") || exit
			rm -f "\$t"
			$([[ $how == symlink ]] && echo 'ln -s' || echo 'ln') "$d/victim" "\$t"
			echo "\$t"
		EOF
		chmod +x "$work/swap-$set-$how/mktemp"
		rc=0
		out=$(PATH=$work/swap-$set-$how:$bin:$PATH BINDGUARD_DEBUGFS=$fx $shell "$tool" --metrics "$d/bindguard.prom" 2>&1) ||
			rc=$?
		st_check "--metrics, its temporary file swapped for a $how to a victim: exit 2, victim empty and 0600" \
			eval '[[ ! -s "$d/victim" && $(stat -c %a "$d/victim") == 600 ]] &&
				st_failed_write "$rc" "$d/bindguard.prom" old || { echo "$rc: $out"; false; }'
	done
}

# st_listed_json_check: stdin is --json of fx/listed: its listed array,
# names decoded
st_listed_json_check() {
	python3 -c '
import json, sys
doc = json.loads(sys.stdin.buffer.read().decode("utf-8"))
def e(l, n, i, f, s, g, w):
    return {"list": l, "name": n, "ids": i, "found": f, "state": s, "group": g, "why": w}
want = [
    e("protect", "0000:00:04.0", "1af4:1001:1af4:0002", "1af4:1001:1af4:0002", "applies", 3, "backs / on vda2"),
    e("reserve", "0000:00:05.0", "8086:100e", "1af4:1000:1af4:0001", "drift", 4, None),
    e("reserve", "0000:00:09.0", "8086:10d3", None, "absent", None, None),
    e("protect", "0000:00:0a.0", None, None, "absent", None, "a\\b\u00ff"),
    e("protect", "0000:08:00.0", "8086:10d3", "8086:100e:8086:0001", "drift", 8, None),
    e("reserve", "0000:09:00.0", "8086:100e", "8086:100e:8086:001e", "applies", 9, None),
]
assert doc["format"] == 1 and doc["listed"] == want, doc["listed"]
'
}

# st_listed_checks: the fixture fx/listed (debugfs listed): the WARNING,
# --check, --explain, --metrics and --json
st_listed_checks() {
	local out rc want f
	fx=$work/fx/listed
	want='WARNING: reservation of 0000:00:05.0@8086:100e does not apply: the device there is 1af4:1000 (bindguard-status --explain 0000:00:05.0)
WARNING: protection of 0000:08:00.0@8086:10d3 does not apply: the device there is 8086:100e (bindguard-status --explain 0000:08:00.0)'
	st_check "listed: a WARNING line per drifted entry, above the table" \
		eval 'out=$(st_tool) && [[ $(head -n2 <<<"$out") == "$want" && $(sed -n 3p <<<"$out") == "GROUP "* ]] || { echo "$out"; false; }'

	rc=0
	out=$(st_tool --check 4 2>&1) || rc=$?
	want='bindguard-status: reservation of 0000:00:05.0@8086:100e does not apply: the device there is 1af4:1000 (fix: echo 0000:00:05.0 > /sys/kernel/bindguard/release; echo 0000:00:05.0@1af4:1000 > /sys/kernel/bindguard/reserve (if the 1af4:1000 device there is the one meant); or: echo 0000:00:05.0 > /sys/kernel/bindguard/release; lspci -D -d 8086:100e (where the 8086:100e device is now); echo NEW_BDF@8086:100e > /sys/kernel/bindguard/reserve)
bindguard-status: iommu group 4 not viable: 0000:00:05.0 is bound to virtio-pci '"$(st_fix_blocker 0000:00:05.0)"
	st_check "listed: --check of a group with a drifted reservation: exit 1, the drift and the blocker, each with its fix" \
		eval '[[ $rc == 1 && $out == "$want" ]] || { echo "$rc: $out"; false; }'

	rc=0
	out=$(st_tool --check 0000:08:00.0 2>&1) || rc=$?
	want='bindguard-status: protection of 0000:08:00.0@8086:10d3 does not apply: the device there is 8086:100e (fix: echo 0000:08:00.0 > /sys/kernel/bindguard/unprotect; echo 0000:08:00.0@8086:100e > /sys/kernel/bindguard/protect (if the 8086:100e device there is the one meant); or: echo 0000:08:00.0 > /sys/kernel/bindguard/unprotect; lspci -D -d 8086:10d3 (where the 8086:10d3 device is now); echo NEW_BDF@8086:10d3 > /sys/kernel/bindguard/protect)'
	st_check "listed: --check of a drifted protection (in sysfs protect too): the drift only, not protected" \
		eval '[[ $rc == 1 && $out == "$want" ]] || { echo "$rc: $out"; false; }'

	st_check "listed: --check of a reserved group whose reservation applies: exit 0, silent" \
		eval 'out=$(st_tool --check 0000:09:00.0 2>&1) && [[ -z $out ]] || { echo "$out"; false; }'
	st_check "listed: --check with --assign of every blocker: exit 0" \
		st_tool --check 7 --assign 0000:07:00.0,0000:07:00.1,0000:07:00.2

	rc=0
	out=$(st_tool --explain 0000:00:04.0 2>&1) || rc=$?
	want='iommu group 3: protected
  member 0000:00:04.0 virtio-pci blocks protected
  owner none
  protect 0000:00:04.0@1af4:1001 applies (why: backs / on vda2)
  refused 0
problem: iommu group 3 holds protected device 0000:00:04.0
  fix: echo 0000:00:04.0 > /sys/kernel/bindguard/unprotect
  warning: that lets vfio-pci, pci-stub and a sysfs unbind take 0000:00:04.0 from the host (protected: backs / on vda2)
problem: iommu group 3 not viable: 0000:00:04.0 is bound to virtio-pci
  fix: virsh nodedev-detach pci_0000_00_04_0
  or: echo 0000:00:04.0 > /sys/bus/pci/devices/0000:00:04.0/driver/unbind; echo vfio-pci > /sys/bus/pci/devices/0000:00:04.0/driver_override; echo 0000:00:04.0 > /sys/bus/pci/drivers_probe
verdict: iommu group 3 cannot be handed to a VM now (2 problems)'
	st_check "listed: --explain of a protected device: its entry with its reason, the fix and what it exposes, exit 1" \
		eval '[[ $rc == 1 && $out == "$want" ]] || { echo "$rc: $out"; false; }'

	rc=0
	out=$(st_tool --explain 4 2>&1) || rc=$?
	want='iommu group 4: kernel
  member 0000:00:05.0 virtio-pci blocks
  member 0000:00:05.1 -
  owner none
  reserve 0000:00:05.0@8086:100e drift: the device there is 1af4:1000:1af4:0001
  refused 2, last 0000:00:05.0/e1000@7.5
problem: reservation of 0000:00:05.0@8086:100e does not apply: the device there is 1af4:1000
  fix: echo 0000:00:05.0 > /sys/kernel/bindguard/release; echo 0000:00:05.0@1af4:1000 > /sys/kernel/bindguard/reserve (if the 1af4:1000 device there is the one meant)
  or: echo 0000:00:05.0 > /sys/kernel/bindguard/release; lspci -D -d 8086:100e (where the 8086:100e device is now); echo NEW_BDF@8086:100e > /sys/kernel/bindguard/reserve
problem: iommu group 4 not viable: 0000:00:05.0 is bound to virtio-pci
  fix: virsh nodedev-detach pci_0000_00_05_0
  or: echo 0000:00:05.0 > /sys/bus/pci/devices/0000:00:05.0/driver/unbind; echo vfio-pci > /sys/bus/pci/devices/0000:00:05.0/driver_override; echo 0000:00:05.0 > /sys/bus/pci/drivers_probe
verdict: iommu group 4 cannot be handed to a VM now (2 problems)'
	st_check "listed: --explain of a group with a drifted reservation: members, the drift, the fixes, exit 1" \
		eval '[[ $rc == 1 && $out == "$want" ]] || { echo "$rc: $out"; false; }'

	rc=0
	out=$(st_tool --explain 6 2>&1) || rc=$?
	want='iommu group 6: user
  member 0000:06:00.0 vfio-pci
  member 0000:06:00.1 e1000 blocks
  owner pid 326 qemu-system-x86 since 7.012345
  refused 1, last 0000:06:00.1/e1000@7.201180
problem: iommu group 6 is owned by userspace (pid 326 qemu-system-x86)
  fix: stop pid 326 (qemu-system-x86), which holds it
problem: iommu group 6 not viable: 0000:06:00.1 is bound to e1000
  fix: virsh nodedev-detach pci_0000_06_00_1
  or: echo 0000:06:00.1 > /sys/bus/pci/devices/0000:06:00.1/driver/unbind; echo vfio-pci > /sys/bus/pci/devices/0000:06:00.1/driver_override; echo 0000:06:00.1 > /sys/bus/pci/drivers_probe
verdict: iommu group 6 cannot be handed to a VM now (2 problems)'
	st_check "listed: --explain of a user-owned group from a copy: the owner, no domain (no such process here), who to stop" \
		eval '[[ $rc == 1 && $out == "$want" ]] || { echo "$rc: $out"; false; }'

	want='iommu group 7: kernel
  member 0000:07:00.0 e1000 blocks to-be-assigned
  member 0000:07:00.1 e1000 blocks to-be-assigned
  member 0000:07:00.2 e1000 blocks to-be-assigned
  owner none
  refused 0
verdict: iommu group 7 can be handed to a VM now'
	st_check "listed: --explain with every blocker assigned: exit 0, the verdict" \
		eval 'out=$(st_tool --explain 0000:07:00.1 --assign 0000:07:00.0,0000:07:00.1,0000:07:00.2) && [[ $out == "$want" ]] || { echo "$out"; false; }'

	want='# HELP bindguard_listed Entries of reserve and protect, by whether the device at that address now is the one listed (applies), another (drift) or none (absent).
# TYPE bindguard_listed gauge
bindguard_listed{list="reserve",state="applies"} 1
bindguard_listed{list="reserve",state="drift"} 1
bindguard_listed{list="reserve",state="absent"} 1
bindguard_listed{list="protect",state="applies"} 1
bindguard_listed{list="protect",state="drift"} 1
bindguard_listed{list="protect",state="absent"} 1'
	st_check "listed: --metrics, the six bindguard_listed series" \
		eval 'st_tool --metrics "$work/listed-$set.prom" && st_prom_check "$work/listed-$set.prom" &&
			[[ $(grep bindguard_listed "$work/listed-$set.prom") == "$want" ]]'
	st_check "listed: --json, the listed array, names decoded" \
		eval 'st_tool --json | st_listed_json_check'
	fx=$work/fx/hostile
	st_check "listed: without listed (an older module): --metrics the six series at 0, --json \"listed\":[]" \
		eval 'st_tool --metrics "$work/nolisted-$set.prom" &&
			[[ $(grep -c "^bindguard_listed{.*} 0$" "$work/nolisted-$set.prom") == 6 ]] &&
			st_tool --json | python3 -c "import json, sys; assert json.load(sys.stdin)[\"listed\"] == []"'
	for f in bad-listed bad-listed-version; do
		fx=$work/fx/$f
		rc=0
		out=$(st_tool 2>"$work/err") || rc=$?
		st_check "listed: $f: exit 2, one line on stderr, nothing on stdout" \
			eval '[[ $rc == 2 && -z $out && $(wc -l <"$work/err") == 1 ]] || { echo "$rc: $out $(cat "$work/err")"; false; }'
	done
}

# st_hook_run XML ARG...: the hook fed XML, reading the fixture $fx, with
# bindguard-status $st_status (default: $tool); its stdout in
# $work/hook-out, its stderr in $work/hook-err, its exit status in rc
st_hook_run() {
	local xml=$1
	shift
	rc=0
	PATH=$bin:$PATH BINDGUARD_DEBUGFS=$fx BINDGUARD_STATUS=${st_status:-$tool} $shell "$hook" "$@" \
		<<<"$xml" >"$work/hook-out" 2>"$work/hook-err" || rc=$?
}

# st_hook_silent: the hook exited 0 and wrote nothing
st_hook_silent() {
	[[ $rc == 0 && ! -s $work/hook-out && ! -s $work/hook-err ]] ||
		{ echo "$rc: $(cat "$work/hook-out" "$work/hook-err")"; return 1; }
}

# st_hook_checks: the libvirt hook on the fixture fx/listed
st_hook_checks() {
	local want op st_status=''
	fx=$work/fx/listed
	st_hook_run "$(st_domain_xml " managed='yes'")" seed prepare begin -
	st_check "hook: prepare begin, the only blockers the domain's own managed devices: exit 0, silent" st_hook_silent

	want='bindguard: refusing to start seed: a PCI device it is given is in an IOMMU group that cannot be handed to it now
bindguard-status: iommu group 7 not viable: 0000:07:00.2 is bound to e1000 '"$(st_fix_blocker 0000:07:00.2)"'
bindguard: (bindguard-status --explain BDF tells more; to start without this check, remove /etc/libvirt/hooks/qemu.d/bindguard)'
	st_hook_run "$(st_domain_xml "")" seed prepare begin -
	st_check "hook: prepare begin, a sibling blocks (<interface type='hostdev'> without managed): exit 1, why and the fix on stderr, once" \
		eval '[[ $rc == 1 && ! -s $work/hook-out && $(cat "$work/hook-err") == "$want" ]] || { echo "$rc: $(cat "$work/hook-out" "$work/hook-err")"; false; }'

	for op in "release end destroyed" "reconnect begin -" "stopped end -" "start begin -" "migrate begin -" "started begin -"; do
		# shellcheck disable=SC2086 # op is three arguments
		st_hook_run "$(st_domain_xml "")" seed $op
		st_check "hook: $op, a sibling blocking: exit 0, silent" st_hook_silent
	done

	fx=$work/fx/bad-version
	st_hook_run "$(st_domain_xml "")" seed prepare begin -
	st_check "hook: bindguard-status exits 2 (a format it does not know): exit 0, nothing on stdout" \
		eval '[[ $rc == 0 && ! -s $work/hook-out ]] || { echo "$rc: $(cat "$work/hook-out" "$work/hook-err")"; false; }'
	fx=$work/fx/listed
	st_status=$work/none/bindguard-status
	st_hook_run "$(st_domain_xml "")" seed prepare begin -
	st_check "hook: no bindguard-status: exit 0, silent" st_hook_silent
}

st_set() { # st_set SET: all the checks with one tool set
	local out rc want
	fx=$work/fx/hostile
	for f in hostile fuzz; do
		fx=$work/fx/$f
		st_check "--json of the $f names: UTF-8, JSON, each name as decoded" \
			eval 'st_tool --json | st_json_check "$fx/expect.json"'
	done
	fx=$work/fx/hostile
	st_check "table: printable ASCII only (debugfs escapes kept), one line per group" \
		eval 'out=$(st_tool) && ! LC_ALL=C grep -q "[^ -~]" <<<"$out" && [[ $(grep -c "^[0-9]" <<<"$out") == 5 ]]'
	rc=0
	out=$(st_tool --check 1 2>&1) || rc=$?
	want='bindguard-status: iommu group 1 is owned by userspace (pid 101 q\377\303x"\134\012\303\251\360\237\230\200) (fix: stop pid 101 (q\377\303x"\134\012\303\251\360\237\230\200), which holds it)
bindguard-status: iommu group 1 not viable: 0000:00:01.0 is bound to e\355\240\200\300\200 '"$(st_fix_blocker 0000:00:01.0)"
	st_check "--check: exit 1, the owner's and the blocker's names as debugfs escapes them, each with its fix" \
		eval '[[ $rc == 1 && $out == "$want" ]] || { echo "$rc: $out"; false; }'
	for f in bad-pid bad-since bad-member bad-blocker bad-version; do
		fx=$work/fx/$f
		rc=0
		out=$(st_tool --json 2>"$work/err") || rc=$?
		st_check "--json of $f: exit 2, one line on stderr, nothing on stdout" \
			eval '[[ $rc == 2 && -z $out && $(wc -l <"$work/err") == 1 ]] || { echo "$rc: $out $(cat "$work/err")"; false; }'
	done
	fx=$work/fx/v2
	st_check "--json of format 2 (before the state protected): read as before" \
		eval 'st_tool --json | st_json_check "$work/fx/hostile/expect.json"'
	fx=$work/fx/protected
	rc=0
	out=$(st_tool --check 1 2>&1) || rc=$?
	want='bindguard-status: iommu group 1 holds protected device 0000:00:01.0 (fix: echo 0000:00:01.0 > /sys/kernel/bindguard/unprotect; warning: that lets vfio-pci, pci-stub and a sysfs unbind take 0000:00:01.0 from the host)
bindguard-status: iommu group 1 not viable: 0000:00:01.0 is bound to e\355\240\200\300\200 '"$(st_fix_blocker 0000:00:01.0)"
	st_check "--check of a protected group without listed (an older module): exit 1, the protected device (sysfs protect) and the write that lifts it" \
		eval '[[ $rc == 1 && $out == "$want" ]] || { echo "$rc: $out"; false; }'
	st_check "--json and --metrics of a protected group: its state, the protected gauge" \
		eval 'st_tool --json | grep -q "{\"group\":1,\"state\":\"protected\",\"pid\":null,\"comm\":null,\"since\":null," &&
			st_tool --metrics "$work/protected-$set.prom" &&
			grep -qx "bindguard_groups{state=\"protected\"} 1" "$work/protected-$set.prom"'
	st_metrics_checks
	st_listed_checks
	st_hook_checks
}

# st_domain_xml MANAGED: a domain's XML as libvirt formats it: two managed
# hostdevs of group 7 (attributes in another order and quoting in the
# second), an <interface type='hostdev'> of group 7's third device with
# MANAGED (" managed='yes'" or nothing), an unmanaged hostdev of reserved
# group 9, and a <metadata> naming group 4's blocker (not a device of the
# domain)
st_domain_xml() {
	cat <<-XML
	<domain type='kvm'>
	  <name>seed</name>
	  <metadata>
	    <app:devices xmlns:app="http://example.org/app">
	      <hostdev mode='subsystem' type='pci'><source><address domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></source></hostdev>
	    </app:devices>
	  </metadata>
	  <devices>
	    <hostdev mode='subsystem' type='pci' managed='yes'>
	      <source>
	        <address domain='0x0000' bus='0x07' slot='0x00' function='0x0'/>
	      </source>
	      <alias name='hostdev0'/>
	      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
	    </hostdev>
	    <hostdev managed="yes" type="pci" mode="subsystem">
	      <driver name="vfio"/>
	      <source>
	        <address function="0x1" slot="0x00" bus="0x07" domain="0x0000"/>
	      </source>
	    </hostdev>
	    <interface type='hostdev'$1>
	      <mac address='52:54:00:12:34:56'/>
	      <source>
	        <address type='pci' domain='0x0000' bus='0x07' slot='0x00' function='0x2'/>
	      </source>
	      <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>
	    </interface>
	    <hostdev mode='subsystem' type='pci' managed='no'>
	      <source>
	        <address domain='0x0000' bus='0x09' slot='0x00' function='0x0'/>
	      </source>
	    </hostdev>
	  </devices>
	</domain>
	XML
}

# fixtures that must be refused, each from the hostile one
for f in bad-pid:'s/^1 user 101 /1 user 1x1 /' bad-since:'s/ 1\.000001 1 / 1e3 1 /' \
	bad-member:'s/0000:00:02\.1=-/0000:00:02.1/' bad-version:'1s/ 3$/ 4/' bad-blocker:'' \
	v2:'1s/ 3$/ 2/' protected:'s/^1 user 101 [^ ]* 1\.000001 /1 protected - - - /'; do
	mkdir "$work/fx/${f%%:*}"
	sed -e "${f#*:}" "$work/fx/hostile/groups" >"$work/fx/${f%%:*}/groups"
	cp "$work/fx/hostile/blockers" "$work/fx/${f%%:*}/"
done
echo "3 0000:00:03.0" >>"$work/fx/bad-blocker/blockers"
echo 0000:00:01.0 >"$work/fx/protected/protect"

# fx/listed: a module with debugfs listed. Group 3 protected (the entry
# applies, with a reason), 4 with a reservation in drift and a blocker, 6
# held by QEMU, 7 three e1000 (the hook's domain), 8 a protection in drift
# (also in sysfs protect, which lists every name), 9 reserved (applies);
# entries that name no device
mkdir "$work/fx/listed"
cat >"$work/fx/listed/groups" <<'EOF'
# bindguard-groups 3
# group state pid comm since refused last_refusal members
3 protected - - - 0 - 0000:00:04.0=virtio-pci
4 kernel - - - 2 0000:00:05.0/e1000@7.5 0000:00:05.0=virtio-pci 0000:00:05.1=-
6 user 326 qemu-system-x86 7.012345 1 0000:06:00.1/e1000@7.201180 0000:06:00.0=vfio-pci 0000:06:00.1=e1000
7 kernel - - - 0 - 0000:07:00.0=e1000 0000:07:00.1=e1000 0000:07:00.2=e1000
8 kernel - - - 0 - 0000:08:00.0=vfio-pci
9 reserved - - - 0 - 0000:09:00.0=-
EOF
cat >"$work/fx/listed/blockers" <<'EOF'
# bindguard-blockers 1
# group dev driver
3 0000:00:04.0 virtio-pci
4 0000:00:05.0 virtio-pci
6 0000:06:00.1 e1000
7 0000:07:00.0 e1000
7 0000:07:00.1 e1000
7 0000:07:00.2 e1000
EOF
cat >"$work/fx/listed/listed" <<'EOF'
# bindguard-listed 1
# list name ids found state group why
protect 0000:00:04.0 1af4:1001:1af4:0002 1af4:1001:1af4:0002 applies 3 backs\040/\040on\040vda2
reserve 0000:00:05.0 8086:100e 1af4:1000:1af4:0001 drift 4 -
reserve 0000:00:09.0 8086:10d3 - absent - -
protect 0000:00:0a.0 - - absent - a\134b\377
protect 0000:08:00.0 8086:10d3 8086:100e:8086:0001 drift 8 -
reserve 0000:09:00.0 8086:100e 8086:100e:8086:001e applies 9 -
EOF
printf '%s\n' 0000:00:04.0 0000:00:0a.0 0000:08:00.0 >"$work/fx/listed/protect"
for f in bad-listed:'s/ drift 4 / drifted 4 /' bad-listed-version:'1s/ 1$/ 2/'; do
	mkdir "$work/fx/${f%%:*}"
	cp "$work/fx/listed/groups" "$work/fx/listed/blockers" "$work/fx/${f%%:*}/"
	sed -e "${f#*:}" "$work/fx/listed/listed" >"$work/fx/${f%%:*}/listed"
done

for set in gawk mawk busybox; do
	bin=$work/bin-$set
	mkdir -p "$bin"
	shell=sh
	case $set in
	busybox)
		command -v busybox >/dev/null && busybox --install -s "$bin" && shell="busybox sh"
		;;
	*)
		! command -v $set >/dev/null || ln -s "$(command -v $set)" "$bin/awk"
		;;
	esac
	if [[ ! -e $bin/awk ]]; then
		st_report skip "$set: every check" "$set is not installed"
		continue
	fi
	st_set
done

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
