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
#  - the fleet outputs, with a fake sysfs and /proc (BINDGUARD_SYSFS,
#    BINDGUARD_PROC) and debugfs events and hooks: --metrics and --nfd
#    in one run, each file exactly as expected; every metrics file through
#    a strict checker of the text format (HELP and TYPE, _total counters,
#    no timestamp, no pid or comm label, no series twice) and promtool
#    check metrics when there is one ($BG_PROMTOOL or PATH; else one
#    "# SKIP"); bindguard not loaded: bindguard_loaded 0 and the devices
#    on vfio drivers, bindguard.io/loaded=false, exit 0 (the table: exit
#    2); NFD values from Debian versions (~, +, :, too long, nothing left)
#    and kernels before and since 5.19; the NFD file made as a dotfile in
#    its directory and renamed; --if-dir-exists; both writers in nobody's
#    directory with symlinks at the final name and at .NAME.PID names,
#    through a directory nobody swapped for a symlink to root's, and in
#    root's directory below nobody's: nothing outside written;
#  - --json of every fixture valid against
#    docs/bindguard-status.schema.json (test/tools/check-json-schema.py,
#    python3-jsonschema; "# SKIP" without it), a document off it refused;
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
# scripts/bindguard-libvirt-hook of this tree); BG_PROMTOOL, promtool
# (default: the one in PATH, if any).
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
	PATH=$bin:$PATH BINDGUARD_DEBUGFS=$fx BINDGUARD_SYSFS=${sysfx:-$work/sys} BINDGUARD_PROC=${procfx:-$work/proc} \
		BINDGUARD_NOW=1700000000 $shell "$tool" "$@"
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

# st_prom_check FILE: Prometheus text format 0.0.4 as node_exporter's
# textfile collector takes it, strictly: each metric's HELP and TYPE
# (gauge or counter) once, before its samples, which are contiguous;
# names bindguard_*, a counter's ending _total and no gauge's; label sets
# well formed and escaped, no pid or comm label, no series twice; a value
# an integer or decimal, no timestamp; no other comment; a final newline.
# Then promtool check metrics, if there is one ($BG_PROMTOOL or in PATH)
st_prom_check() {
	local bad
	bad=$(LC_ALL=C awk '
	function bad(w) { printf "line %d: %s: %s\n", NR, w, $0 }
	/^# HELP / {
		if ($3 in help) bad("a second HELP")
		if ($3 in seen) bad("HELP after its samples")
		help[$3] = 1
		next
	}
	/^# TYPE / {
		if (NF != 4 || $4 !~ /^(gauge|counter)$/) bad("TYPE")
		if ($3 in type) bad("a second TYPE")
		if ($3 in seen) bad("TYPE after its samples")
		if ($4 == "counter" && $3 !~ /_total$/) bad("a counter not named _total")
		if ($4 == "gauge" && $3 ~ /_total$/) bad("a gauge named _total")
		type[$3] = $4
		next
	}
	/^#/ { bad("another comment"); next }
	{
		if (!match($0, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) { bad("no metric name"); next }
		n = substr($0, 1, RLENGTH); rest = substr($0, RLENGTH + 1); ls = ""
		if (n !~ /^bindguard_/) bad("not bindguard_")
		if (!(n in type) || !(n in help)) bad("no HELP or TYPE before it")
		if (n != last && (n in seen)) bad("its metric'"'"'s samples not together")
		seen[n] = 1; last = n
		if (substr(rest, 1, 1) == "{") {
			if (!match(rest, /^[{][a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*")*[}]/)) {
				bad("label set"); next
			}
			ls = substr(rest, 1, RLENGTH); rest = substr(rest, RLENGTH + 1)
			if (ls ~ /[{,](pid|comm)=/) bad("a pid or comm label")
		}
		if (rest !~ /^ (0|[1-9][0-9]*)$/ && rest !~ /^ (0|[1-9][0-9]*)[.][0-9]+$/) bad("value (or a timestamp)")
		if ((n ls) in series) bad("a series twice")
		series[n ls] = 1
	}' "$1")
	[[ -z $bad && $(tail -c1 "$1" | od -An -c | tr -d ' ') == '\n' ]] || { echo "$bad"; return 1; }
	[[ -z $promtool ]] || "$promtool" check metrics <"$1"
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
verdict: iommu group 3 cannot be handed to a VM now (1 problem)'
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

# st_nfd_check FILE: an NFD features.d file: comments, the expiry, then
# bindguard.io/NAME=VALUE lines, each value at most 63 of [A-Za-z0-9._-],
# first and last alphanumeric
st_nfd_check() {
	local bad
	bad=$(LC_ALL=C grep -Evx '# [^+].*|# \+expiry-time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z|bindguard\.io/[a-z]+=([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)' "$1")
	[[ -z $bad ]] || { echo "$bad"; return 1; }
}

# st_fleet_checks: --metrics and --nfd of fx/fleet (debugfs listed,
# events and hooks too) with a fake sysfs and /proc: the exact files; not
# loaded; the NFD values; --if-dir-exists; the writers in directories of
# another user's, with symlinks planted
st_fleet_checks() {
	local out rc want d2 f log
	fx=$work/fx/fleet
	rm -rf "$work/fleet-$set"
	mkdir -p "$work/fleet-$set"
	d=$work/fleet-$set
	st_check "fleet: --metrics and --nfd in one run: exit 0, both written, nothing else left" \
		eval 'st_tool --metrics "$d/bindguard.prom" --nfd "$d/bindguard" && [[ $(ls -A "$d" | tr "\n" /) == bindguard/bindguard.prom/ ]]'
	st_check "fleet: --metrics, exactly the file expected" \
		eval 'diff -u "$work/want-fleet.prom" "$d/bindguard.prom"'
	st_check "fleet: --metrics, strict Prometheus text${promtool:+ and promtool check metrics}" \
		st_prom_check "$d/bindguard.prom"
	st_check "fleet: --nfd, exactly the file expected (version 0.1.4~rc1+deb12u1 as 0.1.4-rc1_deb12u1, 6.1: protection kernel, mode 0644)" \
		eval 'diff -u "$work/want-fleet.nfd" "$d/bindguard" && [[ $(stat -c %a "$d/bindguard") == 644 ]] && st_nfd_check "$d/bindguard"'

	# not loaded: a sysfs without module/bindguard (and no debugfs)
	rm -rf "$d"/*
	want='# HELP bindguard_loaded Whether the bindguard module is loaded (1) or not (0).
# TYPE bindguard_loaded gauge
bindguard_loaded 0
# HELP bindguard_vfio_devices PCI devices bound to a vfio driver (vfio-pci and its variants).
# TYPE bindguard_vfio_devices gauge
bindguard_vfio_devices 3'
	st_check "fleet: bindguard not loaded: --metrics exit 0, bindguard_loaded 0 and the 3 devices on vfio drivers, nothing else" \
		eval 'sysfx=$work/sys-unloaded fx=$work/none st_tool --metrics "$d/bindguard.prom" && [[ $(cat "$d/bindguard.prom") == "$want" ]] &&
			st_prom_check "$d/bindguard.prom" || { cat "$d/bindguard.prom"; false; }'
	st_check "fleet: bindguard not loaded: --nfd exit 0, loaded=false and the kernel's protection, no version or mode" \
		eval 'sysfx=$work/sys-unloaded fx=$work/none st_tool --nfd "$d/bindguard" &&
			[[ $(grep -v "^#" "$d/bindguard" | tr "\n" " ") == "bindguard.io/loaded=false bindguard.io/protection=kernel " ]] &&
			st_nfd_check "$d/bindguard" || { cat "$d/bindguard"; false; }'
	echo old >"$d/bindguard.prom"
	rc=0
	out=$(sysfx=$work/sys-unloaded fx=$work/none st_tool 2>&1) || rc=$?
	st_check "fleet: bindguard not loaded: the table still exits 2, one line" \
		eval '[[ $rc == 2 && $out == "bindguard-status: bindguard is not loaded (modprobe bindguard)" ]] || { echo "$rc: $out"; false; }'

	# a debugfs format this tool does not know (the module of another
	# version than the tool, as between an upgrade and the reboot): the
	# fleet outputs still say what sysfs tells, no series from debugfs;
	# exit 0, one line on stderr; the old file replaced
	want=$(sed -n '1,/^bindguard_info/p' "$work/want-fleet.prom"; sed -n '/^# HELP bindguard_debugfs_readable/,+1p' "$work/want-fleet.prom"; echo 'bindguard_debugfs_readable 0')
	echo old >"$d/bindguard.prom"
	st_check "fleet: a debugfs format it does not know: --metrics exit 0, one line on stderr, bindguard_debugfs_readable 0 and nothing from debugfs" \
		eval 'out=$(fx=$work/fx/bad-version st_tool --metrics "$d/bindguard.prom" 2>&1) &&
			[[ $out == "bindguard-status: $work/fx/bad-version/groups: unknown format '"'"'# bindguard-groups 4'"'"' (this tool reads '"'"'bindguard-groups 3'"'"'): writing what is known without it" ]] &&
			[[ $(cat "$d/bindguard.prom") == "$want" ]] && st_prom_check "$d/bindguard.prom" || { echo "$out"; cat "$d/bindguard.prom"; false; }'
	st_check "fleet: a debugfs format it does not know: --nfd exit 0, loaded, version, mode and protection from sysfs" \
		eval 'fx=$work/fx/bad-version st_tool --nfd "$d/bindguard" 2>/dev/null && st_nfd_check "$d/bindguard" &&
			[[ $(grep -v "^#" "$d/bindguard" | tr "\n" " ") == "bindguard.io/loaded=true bindguard.io/version=0.1.4-rc1_deb12u1 bindguard.io/mode=enforce bindguard.io/protection=kernel " ]] ||
			{ cat "$d/bindguard"; false; }'

	# the NFD values: Debian versions, long ones, kernels before 5.19
	for f in "1:0.1.4~rc1+deb12u1|5.10.0-28-amd64|1_0.1.4-rc1_deb12u1|none" \
		"~0.1.5+$(printf 'x%.0s' {1..70})|5.19.0|0.1.5_$(printf 'x%.0s' {1..57})|kernel" \
		"0.1.4|4.19.0|0.1.4|none" "0.1.4 \"x\\|6.12.9+bpo-amd64|0.1.4__x|kernel" "+~|5.18.19|unknown|none"; do
		IFS='|' read -r v k want f <<<"$f"
		mkdir -p "$work/sys-v/module/bindguard/parameters" "$work/proc-v/sys/kernel"
		printf '%s\n' "$v" >"$work/sys-v/module/bindguard/version"
		echo audit >"$work/sys-v/module/bindguard/parameters/mode"
		echo "$k" >"$work/proc-v/sys/kernel/osrelease"
		st_check "fleet: --nfd of version '$v' on $k: version=$want, protection=$f" \
			eval 'sysfx=$work/sys-v procfx=$work/proc-v st_tool --nfd "$d/v" && st_nfd_check "$d/v" &&
				[[ $(grep -v "^#" "$d/v" | tr "\n" " ") == "bindguard.io/loaded=true bindguard.io/version=$want bindguard.io/mode=audit bindguard.io/protection=$f " ]] ||
				{ cat "$d/v"; false; }'
	done

	# written as a dotfile in its directory, then renamed (NFD ignores
	# dotfiles): a mktemp that says which name it made
	if [[ $set != busybox ]]; then
		rm -rf "$d"/* "$work/mk-$set"
		mkdir -p "$work/mk-$set"
		printf '#!/bin/sh
t=$(PATH="%s" mktemp "$@") || exit
echo "$t" >>"%s"
echo "$t"
' \
			"$bin:$PATH" "$work/mk-$set/log" >"$work/mk-$set/mktemp"
		chmod +x "$work/mk-$set/mktemp"
		log=$work/mk-$set/log
		st_check "fleet: --nfd made a dotfile in its directory (.bindguard.XXXXXX), renamed: gone, no other file" \
			eval 'PATH=$work/mk-$set:$PATH st_tool --nfd "$d/bindguard" && f=$(cat "$log") &&
				[[ $f == "$d"/.bindguard.?????? && ! -e $f && $(ls -A "$d") == bindguard ]] || { echo "${f:-}"; ls -A "$d"; false; }'
	else
		st_report skip "$set: fleet: --nfd made a dotfile, renamed" \
			"busybox sh runs its own mktemp whatever PATH says: no stand-in to watch it"
	fi

	# --if-dir-exists: a missing directory is left out, quietly
	rm -rf "$d"/*
	st_check "fleet: --if-dir-exists, the metrics directory missing: exit 0, silent, the NFD file still written" \
		eval 'out=$(st_tool --if-dir-exists --metrics "$d/none/bindguard.prom" --nfd "$d/bindguard" 2>&1) &&
			[[ -z $out && ! -e "$d/none" && -s "$d/bindguard" ]] || { echo "$out"; false; }'
	st_check "fleet: --if-dir-exists, both directories missing: exit 0, silent" \
		eval 'out=$(st_tool --if-dir-exists --metrics "$d/none/a.prom" --nfd "$d/none/b" 2>&1) && [[ -z $out && ! -e "$d/none" ]]'

	# the writers in a directory another user (nobody) owns, with symlinks
	# planted at the final names and at the names an older writer chose
	# (.NAME.PID): nothing outside changes
	for f in bindguard.prom:--metrics bindguard:--nfd; do
		rm -rf "$d"/* && mkdir "$d/o" && echo secret >"$work/victim-$set" && chmod 600 "$work/victim-$set"
		ln -s "$work/victim-$set" "$d/o/${f%%:*}"
		for rc in $(seq 1 40) 0; do ln -s "$work/victim-$set" "$d/o/.${f%%:*}.$((${BASHPID:-$$} + rc))"; done
		chown -R -h 65534:65534 "$d/o"
		rc=0
		st_tool "${f#*:}" "$d/o/${f%%:*}" >/dev/null 2>&1 || rc=$?
		if [[ $set == busybox ]]; then
			want="exit 2 (busybox's setpriv cannot change users)"
		else
			want="written as nobody"
		fi
		st_check "fleet: ${f#*:} into nobody's directory, symlinks at the name and at .NAME.PID: $want, the victim unchanged" \
			eval '[[ $(cat "$work/victim-$set") == secret && $(stat -c %a "$work/victim-$set") == 600 ]] &&
				if [[ $set == busybox ]]; then [[ $rc == 2 && -L "$d/o/${f%%:*}" ]];
				else [[ $rc == 0 && ! -L "$d/o/${f%%:*}" && $(stat -c %u "$d/o/${f%%:*}") == 65534 ]]; fi'
	done

	# the parent belongs to nobody (as /var/lib/prometheus to prometheus),
	# who swapped the textfile directory for a symlink to a directory of
	# root'"'"'s: written as nobody, so nothing there (exit 2)
	for f in bindguard.prom:--metrics bindguard:--nfd; do
		rm -rf "$d"/* "$work/rootdir-$set"
		mkdir -p "$d/p" "$work/rootdir-$set"
		ln -s "$work/rootdir-$set" "$d/p/node-exporter"
		chown -R -h 65534:65534 "$d/p"
		rc=0
		out=$(st_tool "${f#*:}" "$d/p/node-exporter/${f%%:*}" 2>&1) || rc=$?
		st_check "fleet: ${f#*:} through a directory nobody swapped for a symlink to root's: exit 2, nothing written there" \
			eval '[[ $rc == 2 && -z $(ls -A "$work/rootdir-$set") ]] || { echo "$rc: $out"; ls -A "$work/rootdir-$set"; false; }'
	done

	# a directory nobody owns but whose group is root's: written as
	# nobody with nobody's own group (from /etc/passwd), never the
	# directory's, which could reach what nobody cannot write
	rm -rf "$d"/*
	mkdir -p "$d/g"
	chown 65534:0 "$d/g"
	chmod 775 "$d/g"
	rc=0
	out=$(st_tool --metrics "$d/g/bindguard.prom" 2>&1) || rc=$?
	if [[ $set == busybox ]]; then
		st_check "fleet: --metrics into nobody's directory of root's group: exit 2 (busybox's setpriv cannot change users)" \
			eval '[[ $rc == 2 ]] || { echo "$rc: $out"; false; }'
	else
		st_check "fleet: --metrics into nobody's directory of root's group: written as nobody:$(id -gn 65534 2>/dev/null || echo 65534), not root's group" \
			eval '[[ $rc == 0 && $(stat -c "%u %g" "$d/g/bindguard.prom") == "65534 $(awk -F: '"'"'$3 == 65534 { print $4 }'"'"' /etc/passwd)" ]] ||
				{ echo "$rc: $out"; ls -ln "$d/g"; false; }'
	fi
	# a newline anywhere in the name: refused, nothing written
	rc=0
	out=$(st_tool --metrics "$d/g
/bindguard.prom" 2>&1) || rc=$?
	st_check "fleet: --metrics of a name with a newline in its directory part: exit 2, one line" \
		eval '[[ $rc == 2 && $out == "bindguard-status: a file name with a newline: refusing" ]] || { echo "$rc: $out"; false; }'

	# Debian's layout: the textfile directory is root's 0755 in a parent
	# of prometheus's (here nobody's): root writes it, from inside
	for f in bindguard.prom:--metrics bindguard:--nfd; do
		rm -rf "$d"/*
		mkdir -p "$d/p/node-exporter"
		chown 65534:65534 "$d/p"
		chmod 755 "$d/p/node-exporter"
		rc=0
		out=$(st_tool "${f#*:}" "$d/p/node-exporter/${f%%:*}" 2>&1) || rc=$?
		st_check "fleet: ${f#*:} into a directory of root's (0755) in nobody's: exit 0, written by root, mode 644, nothing else left" \
			eval '[[ $rc == 0 && $(stat -c "%u %a" "$d/p/node-exporter/${f%%:*}") == "0 644" && $(ls -A "$d/p/node-exporter") == "${f%%:*}" ]] ||
				{ echo "$rc: $out"; ls -lA "$d/p/node-exporter"; false; }'
	done
}

# st_schema_checks: --json of every fixture valid against
# docs/bindguard-status.schema.json (test/tools/check-json-schema.py); a
# document off the schema is not
st_schema_checks() {
	local f
	if [[ -z $schema_ok ]]; then
		st_report skip "$set: --json against docs/bindguard-status.schema.json" "python3-jsonschema is not installed"
		return
	fi
	for f in hostile fuzz v2 protected listed fleet; do
		fx=$work/fx/$f
		st_check "schema: --json of $f is valid against docs/bindguard-status.schema.json" \
			eval 'st_tool --json | "$REPO/test/tools/check-json-schema.py" >/dev/null'
	done
	fx=$work/fx/listed
	st_check "schema: a document off the schema (a pid as a string, a field it does not know) is refused" \
		eval '! st_tool --json | sed "s/\"pid\":326/\"pid\":\"326\"/; s/^{/{\"extra\":1,/" | "$REPO/test/tools/check-json-schema.py" >/dev/null'
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
	want='bindguard-status: iommu group 1 holds protected device 0000:00:01.0 (fix: echo 0000:00:01.0 > /sys/kernel/bindguard/unprotect; warning: that lets vfio-pci, pci-stub and a sysfs unbind take 0000:00:01.0 from the host)'
	st_check "--check of a protected group without listed (an older module): exit 1, the protected device (sysfs protect) and the write that lifts it" \
		eval '[[ $rc == 1 && $out == "$want" ]] || { echo "$rc: $out"; false; }'
	st_check "--json and --metrics of a protected group: its state, the protected gauge" \
		eval 'st_tool --json | grep -q "{\"group\":1,\"state\":\"protected\",\"pid\":null,\"comm\":null,\"since\":null," &&
			st_tool --metrics "$work/protected-$set.prom" &&
			grep -qx "bindguard_groups{state=\"protected\"} 1" "$work/protected-$set.prom"'
	st_metrics_checks
	st_listed_checks
	st_fleet_checks
	st_schema_checks
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

# $work/sys, $work/proc: the host the tool reads (BINDGUARD_SYSFS,
# BINDGUARD_PROC): bindguard 0.1.4~rc1+deb12u1 loaded in mode enforce, a
# kernel 6.1, three devices on vfio drivers (vfio-pci and a variant) and
# one on e1000; $work/sys-unloaded the same without bindguard
mkdir -p "$work/sys/module/bindguard/parameters" "$work/proc/sys/kernel" "$work/sys/bus/pci/drivers/e1000"
echo '0.1.4~rc1+deb12u1' >"$work/sys/module/bindguard/version"
echo enforce >"$work/sys/module/bindguard/parameters/mode"
echo 6.1.0-18-amd64 >"$work/proc/sys/kernel/osrelease"
for f in vfio-pci/0000:06:00.0 vfio-pci/0000:07:00.0 mlx5_vfio_pci/0000:0a:00.2 e1000/0000:06:00.1; do
	mkdir -p "$work/sys/bus/pci/drivers/${f%/*}"
	ln -s "../../../../devices/pci0000:00/${f#*/}" "$work/sys/bus/pci/drivers/$f"
done
: >"$work/sys/bus/pci/drivers/vfio-pci/new_id"
cp -a "$work/sys" "$work/sys-unloaded"
rm -rf "$work/sys-unloaded/module/bindguard"

# fx/fleet: fx/listed with debugfs events (302 recorded, 4 kept) and hooks
mkdir "$work/fx/fleet"
cp "$work/fx/listed/"* "$work/fx/fleet/"
cat >"$work/fx/fleet/events" <<'EOF'
# bindguard-events 3
# 298 older events dropped
[7.012345] group=6 user pid=326 comm=qemu-system-x86
[7.201180] group=6 refused dev=0000:06:00.1 driver=e1000 pid=326 comm=qemu-system-x86
[8.277485] group=6 not-viable dev=0000:06:00.1 driver=e1000 pid=326 comm=qemu-system-x86
[9.100000] group=4 audit dev=0000:00:05.0 driver=e1000 pid=412 comm=sh
EOF
cat >"$work/fx/fleet/hooks" <<'EOF'
# bindguard-hooks 1
# function kind missed
really_probe veto -
unbind_store unbind -
iommu_group_claim_dma_owner claim 0
iommu_group_release_dma_owner release 3
EOF
cat >"$work/want-fleet.prom" <<'EOF'
# HELP bindguard_loaded Whether the bindguard module is loaded (1) or not (0).
# TYPE bindguard_loaded gauge
bindguard_loaded 1
# HELP bindguard_vfio_devices PCI devices bound to a vfio driver (vfio-pci and its variants).
# TYPE bindguard_vfio_devices gauge
bindguard_vfio_devices 3
# HELP bindguard_info The loaded bindguard: its version, its mode and the running kernel.
# TYPE bindguard_info gauge
bindguard_info{version="0.1.4~rc1+deb12u1",mode="enforce",kernel="6.1.0-18-amd64"} 1
# HELP bindguard_debugfs_readable Whether bindguard-status reads the formats of the loaded module's debugfs files (0: the tool and the module are of versions that do not match, as after an upgrade before the reboot; the series from debugfs are left out).
# TYPE bindguard_debugfs_readable gauge
bindguard_debugfs_readable 1
# HELP bindguard_groups IOMMU groups with a PCI device, by state (user: owned through VFIO).
# TYPE bindguard_groups gauge
bindguard_groups{state="user"} 1
bindguard_groups{state="reserved"} 1
bindguard_groups{state="protected"} 1
bindguard_groups{state="kernel"} 3
# HELP bindguard_groups_not_viable IOMMU groups a member's host driver keeps from being claimed.
# TYPE bindguard_groups_not_viable gauge
bindguard_groups_not_viable 4
# HELP bindguard_listed Entries of reserve and protect, by whether the device at that address now is the one listed (applies), another (drift) or none (absent).
# TYPE bindguard_listed gauge
bindguard_listed{list="reserve",state="applies"} 1
bindguard_listed{list="reserve",state="drift"} 1
bindguard_listed{list="reserve",state="absent"} 1
bindguard_listed{list="protect",state="applies"} 1
bindguard_listed{list="protect",state="drift"} 1
bindguard_listed{list="protect",state="absent"} 1
# HELP bindguard_binds_refused_total Kernel-driver binds refused (audit: recorded) in an IOMMU group since bindguard loaded; starts again at 0 when the group goes and comes back.
# TYPE bindguard_binds_refused_total counter
bindguard_binds_refused_total{group="3"} 0
bindguard_binds_refused_total{group="4"} 2
bindguard_binds_refused_total{group="6"} 1
bindguard_binds_refused_total{group="7"} 0
bindguard_binds_refused_total{group="8"} 0
bindguard_binds_refused_total{group="9"} 0
# HELP bindguard_events_total Events recorded since bindguard loaded, every type (debugfs events: those in its ring and those dropped from it).
# TYPE bindguard_events_total counter
bindguard_events_total 302
# HELP bindguard_recent_events Events of a type among the last 256 kept (the debugfs events ring: goes down as they are dropped, not a counter).
# TYPE bindguard_recent_events gauge
bindguard_recent_events{type="refused"} 1
bindguard_recent_events{type="audit"} 1
bindguard_recent_events{type="claim-refused"} 0
bindguard_recent_events{type="not-viable"} 1
bindguard_recent_events{type="unbind-refused"} 0
# HELP bindguard_kretprobe_missed_total Calls a kretprobe of bindguard missed since it was armed (debugfs hooks).
# TYPE bindguard_kretprobe_missed_total counter
bindguard_kretprobe_missed_total{function="iommu_group_claim_dma_owner",kind="claim"} 0
bindguard_kretprobe_missed_total{function="iommu_group_release_dma_owner",kind="release"} 3
EOF
cat >"$work/want-fleet.nfd" <<'EOF'
# bindguard on this host, for Node Feature Discovery (bindguard-status --nfd)
# +expiry-time=2023-11-14T22:18:20Z
bindguard.io/loaded=true
bindguard.io/version=0.1.4-rc1_deb12u1
bindguard.io/mode=enforce
bindguard.io/protection=kernel
EOF

# promtool (Debian's prometheus package) checks the metrics too, if here;
# python3-jsonschema the --json against its schema
promtool=${BG_PROMTOOL:-$(command -v promtool || true)}
[[ -n $promtool ]] || st_report skip "promtool check metrics of every metrics file" \
	"no promtool (apt-get install prometheus, or BG_PROMTOOL=PATH): the strict checker alone"
schema_ok=$(python3 -c 'import jsonschema; print(1)' 2>/dev/null || true)

for_each_awk st_set st_report

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
