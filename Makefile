# pbulk-rs: build, install, test and benchmark.
#
#   make                      release build, config path PREFIX/etc/pbulk.conf
#   make install PREFIX=/usr/pbulk DESTDIR=...
#   make uninstall PREFIX=... DESTDIR=...
#   make test                 the whole test suite
#   make bench                the benchmarks on ../shared/data

PREFIX ?= /usr/pbulk
DESTDIR ?=
CARGO ?= cargo
export PBULK_PREFIX := $(PREFIX)

BIN_PROGS = bulkbuild bulkbuild-restart bulkbuild-rebuild pbulk-scan pbulk-resolve pbulk-build
LIBEXEC_PROGS = build build-client-start client-clean client-prepare compute-packages \
	create-broken-graph create-report create-report-html create-report-txt pkg-build \
	pkg-up-to-date pre-build report scan scan-client-start upload

# cargo reserves the binary name `build`; it is installed under its reference name.
cargo_name = $(if $(filter build,$(1)),pbulk-phase-build,$(1))

.PHONY: all deps install uninstall test bench clean

all:
	$(CARGO) build --release --workspace

test: deps
	$(CARGO) test --release --workspace

bench:
	$(CARGO) bench --workspace

clean:
	$(CARGO) clean

deps:
	sh tools/deps
