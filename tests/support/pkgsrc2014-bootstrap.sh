#!/bin/bash
# Bootstraps the 2014 pkgsrc subset twice, as pkgsrc's own pbulk set-up does:
# a tools prefix (bmake, pkg_install, digest; the bulk-build programs go
# there) and a build prefix with its bootstrap kit (pbulk empties the build
# prefix before every package and unpacks the kit into it).
#
#   pkgsrc2014-bootstrap.sh TARBALL DEST SCRATCH
#
# DEST receives tools/, tools-var/, build/, build-var/ and bootstrapkit.tar.gz;
# their paths are compiled into the programs, so DEST is the final place.
# SCRATCH (empty) holds the unpacked tree and the work directories.
#
# The workarounds for a Debian of today (see tests/pkgsrc/README.md):
# bash for the BSD-echo test, -fcommon for gcc >= 10, NOGCCERROR for newer
# warnings, pkgsrc's openssl preferred so pkg_install builds without its
# OpenSSL-1.0 signature code, db(3) for libnbcompat, and FETCH_USING=manual so
# no build ever tries the network.
set -eu
tarball=$1 dest=$2 scratch=$3

mkdir -p "$scratch/tree"
zstd -dcq "$tarball" | tar -xf - -C "$scratch/tree"
cat >"$scratch/frag.mk" <<'EOF'
NOGCCERROR=		yes
NBCOMPAT_CONFIGURE_ARGS+=	--enable-db
FETCH_USING=		manual
EOF

one() { # name [extra bootstrap arguments]
	name=$1
	shift
	env SH=/bin/bash CFLAGS="-O2 -fcommon" NOGCCERROR=yes \
		PREFER_PKGSRC=openssl NBCOMPAT_CONFIGURE_ARGS=--enable-db \
		/bin/bash "$scratch/tree/bootstrap/bootstrap" \
		--prefix "$dest/$name" --pkgdbdir "$dest/$name/.pkgdb" \
		--varbase "$dest/$name-var" --workdir "$scratch/work-$name" \
		--prefer-pkgsrc openssl --mk-fragment "$scratch/frag.mk" "$@" \
		>"$scratch/$name.log" 2>&1 || {
		echo "bootstrap of the $name prefix failed; the end of $scratch/$name.log:" >&2
		tail -n 30 "$scratch/$name.log" >&2
		return 1
	}
}

# Both at once: the bootstrap is mostly serial configure runs.
one tools &
tools=$!
one build --gzip-binary-kit "$dest/bootstrapkit.tar.gz" &
build=$!
st=0
wait $tools || st=1
wait $build || st=1
exit $st
