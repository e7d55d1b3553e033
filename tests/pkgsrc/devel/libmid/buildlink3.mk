# $NetBSD: buildlink3.mk,v 1.1 2026/11/20 10:00:00 pbulk Exp $

# Included by packages that link against libmid.
DEPENDS+=	libmid>=2.0:../../devel/libmid
.include "../../devel/libbase/buildlink3.mk"
