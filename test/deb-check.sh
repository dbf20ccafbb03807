#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deb-check.sh - install the bindguard-dkms package, as a user would, in a
# minimal chroot of each Debian release it supports, and purge it again.
#
# Usage: test/deb-check.sh [--chroots-only | --build-only] [SUITE...]
#                                    (SUITE: bullseye bookworm trixie; all by default)
#
# First the package is built both ways a user can: `make deb` in this git
# checkout, and `make deb` in the `make dist` tarball unpacked into a
# directory of /tmp with no .git (git is kept from finding any repository:
# GIT_DIR points nowhere). Checks: both builds succeed, and make deb ran
# lintian on each (--fail-on error,warning: clean); the tarball's MANIFEST
# lists exactly the files the tarball holds; `dpkg-deb -c` of the two
# packages is the same but for the times (names, modes, owners, sizes, link
# targets). Logs in $BG_WORK/logs/deb-check/build-{git,dist,tarball}.log.
# --build-only stops there. (Needs a git checkout; from an unpacked tarball
# this part is left out with a comment line.)
#
# The package is the newest bindguard-dkms_*_all.deb in $BG_DEB_DIR (default
# build/deb, where `make deb` leaves it); BG_DEB=FILE names one instead.
#
# For each suite, a chroot is made once and cached in
# $BG_CACHE/deb-chroots/SUITE (test/lib/chroot.sh's chroot_debootstrap, with
# apt's default of installing recommends): debootstrap --variant=minbase, then apt-get
# install --no-install-recommends linux-headers-amd64 gcc make libc6-dev kmod
# from the suite, its -updates and -security (what a DKMS build needs; dkms
# itself and openssl are NOT there: the package must pull them in). Then:
#   apt-get install ./bindguard-dkms_*.deb   (recommends as apt's default)
# and the checks: the package's own maintainer scripts made DKMS build and
# install bindguard for the suite's kernel (the headers' kernel release:
# `dkms status` says installed, the .ko is in /lib/modules/KVER/updates/dkms,
# `modinfo -F version` is the package's version; dkms 3 signed it with its
# MOK key, `modinfo -F signer`, since the package pulls in openssl), the DKMS tree
# /usr/src/bindguard-VER holds only the module's sources, the boot and
# modprobe files are in place, bindguard-protect.service is installed and
# enabled and its prerm stops it at removal, bindguard-metrics.timer is
# installed and enabled (its service installed, enabled by nothing), the
# prerm stops the timer, bindguard-status run as the unit runs it writes
# bindguard_loaded 0 and bindguard.io/loaded=false, and `apt-get remove`
# deletes those files (and a leftover temporary file, not another file of
# the directory), bindguard-protect-boot says in
# one line that bindguard is not loaded, /etc/default/bindguard is a
# conffile with every setting commented out; `apt-get install --reinstall` (the upgrade
# path: prerm upgrade removes it from DKMS, postinst builds it again) leaves it
# installed; the postinst's own part (after dh_dkms's), played on a "host" with
# stand-ins for ischroot,
# systemd-detect-virt and `uname -r` (the headers' kernel): it calls
# `modprobe bindguard` (refused by the wrapper below: the postinst warns and
# succeeds), not when /etc/modules-load.d/bindguard.conf is /dev/null, and
# not when a bindguard is loaded (a fake /sys/module/bindguard in the chroot),
# and runs `update-initramfs -u` (a stand-in) only when bindguard is in
# /etc/initramfs-tools/modules;
# the maintainer scripts loaded or unloaded nothing (inside a chroot
# `uname -r` is the host's kernel: modprobe/insmod/rmmod are wrapped in
# /usr/local/sbin to log and refuse any bindguard call, and the host's
# /proc/modules has no bindguard before or after); then
#   apt-get purge bindguard-dkms
# leaves no bindguard.ko under any /lib/modules, an empty `dkms status`, no
# /usr/src/bindguard-*, no /etc/modprobe.d/bindguard.conf, no
# /etc/default/bindguard and no unit, timer or enabling link. dkms must print
# no deprecation warning in either step. `apt-get autoremove --purge` then
# removes dkms and what only it needed (the chroot is reused as it is).
#
# One line per check, numbered across suites: "ok N - trixie: ..." or
# "not ok N - trixie: ...", "# ..." comments (times: each suite's chroot
# creation when it was made, cold, and each suite's checks), and at the end
# "N passed, N failed". Exit status 1 if any check failed. Logs in
# $BG_WORK/logs/deb-check/SUITE-{install,purge}.log.
#
# --chroots-only makes the chroots (if not cached) and stops; --build-only
# runs the two builds and their checks, and stops.
#
# Commands in a chroot run as on a user's system: test/lib/chroot.sh run
# --env-i --no-cache (none of the caller's environment but PATH, HOME, the
# proxies, LC_ALL=C.UTF-8 and DEBIAN_FRONTEND=noninteractive; no $BG_CACHE
# inside).
#
# Runs its commands under `nice -n ${BG_NICE:-10}`. Needs root, debootstrap,
# unshare (util-linux) and network access to the Debian mirror the host's
# apt sources name (test/apt-mirror.sh; BG_DEBIAN_MIRROR and
# BG_DEBIAN_SECURITY_MIRROR override it). Never boots or loads anything.
#
# Environment: BG_CACHE (default /var/cache/bindguard), BG_DEB, BG_DEB_DIR,
# BG_NICE.
set -euo pipefail

if [[ -z ${BG_DEB_CHECK_NICED:-} ]]; then
	export BG_DEB_CHECK_NICED=1
	exec nice -n "${BG_NICE:-10}" "$0" "$@"
fi
. "$(dirname "$0")/lib/chroot.sh"

CHROOTS_ONLY=0 BUILD_ONLY=0
if [[ ${1:-} == --chroots-only ]]; then
	CHROOTS_ONLY=1
	shift
elif [[ ${1:-} == --build-only ]]; then
	BUILD_ONLY=1
	shift
fi
[[ ${1:-} == -* ]] && usage
SUITES=("$@")
((${#SUITES[@]})) || SUITES=(bullseye bookworm trixie)
for s in "${SUITES[@]}"; do
	case $s in
	bullseye | bookworm | trixie) ;;
	*) die "unknown suite '$s' (want bullseye, bookworm or trixie)" ;;
	esac
done

LOGS=$BG_WORK/logs/deb-check
mkdir -p "$LOGS" "$BG_CACHE/deb-chroots"

# in_chroot DIR CMD...: CMD in DIR as on a user's system, with /proc and /dev
# mounted in a private mount namespace (gone when CMD exits), a clean
# environment and no $BG_CACHE inside.
in_chroot() {
	chroot_run --env-i --no-cache "$1" \
		env LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${@:2}"
}

# make_chroot SUITE: the cached chroot's directory in $chroot, made if needed
# (its creation time in seconds in $made_in, empty when cached).
chroot= made_in=
make_chroot() {
	local suite=$1 dir=$BG_CACHE/deb-chroots/$1 logf=$LOGS/$1-debootstrap.log t0 mirror security st=
	chroot=$dir made_in=
	exec 8>"$BG_CACHE/deb-chroots/.$suite.lock"
	flock 8
	# a chroot an interrupted run left dirty (dpkg interrupted, or the
	# package still there) is made again. Triggers left pending (bullseye's
	# apt leaves libc-bin's after the autoremove below) are no
	# interruption: dpkg processes them first, as the next dpkg run on a
	# user's system does.
	if [[ -e $dir/.complete ]]; then
		in_chroot "$dir" dpkg --triggers-only --pending >/dev/null 2>&1 || true
		st=$(in_chroot "$dir" dpkg-query -W -f='${db:Status-Status}' bindguard-dkms 2>/dev/null || true)
		if [[ -n $(in_chroot "$dir" dpkg --audit 2>&1) || (-n $st && $st != not-installed) ]]; then
			log "the cached $suite chroot was left dirty by an interrupted run (dpkg --audit, or bindguard-dkms still there): made again"
			rm -rf --one-file-system "$dir"
		fi
	fi
	if [[ ! -e $dir/.complete ]]; then
		mirror=$(apt_mirror) && security=$(apt_mirror security) || return 1
		t0=$(date +%s)
		: >"$logf"
		# apt's defaults but for translations (recommends installed, as
		# on a user's system); no daemon may start; the host's resolver
		chroot_debootstrap --recommends "$suite" "$dir" "$logf" || return 1
		printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
			"$mirror" "$suite" "$mirror" "$suite" "$security" "$suite" >"$dir/etc/apt/sources.list"
		log "installing the $suite kernel headers and compiler"
		in_chroot "$dir" sh -c 'apt-get -q update && apt-get -q -y --no-install-recommends install linux-headers-amd64 gcc make libc6-dev kmod && apt-get clean' \
			>>"$logf" 2>&1 ||
			{ log "installing the build packages failed in the $suite chroot (log: $logf)"; return 1; }
		# modprobe, insmod and rmmod log every call; a bindguard one is
		# refused (it would reach the host's kernel)
		for t in modprobe insmod rmmod; do
			cat >"$dir/usr/local/sbin/$t" <<-'WRAP'
			#!/bin/sh
			echo "${0##*/} $*" >>/var/log/deb-check.modcalls
			case " $* " in *bindguard*) echo "deb-check: refused in the chroot: ${0##*/} $*" >&2; exit 1 ;; esac
			exec "/sbin/${0##*/}" "$@"
			WRAP
			chmod 0755 "$dir/usr/local/sbin/$t"
		done
		made_in=$(($(date +%s) - t0))
		touch "$dir/.complete"
	fi
	# fd 8 stays locked while the caller uses the chroot (released by
	# the next make_chroot's exec 8>, or at exit)
}

passed=0 failed=0 n=0
deb_result() { # deb_result OK|FAIL TEXT
	n=$((n + 1))
	if [[ $1 == OK ]]; then
		passed=$((passed + 1))
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
	fi
}
to_log() { # to_log FILE CMD...: CMD with its output in FILE
	local f=$1
	shift
	"$@" >"$f" 2>&1
}
check() { # check TEXT CMD...: one result for CMD's exit status
	local text=$1
	shift
	if "$@"; then deb_result OK "$text"; else deb_result FAIL "$text"; fi
}

if ((CHROOTS_ONLY)); then
	for s in "${SUITES[@]}"; do
		make_chroot "$s" || exit 1
		[[ -n $made_in ]] && echo "# $s: chroot made in ${made_in}s" || echo "# $s: chroot cached"
	done
	exit 0
fi

# debs_list DEB: `dpkg-deb -c` without the date and time columns
debs_list() {
	dpkg-deb -c "$1" | awk '{ $4 = ""; $5 = ""; print }'
}

# build_both: the package from the git checkout and from the unpacked
# `make dist` tarball (no .git), compared.
build_both() {
	local tmp v up name glog=$LOGS/build-git.log dlog=$LOGS/build-dist.log tlog=$LOGS/build-tarball.log
	local gdeb tdeb listed held d
	if [[ ! -e $REPO/.git ]]; then
		echo "# $REPO is not a git checkout: the git and tarball builds are not compared"
		return 0
	fi
	tmp=$(mktemp -d /tmp/deb-check.XXXXXX)
	v=$(dpkg-parsechangelog -l "$REPO/debian/changelog" -S Version)
	v=${v#*:} up=${v%-*}
	name=bindguard-$up
	gdeb=$tmp/git/bindguard-dkms_${v}_all.deb
	check "make deb in the git checkout: built, lintian clean (log: $glog)" \
		sh -c "make -C '$REPO' deb DEB_OUT='$tmp/git' >'$glog' 2>&1 && test -f '$gdeb'"
	if to_log "$dlog" make -C "$REPO" dist DIST_OUT="$tmp" &&
		mkdir "$tmp/src" && tar -C "$tmp/src" -xzf "$tmp/$name.tar.gz" >>"$dlog" 2>&1; then
		listed=$(LC_ALL=C sort "$tmp/src/$name/MANIFEST" 2>/dev/null || true)
		held=$(tar -tzf "$tmp/$name.tar.gz" | grep -v '/$' | sed "s|^$name/||" | LC_ALL=C sort)
		d=$(diff <(echo "$listed") <(echo "$held") || true)
		check "make dist: $name.tar.gz, its MANIFEST lists exactly its $(wc -l <<<"$held") files, no .git (log: $dlog)" \
			test -n "$listed" -a -z "$d" -a ! -e "$tmp/src/$name/.git"
		[[ -z $d ]] || sed 's/^/# MANIFEST vs tarball: /' <<<"$d"
	else
		deb_result FAIL "make dist: $name.tar.gz made and unpacked (log: $dlog)"
	fi
	tdeb=$tmp/src/$name/build/deb/bindguard-dkms_${v}_all.deb
	check "make deb in the unpacked tarball without .git: built, lintian clean (log: $tlog)" \
		sh -c "cd '$tmp/src/$name' 2>/dev/null && GIT_DIR='$tmp/no-git' make deb >'$tlog' 2>&1 && test -f '$tdeb'"
	if [[ -f $gdeb && -f $tdeb ]]; then
		d=$(diff <(debs_list "$gdeb") <(debs_list "$tdeb") || true)
		check "dpkg-deb -c: both packages hold the same $(debs_list "$gdeb" | wc -l) entries, names, modes, owners and sizes (times ignored)" \
			test -z "$d"
		[[ -z $d ]] || sed 's/^/# git vs tarball: /' <<<"$d"
	else
		deb_result FAIL "dpkg-deb -c: both packages hold the same entries (a build failed)"
	fi
	rm -rf "$tmp"
}

build_both
if ((BUILD_ONLY)); then
	echo "$passed passed, $failed failed"
	((failed == 0))
	exit
fi

DEB=${BG_DEB:-}
if [[ -z $DEB ]]; then
	DEB_DIR=${BG_DEB_DIR:-$REPO/build/deb}
	DEB=$(ls -t "$DEB_DIR"/bindguard-dkms_*_all.deb 2>/dev/null | head -n1 || true)
	[[ -n $DEB ]] || die "no bindguard-dkms_*_all.deb in $DEB_DIR (make deb first)"
fi
[[ -f $DEB ]] || die "no such package: $DEB"
DEB=$(readlink -f "$DEB")
DEBVER=$(dpkg-deb -f "$DEB" Version)
MODVER=${DEBVER#*:}
MODVER=${MODVER%-*} # the upstream version: what dh_dkms -V puts in dkms.conf
echo "# package $(basename "$DEB") (module version $MODVER)"

# host_mods: bindguard lines of the host's /proc/modules ("-" if the host
# kernel has no module support at all)
host_mods() {
	if [[ -r /proc/modules ]]; then
		grep '^bindguard ' /proc/modules || true
	else
		echo -
	fi
}

for s in "${SUITES[@]}"; do
	t0=$(date +%s)
	host_before=$(host_mods)
	if ! make_chroot "$s"; then
		deb_result FAIL "$s: chroot (log: $LOGS/$s-debootstrap.log)"
		continue
	fi
	dir=$chroot
	if [[ -n $made_in ]]; then
		temp="cold chroot: made in ${made_in}s"
	else
		temp="warm chroot"
	fi
	# the kernel the headers are for: linux-headers-amd64 depends on
	# linux-headers-KVER
	kver=$(in_chroot "$dir" dpkg-query -W -f '${Depends}' linux-headers-amd64 |
		sed -nE 's/^linux-headers-([^ ,]+).*/\1/p')
	echo "# $s: $(in_chroot "$dir" cat /etc/debian_version), kernel headers $kver"

	# what an interrupted run may have left
	in_chroot "$dir" sh -c 'if dpkg -s bindguard-dkms >/dev/null 2>&1; then apt-get -q -y purge bindguard-dkms; fi' \
		>"$LOGS/$s-leftover.log" 2>&1 || true
	rm -f "$dir"/tmp/bindguard-dkms_*.deb "$dir"/var/log/deb-check.modcalls* \
		"$dir"/usr/local/bin/{ischroot,systemd-detect-virt,uname} "$dir/etc/modules-load.d/bindguard.conf"
	rm -rf "$dir/sys/module/bindguard"
	cp "$DEB" "$dir/tmp/"
	ilog=$LOGS/$s-install.log plog=$LOGS/$s-purge.log
	check "$s: apt-get install ./$(basename "$DEB") (log: $ilog)" \
		to_log "$ilog" in_chroot "$dir" sh -c "apt-get -q update && apt-get -q -y install /tmp/$(basename "$DEB")"
	dkmsver=$(in_chroot "$dir" dpkg-query -W -f '${Version}' dkms 2>/dev/null || echo none)
	echo "# $s: dkms $dkmsver"
	status=$(in_chroot "$dir" dkms status 2>&1 || true)
	echo "$status" | sed "s/^/# $s: dkms status: /"
	check "$s: dkms status: bindguard/$MODVER installed for $kver" \
		grep -qxF -e "bindguard/$MODVER, $kver, x86_64: installed" \
			-e "bindguard, $MODVER, $kver, x86_64: installed" <<<"$status"
	ko=$(cd "$dir" && ls lib/modules/"$kver"/updates/dkms/bindguard.ko* 2>/dev/null | head -n1 || true)
	check "$s: /${ko:-lib/modules/$kver/updates/dkms/bindguard.ko} is there" test -n "$ko"
	modver=$( [[ -z $ko ]] || in_chroot "$dir" modinfo -F version "/$ko" 2>/dev/null || true)
	check "$s: modinfo -F version: '$modver', the package's '$MODVER'" test "$modver" = "$MODVER"
	signer=$( [[ -z $ko ]] || in_chroot "$dir" modinfo -F signer "/$ko" 2>/dev/null || true)
	if [[ $s == bullseye ]]; then
		echo "# $s: modinfo -F signer: '$signer' (dkms 2.8 signs nothing)"
	else
		check "$s: signed by DKMS's own key (modinfo -F signer: '$signer'): the package pulled in openssl" \
			test -n "$signer"
	fi
	srcfiles=$(cd "$dir/usr/src" 2>/dev/null && find "bindguard-$MODVER" -type f | sort || true)
	extra=$(grep -vE "^bindguard-$MODVER/(src/.*\.[ch]|src/compat/probes/(exports|versions)|include/.*\.h|Kbuild|Makefile|dkms\.conf|scripts/(check|probe)-kernel\.sh)$" <<<"$srcfiles" || true)
	check "$s: /usr/src/bindguard-$MODVER holds only the module's sources ($(wc -l <<<"$srcfiles") files)${extra:+; not: $(echo $extra)}" \
		test -n "$srcfiles" -a -z "$extra"
	check "$s: dkms.conf says PACKAGE_VERSION=\"$MODVER\"" \
		grep -qx "PACKAGE_VERSION=\"$MODVER\"" "$dir/usr/src/bindguard-$MODVER/dkms.conf"
	# (the host's /sys/module has no bindguard: the tool says so, exit 2)
	check "$s: /usr/sbin/bindguard-status runs: exit 2, 'bindguard is not loaded'" \
		sh -c "out=\$(chroot '$dir' /usr/sbin/bindguard-status 2>&1); test \$? = 2 && test \"\$out\" = 'bindguard-status: bindguard is not loaded (modprobe bindguard)'"
	check "$s: /usr/lib/modules-load.d/bindguard.conf loads bindguard at boot" \
		grep -qx bindguard "$dir/usr/lib/modules-load.d/bindguard.conf"
	# the unit: installed and enabled (deb-systemd-helper makes the link
	# without a running systemd); the script finds no bindguard (none in
	# the chroot's /sys): one line, exit 0
	unit=$(cd "$dir" && ls -d lib/systemd/system/bindguard-protect.service usr/lib/systemd/system/bindguard-protect.service 2>/dev/null | head -n1 || true)
	check "$s: bindguard-protect.service is installed (/${unit:-lib/systemd/system/bindguard-protect.service}) and enabled (multi-user.target.wants)" \
		sh -c "test -n '$unit' && t=\$(readlink '$dir/etc/systemd/system/multi-user.target.wants/bindguard-protect.service') &&
			case \$t in /lib/systemd/system/bindguard-protect.service | /usr/lib/systemd/system/bindguard-protect.service) test -f '$dir'\$t ;; *) false ;; esac"
	check "$s: the prerm stops bindguard-protect.service at removal" \
		grep -q "deb-systemd-invoke stop 'bindguard-protect.service'" "$dir/var/lib/dpkg/info/bindguard-dkms.prerm"
	# bindguard-metrics.timer: installed and enabled, its service
	# installed and enabled by nothing (only the timer starts it)
	mtimer=$(cd "$dir" && ls -d lib/systemd/system/bindguard-metrics.timer usr/lib/systemd/system/bindguard-metrics.timer 2>/dev/null | head -n1 || true)
	check "$s: bindguard-metrics.timer is installed (/${mtimer:-lib/systemd/system/bindguard-metrics.timer}) and enabled (timers.target.wants), its service installed, not enabled" \
		sh -c "test -n '$mtimer' && t=\$(readlink '$dir/etc/systemd/system/timers.target.wants/bindguard-metrics.timer') &&
			case \$t in /lib/systemd/system/bindguard-metrics.timer | /usr/lib/systemd/system/bindguard-metrics.timer) test -f '$dir'\$t ;; *) false ;; esac &&
			test -f '$dir/${mtimer%.timer}.service' && ! ls '$dir'/etc/systemd/system/*.wants/bindguard-metrics.service 2>/dev/null"
	check "$s: the prerm stops bindguard-metrics.timer at removal, the postinst (re)starts it" \
		sh -c "grep -q \"deb-systemd-invoke stop 'bindguard-metrics.timer'\" '$dir/var/lib/dpkg/info/bindguard-dkms.prerm' &&
			grep -q \"deb-systemd-invoke \\\$_dh_action 'bindguard-metrics.timer'\" '$dir/var/lib/dpkg/info/bindguard-dkms.postinst'"
	# what the service writes (the chroot has no systemd to run it): the
	# tool itself, as the unit runs it, into the two directories made here
	mkdir -p "$dir/var/lib/prometheus/node-exporter" "$dir/etc/kubernetes/node-feature-discovery/features.d"
	in_chroot "$dir" /usr/sbin/bindguard-status --if-dir-exists \
		--metrics /var/lib/prometheus/node-exporter/bindguard.prom \
		--nfd /etc/kubernetes/node-feature-discovery/features.d/bindguard >"$LOGS/$s-metrics.log" 2>&1 && rc=0 || rc=$?
	check "$s: bindguard-status as the unit runs it (bindguard not loaded): exit $rc, bindguard_loaded 0 in the textfile directory, loaded=false in features.d (log: $LOGS/$s-metrics.log)" \
		sh -c "test $rc = 0 && grep -qx 'bindguard_loaded 0' '$dir/var/lib/prometheus/node-exporter/bindguard.prom' &&
			grep -qx 'bindguard.io/loaded=false' '$dir/etc/kubernetes/node-feature-discovery/features.d/bindguard'"
	check "$s: /usr/sbin/bindguard-protect-boot (0755) without bindguard: one line, exit 0" \
		sh -c "test \"\$(stat -c %a '$dir/usr/sbin/bindguard-protect-boot')\" = 755 &&
			out=\$(chroot '$dir' /usr/sbin/bindguard-protect-boot 2>&1) &&
			test \"\$out\" = 'bindguard-protect-boot: bindguard is not loaded (no /sys/kernel/bindguard/protect): nothing to protect'"
	check "$s: /etc/default/bindguard is a conffile, every setting commented out" \
		sh -c "grep -qx '/etc/default/bindguard' '$dir/var/lib/dpkg/info/bindguard-dkms.conffiles' &&
			! grep -qvE '^[[:space:]]*(#|$)' '$dir/etc/default/bindguard'"
	check "$s: /etc/modprobe.d/bindguard.conf is a conffile, every option commented out" \
		sh -c "grep -q '^/etc/modprobe.d/bindguard.conf ' '$dir/var/lib/dpkg/info/bindguard-dkms.conffiles' 2>/dev/null ||
			grep -qx '/etc/modprobe.d/bindguard.conf' '$dir/var/lib/dpkg/info/bindguard-dkms.conffiles' &&
			! grep -qvE '^[[:space:]]*(#|$)' '$dir/etc/modprobe.d/bindguard.conf'"
	calls=$(grep bindguard "$dir/var/log/deb-check.modcalls" 2>/dev/null || true)
	check "$s: the postinst saw the chroot and loaded nothing${calls:+ (called: $(echo $calls))}" \
		sh -c "grep -q 'bindguard: in a chroot' '$ilog' && test -z '$calls'"
	check "$s: no dkms deprecation warning while installing" \
		sh -c "! grep -i deprecat '$ilog'"

	# the upgrade path (prerm upgrade: dkms remove; postinst: build again)
	rlog=$LOGS/$s-reinstall.log
	check "$s: apt-get install --reinstall (the upgrade path; log: $rlog)" \
		to_log "$rlog" in_chroot "$dir" apt-get -q -y install --reinstall "/tmp/$(basename "$DEB")"
	status=$(in_chroot "$dir" dkms status 2>&1 || true)
	check "$s: after the upgrade path bindguard/$MODVER is installed again for $kver, no deprecation warning" \
		sh -c "grep -qxF -e 'bindguard/$MODVER, $kver, x86_64: installed' \
			-e 'bindguard, $MODVER, $kver, x86_64: installed' <<EOS && ! grep -i deprecat '$rlog'
$status
EOS"

	# The postinst's host branches, played in the chroot with stand-ins in
	# /usr/local/bin: ischroot and systemd-detect-virt say "no chroot",
	# `uname -r` says the headers' kernel; modprobe/insmod/rmmod still only
	# log and refuse (their calls go to a log of their own here).
	# The postinst's own part only (after dh_dkms's: DKMS already built it).
	{
		printf '#!/bin/sh\nset -e\n'
		sed '1,/^# End automatically added section/d' "$dir/var/lib/dpkg/info/bindguard-dkms.postinst"
	} >"$dir/tmp/bindguard-postinst"
	simulate() { # simulate NAME: run the postinst's part as on a host
		mv -f "$dir/var/log/deb-check.modcalls" "$dir/var/log/deb-check.modcalls.real" 2>/dev/null || true
		to_log "$LOGS/$s-host-$1.log" in_chroot "$dir" sh /tmp/bindguard-postinst configure "$DEBVER"
		local rc=$?
		simcalls=$(grep bindguard "$dir/var/log/deb-check.modcalls" 2>/dev/null || true)
		rm -f "$dir/var/log/deb-check.modcalls"
		mv -f "$dir/var/log/deb-check.modcalls.real" "$dir/var/log/deb-check.modcalls" 2>/dev/null || true
		return $rc
	}
	printf '#!/bin/sh\nexit 1\n' >"$dir/usr/local/bin/ischroot"
	printf '#!/bin/sh\nexit 1\n' >"$dir/usr/local/bin/systemd-detect-virt"
	printf '#!/bin/sh\n[ "$1" = -r ] && [ $# = 1 ] && { echo %s; exit 0; }\nexec /bin/uname "$@"\n' "$kver" >"$dir/usr/local/bin/uname"
	chmod 0755 "$dir"/usr/local/bin/{ischroot,systemd-detect-virt,uname}
	simulate load && rc=0 || rc=$?
	check "$s: on a host running $kver the postinst loads bindguard (modprobe called: '$(echo $simcalls)'; refused here, the postinst warns and still succeeds: $rc)" \
		sh -c "test $rc = 0 && test 'modprobe bindguard' = '$(echo $simcalls)' && grep -q 'could not load' '$LOGS/$s-host-load.log'"
	mkdir -p "$dir/etc/modules-load.d"
	ln -sfn /dev/null "$dir/etc/modules-load.d/bindguard.conf"
	simulate optout && rc=0 || rc=$?
	rm -f "$dir/etc/modules-load.d/bindguard.conf"
	rmdir --ignore-fail-on-non-empty "$dir/etc/modules-load.d"
	check "$s: ... not when /etc/modules-load.d/bindguard.conf -> /dev/null opts out${simcalls:+ (called: $(echo $simcalls))}" \
		sh -c "test $rc = 0 -a -z '$simcalls' && grep -q 'opts out' '$LOGS/$s-host-optout.log'"
	mkdir -p "$dir/sys/module/bindguard"
	echo 0.0.9 >"$dir/sys/module/bindguard/version"
	simulate upgrade && rc=0 || rc=$?
	rm -rf "$dir/sys/module/bindguard"
	check "$s: ... and on upgrade leaves a loaded bindguard loaded${simcalls:+ (called: $(echo $simcalls))}" \
		sh -c "test $rc = 0 -a -z '$simcalls' && grep -q '0.0.9 stays loaded' '$LOGS/$s-host-upgrade.log'"
	# bindguard listed in /etc/initramfs-tools/modules: update-initramfs -u
	# (a stand-in that logs its arguments; not called without the listing:
	# the runs above)
	printf '#!/bin/sh\necho "update-initramfs $*" >>/var/log/deb-check.initramfs\n' >"$dir/usr/local/bin/update-initramfs"
	chmod 0755 "$dir/usr/local/bin/update-initramfs"
	rm -f "$dir/var/log/deb-check.initramfs"
	simulate noinitramfs && rc=0 || rc=$?
	ircalls=$(cat "$dir/var/log/deb-check.initramfs" 2>/dev/null || true)
	check "$s: ... no update-initramfs when bindguard is not in /etc/initramfs-tools/modules${ircalls:+ (called: $ircalls)}" \
		sh -c "test $rc = 0 -a -z '$ircalls'"
	irdir=
	[ -d "$dir/etc/initramfs-tools" ] || { mkdir "$dir/etc/initramfs-tools"; irdir=1; }
	[ ! -e "$dir/etc/initramfs-tools/modules" ] || cp -a "$dir/etc/initramfs-tools/modules" "$dir/tmp/modules.saved"
	printf '# initramfs-tools modules\nvfio_pci\nbindguard reserve=0000:02:02.0\n' >"$dir/etc/initramfs-tools/modules"
	simulate initramfs && rc=0 || rc=$?
	ircalls=$(cat "$dir/var/log/deb-check.initramfs" 2>/dev/null || true)
	if [ -e "$dir/tmp/modules.saved" ]; then mv -f "$dir/tmp/modules.saved" "$dir/etc/initramfs-tools/modules"; else rm -f "$dir/etc/initramfs-tools/modules"; fi
	[ -z "$irdir" ] || rmdir "$dir/etc/initramfs-tools"
	check "$s: ... update-initramfs -u when bindguard is in /etc/initramfs-tools/modules (called: '$ircalls')" \
		sh -c "test $rc = 0 && test 'update-initramfs -u' = '$ircalls'"
	rm -f "$dir"/usr/local/bin/{ischroot,systemd-detect-virt,uname,update-initramfs} "$dir/tmp/bindguard-postinst" "$dir/var/log/deb-check.initramfs"

	# removal deletes what the timer wrote (and a temporary file an
	# interrupted run left), nothing else of those directories
	touch "$dir/var/lib/prometheus/node-exporter/.bindguard.prom.aB3dE9" "$dir/var/lib/prometheus/node-exporter/other.prom"
	rmlog=$LOGS/$s-remove.log
	check "$s: apt-get remove bindguard-dkms (log: $rmlog)" \
		to_log "$rmlog" in_chroot "$dir" apt-get -q -y remove bindguard-dkms
	left=$(cd "$dir" && ls -A var/lib/prometheus/node-exporter etc/kubernetes/node-feature-discovery/features.d 2>&1 | tr '\n' ' ')
	check "$s: removal deleted bindguard.prom, its temporary file and features.d/bindguard, kept other.prom (left: $left)" \
		sh -c "test \"\$(ls -A '$dir/var/lib/prometheus/node-exporter')\" = other.prom &&
			test -z \"\$(ls -A '$dir/etc/kubernetes/node-feature-discovery/features.d')\""
	rm -rf "$dir/var/lib/prometheus" "$dir/etc/kubernetes"
	check "$s: apt-get purge bindguard-dkms (log: $plog)" \
		to_log "$plog" in_chroot "$dir" apt-get -q -y purge bindguard-dkms
	left=$(cd "$dir" && ls -d usr/lib/modules/*/updates/dkms/bindguard.ko* lib/modules/*/updates/dkms/bindguard.ko* \
		usr/src/bindguard-* var/lib/dkms/bindguard etc/modprobe.d/bindguard.conf \
		usr/lib/modules-load.d/bindguard.conf etc/default/bindguard usr/sbin/bindguard-protect-boot \
		lib/systemd/system/bindguard-protect.service usr/lib/systemd/system/bindguard-protect.service \
		etc/systemd/system/multi-user.target.wants/bindguard-protect.service \
		lib/systemd/system/bindguard-metrics.timer usr/lib/systemd/system/bindguard-metrics.timer \
		lib/systemd/system/bindguard-metrics.service usr/lib/systemd/system/bindguard-metrics.service \
		etc/systemd/system/timers.target.wants/bindguard-metrics.timer 2>/dev/null || true)
	check "$s: purge left no bindguard.ko, DKMS tree or config${left:+ (left: $(echo $left))}" test -z "$left"
	status=$(in_chroot "$dir" dkms status 2>&1 || true)
	check "$s: dkms status is empty after purge${status:+ ($status)}" test -z "$status"
	check "$s: no dkms deprecation warning while purging" sh -c "! grep -i deprecat '$plog'"
	calls=$(grep bindguard "$dir/var/log/deb-check.modcalls" 2>/dev/null || true)
	host_after=$(host_mods)
	if [[ $host_after == - ]]; then
		hostnote="no /proc/modules: the host kernel loads no modules at all"
	else
		hostnote="/proc/modules has no bindguard"
	fi
	check "$s: nothing loaded or unloaded in the host's kernel ($hostnote)${calls:+; called: $(echo $calls)}" \
		test -z "$calls" -a "$host_before" = "$host_after" -a \( "$host_after" = - -o -z "$host_after" \)

	in_chroot "$dir" apt-get -q -y autoremove --purge >>"$plog" 2>&1 || true
	rm -f "$dir"/tmp/bindguard-dkms_*.deb
	echo "# $s: $(($(date +%s) - t0))s ($temp)"
	exec 8>&-	# the chroot is free for another run
done

echo "$passed passed, $failed failed"
((failed == 0))
