#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh [SERIES] - the main job, on a fresh Debian 12 machine: install what
# the harness needs, fetch a stock Debian kernel (default trixie: Debian 13's 6.12), build and
# install bindguard with DKMS, boot the kernel in QEMU and play the seed
# scenario (test/guest/boot-demo.sh): a VFIO user holds one e1000 of a
# bridged pair, the sibling's bind is refused, debugfs shows the table and
# the events. The guest powers off at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
test/host-deps.sh
BG_SKIP_HOST_DEPS=1 exec test/run.sh --demo "${1:-trixie}"
