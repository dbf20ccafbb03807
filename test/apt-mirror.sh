#!/bin/bash
# apt-mirror.sh - the Debian mirror the harness downloads from: the one the
# host's own apt sources name, unless BG_DEBIAN_MIRROR says otherwise.
#
# Usage: . "$HERE/apt-mirror.sh"; MIRROR=$(apt_mirror) || exit 1
#        test/apt-mirror.sh      (prints both URIs the harness would use)
#
# Sourced by test/lib/chroot.sh (so by every script that fetches or
# debootstraps) and test/deb-check.sh. `apt_mirror` prints the URI of
# the Debian archive, `apt_mirror security` the URI of the security archive
# (without a trailing /). When neither the variable nor the host's sources
# give one, it prints one line on stderr saying which variable to set and
# returns 1.
#
# In this order:
#   1. BG_DEBIAN_MIRROR (archive) or BG_DEBIAN_SECURITY_MIRROR (security);
#   2. the host's apt sources, read as apt reads them: $BG_APT_ETC/sources.list,
#      then $BG_APT_ETC/sources.list.d/*.list and *.sources in name order.
#      The first entry of type `deb` (a deb-src-only entry does not count)
#      whose suites include the host's suite (archive, e.g. `bookworm`) or
#      the host's suite followed by -security (security, `bookworm-security`)
#      gives its first URI. Both formats: one-line entries,
#        deb [option=value ...] URI SUITE COMPONENT...
#      and deb822 stanzas (Types:, URIs:, Suites:; a stanza with `Enabled: no`
#      is skipped; `#` lines and continuation lines are ignored). Only
#      http, https, ftp and file URIs are taken (debootstrap cannot use
#      cdrom: or mirror+ URIs); a mirror+file: URI (Debian's cloud images)
#      stands for the first http(s) mirror its file lists.
# The harness fetches bullseye, bookworm, trixie, their -security and
# -updates suites and sid from these: any full Debian mirror (and its
# security mirror) carries them.
#
# Environment: BG_DEBIAN_MIRROR, BG_DEBIAN_SECURITY_MIRROR, BG_APT_ETC
# (default /etc/apt), BG_HOST_SUITE (default VERSION_CODENAME of
# /etc/os-release).

# apt_mirror_entries FILE...: one line "URI SUITE..." per enabled deb entry
# of the given sources files (one-line or deb822, by file name), in order.
apt_mirror_entries() {
	local f
	for f in "$@"; do
		[[ -r $f ]] || continue
		case $f in
		*.sources)
			awk '
				function flush() {
					if (uris != "" && types ~ /(^| )deb( |$)/ && tolower(enabled) !~ /^(no|false|off|0)$/) {
						split(uris, u, " ")
						print u[1], suites
					}
					types = uris = suites = enabled = ""
				}
				/^#/ { next }
				/^[ \t]*$/ { flush(); next }
				/^[ \t]/ { next }
				{
					i = index($0, ":")
					if (!i)
						next
					k = tolower(substr($0, 1, i - 1))
					v = substr($0, i + 1)
					gsub(/[ \t]+/, " ", v)
					sub(/^ /, "", v)
					sub(/ $/, "", v)
					if (k == "types") types = v
					else if (k == "uris") uris = v
					else if (k == "suites") suites = v
					else if (k == "enabled") enabled = v
				}
				END { flush() }' "$f"
			;;
		*)
			awk '
				{ sub(/#.*/, ""); gsub(/\[[^]]*\]/, " ") }
				$1 == "deb" && NF >= 3 { print $2, $3 }' "$f"
			;;
		esac
	done | while read -r uri suites; do
		# mirror+file:///etc/apt/mirrors/debian.list (Debian's cloud
		# images): the first http(s) mirror that file lists
		if [[ $uri == mirror+file://* ]]; then
			uri=$(awk '$1 ~ /^https?:/ { print $1; exit }' "${uri#mirror+file://}" 2>/dev/null)
		fi
		while [[ $uri == */ ]]; do uri=${uri%/}; done
		if [[ $uri =~ ^(https?|ftp|file): ]]; then echo "$uri $suites"; fi
	done
}

# apt_mirror [security]: print the archive's (security archive's) URI.
apt_mirror() {
	local var=BG_DEBIAN_MIRROR etc=${BG_APT_ETC:-/etc/apt} suite want files=() f uri=
	case ${1:-} in
	'') ;;
	security) var=BG_DEBIAN_SECURITY_MIRROR ;;
	*) echo "apt-mirror: usage: apt_mirror [security]" >&2; return 2 ;;
	esac
	if [[ -n ${!var:-} ]]; then
		echo "${!var%/}"
		return 0
	fi
	suite=${BG_HOST_SUITE:-$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | tr -d '"')}
	if [[ -z $suite ]]; then
		echo "apt-mirror: cannot tell the host's suite (no VERSION_CODENAME in /etc/os-release): set $var to a Debian${1:+ $1} mirror's URI" >&2
		return 1
	fi
	want=$suite${1:+-$1}
	[[ -f $etc/sources.list ]] && files+=("$etc/sources.list")
	for f in "$etc"/sources.list.d/*; do
		case $f in *.list | *.sources) files+=("$f") ;; esac
	done
	uri=$(apt_mirror_entries "${files[@]}" |
		awk -v w="$want" '{ for (i = 2; i <= NF; i++) if ($i == w) { print $1; exit } }')
	if [[ -z $uri ]]; then
		echo "apt-mirror: no deb entry for suite '$want' in $etc/sources.list or $etc/sources.list.d/: set $var to a Debian${1:+ $1} mirror's URI" >&2
		return 1
	fi
	echo "$uri"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	[[ $# -eq 0 ]] || { sed -n '2,/^$/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
	mirror=$(apt_mirror)
	security=$(apt_mirror security)
	echo "mirror $mirror"
	echo "security $security"
fi
