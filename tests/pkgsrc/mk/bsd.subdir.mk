# $NetBSD: bsd.subdir.mk,v 1.2 2026/11/24 12:00:00 pbulk Exp $
#
# For the top-level and category Makefiles: SUBDIR lists categories or
# packages, and pbulk-scan reads it with "make show-subdir-var VARNAME=SUBDIR".

.include "bsd.prefs.mk"

SUBDIR?=

.PHONY: show-subdir-var show-var

show-subdir-var show-var:
	@echo ${${VARNAME}:Q}
