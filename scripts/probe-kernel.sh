#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# probe-kernel.sh KDIR SRCDIR
#
# Compiles every feature probe in SRCDIR/src/compat/probes/*.c against the
# kernel headers in KDIR (one kbuild run, all probes in parallel, OpenZFS
# style) and writes SRCDIR/.probes/<kernelrelease>/probes.h with one
# `#define HAVE_<NAME> 1` per probe that compiled, and one
# `#define HAVE_EXPORT_<SYMBOL> 1` per symbol listed in
# src/compat/probes/exports that KDIR's Module.symvers exports, and one
# `#define HAVE_<NAME> 1` per line "NAME MAJOR.MINOR" of
# src/compat/probes/versions (a behaviour change no header shows) that KDIR's
# version reaches.
# include/compat.h maps the HAVE_* names to one API; the module's code never
# tests kernel versions.
#
# Probes compile with -Werror added to KCFLAGS (and with whatever the calling
# make passes down: W=1 from test/kernel/check-build.sh), as on a CONFIG_WERROR=y
# kernel, so a probe must compile warning-free when its API exists: static
# functions and variables marked __used, no missing prototypes.
#
# A probe that fails for another reason than the missing API would silently
# select the other code path. So each probe declares the mainline version
# that brought its API, and a probe that fails on a kernel that is at least
# that new stops the build with its compiler log instead:
#
#   probes/NAME.c   exactly one line ` * Since: MAJOR.MINOR` in its header
#                   comment (e.g. ` * Since: 5.19`);
#   probes/exports  one symbol a line followed by the version that exports it,
#                   `SYMBOL MAJOR.MINOR` (e.g. `ftrace_free_filter 6.2`); a
#                   backport (6.1.y) may export it earlier, which is fine.
#
# A probe without its Since is an error too. The target's version is the
# MAJOR.MINOR that UTS_RELEASE (include/generated/utsrelease.h) starts with,
# else LINUX_VERSION_CODE, else the Makefile's VERSION and PATCHLEVEL.
# Exit status 1 (and no probes.h) on any such error.
set -euo pipefail

kdir=$1
srcdir=$(cd "$2" && pwd)
# The release kbuild builds for (KERNELRELEASE), e.g. 6.1.0-56-amd64.
krel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h")
out=$srcdir/.probes/$krel
probes=("$srcdir"/src/compat/probes/*.c)
exports=$srcdir/src/compat/probes/exports
versions=$srcdir/src/compat/probes/versions

die() { echo "bindguard: $*" >&2; exit 1; }

# kversion: the target's MAJOR.MINOR
kversion() {
	local v code mk
	if [[ $krel =~ ^([0-9]+)\.([0-9]+) ]]; then
		echo "${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
		return
	fi
	v=$kdir/include/generated/uapi/linux/version.h
	code=$(sed -n 's/^#define LINUX_VERSION_CODE \([0-9]*\)$/\1/p' "$v" 2>/dev/null || true)
	if [[ -n $code ]]; then
		echo "$((code >> 16)).$(((code >> 8) & 255))"
		return
	fi
	# Debian's -amd64 headers Makefile includes the -common one
	mk=$kdir/Makefile
	if ! grep -q '^VERSION *=' "$mk" 2>/dev/null; then
		mk=$(sed -n 's/^include \(.*\/Makefile\)$/\1/p' "$mk" 2>/dev/null | head -n1)
	fi
	v=$(sed -n 's/^VERSION *= *\([0-9]*\)$/\1/p' "$mk" 2>/dev/null || true)
	code=$(sed -n 's/^PATCHLEVEL *= *\([0-9]*\)$/\1/p' "$mk" 2>/dev/null || true)
	[[ -n $v && -n $code ]] || die "cannot tell the version of the kernel in $kdir (no UTS_RELEASE, LINUX_VERSION_CODE or Makefile VERSION)"
	echo "$v.$code"
}

# vnum MAJOR.MINOR: a number that compares like the version
vnum() { echo $((${1%%.*} * 1000 + ${1#*.})); }

# since PROBE.c: the MAJOR.MINOR of its ` * Since: ` line
since() {
	local s
	s=$(sed -n 's/^ \* Since: \([0-9]\{1,\}\.[0-9]\{1,\}\)$/\1/p' "$1")
	[[ -n $s && $s != *$'\n'* ]] ||
		die "feature probe ${1#"$srcdir"/} must declare the kernel version its API appeared in: exactly one line ' * Since: MAJOR.MINOR' in its header comment (see scripts/probe-kernel.sh)"
	echo "$s"
}

# versioned_list FILE NAME-REGEX WANT: FILE's "NAME MAJOR.MINOR" lines
# (comments and blank lines skipped); any other line stops, saying WANT
versioned_list() {
	local name ver rest
	{ grep -v '^[[:space:]]*#' "$1" || true; } | while read -r name ver rest; do
		[[ -n $name ]] || continue
		[[ $name =~ $2 && $ver =~ ^[0-9]+\.[0-9]+$ && -z $rest ]] ||
			die "${1#"$srcdir"/}: '$name $ver $rest': want '$3'"
		echo "$name $ver"
	done
}

# Reuse the result unless a probe, the exports, the versions or this script
# is newer.
if [ -f "$out/probes.h" ]; then
	stale=0
	for p in "${probes[@]}" "$exports" "$versions" "${BASH_SOURCE[0]}"; do
		[ "$p" -nt "$out/probes.h" ] && stale=1
	done
	[ $stale = 0 ] && exit 0
fi

kver=$(kversion)
declare -A need
for p in "${probes[@]}"; do
	need[$p]=$(since "$p")
done
syms=$(versioned_list "$exports" '.' "SYMBOL MAJOR.MINOR (the version that exports it)")
vprobes=$(versioned_list "$versions" '^[a-z0-9_]+$' "NAME MAJOR.MINOR")

# -Werror on top of the caller's KCFLAGS (make exports its command line)
kcflags=${KCFLAGS:-}
[[ " $kcflags " == *" -Werror "* ]] || kcflags="${kcflags:+$kcflags }-Werror"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for p in "${probes[@]}"; do
	cp "$p" "$work/"
	echo "obj-m += $(basename "$p" .c).o" >>"$work/Kbuild"
done
# A probe that must compile: if it does not, the toolchain is broken and
# every HAVE_* would silently read "absent".
printf '#include <linux/module.h>\n\nstatic int probe_baseline __used;\n' >"$work/baseline.c"
echo "obj-m += baseline.o" >>"$work/Kbuild"
# Objects are all we need: -k lets every probe finish; modpost may complain.
make -s -k -j"$(nproc)" -C "$kdir" M="$work" KCFLAGS="$kcflags" modules >"$work/log" 2>&1 || true
if [ ! -f "$work/baseline.o" ]; then
	echo "bindguard: feature probes cannot compile against $kdir (KCFLAGS=$kcflags):" >&2
	tail -20 "$work/log" >&2
	exit 1
fi

mkdir -p "$out"
rm -f "$out/probes.h"
cp "$work/log" "$out/probes.log"
# A probe that fails where its API must exist: its own log, one paragraph.
bad=0
for p in "${probes[@]}"; do
	name=$(basename "$p" .c)
	[ -f "$work/$name.o" ] && continue
	(($(vnum "$kver") >= $(vnum "${need[$p]}"))) || continue
	make -s -C "$kdir" M="$work" KCFLAGS="$kcflags" "$name.o" >"$out/$name.log" 2>&1 || true
	{
		echo "bindguard: feature probe src/compat/probes/$name.c failed to compile against" \
			"$krel ($kdir), a $kver kernel, but its API is in every kernel since ${need[$p]}" \
			"(its 'Since: ${need[$p]}'): the probe or the toolchain is broken, and building on" \
			"would silently take the pre-${need[$p]} code path. KCFLAGS=$kcflags;" \
			"the compiler said (all of it in $out/$name.log):"
		grep -v -e '^make\(\[[0-9]*\]\)\?: ' -e '^[[:space:]]*$' "$out/$name.log" | head -n 12 | sed 's/^/    /'
	} >&2
	bad=1
done
while read -r sym ver; do
	[[ -n $sym ]] || continue
	grep -qP "^\S+\t$sym\t" "$kdir/Module.symvers" 2>/dev/null && continue
	(($(vnum "$kver") >= $(vnum "$ver"))) || continue
	echo "bindguard: export probe $sym (src/compat/probes/exports): $kdir/Module.symvers of $krel," \
		"a $kver kernel, does not export it, but every kernel since $ver does: the headers" \
		"are incomplete (no or a stale Module.symvers?)." >&2
	bad=1
done <<<"$syms"
((bad == 0)) || exit 1

{
	echo "/* Generated by scripts/probe-kernel.sh for $krel. Do not edit. */"
	for p in "${probes[@]}"; do
		name=$(basename "$p" .c)
		if [ -f "$work/$name.o" ]; then
			echo "#define HAVE_${name^^} 1"
		else
			echo "/* HAVE_${name^^} not set */"
		fi
	done
	while read -r sym ver; do
		[[ -n $sym ]] || continue
		if grep -qP "^\S+\t$sym\t" "$kdir/Module.symvers"; then
			echo "#define HAVE_EXPORT_${sym^^} 1"
		else
			echo "/* HAVE_EXPORT_${sym^^} not set */"
		fi
	done <<<"$syms"
	while read -r name ver; do
		[[ -n $name ]] || continue
		if (($(vnum "$kver") >= $(vnum "$ver"))); then
			echo "#define HAVE_${name^^} 1"
		else
			echo "/* HAVE_${name^^} not set */"
		fi
	done <<<"$vprobes"
} >"$out/probes.h.tmp"
mv "$out/probes.h.tmp" "$out/probes.h"
echo "  PROBES  $krel: $(grep -c "^#define" "$out/probes.h") HAVE_* set" >&2
