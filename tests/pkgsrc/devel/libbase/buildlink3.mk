# $NetBSD: buildlink3.mk,v 1.1 2026/11/20 10:00:00 pbulk Exp $

# Included by packages that link against libbase.
DEPENDS+=	libbase>=1.0:../../devel/libbase
