# $NetBSD$

# The option pbulk-rsync, as in pkgtools/pbulk: rsync distributes the
# packages and the report to the upload targets of pbulk.conf.
PKG_OPTIONS_VAR=	PKG_OPTIONS.pbulk-rs
PKG_SUPPORTED_OPTIONS+=	pbulk-rsync
PKG_SUGGESTED_OPTIONS+=	pbulk-rsync

.include "../../mk/bsd.options.mk"

.if !empty(PKG_OPTIONS:Mpbulk-rsync)
DEPENDS+=	rsync-[0-9]*:../../net/rsync
.endif
