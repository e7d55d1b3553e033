# pbulk-rs: build, install, test and benchmark.
#
#   make                      build the programs to install (profile PROFILE)
#   make install              build and install under PREFIX (default
#                             /usr/pkg_bulk, the pkgsrc guide's bulk-build
#                             prefix); config PKG_SYSCONFDIR/pbulk.conf
#   make install-only ...     install what is built already (no cargo run);
#                             refused unless it was built for the same PREFIX
#                             and PKG_SYSCONFDIR; BUILDDIR names the directory
#                             holding the programs
#   make uninstall PREFIX=... DESTDIR=...
#   make demo                 a whole bulk build of the example tree
#   make test                 the whole test suite
#   make bench                the benchmarks on ../shared/data, then
#                             benches/parallel.sh (1 vs 4 private build slots)
#   make fuzz                 the libFuzzer targets (cargo-fuzz), FUZZ_SECONDS each
#   make dist                 the release tarball pbulk-rs-VERSION.tar.gz of HEAD
#                             (the distfile of the pkgsrc package)
#   make pkgsrc-cargo-depends regenerate pkgsrc/pkgtools/pbulk-rs/cargo-depends.mk
#                             and its distinfo from Cargo.lock
#
# Install variables: DESTDIR, PREFIX, PKG_SYSCONFDIR, PKGMANDIR (man),
# INSTALL_STRIP (-s; empty keeps the debug line tables), INSTALL_CONF (yes:
# create PKG_SYSCONFDIR/pbulk.conf from the example if missing; pkgsrc says
# no and uses CONF_FILES), CATPAGES (yes: also install the pages formatted
# by MANDOC as catN/<page>.0, as pbulk-base does), and the tool paths below.

PREFIX ?= /usr/pkg_bulk
PKG_SYSCONFDIR ?= $(PREFIX)/etc
PKGMANDIR ?= man
DESTDIR ?=
CARGO ?= cargo
CARGO_FLAGS ?=
# The cargo profile of the installed programs: dist is release with
# link-time optimisation (see Cargo.toml); PROFILE=release builds faster.
PROFILE ?= dist
# Compiled into the programs (src/paths.rs, build.rs). cargo rebuilds when
# these change, unset to set included, so the defaults (build.rs's) are
# passed unset, as a plain cargo build has them.
ifeq ($(PREFIX) $(PKG_SYSCONFDIR),/usr/pkg_bulk /usr/pkg_bulk/etc)
unexport PBULK_PREFIX PBULK_SYSCONFDIR
else
export PBULK_PREFIX := $(PREFIX)
export PBULK_SYSCONFDIR := $(PKG_SYSCONFDIR)
endif

BIN_PROGS = bulkbuild bulkbuild-restart bulkbuild-rebuild pbulk-scan pbulk-resolve pbulk-build \
	pbulk-check
LIBEXEC_PROGS = build build-client-start client-clean client-prepare compute-packages \
	create-broken-graph create-report create-report-html create-report-txt pkg-build \
	pkg-up-to-date pre-build report scan scan-client-start upload

# pbulk-rs is installed once, as the first program, and hard-linked under
# the other names (a copy where the file system has no hard links).
FIRST_PROG = $(firstword $(BIN_PROGS))

# Where cargo put the programs to install.
BUILDDIR ?= $(or $(CARGO_TARGET_DIR),target)/$(PROFILE)

# Tool paths written into pbulk.conf (pkgsrc's SUBST values). The defaults
# suit Debian with pbulk's own pkg_install and digest under PREFIX; the
# literal ${prefix} in TARGET_MAKE is expanded when pbulk.conf is read
# (on make's command line it is written $${prefix}).
PKG_ADD_CMD ?= $(PREFIX)/sbin/pkg_add
PKG_ADMIN_CMD ?= $(PREFIX)/sbin/pkg_admin
PKG_DELETE_CMD ?= $(PREFIX)/sbin/pkg_delete
PKG_INFO_CMD ?= $(PREFIX)/sbin/pkg_info
BZIP2 ?= /bin/bzip2
DIGEST ?= $(PREFIX)/bin/digest
GZIP_CMD ?= /bin/gzip -nf -9
TARGET_MAKE ?= $${prefix}/bin/bmake
MAIL_CMD ?= /usr/bin/mail
NEATO ?= $(PREFIX)/bin/neato
SED ?= /bin/sed
TAR ?= /bin/tar
PBULK_CONFIG_VERSION = 0.68

INSTALL ?= install
INSTALL_STRIP ?= -s
INSTALL_PROGRAM ?= $(INSTALL) $(INSTALL_STRIP) -m 0755
INSTALL_DATA ?= $(INSTALL) -m 0644
INSTALL_CONF ?= yes
CATPAGES ?= yes
MANDOC ?= mandoc
D = $(DESTDIR)$(PREFIX)
EXAMPLE = $(D)/share/examples/pbulk/pbulk.conf
LIVE_CONF = $(DESTDIR)$(PKG_SYSCONFDIR)/pbulk.conf
# Every section: name.N goes to PKGMANDIR/manN (and catN/name.0).
MAN_PAGES = $(sort $(wildcard man/*.[1-9]))
PKGSRC_PKG = pkgsrc/pkgtools/pbulk-rs
VERSION = $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | sed 1q)

.PHONY: all deps demo install install-only check-paths uninstall test bench \
	fuzz fuzz-stable clean dist pkgsrc-cargo-depends

# The installed programs are one executable, pbulk-rs, under every
# program's name (hard links; see src/programs.rs): only it is built here.
all:
	$(CARGO) build $(CARGO_FLAGS) --profile $(PROFILE) -p pbulk-rs

# The tests run bmake, which must not see GNU make's level and flags (it
# would print `bmake[1]:` in the logs the tests compare). The tests run the
# programs of the release profile, beside the test executables.
test:
	sh tools/deps test
	$(CARGO) build --release --workspace
	unset MAKELEVEL MAKEFLAGS MFLAGS; $(CARGO) test --release --workspace

# The benchmarks run the programs as they are installed (profile PROFILE);
# only the bench targets are built in it, not every crate's test harness;
# they run pbulk-rs under the programs' names from BENCH_PROGRAMS.
BENCH_PROGRAMS = $(BUILDDIR)/bench-programs
bench: all
	rm -rf $(BENCH_PROGRAMS) && mkdir -p $(BENCH_PROGRAMS)
	for p in $(BIN_PROGS) $(LIBEXEC_PROGS); do \
		ln -f $(BUILDDIR)/pbulk-rs $(BENCH_PROGRAMS)/$$p || exit 1; \
	done
	PBULK_BENCH_PROGRAMS=$$(cd $(BENCH_PROGRAMS) && pwd) \
		$(CARGO) bench $(CARGO_FLAGS) --profile $(PROFILE) -p pbulk --bench '*'
	BUILDDIR=$(BENCH_PROGRAMS) sh benches/parallel.sh

# libFuzzer targets need cargo-fuzz (cargo install cargo-fuzz) and the
# nightly-only sanitizer flags: RUSTC_BOOTSTRAP lets the one stable
# toolchain of a build host accept them. Brace alternates expand to the
# product of their groups, in the original as here, so the pattern inputs
# are kept to 64 bytes (a dozen groups), or the fuzzer spends its time on
# one input of a million expansions. fuzz-stable runs the bounded
# random-input tests on the stable toolchain.
FUZZ_SECONDS ?= 60
fuzz:
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O resolve -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O pattern -- -max_total_time=$(FUZZ_SECONDS) -max_len=64

fuzz-stable:
	$(CARGO) test --release -p pbulk --test golden -- resolve_fuzz

clean:
	$(CARGO) clean

deps:
	sh tools/deps

# A whole bulk build of the example tree, installed into a temporary prefix.
demo:
	sh tools/demo

install: all
	$(MAKE) install-only

# build.rs records the paths compiled into the programs in BUILDDIR/pbulk-paths;
# programs built for another prefix or config directory would read another
# pbulk.conf than the one installed, so they are not installed.
# CHECK_PATHS=no installs them all the same, for copies that are only ever
# run with PBULK_CONF and PBULK_LIBEXECDIR set (the tests' throw-away sites).
check-paths:
	@[ "$(CHECK_PATHS)" != no ] || exit 0; \
	stamp='$(BUILDDIR)/pbulk-paths'; want='PREFIX=$(PREFIX) PKG_SYSCONFDIR=$(PKG_SYSCONFDIR) '; \
	[ -f "$$stamp" ] || { echo "make: $$stamp is missing: nothing is built in $(BUILDDIR)" >&2; exit 1; }; \
	got=$$(tr '\n' ' ' <"$$stamp"); \
	[ "$$got" = "$$want" ] || { \
		echo "make: the programs in $(BUILDDIR) were built for $$got(not $${want% }); run make install PREFIX=$(PREFIX) PKG_SYSCONFDIR=$(PKG_SYSCONFDIR) to rebuild them" >&2; \
		exit 1; \
	}

# Copies pbulk-rs under every program's name (stripped unless INSTALL_STRIP
# is empty), the substituted example configuration and the man pages; the live
# configuration is only created, never replaced.
install-only: check-paths
	$(INSTALL) -d -m 0755 $(D)/bin $(D)/libexec/pbulk $(D)/share/examples/pbulk
	$(INSTALL_PROGRAM) $(BUILDDIR)/pbulk-rs $(D)/bin/$(FIRST_PROG)
	for p in $(filter-out $(FIRST_PROG),$(BIN_PROGS)) $(addprefix ../libexec/pbulk/,$(LIBEXEC_PROGS)); do \
		dst=$(D)/bin/$$p; \
		ln -f $(D)/bin/$(FIRST_PROG) $$dst 2>/dev/null || \
		$(INSTALL_PROGRAM) $(BUILDDIR)/pbulk-rs $$dst || exit 1; \
	done
	sed -e 's|@PREFIX@|$(PREFIX)|g' \
	    -e 's|@PBULK_CONFIG_VERSION@|$(PBULK_CONFIG_VERSION)|g' \
	    -e 's|@PKG_ADD_CMD@|$(PKG_ADD_CMD)|g' \
	    -e 's|@PKG_ADMIN_CMD@|$(PKG_ADMIN_CMD)|g' \
	    -e 's|@PKG_DELETE_CMD@|$(PKG_DELETE_CMD)|g' \
	    -e 's|@PKG_INFO_CMD@|$(PKG_INFO_CMD)|g' \
	    -e 's|@BZIP2@|$(BZIP2)|g' \
	    -e 's|@DIGEST@|$(DIGEST)|g' \
	    -e 's|@GZIP_CMD@|$(GZIP_CMD)|g' \
	    -e 's|@TARGET_MAKE@|$(TARGET_MAKE)|g' \
	    -e 's|@MAIL_CMD@|$(MAIL_CMD)|g' \
	    -e 's|@NEATO@|$(NEATO)|g' \
	    -e 's|@SED@|$(SED)|g' \
	    -e 's|@TAR@|$(TAR)|g' \
	    etc/pbulk.conf > $(EXAMPLE).tmp
	$(INSTALL_DATA) $(EXAMPLE).tmp $(EXAMPLE)
	rm -f $(EXAMPLE).tmp
	if [ $(INSTALL_CONF) = yes ] && [ ! -e $(LIVE_CONF) ]; then \
		$(INSTALL) -d -m 0755 $(DESTDIR)$(PKG_SYSCONFDIR) && \
		$(INSTALL_DATA) $(EXAMPLE) $(LIVE_CONF) || exit 1; \
	fi
	for m in $(MAN_PAGES); do \
		page=$${m##*/}; sec=$${page##*.}; \
		$(INSTALL) -d -m 0755 $(D)/$(PKGMANDIR)/man$$sec && \
		$(INSTALL_DATA) $$m $(D)/$(PKGMANDIR)/man$$sec/$$page || exit 1; \
		[ $(CATPAGES) = yes ] || continue; \
		cat=$(D)/$(PKGMANDIR)/cat$$sec/$${page%.*}.0; \
		$(INSTALL) -d -m 0755 $(D)/$(PKGMANDIR)/cat$$sec && \
		$(MANDOC) -T ascii $$m >$$cat.tmp && \
		$(INSTALL_DATA) $$cat.tmp $$cat && rm -f $$cat.tmp || exit 1; \
	done

# Removes what install-only put there. The live configuration goes only
# while it is still the unchanged example (then install created it, or it
# holds nothing of the operator's).
uninstall:
	for p in $(BIN_PROGS); do rm -f $(D)/bin/$$p; done
	for p in $(LIBEXEC_PROGS); do rm -f $(D)/libexec/pbulk/$$p; done
	if [ -f $(LIVE_CONF) ] && cmp -s $(LIVE_CONF) $(EXAMPLE); then rm -f $(LIVE_CONF); fi
	rm -f $(EXAMPLE)
	for m in $(notdir $(MAN_PAGES)); do \
		sec=$${m##*.}; \
		rm -f $(D)/$(PKGMANDIR)/man$$sec/$$m $(D)/$(PKGMANDIR)/cat$$sec/$${m%.*}.0; \
		rmdir $(D)/$(PKGMANDIR)/man$$sec $(D)/$(PKGMANDIR)/cat$$sec 2>/dev/null || true; \
	done
	for d in libexec/pbulk share/examples/pbulk share/examples $(PKGMANDIR) \
		share libexec bin; do \
		rmdir $(D)/$$d 2>/dev/null || true; \
	done
	rmdir $(DESTDIR)$(PKG_SYSCONFDIR) 2>/dev/null || true

dist:
	git archive --format=tar.gz --prefix=pbulk-rs-$(VERSION)/ \
		-o pbulk-rs-$(VERSION).tar.gz HEAD

# The pkgsrc package's list of crates, from Cargo.lock and the .crate files
# cargo keeps in CARGO_HOME (see tools/pkgsrc-cargo-depends).
pkgsrc-cargo-depends:
	DISTFILE='$(DISTFILE)' sh tools/pkgsrc-cargo-depends Cargo.lock $(PKGSRC_PKG)
