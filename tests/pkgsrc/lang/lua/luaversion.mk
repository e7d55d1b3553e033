# $NetBSD: luaversion.mk,v 1.1 2026/11/20 10:00:00 pbulk Exp $

# Lua version selection, a multi-version class of pbulk-index.
#
#	LUA_VERSIONS_ACCEPTED	versions the package works with
#	LUA_VERSION_REQD	forces one (pbulk: MULTI_VERSION)
#
# Defines LUA_PKGPREFIX (lua54, ...) and the dependency on the interpreter.

.include "../../mk/bsd.prefs.mk"

LUA_VERSIONS_ACCEPTED?=	54 53
_LUA_VERSIONS_ACCEPTED=	${LUA_VERSIONS_ACCEPTED}

.if defined(LUA_VERSION_REQD) && !empty(LUA_VERSION_REQD)
_LUA_VERSION=	${LUA_VERSION_REQD}
.  if empty(_LUA_VERSIONS_ACCEPTED:M${LUA_VERSION_REQD})
PKG_FAIL_REASON+=	"Lua ${LUA_VERSION_REQD} is not accepted by this package"
.  endif
.elif !empty(_LUA_VERSIONS_ACCEPTED:M${LUA_VERSION_DEFAULT})
_LUA_VERSION=	${LUA_VERSION_DEFAULT}
.else
_LUA_VERSION=	${_LUA_VERSIONS_ACCEPTED:[1]}
.endif

LUA_PKGPREFIX=	lua${_LUA_VERSION}
DEPENDS+=	lua${_LUA_VERSION}>=5.0:../../lang/lua${_LUA_VERSION}
