#!/bin/bash
# dkms-install.sh - build and install bindguard with DKMS, as a user would,
# but against a kernel unpacked by fetch-kernel.sh and into private trees.
#
# Usage: test/kernel/dkms-install.sh [--chroot DIR] KVER
#
# Prints on stdout only the path of the installed bindguard.ko; DKMS output
# goes to stderr (and the make log, on failure).
#
# What a DKMS build needs, Kbuild, Makefile, dkms.conf, src/, include/ and
# scripts/ (never the harness in test/), is copied to a private DKMS source
# tree, then
#   dkms add / build / install -m bindguard -v <PACKAGE_VERSION> -k KVER
# run with private trees for everything DKMS writes:
#   --sourcetree       $BG_CACHE/dkms/<kver>/source   (bindguard-<ver>/)
#   --dkmstree         $BG_CACHE/dkms/<kver>/tree     (DKMS's /var/lib/dkms)
#   --installtree      $BG_CACHE/dkms/<kver>/install  (DKMS's /lib/modules)
#   --kernelsourcedir  $BG_CACHE/kernels/<kver>/headers (not with --chroot;
#                      an arm64 kernel's in kernels-arm64/, cross-built:
#                      test/kernel/kbuild-env.sh)
#   --no-depmod        (depmod -a KVER would write to the host's /lib/modules)
# All of these exist in bookworm's dkms 3.0.10; with --kernelsourcedir it does
# not need /lib/modules/KVER/build, so the host's /lib/modules is untouched.
# Module signing, as DKMS does it on Debian, uses the unpacked kernel's
# sign-file and a key kept in $BG_CACHE/dkms (not /var/lib/dkms); the stock
# kernels do not enforce signatures, so an unsigned module loads too. When
# the kernel's sign-file cannot run in the build environment (5.10's wants
# libcrypto 1.1, which bookworm lacks), the module is left unsigned: no other
# kernel's sign-file is borrowed. (bullseye's dkms 2.8, --chroot bullseye,
# signs nothing at all: neither does it for a 5.10 user.)
#
# Build environment: the dkms commands run through test/kernel/kbuild-env.sh,
# so with the kernel's own toolchain (5.10: bullseye's gcc-10 on PATH; DKMS
# passes PATH through to make) or inside its chroot (sid: the chroot's own
# dkms, gcc and kbuild tools; the sources and private trees are in the cache,
# which the chroot sees at the same path). --chroot DIR runs them in DIR
# instead (test/lib/chroot.sh build bullseye: bullseye's dkms, as a 5.10 user
# has it); its private trees are then $BG_CACHE/dkms/<kver>@<chroot name>.
#
# Idempotent: a previous add/build/install of the same version for KVER is
# removed first (the trees are per kernel, so kernels never clash).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

CHROOT=
if [[ ${1:-} == --chroot ]]; then
	[[ $# -ge 2 ]] || usage
	CHROOT=$(readlink -f "$2")
	shift 2
fi
[[ $# -eq 1 ]] || usage
KVER=$1
KDIR=$(kernel_dir "$KVER")
[[ -f $KDIR/headers/Makefile ]] ||
	die "no headers for $KVER in $KDIR/headers (run test/kernel/fetch-kernel.sh first)"
if [[ -n $CHROOT ]]; then
	export BG_BUILD_CHROOT=$CHROOT
fi
# in the build environment: run a command there; the headers as seen there
inenv() { "$TEST/kernel/kbuild-env.sh" "$KVER" "$@"; }
HEADERS=$("$TEST/kernel/kbuild-env.sh" --headers "$KVER")

conf=$REPO/dkms.conf
[[ -f $conf ]] || die "no dkms.conf in $REPO"
NAME=$(sed -nE 's/^PACKAGE_NAME="?([^"]*)"?.*/\1/p' "$conf")
VERSION=$(sed -nE 's/^PACKAGE_VERSION="?([^"]*)"?.*/\1/p' "$conf")
# "#MODULE_VERSION#" (dh_dkms -V fills it in for the package): the version of
# debian/changelog's first entry, without epoch and Debian revision, as
# dh_dkms -V takes it; written into the copied dkms.conf below.
if [[ $VERSION == "#MODULE_VERSION#" ]]; then
	VERSION=$(sed -n '1{s/^[^(]*(\([^)]*\)).*/\1/;s/^[0-9]*://;s/-[^-]*$//;p;}' "$REPO/debian/changelog" 2>/dev/null || true)
fi
[[ -n $NAME && -n $VERSION ]] || die "cannot read PACKAGE_NAME/PACKAGE_VERSION from dkms.conf (or the version from debian/changelog)"

D=$BG_WORK/dkms/$KVER${CHROOT:+@${CHROOT##*/}}
SRC=$D/source
TREE=$D/tree
INST=$D/install
dkms_opts=(-m "$NAME" -v "$VERSION" -k "$KVER"
	--sourcetree "$SRC" --dkmstree "$TREE" --installtree "$INST")
if [[ -n $CHROOT ]]; then
	# As a user of that release has it: /lib/modules/KVER/build -> headers
	# (inside the chroot; the cache path is the same there). No
	# --kernelsourcedir: bullseye's dkms 2.8 takes a tree given that way for
	# a full source tree and runs `make mrproper` in it, wiping the headers'
	# generated files.
	mkdir -p "$CHROOT/lib/modules/$KVER"
	ln -sfn "$HEADERS" "$CHROOT/lib/modules/$KVER/build"
else
	dkms_opts+=(--kernelsourcedir "$HEADERS")
fi

# 1. Remove what a previous run left for this version and kernel.
if [[ -d $TREE/$NAME/$VERSION ]]; then
	log "removing previous $NAME/$VERSION for $KVER"
	inenv dkms remove "${dkms_opts[@]}" --no-depmod >&2 || true
fi
rm -rf "$SRC" "$TREE" "$INST"
mkdir -p "$SRC/$NAME-$VERSION" "$TREE" "$INST/$KVER"

# 2. Copy what the build needs: tracked files plus new, not ignored ones (so
# a local run sees work in progress). scripts/ holds only what a user or
# DKMS runs (check-kernel.sh, probe-kernel.sh: the Makefile's `supported`
# and `probes`). test/kernel/check-build.sh copies the same (tracked files only) plus
# debian/changelog, Kbuild's version when dkms.conf has none.
(
	cd "$REPO"
	git ls-files -z --cached --others --exclude-standard -- \
		Kbuild Makefile dkms.conf src include scripts |
		while IFS= read -r -d '' f; do if [[ -e $f ]]; then printf '%s\0' "$f"; fi; done |
		cpio -0 -pdm --quiet "$SRC/$NAME-$VERSION"
)
sed -i "s/#MODULE_VERSION#/$VERSION/g" "$SRC/$NAME-$VERSION/dkms.conf"

# 3. Signing the Debian way, with private key material.
export sign_file=$HEADERS/scripts/sign-file
export mok_signing_key=$BG_CACHE/dkms/mok.key
export mok_certificate=$BG_CACHE/dkms/mok.pub
# sign-file without arguments prints its usage; a loader error means it
# cannot run here: point DKMS at nothing ("modules won't be signed").
sign_out=$(inenv "$sign_file" 2>&1 || true)
if grep -qE 'error while loading shared libraries|No such file|not found' <<<"$sign_out"; then
	log "note: $sign_file cannot run in $KVER's build environment: the module is not signed"
	export sign_file=/nonexistent/sign-file
fi

# 4. add / build / install.
log "dkms $(inenv dkms --version 2>/dev/null | head -n1) for $KVER${CHROOT:+ in $CHROOT}"
inenv dkms add "${dkms_opts[@]}" >&2
if ! inenv dkms build "${dkms_opts[@]}" >&2; then
	log "build failed; make.log:"
	cat "$TREE/$NAME/$VERSION/build/make.log" >&2 2>/dev/null || true
	exit 1
fi
inenv dkms install "${dkms_opts[@]}" --no-depmod >&2
inenv dkms status "${dkms_opts[@]}" >&2 || true

ko=$(find "$INST/$KVER" -name "$NAME.ko*" | head -n1)
[[ -n $ko ]] || die "dkms install left no $NAME.ko under $INST/$KVER"
case $ko in
*.ko.xz) xz -d -f "$ko"; ko=${ko%.xz} ;;
*.ko.zst) zstd -q -d --rm -f "$ko"; ko=${ko%.zst} ;;
esac
echo "$ko"
