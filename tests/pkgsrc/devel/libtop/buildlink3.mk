# $NetBSD: buildlink3.mk,v 1.1 2026/11/20 10:00:00 pbulk Exp $

# Included by packages that link against libtop.
DEPENDS+=	libtop>=0.9:../../devel/libtop
.include "../../devel/libmid/buildlink3.mk"
