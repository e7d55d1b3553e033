# pbulk-rs: build, install, test and benchmark.
#
#   make                      release build, config path PREFIX/etc/pbulk.conf
#   make install PREFIX=/usr/pbulk DESTDIR=...
#   make install-only ...     install what is built already (no cargo run);
#                             BUILDDIR names the directory holding the programs
#   make uninstall PREFIX=... DESTDIR=...
#   make demo                 a whole bulk build of the example tree
#   make test                 the whole test suite
#   make bench                the benchmarks on ../shared/data, then
#                             benches/parallel.sh (1 vs 4 private build slots)
#   make fuzz                 the libFuzzer targets (cargo-fuzz), FUZZ_SECONDS each

PREFIX ?= /usr/pbulk
DESTDIR ?=
CARGO ?= cargo
export PBULK_PREFIX := $(PREFIX)

BIN_PROGS = bulkbuild bulkbuild-restart bulkbuild-rebuild pbulk-scan pbulk-resolve pbulk-build \
	pbulk-check
LIBEXEC_PROGS = build build-client-start client-clean client-prepare compute-packages \
	create-broken-graph create-report create-report-html create-report-txt pkg-build \
	pkg-up-to-date pre-build report scan scan-client-start upload

# cargo reserves the binary name `build`; it is installed under its reference name.
cargo_name = $(if $(filter build,$(1)),pbulk-phase-build,$(1))

# Where cargo put the release programs.
BUILDDIR ?= $(or $(CARGO_TARGET_DIR),target)/release

# Tool paths written into pbulk.conf (pkgsrc's SUBST values). The defaults
# suit Debian with pbulk's own pkg_install and digest under PREFIX; the
# literal ${prefix} in TARGET_MAKE is expanded when pbulk.conf is read.
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
D = $(DESTDIR)$(PREFIX)
EXAMPLE = $(D)/share/examples/pbulk/pbulk.conf
LIVE_CONF = $(D)/etc/pbulk.conf
MAN_PAGES = $(wildcard man/*.1)

.PHONY: all deps demo install install-only uninstall test bench fuzz fuzz-stable clean

all:
	$(CARGO) build --release --workspace

# The tests run bmake, which must not see GNU make's level and flags (it
# would print `bmake[1]:` in the logs the tests compare).
test:
	sh tools/deps test
	$(CARGO) build --release --workspace
	unset MAKELEVEL MAKEFLAGS MFLAGS; $(CARGO) test --release --workspace

bench: all
	$(CARGO) bench --workspace
	BUILDDIR=$(BUILDDIR) sh benches/parallel.sh

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

# Copies the built programs, the substituted example configuration and the
# man pages; the live configuration is only created, never replaced.
install-only:
	$(INSTALL) -d -m 0755 $(D)/bin $(D)/libexec/pbulk $(D)/share/examples/pbulk $(D)/etc
	for p in $(BIN_PROGS); do \
		$(INSTALL) -m 0755 $(BUILDDIR)/$$p $(D)/bin/$$p || exit 1; \
	done
	for p in $(LIBEXEC_PROGS); do \
		src=$$p; [ $$p = build ] && src=pbulk-phase-build; \
		$(INSTALL) -m 0755 $(BUILDDIR)/$$src $(D)/libexec/pbulk/$$p || exit 1; \
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
	$(INSTALL) -m 0644 $(EXAMPLE).tmp $(EXAMPLE)
	rm -f $(EXAMPLE).tmp
	[ -e $(LIVE_CONF) ] || $(INSTALL) -m 0644 $(EXAMPLE) $(LIVE_CONF)
ifneq ($(MAN_PAGES),)
	$(INSTALL) -d -m 0755 $(D)/man/man1
	$(INSTALL) -m 0644 $(MAN_PAGES) $(D)/man/man1/
endif

# Removes what install-only put there. The live configuration goes only
# while it is still the unchanged example (then install created it, or it
# holds nothing of the operator's).
uninstall:
	for p in $(BIN_PROGS); do rm -f $(D)/bin/$$p; done
	for p in $(LIBEXEC_PROGS); do rm -f $(D)/libexec/pbulk/$$p; done
	if [ -f $(LIVE_CONF) ] && cmp -s $(LIVE_CONF) $(EXAMPLE); then rm -f $(LIVE_CONF); fi
	rm -f $(EXAMPLE)
	for m in $(notdir $(MAN_PAGES)); do rm -f $(D)/man/man1/$$m; done
	for d in libexec/pbulk share/examples/pbulk share/examples share libexec \
		man/man1 man etc bin; do \
		rmdir $(D)/$$d 2>/dev/null || true; \
	done
