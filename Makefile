# xo: a Xen toolstack as small programs.  See README.md.
#
#   make            build everything under build/
#   make check      run the test suite (ends with "N passed, N failed")
#   make demo       a scripted session on the simulator in a temporary state directory
#   make bench      benchmarks on the simulator
#   make stress     the kill -9 loops at full size (about an hour)
#   make check-kvm  the conformance suite and tests/kvm on the kvm backend, real guests
#   make bench-kvm  xo against libvirt on the same kvm guest
#   make soak-xen   (not in CI) in one boot of the real-Xen lab, the test guests (PVH and PV)
#                   started SOAK_STARTS times (20) each by xo and by xl create, each to its
#                   ready marker: how often each ends in a triple fault (tests/lab/soak-xen)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       install the Debian packages xo needs (root), or print the apt-get line
#   make fuzz       libFuzzer harnesses (clang) under build/fuzz/, each run FUZZ_SECONDS
#   make deb        the Debian package build/xo_<version>_amd64.deb (make deb-deps first)
#   make check-fresh  README's fresh-machine commands in a fresh Debian 12 root (root)
#   make check-deb  build/xo_*.deb installed with apt in a fresh Debian 12 root, used (root)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/xo
LIBDIR     ?= $(PREFIX)/lib
MODULEDIR  ?= $(LIBDIR)/xo
DATADIR    ?= $(PREFIX)/share/xo
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

# the version, in one place: 0.<number of commits> (the Debian package's too: debian/ is native)
VERSION = 0.$(shell git rev-list --count HEAD 2>/dev/null || echo 0)

CC      ?= cc
# the paths baked into the programs
XO_PATHS = -DXO_LIBEXECDIR='"$(LIBEXECDIR)"' -DXO_SYSCONFDIR='"$(SYSCONFDIR)"' \
	-DXO_MODULEDIR='"$(MODULEDIR)"'
CFLAGS  ?= -O2 -g
# mandatory flags go first so the user's CFLAGS cannot drop them
XO_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-format-nonliteral -Wno-format-truncation \
	-Ilib -Ibuild -include lib/banned.h $(XO_PATHS)
# warnings are errors for developers (a git checkout: make check, CI), as git's DEVELOPER=1;
# not forced on whoever builds a release with another compiler (DEVELOPER= to turn it off)
DEVELOPER ?= $(if $(wildcard .git),1,)
ifeq ($(DEVELOPER),1)
XO_CFLAGS += -Werror
endif
LDLIBS  = -Wl,-z,relro,-z,now -ljson-c -lxenguest -lxenctrl -lxenstore -lxenevtchn -lxentoollog \
	-lxenforeignmemory -lxencall -lxengnttab -lxentoolcore -lpthread

B = build
LIB_SRC  = $(sort $(wildcard lib/*.c))
SIM_SRC  = $(sort $(wildcard lib/sim/*.c))
CMD_SRC  = $(sort $(wildcard cmd/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(B)/%.o) $(B)/registry.o
SIM_OBJ  = $(SIM_SRC:%.c=$(B)/%.o)
PROGS    = $(CMD_SRC:cmd/%.c=$(B)/bin/%)
UNIT_SRC = $(sort $(wildcard tests/unit/*.c))
UNITS    = $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
BENCH_SRC = $(sort $(wildcard tests/bench/*.c))
BENCHES  = $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)
XEN_TEST_SRC = $(sort $(wildcard tests/xen/*.c))
XEN_TESTS = $(XEN_TEST_SRC:tests/xen/%.c=$(B)/xen/%)

# the loadable backends (backend.h): built when their -dev packages are present
HAVE_LIBVIRT := $(shell pkg-config --exists libvirt 2>/dev/null && echo yes)
HAVE_LIBXL   := $(shell pkg-config --exists xenlight 2>/dev/null && echo yes)
MODULES  = $(if $(HAVE_LIBVIRT),$(B)/lib/xo/backend-libvirt.so) $(if $(HAVE_LIBXL),$(B)/lib/xo/backend-libxl.so)

all: $(PROGS) $(UNITS) $(BENCHES) $(XEN_TESTS) $(MODULES)

# only what make install installs (the Debian package builds this)
programs: $(PROGS)

# objects depend on the headers they include, as the compiler found them (-MMD; -MP keeps
# a removed header from breaking the next build)
$(B)/%.o: %.c | $(B)/lib $(B)/lib/sim $(B)/cmd
	@echo "  CC      $@"; $(CC) $(XO_CFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# Xen's public headers (xenctrl.h, xenguest.h) need GNU C: anonymous unions, __align8__
$(B)/lib/hv-xen.o $(B)/lib/hv-xen-dm.o $(B)/lib/hv-xen-pci.o: XO_CFLAGS += -std=gnu11
$(B)/xen/xen-backend: XO_CFLAGS += -std=gnu11

# the command registry: cmd/commands.txt -> a C table (help, completion and man checks read it)
$(B)/registry.c: cmd/commands.txt lib/registry-gen.awk | $(B)/lib
	awk -f lib/registry-gen.awk cmd/commands.txt > $@.tmp && mv $@.tmp $@
$(B)/registry.o: $(B)/registry.c lib/registry.h
	@echo "  CC      $@"; $(CC) $(XO_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# the paths baked into the programs (where the hotplug scripts and hooks are): a new PREFIX,
# LIBEXECDIR or SYSCONFDIR rebuilds what uses them, so "make install PREFIX=/usr" installs
# programs that look where it installs the scripts
$(B)/paths: FORCE | $(B)/lib
	@printf '%s\n' '$(LIBEXECDIR)' '$(SYSCONFDIR)' '$(MODULEDIR)' > $@.tmp; \
		if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(B)/lib/hotplug.o $(B)/lib/hooks.o $(B)/lib/sim/daemon.o $(B)/lib/backend.o: $(B)/paths

$(B)/libxo.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/libxosim.a: $(SIM_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/bin/xo-simd: $(B)/cmd/xo-simd.o $(B)/libxosim.a $(B)/libxo.a | $(B)/bin
	@echo "  LD      $@"; $(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/%: $(B)/cmd/%.o $(B)/libxo.a | $(B)/bin
	@echo "  LD      $@"; $(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/unit/%: tests/unit/%.c $(B)/libxo.a $(B)/libxosim.a | $(B)/unit
	@echo "  CC      $@"; $(CC) $(XO_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libxosim.a $(B)/libxo.a $(LDLIBS)

$(B)/bench/%: tests/bench/%.c $(B)/libxo.a | $(B)/bench
	@echo "  CC      $@"; $(CC) $(XO_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libxo.a $(LDLIBS)

# helper programs of the real-Xen suite (tests/xen/*.bats, run in the lab by make check-xen)
$(B)/xen/%: tests/xen/%.c $(B)/libxo.a | $(B)/xen
	@echo "  CC      $@"; $(CC) $(XO_CFLAGS) $(CFLAGS) -o $@ $< $(B)/libxo.a $(LDLIBS)

# the lab's HVM boot images (tests/xen/hvm.bats): a disk whose sector 0 is the boot sector
# of tests/xen/hvm-boot.S, and a CD with it as its El Torito no-emulation image (xorriso)
HVM_IMAGES = $(B)/xen/hvm-boot.img $(B)/xen/hvm-boot.iso
$(B)/xen/hvm-boot.bin: tests/xen/hvm-boot.S | $(B)/xen
	@echo "  AS      $@"; as --32 -o $@.o $< && \
		ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o $@ $@.o && rm -f $@.o
$(B)/xen/hvm-boot.img: $(B)/xen/hvm-boot.bin
	@echo "  GEN     $@"; cp $< $@.tmp && truncate -s 1M $@.tmp && mv $@.tmp $@
$(B)/xen/hvm-boot.iso: $(B)/xen/hvm-boot.bin
	@echo "  GEN     $@"; rm -rf $@.d && mkdir $@.d && cp $< $@.d/boot.bin && \
		xorriso -as mkisofs -quiet -V XO-HVM-CD -b boot.bin -no-emul-boot \
		-boot-load-size 4 -o $@.tmp $@.d 2>/dev/null && rm -rf $@.d && mv $@.tmp $@

# ---------------------------------------------------------------------------------------------
# Modules: libvirt and libxenlight pull in dozens of libraries that no program should load at
# exec, so their backends are shared objects dlopen'd when XO_BACKEND names them
# (lib/backend.c). A module carries its own copy of libxo (build/libxo_pic.a: the same
# sources built with -fPIC), linked privately: libxo's symbols are hidden and kept out of
# the dynamic symbol table (--exclude-libs), so the module exports only xo_backend_module
# and the programs link neither libvirt nor libxenlight. A module is replaced by rename: a
# process loading it while it is rebuilt gets the old one or the new one, never half.
PIC_OBJ  = $(LIB_SRC:%.c=$(B)/pic/%.o) $(B)/pic/registry.o
PIC_FLAGS = -fPIC -fvisibility=hidden
MOD_LDFLAGS = -shared -Wl,--exclude-libs,ALL -Wl,--as-needed -Wl,-z,defs

$(B)/pic/%.o: %.c | $(B)/pic/lib $(B)/pic/lib/mod
	@echo "  CC      $@"; $(CC) $(XO_CFLAGS) $(PIC_FLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<
$(B)/pic/lib/hv-xen.o $(B)/pic/lib/hv-xen-dm.o $(B)/pic/lib/hv-xen-pci.o: XO_CFLAGS += -std=gnu11
$(B)/pic/lib/backend.o $(B)/pic/lib/hotplug.o $(B)/pic/lib/hooks.o: $(B)/paths
$(B)/pic/registry.o: $(B)/registry.c lib/registry.h | $(B)/pic/lib
	@echo "  CC      $@"; $(CC) $(XO_CFLAGS) $(PIC_FLAGS) $(CFLAGS) -c -o $@ $<
$(B)/libxo_pic.a: $(PIC_OBJ)
	rm -f $@ && ar rcs $@ $^

LIBVIRT_OBJ = $(patsubst %.c,$(B)/pic/%.o,$(sort $(wildcard lib/mod/libvirt*.c)))
LIBXL_OBJ   = $(patsubst %.c,$(B)/pic/%.o,$(sort $(wildcard lib/mod/libxl*.c)))
$(LIBXL_OBJ): XO_CFLAGS += -std=gnu11

$(B)/lib/xo/backend-libvirt.so: $(LIBVIRT_OBJ) $(B)/libxo_pic.a | $(B)/lib/xo
	@echo "  LD      $@"; $(CC) $(CFLAGS) $(LDFLAGS) $(MOD_LDFLAGS) -o $@.tmp $^ \
		$$(pkg-config --libs libvirt) $(LDLIBS) && mv $@.tmp $@
$(B)/lib/xo/backend-libxl.so: $(LIBXL_OBJ) $(B)/libxo_pic.a | $(B)/lib/xo
	@echo "  LD      $@"; $(CC) $(CFLAGS) $(LDFLAGS) $(MOD_LDFLAGS) -o $@.tmp $^ \
		$$(pkg-config --libs xenlight) $(LDLIBS) && mv $@.tmp $@

$(B)/lib $(B)/lib/sim $(B)/cmd $(B)/bin $(B)/unit $(B)/bench $(B)/xen $(B)/lib/xo $(B)/pic/lib $(B)/pic/lib/mod:
	mkdir -p $@

-include $(wildcard $(B)/lib/*.d $(B)/lib/sim/*.d $(B)/cmd/*.d $(B)/pic/lib/*.d $(B)/pic/lib/mod/*.d)

# ---------------------------------------------------------------------------------------------
# fuzzing: tests/fuzz/<harness>.c against the library built again with clang, libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer, in build/fuzz/; tests/fuzz/run runs each
# for FUZZ_SECONDS from its seeds (tests/fuzz/corpus/<harness>/) and fails on a finding
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES = config hvproto xsproto
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Ilib -Ibuild -include lib/banned.h $(XO_PATHS)
FUZZ_OBJ = $(LIB_SRC:%.c=$(B)/fuzz/obj/%.o) $(SIM_SRC:%.c=$(B)/fuzz/obj/%.o) $(B)/fuzz/obj/registry.o

$(B)/fuzz/obj/%.o: %.c | $(B)/fuzz/obj/lib/sim
	@echo "  FUZZCC  $@"; $(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -c -o $@ $<
$(B)/fuzz/obj/registry.o: $(B)/registry.c lib/registry.h | $(B)/fuzz/obj/lib/sim
	@echo "  FUZZCC  $@"; $(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<
$(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ) | $(B)/fuzz/obj/lib/sim
	@echo "  FUZZLD  $@"; $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LDLIBS)
$(B)/fuzz/obj/lib/sim:
	mkdir -p $@

-include $(wildcard $(B)/fuzz/obj/lib/*.d $(B)/fuzz/obj/lib/sim/*.d)

# clang and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev), installed as root
fuzz-deps:
	@tmp=$$(mktemp -d) && printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		> $$tmp/t.c; \
	if $(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $$tmp/t $$tmp/t.c 2>/dev/null; then \
		rm -rf $$tmp; exit 0; fi; rm -rf $$tmp; \
	if [ "$$(id -u)" != 0 ]; then echo "xo: make fuzz needs clang and libFuzzer; run as root:"; \
		echo "  apt-get install -y clang libclang-rt-14-dev"; exit 1; fi; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-14-dev

fuzz-build: fuzz-deps
	@$(MAKE) -s $(FUZZ_HARNESSES:%=$(B)/fuzz/%)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ_HARNESSES)

check: all
	@tests/run-tests

check-xen: all $(HVM_IMAGES)
	@tests/lab/check-xen

check-kvm: all
	@tests/kvm/check-kvm

bench-kvm: all
	@tests/kvm/bench-kvm

# the libvirt backend against this machine's qemu:///system (starts libvirtd if needed): the
# conformance cases with its adapter, and its own tests; the test guests are made first (the
# suite's network namespace cannot reach the mirror)
check-libvirt: all
	@tests/libvirt/check-libvirt

bench: all
	@tests/bench/run

# kill -9 at full size (not in CI: about an hour): 200 random kills of each of start,
# shutdown, reboot and hot plug/unplug in both hotplug modes, 20 of xo-simd mid-start;
# then 300 of xo-vm-add and of xo-vm-remove, 100 of the device programs (config-kill)
stress: all
	@XO_STRESS_N=$${XO_STRESS_N:-200} XO_STRESS_SIMD_N=$${XO_STRESS_SIMD_N:-20} \
		tests/run-tests tests/resources.bats
	@tests/stress/config-kill

bench-xen: all
	@tests/lab/bench-xen

SOAK_STARTS ?= 20
soak-xen: all
	@tests/lab/soak-xen $(SOAK_STARTS)

demo: deps-if-missing all
	@tests/demo

lint:
	tests/lint

# ---------------------------------------------------------------------------------------------
# Everything the build, the programs and the tests use beyond Debian's essential packages
# (tests/fresh/check-fresh proves the list on a minimal Debian 12 root):
#   build        build-essential pkg-config libjson-c-dev libxen-dev libvirt-dev (the libvirt
#                backend; libxen-dev has libxenlight for the libxl one)
#   programs     xenstore-utils (hotplug scripts), iproute2 (ip, bridge), mount (losetup),
#                nftables (nft: VIF locking), qemu-system-x86 qemu-utils seabios ovmf (the
#                kvm backend), libvirt-daemon-system libvirt-clients (the libvirt backend's
#                tests: libvirtd and virsh)
#   tests        bats bats-assert bats-support, python3 (JSON checks), procps (pgrep),
#                xen-utils-common (Debian's hotplug scripts), strace (make bench),
#                busybox-static cpio binutils syslinux mtools dosfstools systemd-boot-efi
#                (the kvm test guest and its disk that SeaBIOS and OVMF boot), xorriso
#                (the lab's HVM CD image)
#   docs, lint   mandoc groff-base man-db (man -l), manpages manpages-dev (the pages .Xr
#                names: flock(2), inotify(7)...), cppcheck shellcheck zsh
DEB_PACKAGES = build-essential pkg-config libjson-c-dev libxen-dev libvirt-dev \
	xenstore-utils iproute2 mount nftables qemu-system-x86 qemu-utils seabios ovmf \
	libvirt-daemon-system libvirt-clients \
	bats bats-assert bats-support python3 procps xen-utils-common strace \
	busybox-static cpio binutils syslinux mtools dosfstools systemd-boot-efi xorriso \
	mandoc groff-base man-db manpages manpages-dev cppcheck shellcheck zsh
# what make deb needs besides DEB_PACKAGES (make deb-deps)
DEB_BUILD_PACKAGES = debhelper dpkg-dev lintian git

# install_packages LIST: install the missing ones (root) or print the apt-get line
define install_packages
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'ok installed' || echo $$p; done); missing=$$(echo $$missing); \
	if [ -z "$$missing" ]; then echo "xo: all Debian packages present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "xo: missing packages; run as root:"; \
		echo "  apt-get install -y $$missing"; exit 1; fi; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing
endef

deps:
	$(call install_packages,$(DEB_PACKAGES))

deps-if-missing:
	@$(MAKE) -s deps

deb-deps:
	$(call install_packages,$(DEB_PACKAGES) $(DEB_BUILD_PACKAGES))

# ---------------------------------------------------------------------------------------------
# The Debian package: debian/rules runs make install with PREFIX=/usr. It is built in a copy of
# the tree (the last commit plus uncommitted changes of tracked files) under build/deb/, with a
# changelog entry for $(VERSION) written there, and lands in build/. No network needed.
DEB = $(B)/xo_$(VERSION)_amd64.deb

deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
		{ echo "xo: make deb needs debhelper and dpkg-dev: run make deb-deps (as root)" >&2; exit 1; }
	rm -rf $(B)/deb $(B)/xo_*.deb && mkdir -p $(B)/deb/xo-$(VERSION)
	@tree=$$(git stash create) || exit 1; \
	git archive --format=tar $${tree:-HEAD} | tar -x -C $(B)/deb/xo-$(VERSION) && \
	{ echo "xo ($(VERSION)) unstable; urgency=medium"; echo; \
	  echo "  * Built from commit $$(git rev-parse --short HEAD)$${tree:+ with uncommitted changes}."; \
	  echo; echo " -- $$(sed -n 's/^Maintainer: //p' debian/control)  $$(git log -1 --format=%aD)"; \
	} > $(B)/deb/xo-$(VERSION)/debian/changelog
	cd $(B)/deb/xo-$(VERSION) && dpkg-buildpackage -b --no-sign
	mv $(B)/deb/xo_$(VERSION)_amd64.deb $(DEB)
	@if command -v lintian >/dev/null; then lintian --fail-on error $(DEB) && echo "lintian: no errors"; fi
	@echo "xo: $(DEB)"

check-fresh:
	@tests/fresh/check-fresh

check-deb: deb
	@tests/fresh/check-deb $(DEB)

# udev rules go to $(PREFIX)/lib/udev/rules.d: where udev reads them for PREFIX=/usr (a package);
# with PREFIX=/usr/local pass UDEVRULESDIR=/etc/udev/rules.d to use them (only needed with
# XO_HOTPLUG=udev: by default xo runs the hotplug scripts itself)
install: $(PROGS) $(MODULES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
		$(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(DATADIR)/hooks \
		$(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	$(if $(MODULES),install -d $(DESTDIR)$(MODULEDIR) && install -m 644 $(MODULES) $(DESTDIR)$(MODULEDIR))
	install -m 755 share/udev/block share/udev/vif $(DESTDIR)$(LIBEXECDIR)
	install -m 644 share/udev/xo-hotplug-common.sh $(DESTDIR)$(LIBEXECDIR)
	sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' share/udev/xo-backend.rules.in > $(DESTDIR)$(UDEVRULESDIR)/xo-backend.rules.tmp
	mv $(DESTDIR)$(UDEVRULESDIR)/xo-backend.rules.tmp $(DESTDIR)$(UDEVRULESDIR)/xo-backend.rules
	chmod 644 $(DESTDIR)$(UDEVRULESDIR)/xo-backend.rules
	cp -R share/hooks/. $(DESTDIR)$(DATADIR)/hooks/
	sed 's|^ExecStart=.*/xo-watchd|ExecStart=$(BINDIR)/xo-watchd|' share/xo-watchd.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/xo-watchd.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/xo-watchd.service
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5
	install -m 644 man/*.7 $(DESTDIR)$(MANDIR)/man7
	install -m 644 completions/xo.bash $(DESTDIR)$(BASHCOMPDIR)/xo
	for p in $(filter-out xo,$(PROGS:$(B)/bin/%=%)); do ln -sf xo $(DESTDIR)$(BASHCOMPDIR)/$$p; done
	install -m 644 completions/_xo $(DESTDIR)$(ZSHCOMPDIR)/_xo

uninstall:
	for p in $(PROGS:$(B)/bin/%=%); do rm -f $(DESTDIR)$(BINDIR)/$$p $(DESTDIR)$(BASHCOMPDIR)/$$p \
		$(DESTDIR)$(MANDIR)/man1/$$p.1; done
	rm -f $(DESTDIR)$(MANDIR)/man5/xo-config.5 $(DESTDIR)$(MANDIR)/man7/xo.7
	rm -rf $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MODULEDIR)
	rm -f $(DESTDIR)$(ZSHCOMPDIR)/_xo $(DESTDIR)$(UDEVRULESDIR)/xo-backend.rules \
		$(DESTDIR)$(SYSTEMDUNITDIR)/xo-watchd.service

clean:
	rm -rf $(B)

FORCE:

.PHONY: FORCE all programs check check-xen check-fresh check-deb check-kvm check-libvirt bench \
	bench-xen bench-kvm demo lint deps deps-if-missing deb-deps deb install uninstall clean stress \
	soak-xen fuzz fuzz-build fuzz-deps
.SECONDARY:
