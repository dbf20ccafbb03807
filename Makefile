# SPDX-License-Identifier: GPL-2.0
#
# make                   build bindguard.ko for the running kernel (or KDIR=...)
# make check [KERNEL=s]  boot stock Debian kernels in QEMU and run the test suite
# make check-debug       the suite on a KASAN/lockdep/kmemleak 6.12 kernel
#                        (built into the cache first if needed: ~18 min)
# make demo              boot one stock kernel and play the seed scenario
# make checkstyle        checkpatch.pl --strict and kernel-doc
# make matrix            rewrite README.md's bind-path matrix from the last run
# make deps              install the host packages the harness needs
#
# DKMS calls plain `make KDIR=...` (see dkms.conf).

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
KERNEL ?=

M_DIR := $(CURDIR)

.PHONY: all modules supported probes clean check check-debug demo deps checkstyle matrix

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
	test/host-deps.sh

check:
	test/run.sh $(KERNEL)

check-debug:
	test/host-deps.sh
	test/build-debug-kernel.sh >/dev/null
	test/run.sh debug

demo:
	test/demo.sh $(KERNEL)

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
