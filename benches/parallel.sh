#!/bin/sh
# Parallel local builds (run by `make bench`, or alone after `make`):
#
# 1. The example tree (tests/pkgsrc) scanned once, then its build phase run
#    with build_procs unset (one slot, the reference) and with
#    build_procs=4 (private slots), by a make that sleeps
#    PBULK_BENCH_SLEEP seconds (default 2) in every build step, so the
#    builds are sleep-bound. Prints both times and the speed-up.
# 2. The cost of a private slot per package: pbulk-build with one slot
#    over PBULK_BENCH_JOBS (default 300) independent packages whose build
#    script does nothing, without and with -S and four -P paths; the
#    difference per package is what entering the slot (unshare, mounts)
#    and leaving it (the namespace's end) add to a serial pkg-build.
#    The slots' set-up and removal at the start and end of the run are
#    inside the measured time too.
#
# BUILDDIR names the programs (default target/release). The site lives in
# /var/tmp: /tmp is private to each slot. Needs root on Linux.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${BUILDDIR:-$top/target/release}
bin=$(cd "$bin" && pwd)
# The build phase as installed (make bench) or as cargo names it.
phase_build=$bin/build
[ -f "$phase_build" ] || phase_build=$bin/pbulk-phase-build
pause=${PBULK_BENCH_SLEEP:-2}
jobs=${PBULK_BENCH_JOBS:-300}
work=$(mktemp -d /var/tmp/pbulk-bench-parallel.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
unset MAKEFLAGS MFLAGS MAKELEVEL
export PBULK_LIBEXECDIR="$bin"
site=$work/site
PBULK_CONF=$(sh "$top/tests/tools/mksite" "$site" "$bin")
export PBULK_CONF

mv "$site/bin/make" "$site/bin/make.real"
cat >"$site/bin/make" <<EOC
#!/bin/sh
for a in "\$@"; do [ "\$a" != all ] || sleep $pause; done
exec $site/bin/make.real "\$@"
EOC
chmod 755 "$site/bin/make"

now() { date +%s.%N; }
echo "==> scanning the example tree"
"$bin/pre-build" >"$work/pre-build.log" 2>&1
"$bin/scan" >"$work/scan.log" 2>&1
cp -R "$site/bulklog/meta" "$work/meta.scanned"

# build <procs>: the build phase from the same scan, into empty packages;
# prints its wall time in seconds.
build() {
	rm -rf "$site/bulklog" "$site/packages"
	mkdir -p "$site/bulklog" "$site/packages/All"
	cp -R "$work/meta.scanned" "$site/bulklog/meta"
	cp "$PBULK_CONF" "$work/pbulk.conf.$1"
	[ "$1" = 1 ] || echo "build_procs=$1" >>"$work/pbulk.conf.$1"
	t0=$(now)
	PBULK_CONF="$work/pbulk.conf.$1" "$phase_build" >"$work/build.$1.log" 2>&1 || {
		cat "$work/build.$1.log" >&2
		exit 1
	}
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.2f\n", $2 - $1 }'
	wc -l <"$site/bulklog/meta/success" >"$work/built.$1"
}

echo "==> building with one slot (make sleeps ${pause}s in every build step)"
t1=$(build 1)
echo "==> building with four private slots"
t4=$(build 4)
echo "example tree, $(cat "$work/built.1") packages built (4 slots: $(cat "$work/built.4")):"
echo "$t1 $t4" | awk '{ printf "  1 slot %.2f s, 4 slots %.2f s, speed-up %.2fx\n", $1, $2, $1 / $2 }'

# The cost of a slot per package.
mkdir -p "$work/slotcost/p1" "$work/slotcost/p2" "$work/slotcost/p3"
cd "$work/slotcost"
i=0
while [ $i -lt "$jobs" ]; do
	printf 'PKGNAME=pkg%04d-1.0\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\n' $i
	i=$((i + 1))
done >presolve
printf '#!/bin/sh\nexit 0\n' >noop
chmod 755 noop
# run <label> [options...]: the best of three runs, in seconds.
run() {
	best=
	for _ in 1 2 3; do
		rm -f ok err
		t0=$(now)
		"$bin/pbulk-build" -j 1 "$@" -b ./noop presolve ok err
		t1=$(now)
		best=$(echo "$t0 $t1 $best" | awk '{ d = $2 - $1; if ($3 != "" && $3 < d) d = $3; printf "%.4f\n", d }')
	done
	echo "$best"
}
plain=$(run)
slots=$(run -S "$work/slotcost/slots" -P "$work/slotcost/p1" -P "$work/slotcost/p2" \
	-P "$work/slotcost/p3" -P /tmp)
echo "private slot cost, $jobs packages, one slot, best of 3:"
echo "$plain $slots $jobs" | awk '{ printf "  plain %.3f s, in slots %.3f s: %.2f ms per package for set-up and tear-down\n", $1, $2, ($2 - $1) * 1000 / $3 }'
