#!/bin/bash
# in-chroot.sh - run a command inside one of the harness's chroots (made by
# test/mkchroot.sh), with the bindguard cache visible at the same path.
#
# Usage: test/in-chroot.sh DIR CMD [ARG...]
#
# The command runs in a private mount namespace (unshare --mount, propagation
# private) in which /proc, /dev and $BG_CACHE are bind-mounted into DIR
# ($BG_CACHE at the same absolute path, so paths under the cache mean the same
# inside and outside: DKMS trees, unpacked kernels, build directories). The
# mounts belong to that namespace only: they vanish when the command exits,
# however it exits (no unmount step, nothing left on the host's mount table).
# The bind of $BG_CACHE is not recursive, so the chroot does not see itself
# mounted inside itself.
#
# Environment inside: the caller's, minus APT_CONFIG/TMPDIR (host paths),
# with a standard PATH and HOME=/root. Exit status: the command's.
#
# Environment: BG_CACHE (default /var/cache/bindguard).
set -euo pipefail

[[ $# -ge 2 ]] || { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
DIR=$(readlink -f "$1")
shift
BG_CACHE=$(readlink -f "${BG_CACHE:-/var/cache/bindguard}")
[[ -x $DIR/bin/sh ]] || { echo "in-chroot: $DIR is not a chroot (no /bin/sh)" >&2; exit 1; }
mkdir -p "$DIR/proc" "$DIR/dev" "$DIR$BG_CACHE"
# apt inside needs the host's resolver
if [[ -f /etc/resolv.conf ]]; then
	cp -fL /etc/resolv.conf "$DIR/etc/resolv.conf" 2>/dev/null || true
fi

exec unshare --mount --propagation private -- /bin/bash -c '
	set -e
	r=$1 cache=$2
	shift 2
	mount -t proc proc "$r/proc"
	mount --bind /dev "$r/dev"
	mount --bind "$cache" "$r$cache"
	exec chroot "$r" /usr/bin/env -u APT_CONFIG -u TMPDIR \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root "$@"
' in-chroot "$DIR" "$BG_CACHE" "$@"
