#!/bin/bash
# dkms-install.sh - build and install bindguard with DKMS, as a user would,
# but against a kernel unpacked by fetch-kernel.sh and into private trees.
#
# Usage: scripts/dkms-install.sh KVER
#
# Prints on stdout only the path of the installed bindguard.ko; DKMS output
# goes to stderr (and the make log, on failure).
#
# The module sources (every file git tracks or would track, except test/ and
# .ci/) are copied to a private DKMS source tree, then
#   dkms add / build / install -m bindguard -v <PACKAGE_VERSION> -k KVER
# run with private trees for everything DKMS writes:
#   --sourcetree       $BG_CACHE/dkms/<kver>/source   (bindguard-<ver>/)
#   --dkmstree         $BG_CACHE/dkms/<kver>/tree     (DKMS's /var/lib/dkms)
#   --installtree      $BG_CACHE/dkms/<kver>/install  (DKMS's /lib/modules)
#   --kernelsourcedir  $BG_CACHE/kernels/<kver>/headers
#   --no-depmod        (depmod -a KVER would write to the host's /lib/modules)
# All of these exist in bookworm's dkms 3.0.10; with --kernelsourcedir it does
# not need /lib/modules/KVER/build, so the host's /lib/modules is untouched.
# Module signing, as DKMS does it on Debian, uses the unpacked kernel's
# sign-file and a key kept in $BG_CACHE/dkms (not /var/lib/dkms); the stock
# kernels do not enforce signatures, so an unsigned module loads too.
#
# Idempotent: a previous add/build/install of the same version for KVER is
# removed first (the trees are per kernel, so kernels never clash).
set -euo pipefail

log() { echo "dkms-install: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -eq 1 ]] || { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
KVER=$1
BG_CACHE=${BG_CACHE:-/var/cache/bindguard}
REPO=$(cd "$(dirname "$0")/.." && pwd)
HEADERS=$BG_CACHE/kernels/$KVER/headers
[[ -f $HEADERS/Makefile ]] || die "no headers for $KVER in $HEADERS (run scripts/fetch-kernel.sh first)"
HEADERS=$(readlink -f "$HEADERS")

conf=$REPO/dkms.conf
[[ -f $conf ]] || die "no dkms.conf in $REPO"
NAME=$(sed -nE 's/^PACKAGE_NAME="?([^"]*)"?.*/\1/p' "$conf")
VERSION=$(sed -nE 's/^PACKAGE_VERSION="?([^"]*)"?.*/\1/p' "$conf")
[[ -n $NAME && -n $VERSION ]] || die "cannot read PACKAGE_NAME/PACKAGE_VERSION from dkms.conf"

D=$BG_CACHE/dkms/$KVER
SRC=$D/source
TREE=$D/tree
INST=$D/install
dkms_opts=(-m "$NAME" -v "$VERSION" -k "$KVER"
	--sourcetree "$SRC" --dkmstree "$TREE" --installtree "$INST"
	--kernelsourcedir "$HEADERS")

# 1. Remove what a previous run left for this version and kernel.
if [[ -d $TREE/$NAME/$VERSION ]]; then
	log "removing previous $NAME/$VERSION for $KVER"
	dkms remove "${dkms_opts[@]}" --no-depmod >&2 || true
fi
rm -rf "$SRC" "$TREE" "$INST"
mkdir -p "$SRC/$NAME-$VERSION" "$TREE" "$INST/$KVER"

# 2. Copy the module sources: tracked files plus new, not ignored ones (so a
# local run sees work in progress), minus the test harness.
(
	cd "$REPO"
	git ls-files -z --cached --others --exclude-standard -- . ':!test' ':!.ci' |
		while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
		cpio -0 -pdm --quiet "$SRC/$NAME-$VERSION"
)

# 3. Signing the Debian way, with private key material.
export sign_file=$HEADERS/scripts/sign-file
export mok_signing_key=$BG_CACHE/dkms/mok.key
export mok_certificate=$BG_CACHE/dkms/mok.pub

# 4. add / build / install.
dkms add "${dkms_opts[@]}" >&2
if ! dkms build "${dkms_opts[@]}" >&2; then
	log "build failed; make.log:"
	cat "$TREE/$NAME/$VERSION/build/make.log" >&2 2>/dev/null || true
	exit 1
fi
dkms install "${dkms_opts[@]}" --no-depmod >&2
dkms status "${dkms_opts[@]}" >&2 || true

ko=$(find "$INST/$KVER" -name "$NAME.ko*" | head -n1)
[[ -n $ko ]] || die "dkms install left no $NAME.ko under $INST/$KVER"
case $ko in
*.ko.xz) xz -d -f "$ko"; ko=${ko%.xz} ;;
*.ko.zst) zstd -q -d --rm -f "$ko"; ko=${ko%.zst} ;;
esac
echo "$ko"
