# SPDX-License-Identifier: GPL-2.0
#
# make                   build bindguard.ko for the running kernel (or KDIR=...)
# make check [KERNEL=s]  boot stock Debian kernels in QEMU and run the test suite
# make check-host        build bindguard-dkms and boot real Debian hosts
#                        (bullseye, trixie: systemd, DKMS, libvirt) from disk
#                        images made with it; the tests run inside them
# make check-debug       the suite on a KASAN/lockdep/kmemleak 6.12 kernel
#                        (built into the cache first if needed: ~18 min)
# make demo [KERNEL=s]   boot one stock kernel (default 6.1: its headers build
#                        on the host, no chroot) and play the seed scenario
# make bench [KERNEL=s]  what bindguard costs: ratios from interleaved rounds
#                        in QEMU under -icount (default KERNEL=trixie)
# make checkstyle        checkpatch.pl --strict and kernel-doc
# make matrix            rewrite README.md's bind-path matrix from the last run
# make deps              install the host packages the harness needs
# make deb               build the bindguard-dkms package (debian/) from a clean
#                        copy of the tree into $(DEB_OUT), and run lintian
#
# DKMS calls plain `make KDIR=...` (see dkms.conf).

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
KERNEL ?=

M_DIR := $(CURDIR)
# where make deb copies the tree (bindguard-VERSION/) and dpkg-buildpackage
# leaves the packages, as in ../ (ignored by git: /build/)
DEB_OUT ?= build/deb

.PHONY: all modules supported probes clean check check-host check-debug demo bench deps checkstyle matrix deb

all: modules

supported:
	@scripts/check-kernel.sh $(KDIR)

probes: supported
	@scripts/probe-kernel.sh $(KDIR) $(M_DIR)

modules: probes
	$(MAKE) -C $(KDIR) M=$(M_DIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(M_DIR) clean 2>/dev/null || true
	rm -rf .probes

deps:
	test/lib/host-deps.sh

check:
	test/run.sh $(KERNEL)

check-host: deb
	test/run.sh host-bullseye host-trixie

check-debug:
	test/lib/host-deps.sh
	test/kernel/build-debug-kernel.sh >/dev/null
	test/run.sh debug

demo:
	test/run.sh --demo $(or $(KERNEL),6.1)

bench:
	BG_BENCH_CMD="make bench$(if $(KERNEL), KERNEL=$(KERNEL))" test/bench/bench.sh $(or $(KERNEL),trixie)

checkstyle:
	test/checkstyle.sh

matrix:
	test/matrix.sh >.matrix.md
	awk 'FNR == NR { m = m $$0 "\n"; next } \
	     /<!-- matrix:end -->/ { printf "%s", m; skip = 0 } \
	     !skip { print } \
	     /<!-- matrix:begin -->/ { skip = 1 }' .matrix.md README.md >README.md.new
	mv README.md.new README.md
	rm -f .matrix.md

# The tree as git sees it (tracked and new files, not ignored ones: no build
# output), copied to $(DEB_OUT)/bindguard-VERSION; Debian's own tools build
# the source and binary packages there (host build dependencies from the
# host's apt sources if missing), then lintian checks them.
deb:
	@missing=; for p in build-essential dpkg-dev debhelper dh-dkms lintian cpio git; do \
		dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -qx installed || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deb: installing$$missing"; \
		apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	set -e; v=$$(dpkg-parsechangelog -S Version); v=$${v#*:}; d=$(DEB_OUT)/bindguard-$$v; \
	rm -rf $$d $(DEB_OUT)/bindguard_$$v[._]* $(DEB_OUT)/bindguard-dkms_$$v[._]*; mkdir -p $$d; \
	git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c 'for f; do [ ! -e "$$f" ] || printf "%s\0" "$$f"; done' sh | \
		cpio -0 -pdm --quiet $$d; \
	(cd $$d && nice -n 10 dpkg-buildpackage -us -uc); \
	lintian --allow-root --fail-on error,warning --info --display-info $(DEB_OUT)/bindguard_$${v}_*.changes; \
	ls -l $(DEB_OUT)/bindguard-dkms_$${v}_all.deb
