# SPDX-License-Identifier: GPL-2.0
#
# make                   build bindguard.ko for the running kernel (or KDIR=...)
# make check [KERNEL=s]  boot stock Debian kernels in QEMU and run the test suite
# make check-debug       the suite on a KASAN/lockdep/kmemleak 6.12 kernel
#                        (built into the cache first if needed: ~18 min)
# make demo              boot one stock kernel and play the seed scenario
# make checkstyle        checkpatch.pl --strict and kernel-doc
# make deps              install the host packages the harness needs
#
# DKMS calls plain `make KDIR=...` (see dkms.conf).

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
KERNEL ?=

M_DIR := $(CURDIR)

.PHONY: all modules supported probes clean check check-debug demo deps checkstyle

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
	scripts/host-deps.sh

check:
	test/run.sh $(KERNEL)

check-debug:
	scripts/host-deps.sh
	scripts/build-debug-kernel.sh >/dev/null
	test/run.sh debug

demo:
	scripts/demo.sh $(KERNEL)

checkstyle:
	scripts/checkstyle.sh
