# $NetBSD: pyversion.mk,v 1.1 2026/11/20 10:00:00 pbulk Exp $

# Python version selection, a multi-version class of pbulk-index.
#
#	PYTHON_VERSIONS_ACCEPTED	versions the package works with,
#					preferred first
#	PYTHON_VERSION_REQD		forces one (pbulk: MULTI_VERSION)
#
# Defines PYPKGPREFIX (py312, ...) and the dependency on the interpreter.

.include "../../mk/bsd.prefs.mk"

PYTHON_VERSIONS_ACCEPTED?=	312 311
_PYTHON_VERSIONS_ACCEPTED=	${PYTHON_VERSIONS_ACCEPTED}

.if defined(PYTHON_VERSION_REQD) && !empty(PYTHON_VERSION_REQD)
_PYTHON_VERSION=	${PYTHON_VERSION_REQD}
.  if empty(_PYTHON_VERSIONS_ACCEPTED:M${PYTHON_VERSION_REQD})
PKG_FAIL_REASON+=	"Python ${PYTHON_VERSION_REQD} is not accepted by this package"
.  endif
.elif !empty(_PYTHON_VERSIONS_ACCEPTED:M${PYTHON_VERSION_DEFAULT})
_PYTHON_VERSION=	${PYTHON_VERSION_DEFAULT}
.else
_PYTHON_VERSION=	${_PYTHON_VERSIONS_ACCEPTED:[1]}
.endif

PYPKGPREFIX=	py${_PYTHON_VERSION}
PYTHONBIN=	${LOCALBASE}/bin/python${_PYTHON_VERSION}
DEPENDS+=	python${_PYTHON_VERSION}>=3.0:../../lang/python${_PYTHON_VERSION}
