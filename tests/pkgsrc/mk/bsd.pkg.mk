# $NetBSD: bsd.pkg.mk,v 1.7 2026/11/24 12:00:00 pbulk Exp $
#
# The package framework of the pbulk-rs example tree: a few hundred lines
# of bmake standing in for pkgsrc's mk/ so that pbulk's phases have real
# make targets to run.  A package Makefile sets DISTNAME (or PKGNAME),
# CATEGORIES, COMMENT, the *DEPENDS lists and the pbulk-visible flags,
# then includes this file.
#
# The build of every package is tiny: "extract" copies DISTFILES from
# files/, "build" writes a shell script and a README, "install" stages them
# under DESTDIR, "package" makes a gzip'd tar binary package with the
# metadata files pkg_install reads.
#
# Failures for tests:
#	FAIL_STAGE		stages (checksum configure build install
#				package) where this package always fails
#	PBULK_TEST_FAIL		words <pkgname|pkgbase|pkgpath>:<stage>
#				(environment, MAKECONF or command line)

.include "bsd.prefs.mk"

PKGNAME?=	${DISTNAME}
PKGBASE=	${PKGNAME:C/-[^-]*$//}
PKGVERSION=	${PKGNAME:C/^.*-//}
PKGPATH?=	${.CURDIR:H:T}/${.CURDIR:T}
MAINTAINER?=	pkgsrc-users@NetBSD.org
COMMENT?=	Example package ${PKGBASE}
LICENSE?=	2-clause-bsd
HOMEPAGE?=
USE_DESTDIR?=	user-destdir
_USE_DESTDIR=	${USE_DESTDIR}
BOOTSTRAP_PKG?=
USERGROUP_PHASE?=
PKG_USERS?=
PKG_GROUPS?=
PKG_SKIP_REASON?=
PKG_FAIL_REASON?=
NO_BIN_ON_FTP?=
RESTRICTED?=
DEPENDS?=
BUILD_DEPENDS?=
TOOL_DEPENDS?=
DISTFILES?=
FAIL_STAGE?=
DEPENDS_TARGET?=	package-install

# Like pkgsrc: tool, then build, then run-time dependencies, duplicates kept.
_ALL_DEPENDS=	${TOOL_DEPENDS} ${BUILD_DEPENDS} ${DEPENDS}

FILESDIR=	${.CURDIR}/files
DISTINFO_FILE=	${.CURDIR}/distinfo
.if defined(WRKOBJDIR) && !empty(WRKOBJDIR)
WRKDIR=		${WRKOBJDIR}/${PKGPATH}/work
.else
WRKDIR=		${.CURDIR}/work
.endif
WRKSRC=		${WRKDIR}/${PKGNAME}
DESTDIR=	${WRKDIR}/.destdir
STAGE_PKGFILE=	${WRKDIR}/.packages/${PKGNAME}${PKG_SUFX}
USERGROUP_FILE?=	${LOCALBASE}/.pbulk-test-usergroups

_COOKIE.depends=	${WRKDIR}/.depends_done
_COOKIE.extract=	${WRKDIR}/.extract_done
_COOKIE.configure=	${WRKDIR}/.configure_done
_COOKIE.build=		${WRKDIR}/.build_done
_COOKIE.install=	${WRKDIR}/.install_done

# Each dependency as its own shell word (patterns hold <, >, *, {).
_DEPENDS_WORDS=	${_ALL_DEPENDS:@d@${d:Q}@}
_RUNDEP_WORDS=	${DEPENDS:@d@${d:Q}@}

# Appended to by every stage, so pkg-build's work.log shows make ran.
_LOG_STAGE=	[ -z "${WRKLOG:Q}" ] || echo "===> $$stage for ${PKGNAME}" >> "${WRKLOG}" 2>/dev/null || :

_REFUSE=	if [ -n "${PKG_SKIP_REASON:Q}" ]; then \
		  echo "ERROR: This package has set PKG_SKIP_REASON:" 1>&2; \
		  echo "ERROR: "${PKG_SKIP_REASON:Q} 1>&2; exit 1; \
		fi; \
		if [ -n "${PKG_FAIL_REASON:Q}" ]; then \
		  echo "ERROR: This package has set PKG_FAIL_REASON:" 1>&2; \
		  echo "ERROR: "${PKG_FAIL_REASON:Q} 1>&2; exit 1; \
		fi

.for _s in checksum configure build install package
_FAIL.${_s}=	case " "${FAIL_STAGE:Q}" " in *" ${_s} "*) \
		  echo "*** ${_s} of ${PKGNAME} failed: "${FAIL_MESSAGE:U${_s} step exited 1:Q} 1>&2; exit 1;; \
		esac; \
		case " "${PBULK_TEST_FAIL:Q}" " in \
		*" ${PKGNAME}:${_s} "*|*" ${PKGBASE}:${_s} "*|*" ${PKGPATH}:${_s} "*) \
		  echo "*** ${_s} of ${PKGNAME} failed (PBULK_TEST_FAIL)" 1>&2; exit 1;; \
		esac
.endfor

# The users and groups a USERGROUP_PHASE package needs before its phase.
_CHECK_USERGROUP=	for ug in ${PKG_USERS:C/:.*//} ${PKG_GROUPS}; do \
		  grep -qx "$$ug" ${USERGROUP_FILE:Q} 2>/dev/null || { \
		    echo "*** ${PKGNAME}: user or group $$ug does not exist" 1>&2; exit 1; }; \
		done
.for _s _p in configure *configure build *build install pre-install
.  if !empty(USERGROUP_PHASE:M${_p})
_USERGROUP.${_s}=	${_CHECK_USERGROUP}
.  else
_USERGROUP.${_s}=	:
.  endif
.endfor

.PHONY: all build checksum configure stage-install stage-package-create \
	package package-install clean create-usergroup show-var show-vars \
	pbulk-save-wrkdir

all build: ${_COOKIE.build}
configure: ${_COOKIE.configure}
stage-install: ${_COOKIE.install}
stage-package-create: ${STAGE_PKGFILE}

checksum:
	@stage=checksum; ${_LOG_STAGE}; ${_REFUSE}
	@echo "=> Checksum for ${PKGNAME}"; ${_FAIL.checksum}
	@set -e; for f in ${DISTFILES}; do \
	  [ -f ${DISTINFO_FILE:Q} ] || { echo "*** No distinfo for ${PKGNAME}" 1>&2; exit 1; }; \
	  want=`awk -v f="$$f" '$$1 == "SHA512" && $$2 == "(" f ")" { print $$4 }' ${DISTINFO_FILE:Q}`; \
	  [ -n "$$want" ] || { echo "*** No SHA512 checksum recorded for $$f" 1>&2; exit 1; }; \
	  have=`sha512sum < ${FILESDIR:Q}/"$$f" | sed -e 's/ .*//'`; \
	  if [ "$$want" = "$$have" ]; then echo "=> Checksum SHA512 OK for $$f"; \
	  else echo "*** Checksum SHA512 mismatch for $$f" 1>&2; exit 1; fi; \
	done

${_COOKIE.depends}:
	@stage=depends; ${_LOG_STAGE}; ${_REFUSE}
	@set -e; mkdir -p ${WRKDIR:Q}; \
	for dep in ${_DEPENDS_WORDS}; do \
	  pat=$${dep%%:*}; dir=$${dep#*:}; \
	  if pkg=`${PKG_INFO_CMD} -K ${_DEPS_DBDIR:Q} -E "$$pat"`; then \
	    echo "=> Required installed package $$pat: $$pkg found"; \
	  else \
	    echo "=> Required installed package $$pat: NOT found"; \
	    echo "=> Verifying ${DEPENDS_TARGET} for $$dir"; \
	    (cd ${.CURDIR:Q}/"$$dir" && ${MAKE} ${DEPENDS_TARGET}) || { \
	      echo "*** Cannot install dependency $$pat for ${PKGNAME}" 1>&2; exit 1; }; \
	  fi; \
	done; \
	touch ${.TARGET:Q}

${_COOKIE.extract}: ${_COOKIE.depends}
	@set -e; echo "=> Extracting for ${PKGNAME}"; \
	rm -rf ${WRKSRC:Q}; mkdir -p ${WRKSRC:Q}; \
	for f in ${DISTFILES}; do cp ${FILESDIR:Q}/"$$f" ${WRKSRC:Q}/; done; \
	touch ${.TARGET:Q}

${_COOKIE.configure}: ${_COOKIE.extract}
	@stage=configure; ${_LOG_STAGE}; echo "===> Configuring for ${PKGNAME}"
	@${_USERGROUP.configure}; ${_FAIL.configure}
	@printf 'PREFIX=%s\nPKGNAME=%s\n' ${PREFIX:Q} ${PKGNAME:Q} > ${WRKSRC:Q}/config.status
	@touch ${.TARGET:Q}

${_COOKIE.build}: ${_COOKIE.configure}
	@stage=build; ${_LOG_STAGE}; echo "===> Building for ${PKGNAME}"
	@${_USERGROUP.build}; ${_FAIL.build}
	@set -e; cd ${WRKSRC:Q}; rm -rf out; \
	mkdir -p out/bin out/share/doc/${PKGBASE}; \
	printf '#!/bin/sh\necho %s\n' ${PKGNAME:Q} > out/bin/${PKGBASE}; \
	chmod 755 out/bin/${PKGBASE}; \
	if [ -f ${.CURDIR:Q}/DESCR ]; then cp ${.CURDIR:Q}/DESCR out/share/doc/${PKGBASE}/README; \
	else echo ${COMMENT:Q}. > out/share/doc/${PKGBASE}/README; fi; \
	for f in ${DISTFILES}; do mkdir -p out/share/${PKGBASE}; cp "$$f" out/share/${PKGBASE}/; done
	@touch ${.TARGET:Q}

${_COOKIE.install}: ${_COOKIE.build}
	@stage=install; ${_LOG_STAGE}; echo "===> Installing for ${PKGNAME}"
	@${_USERGROUP.install}; ${_FAIL.install}
	@set -e; rm -rf ${DESTDIR:Q}; mkdir -p ${DESTDIR:Q}${PREFIX:Q}; \
	(cd ${WRKSRC:Q}/out && ${TAR} -cf - .) | (cd ${DESTDIR:Q}${PREFIX:Q} && ${TAR} -xf -)
	@touch ${.TARGET:Q}

${STAGE_PKGFILE}: ${_COOKIE.install}
	@stage=package; ${_LOG_STAGE}; echo "===> Building binary package for ${PKGNAME}"
	@${_FAIL.package}
	@env PKGNAME=${PKGNAME:Q} PKGPATH=${PKGPATH:Q} PREFIX=${PREFIX:Q} \
	  STAGEDIR=${DESTDIR:Q}${PREFIX:Q} METADIR=${WRKDIR:Q}/.pkgmeta \
	  PKGFILE=${.TARGET:Q} PKGSRCDIR=${PKGSRCDIR:Q} PKGDIR=${.CURDIR:Q} \
	  PKG_DBDIR=${_DEPS_DBDIR:Q} PKG_INFO_CMD=${PKG_INFO_CMD:Q} \
	  PKG_ADMIN_CMD=${PKG_ADMIN_CMD:Q} TAR=${TAR:Q} \
	  COMMENT=${COMMENT:Q} CATEGORIES=${CATEGORIES:Q} HOMEPAGE=${HOMEPAGE:Q} \
	  LICENSE=${LICENSE:Q} OPSYS=${OPSYS:Q} OS_VERSION=${OS_VERSION:Q} \
	  MACHINE_ARCH=${MACHINE_ARCH:Q} PKGSRC_COMPILER=${PKGSRC_COMPILER:Q} \
	  LOCALBASE=${LOCALBASE:Q} USE_DESTDIR=${_USE_DESTDIR:Q} \
	  sh ${PKGSRCDIR:Q}/mk/scripts/create-package ${_RUNDEP_WORDS} -- ${_DEPENDS_WORDS}

package: stage-package-create
	@mkdir -p ${PACKAGES:Q}/All
	@cp ${STAGE_PKGFILE:Q} ${PACKAGES:Q}/All/${PKGNAME}${PKG_SUFX}
	@echo "=> Package ${PACKAGES}/All/${PKGNAME}${PKG_SUFX} created"

package-install: package
	@PKG_PATH=${PACKAGES:Q}/All ${PKG_ADD_CMD:U${PBULK_TEST_TOOLS}/pkg_add} \
	  -K ${PKG_DBDIR:Q} ${PKGNAME:Q}

clean:
	@echo "===> Cleaning for ${PKGNAME}"
	@rm -rf ${WRKDIR:Q}

create-usergroup:
	@set -e; for ug in ${PKG_GROUPS} ${PKG_USERS:C/:.*//}; do \
	  mkdir -p `dirname ${USERGROUP_FILE:Q}`; \
	  if ! grep -qx "$$ug" ${USERGROUP_FILE:Q} 2>/dev/null; then \
	    echo "=> Creating user or group $$ug"; echo "$$ug" >> ${USERGROUP_FILE:Q}; \
	  fi; \
	done

show-var:
	@echo ${${VARNAME}:Q}

show-vars:
.for _v in ${VARNAMES}
	@echo ${${_v}:Q}
.endfor

# Archive WRKDIR for a failed build (pkg-build with keep_wrkdir=yes).  As in
# pkgsrc, a missing WRKDIR archives the package directory instead.
pbulk-save-wrkdir:
	@if [ -d ${WRKDIR:Q} ]; then cd ${WRKDIR:Q}; fi; ${TAR} -czf ${INTO:Q} .

.include "pbulk-index.mk"
