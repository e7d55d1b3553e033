# $NetBSD: pbulk-index.mk,v 1.2 2026/11/24 12:00:00 pbulk Exp $
#
# What pbulk-scan asks of every package: "make pbulk-index" prints one
# scan record per buildable variant of the package.
#
# A multi-version class names three variables: the accepted versions, the
# variable that forces one (also what pkg-build passes back through the
# record's MULTI_VERSION line) and the default.  A package needs a class
# when it accepts more than one version of it, or a single one that is
# not the default; pbulk-index then prints the cartesian product of its
# classes, the default version of every class first.

_PBT_CLASSES?=	lua python

_PBT_LIST.lua=		_LUA_VERSIONS_ACCEPTED
_PBT_REQD.lua=		LUA_VERSION_REQD
_PBT_DEFAULT.lua=	LUA_VERSION_DEFAULT
_PBT_LIST.python=	_PYTHON_VERSIONS_ACCEPTED
_PBT_REQD.python=	PYTHON_VERSION_REQD
_PBT_DEFAULT.python=	PYTHON_VERSION_DEFAULT

.PHONY: pbulk-index pbulk-index-item

_PBT_NEEDED=
.if !defined(NO_MULTI_PKG)
.  for _c in ${_PBT_CLASSES}
.    if defined(${_PBT_LIST.${_c}}) && !empty(${_PBT_LIST.${_c}})
.      if ${${_PBT_LIST.${_c}}:[#]} != 1 || \
	  !empty(${_PBT_LIST.${_c}}:N${${_PBT_DEFAULT.${_c}}})
# Later classes go in front, as in pkgsrc's MULTI_VERSION lines.
_PBT_NEEDED:=	${_c} ${_PBT_NEEDED}
_PBT_ORDER.${_c}:=	${${_PBT_LIST.${_c}}:M${${_PBT_DEFAULT.${_c}}}} \
			${${_PBT_LIST.${_c}}:N${${_PBT_DEFAULT.${_c}}}}
.      endif
.    endif
.  endfor
.endif

.if empty(_PBT_NEEDED)
pbulk-index: pbulk-index-item
.else
# Each variant is a word "=+class=value+class=value"; the first class
# varies slowest.
_PBT_VARIANTS=	=
.  for _c in ${_PBT_NEEDED}
_PBT_VARIANTS:=	${_PBT_VARIANTS:@_w_@${_PBT_ORDER.${_c}:@_v_@${_w_}+${_c}=${_v_}@}@}
.  endfor
pbulk-index:
.  for _w in ${_PBT_VARIANTS}
	@env ${_w:S/+/ /g:N=:@_e_@_PBULK_MULTI_VALUE_${_e_:C/=.*//}=${_e_:C/.*=//} ${_PBT_REQD.${_e_:C/=.*//}}=${_e_:C/.*=//}@} \
	    ${MAKE} pbulk-index-item
.  endfor
.endif

_PBT_SCAN_DEPENDS=	${.MAKE.MAKEFILES}
.if defined(PBULK_CACHE_DIRECTORY) && !empty(PBULK_CACHE_DIRECTORY)
_PBT_SCAN_DEPENDS:=	${_PBT_SCAN_DEPENDS:N${PBULK_CACHE_DIRECTORY}/*}
.endif
.for _f in ${SCAN_DEPENDS_SKIP}
_PBT_SCAN_DEPENDS:=	${_PBT_SCAN_DEPENDS:N${_f}}
.endfor

pbulk-index-item:
	@echo "PKGNAME="${PKGNAME:Q}
	@echo "ALL_DEPENDS="${_ALL_DEPENDS:Q}
	@echo "PKG_SKIP_REASON="${PKG_SKIP_REASON:Q}
	@echo "PKG_FAIL_REASON="${PKG_FAIL_REASON:Q}
	@echo "NO_BIN_ON_FTP="${NO_BIN_ON_FTP:Q}
	@echo "RESTRICTED="${RESTRICTED:Q}
	@echo "CATEGORIES="${CATEGORIES:Q}
	@echo "MAINTAINER="${MAINTAINER:Q}
	@echo "USE_DESTDIR="${_USE_DESTDIR:Q}
	@echo "BOOTSTRAP_PKG="${BOOTSTRAP_PKG:Q}
	@echo "USERGROUP_PHASE="${USERGROUP_PHASE:Q}
	@echo "SCAN_DEPENDS="${_PBT_SCAN_DEPENDS:O:u:Q}
.if !empty(_PBT_NEEDED)
	@printf 'MULTI_VERSION= %s\n' "${_PBT_NEEDED:@_c_@${_PBT_REQD.${_c_}}=$${_PBULK_MULTI_VALUE_${_c_}}@}"
.endif
