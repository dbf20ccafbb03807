#!/bin/bash
# chroot.sh - the harness's one debootstrap and chroot helper: the kernels'
# build chroots (test/kernel/), the real hosts' image trees (test/host/image.sh)
# and a command run in any of them.
#
# Usage: test/lib/chroot.sh build SUITE       (SUITE: sid, trixie, bullseye)
#        test/lib/chroot.sh run [--env-i] [--no-cache] DIR CMD [ARG...]
#        . test/lib/chroot.sh                 (the functions below, no action)
#
# build SUITE prints on stdout only the build chroot's directory,
# $BG_CACHE/chroots/SUITE, made once:
#   sid, trixie: --include=gcc,make,libc6-dev,bc,kmod,pahole,libelf-dev,openssl,
#             then dkms and sparse. sid's kbuild tools (linux-kbuild-7.x) are
#             linked against sid's libc, so sid kernels are built in here;
#             test/kernel/fetch-kernel.sh installs the kernel packages into
#             it. Debian 13's kernel (6.12+deb13) is built with trixie's
#             gcc-14 and dkms 3.2 in the trixie one.
#   bullseye: the same without pahole (5.10's headers ship no vmlinux, so no
#             BTF): the bullseye dkms and gcc-10 a 5.10 user runs.
# A chroot marked complete is reused as is (refreshing its packages is the
# caller's business, e.g. fetch-kernel.sh for sid's kernel); a half-made one
# is removed and made again.
#
# run DIR CMD runs CMD in DIR in a private mount namespace (unshare --mount,
# propagation private) in which /proc, /dev, /dev/pts, $BG_CACHE (and
# $BG_WORK, when it is elsewhere) are mounted into DIR ($BG_CACHE at the same absolute path, so paths under the
# cache mean the same inside and outside: DKMS trees, unpacked kernels,
# build directories). The mounts vanish when CMD exits, however it exits.
# The bind of $BG_CACHE is not recursive: a chroot in the cache does not see
# itself inside itself. Environment inside: the caller's minus APT_CONFIG and
# TMPDIR (host paths), a standard PATH, HOME=/root. Exit status: CMD's.
# Options (before DIR), for a chroot that stands for a user's system
# (test/deb-check.sh):
#   --env-i     none of the caller's environment: only the standard PATH,
#               HOME=/root and the proxies apt may need to reach the mirror
#               (http_proxy, https_proxy, no_proxy, where set; they change
#               nothing apt installs) (env -i; CMD may be `env VAR=VALUE ...
#               CMD`)
#   --no-cache  $BG_CACHE is not mounted inside
#
# Functions (sourced):
#   chroot_debootstrap [--recommends] SUITE DIR LOG [DEBOOTSTRAP-OPTION...]
#       debootstrap --variant=minbase of SUITE from the host's Debian mirror
#       (test/apt-mirror.sh; BG_DEBIAN_MIRROR overrides), checked with the
#       host's debian-archive-keyring, output appended to LOG; then apt
#       without recommends or translations (--recommends: apt's default,
#       recommends installed), no daemon allowed to start (policy-rc.d), the
#       host's resolv.conf. The caller holds a lock and writes sources.list
#       (apt_mirror, apt_mirror security) as it needs.
#   chroot_run [--env-i] [--no-cache] DIR CMD...      as `run` above
#   build_chroot SUITE         as `build` above
# The mirror's sid Release is past its Valid-Until date, so apt inside a sid
# chroot runs with Acquire::Check-Valid-Until=false. Needs root, debootstrap
# and unshare.
#
# Environment: BG_CACHE (default /var/cache/bindguard), BG_DEBIAN_MIRROR,
# BG_DEBIAN_SECURITY_MIRROR.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$TEST/apt-mirror.sh"

chroot_debootstrap() {
	local recommends=0 suite dir logf mirror
	if [[ ${1:-} == --recommends ]]; then
		recommends=1
		shift
	fi
	suite=$1 dir=$2 logf=$3
	shift 3
	command -v debootstrap >/dev/null || { log "debootstrap is not installed (test/lib/host-deps.sh)"; return 1; }
	mirror=$(apt_mirror) || return 1
	rm -rf "$dir"
	log "debootstrap $suite into $dir"
	debootstrap --variant=minbase "$@" \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		"$suite" "$dir" "$mirror" >>"$logf" 2>&1 ||
		{ log "debootstrap $suite failed (log: $logf)"; return 1; }
	{
		echo '// test/lib/chroot.sh'
		((recommends)) || echo 'APT::Install-Recommends "false";'
		echo 'Acquire::Languages "none";'
		[[ $suite == sid ]] && echo 'Acquire::Check-Valid-Until "false";'
	} >"$dir/etc/apt/apt.conf.d/99bindguard"
	rm -f "$dir/etc/apt/apt.conf.d/docker-clean"
	# no daemon may start while the tree is a chroot
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 0755 "$dir/usr/sbin/policy-rc.d"
}

chroot_run() {
	local dir cache= envi= work p proxies=()
	while [[ ${1:-} == --* ]]; do
		case $1 in
		--env-i) envi=-i ;;
		--no-cache) cache=none ;;
		*) log "chroot_run: unknown option $1"; return 2 ;;
		esac
		shift
	done
	if [[ -n $envi ]]; then
		for p in http_proxy https_proxy no_proxy; do
			[[ -z ${!p:-} ]] || proxies+=("$p=${!p}")
		done
	fi
	dir=$(readlink -f "$1")
	shift
	[[ -n $cache ]] || cache=$(readlink -f "$BG_CACHE")
	# $BG_WORK too, when it is not in the cache
	work=none
	if [[ $cache != none && -n ${BG_WORK:-} ]]; then
		mkdir -p "$BG_WORK"
		work=$(readlink -f "$BG_WORK")
		[[ $work != "$cache" && $work != "$cache"/* ]] || work=none
	fi
	[[ -x $dir/bin/sh ]] || { log "$dir is not a chroot (no /bin/sh)"; return 1; }
	mkdir -p "$dir/proc" "$dir/dev"
	[[ $cache == none ]] || mkdir -p "$dir$cache"
	[[ $work == none ]] || mkdir -p "$dir$work"
	# apt inside needs the host's resolver
	[[ ! -f /etc/resolv.conf ]] || cp -fL /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
	unshare --mount --propagation private -- /bin/bash -c '
		set -e
		r=$1 cache=$2 work=$3 envi=$4
		shift 4
		mount -t proc proc "$r/proc"
		mount --bind /dev "$r/dev"
		[ ! -d "$r/dev/pts" ] || mount --bind /dev/pts "$r/dev/pts"
		[ "$cache" = none ] || mount --bind "$cache" "$r$cache"
		[ "$work" = none ] || mount --bind "$work" "$r$work"
		exec chroot "$r" /usr/bin/env ${envi:--u APT_CONFIG -u TMPDIR} \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root "$@"
	' chroot-run "$dir" "$cache" "$work" "$envi" "${proxies[@]}" "$@"
}

build_chroot() {
	local suite=$1 dir=$BG_CACHE/chroots/$1 include t0 security
	local extra=(dkms sparse)
	case $suite in
	sid | trixie) include=gcc,make,libc6-dev,bc,kmod,pahole,libelf-dev,openssl ;;
	bullseye) include=gcc,make,libc6-dev,bc,kmod,libelf-dev,openssl ;;
	*) log "unknown suite '$suite' (want sid, trixie or bullseye)"; return 1 ;;
	esac
	if [[ ! -e $dir/.complete ]]; then
		mkdir -p "$BG_CACHE/chroots"
		exec 8>"$BG_CACHE/chroots/.$suite.lock"
		flock 8
	fi
	if [[ ! -e $dir/.complete ]]; then
		t0=$(date +%s)
		chroot_debootstrap "$suite" "$dir" /dev/stderr --include="$include" || return 1
		if [[ $suite != sid ]]; then
			security=$(apt_mirror security) || return 1
			printf 'deb %s %s main\ndeb %s %s-security main\n' \
				"$(apt_mirror)" "$suite" "$security" "$suite" >"$dir/etc/apt/sources.list"
		fi
		log "installing ${extra[*]} in the $suite chroot"
		chroot_run "$dir" env DEBIAN_FRONTEND=noninteractive \
			sh -c 'apt-get -q update && apt-get install -y -q --no-install-recommends "$@"' sh "${extra[@]}" >&2 ||
			{ log "apt-get install ${extra[*]} failed in the $suite chroot"; return 1; }
		touch "$dir/.updated" "$dir/.complete"
		log "$suite chroot ready in $(($(date +%s) - t0))s"
		exec 8>&-
	fi
	echo "$dir"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	case ${1:-} in
	build) [[ $# -eq 2 ]] || usage; build_chroot "$2" ;;
	run)
		shift
		opts=()
		while [[ ${1:-} == --env-i || ${1:-} == --no-cache ]]; do opts+=("$1"); shift; done
		[[ $# -ge 2 ]] || usage
		chroot_run "${opts[@]}" "$@"
		;;
	*) usage ;;
	esac
fi
