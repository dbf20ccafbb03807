# SPDX-License-Identifier: GPL-2.0
#
# make                   build bindguard.ko for the running kernel (or KDIR=...)
#                        (BG_FAULT_INJECT=1: the test build, Kbuild)
# make check [KERNEL=s]  boot stock Debian kernels in QEMU and run the test suite
#                        (series 5.10, 6.1, trixie, rt: trixie's PREEMPT_RT,
#                        sid; test/run.sh's default list; KERNEL=arm64: the
#                        main boot on Debian's arm64 6.1 and 6.12 under
#                        qemu-system-aarch64, never in the default list)
# make check-host        build bindguard-dkms and boot real Debian hosts
#                        (bullseye, trixie: systemd, DKMS, libvirt) from disk
#                        images made with it; the tests run inside them
# make check-slow        what .ci/run leaves out for its time budget: the main
#                        boot on Debian's arm64 kernels (make check
#                        KERNEL=arm64; about 6 min) and the trixie host's
#                        UEFI Secure Boot boot (make check-host runs it too)
# make check-debug       the suite on two 6.12 kernels of our own: KASAN/lockdep/
#                        kmemleak, and PREEMPT_RT/lockdep with iommufd, the vfio
#                        cdev and no-IOMMU (built into the cache first if
#                        needed: 20 to 100 min each)
# make demo [KERNEL=s]   boot one stock kernel (default 6.1: its headers build
#                        on the host, no chroot) and play the seed scenario
# make bench [KERNEL=s]  what bindguard costs: ratios from interleaved rounds
#                        in QEMU under -icount (default KERNEL=trixie)
# make checkstyle        checkpatch.pl --strict and kernel-doc, the harness's
#                        shell, scripts/bindguard-status on crafted
#                        debugfs files (test/status-check.sh) and
#                        scripts/bindguard-protect-boot on fake /sys and
#                        /proc trees (test/protect-boot-check.sh)
# make matrix            the bind-path matrix of the last run (test/matrix.sh):
#                        printed, and kept in build/matrix.md
# make deps              install the host packages the harness needs
# make deb               build the bindguard-dkms package (debian/) from a clean
#                        copy of the tree into $(DEB_OUT), and run lintian
#                        (in a git checkout or in an unpacked `make dist`)
# make dist              the source tarball $(DIST_OUT)/bindguard-VERSION.tar.gz
#                        (the files make deb uses, and a MANIFEST of them)
#
# DKMS calls plain `make KDIR=...` (see dkms.conf).

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
KERNEL ?=

M_DIR := $(CURDIR)
# where make deb copies the tree (bindguard-VERSION/) and dpkg-buildpackage
# leaves the packages, as in ../ (ignored by git: /build/)
DEB_OUT ?= build/deb
# where make dist leaves bindguard-VERSION.tar.gz
DIST_OUT ?= build

# The tree's files, NUL-separated, for make deb and make dist: in a git
# checkout (.git here) the tree as git sees it, tracked files as they are in
# the work tree and new files git does not ignore (no build output); in an
# unpacked `make dist` tarball (no .git) the files its MANIFEST lists.
TREE_FILES = if [ -e .git ]; then \
		git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c 'for f; do [ ! -e "$$f" ] || printf "%s\0" "$$f"; done' sh; \
	elif [ -f MANIFEST ]; then \
		while IFS= read -r f; do \
			[ -e "$$f" ] || { echo "MANIFEST lists $$f, which is missing" >&2; exit 1; }; \
			printf '%s\0' "$$f"; \
		done <MANIFEST; \
	else \
		echo "neither .git nor MANIFEST here: not a git checkout nor an unpacked make dist" >&2; exit 1; \
	fi

.PHONY: all modules supported probes clean check check-host check-slow check-debug demo bench deps checkstyle matrix deb

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

check-slow: deb
	test/run.sh arm64 host-trixie:secureboot

check-host: deb
	test/run.sh host-bullseye host-trixie

check-debug:
	test/lib/host-deps.sh
	test/kernel/build-debug-kernel.sh kasan >/dev/null
	test/kernel/build-debug-kernel.sh rt >/dev/null
	test/run.sh debug debug-rt

demo:
	test/run.sh --demo $(or $(KERNEL),6.1)

bench:
	BG_BENCH_CMD="make bench$(if $(KERNEL), KERNEL=$(KERNEL))" test/bench/bench.sh $(or $(KERNEL),trixie)

checkstyle:
	test/checkstyle.sh
	test/status-check.sh
	test/protect-boot-check.sh

matrix:
	@mkdir -p build
	test/matrix.sh >build/matrix.md.new
	@mv build/matrix.md.new build/matrix.md; cat build/matrix.md

# The tree's files (TREE_FILES) copied to $(DEB_OUT)/bindguard-VERSION;
# Debian's own tools build the source and binary packages there (host build
# dependencies from the host's apt sources if missing), then lintian checks
# them.
deb:
	@missing=; for p in build-essential dpkg-dev debhelper dh-dkms lintian cpio $$([ ! -e .git ] || echo git); do \
		dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -qx installed || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deb: installing$$missing"; \
		apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	set -e; v=$$(dpkg-parsechangelog -S Version); v=$${v#*:}; d=$(DEB_OUT)/bindguard-$$v; \
	rm -rf $$d $(DEB_OUT)/bindguard_$$v[._]* $(DEB_OUT)/bindguard-dkms_$$v[._]*; mkdir -p $$d; \
	$(TREE_FILES) >$$d.files; \
	cpio -0 -pdm --quiet $$d <$$d.files; rm -f $$d.files; \
	(cd $$d && nice -n 10 dpkg-buildpackage -us -uc); \
	lintian --allow-root --fail-on error,warning --info --display-info $(DEB_OUT)/bindguard_$${v}_*.changes; \
	ls -l $(DEB_OUT)/bindguard-dkms_$${v}_all.deb

# The tree's files (TREE_FILES: the work tree as make deb sees it, so a
# tarball from a checkout with changes not committed holds them; make dist
# says so) and MANIFEST, the sorted list of the tarball's files (itself
# included), under bindguard-VERSION/ (VERSION: debian/changelog's upstream
# part). Owners root, every time the changelog's date (as
# SOURCE_DATE_EPOCH), names sorted: the same tree gives the same tarball.
.PHONY: dist
dist:
	set -e; v=$$(dpkg-parsechangelog -S Version); v=$${v#*:}; v=$${v%-*}; \
	n=bindguard-$$v; s=$(DIST_OUT)/.dist; \
	rm -rf $$s; mkdir -p $$s/$$n; \
	$(TREE_FILES) >$$s/files; \
	cpio -0 -pdm --quiet $$s/$$n <$$s/files; \
	{ tr '\0' '\n' <$$s/files; echo MANIFEST; } | LC_ALL=C sort -u >$$s/$$n/MANIFEST; \
	tar -C $$s --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime=@$$(dpkg-parsechangelog -S Timestamp) -cf - $$n | gzip -9n >$(DIST_OUT)/$$n.tar.gz; \
	rm -rf $$s; \
	if [ -e .git ] && [ -n "$$(git status --porcelain)" ]; then \
		echo "make dist: the work tree differs from HEAD (git status): the tarball holds it as it is" >&2; \
	fi; \
	ls -l $(DIST_OUT)/$$n.tar.gz
