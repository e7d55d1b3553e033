# $NetBSD: bsd.prefs.mk,v 1.4 2026/11/24 12:00:00 pbulk Exp $
#
# Settings shared by every makefile of the pbulk-rs example tree: where the
# tree is, where packages get installed and built, which tools to run and
# what platform this is.  Safe to include more than once.
#
# Every setting below is a default: the environment, a file named by
# MAKECONF (read first, like pkgsrc's mk.conf) or the make command line wins.

.if !defined(_PBT_PREFS_MK)
_PBT_PREFS_MK=	yes

# The tree's root, wherever the repository happens to be checked out.
PKGSRCDIR:=	${.PARSEDIR:tA:H}

.if defined(MAKECONF) && !empty(MAKECONF) && exists(${MAKECONF})
.  include "${MAKECONF}"
.endif

LOCALBASE?=	/usr/pkg
PREFIX=		${LOCALBASE}
PKG_DBDIR?=	${LOCALBASE}/pkgdb
# Cross builds (pkg-build with cross_compile): dependencies are installed
# below CROSS_DESTDIR (pbulk.conf's target_destdir), and looked up there.
CROSS_DESTDIR?=
_DEPS_DBDIR=	${CROSS_DESTDIR}${PKG_DBDIR}
PACKAGES?=	${PKGSRCDIR}/packages
PKG_SUFX?=	.tgz

# Stand-in package tools (tests/tools), unless told otherwise.
PBULK_TEST_TOOLS?=	${PKGSRCDIR:H}/tools
PKG_INFO_CMD?=		${PBULK_TEST_TOOLS}/pkg_info
PKG_ADMIN_CMD?=		${PBULK_TEST_TOOLS}/pkg_admin
TAR?=			tar

# Platform facts, as pre-build asks for them.  uname runs only when the
# value was not given, so a test can pin them.
.if !defined(OPSYS)
OPSYS!=		uname -s
.endif
.if !defined(OS_VERSION)
OS_VERSION!=	uname -r | sed -e 's/-.*//'
.endif
OS_VARIANT?=
LOWER_VARIANT_VERSION?=
PKGSRC_COMPILER?=	gcc
MACHINE_PLATFORM=	${OPSYS}-${OS_VERSION}-${MACHINE_ARCH}

# Version defaults of the multi-version classes.
PYTHON_VERSION_DEFAULT?=	312
LUA_VERSION_DEFAULT?=		54

# Build failures chosen by a test: words <pkgname|pkgbase|pkgpath>:<stage>.
PBULK_TEST_FAIL?=
.endif
