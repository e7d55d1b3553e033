# pkglib.sh: helpers shared by the stand-in pkg_add, pkg_delete and
# pkg_info (sourced; POSIX sh).  Expects $tools (this directory) and
# $PKG_DBDIR to be set.

# is_pattern WORD: true when WORD is a package pattern rather than a name.
is_pattern() {
	case $1 in
	*'<'*|*'>'*|*'*'*|*'?'*|*'['*|*'{'*) return 0 ;;
	esac
	return 1
}

# best_installed NAME-OR-PATTERN: print the installed package that matches
# best; a bare base name ("foo") means any version of it.
best_installed() {
	[ -d "$PKG_DBDIR" ] || return 1
	if [ -f "$PKG_DBDIR/$1/+CONTENTS" ]; then
		echo "$1"
		return 0
	fi
	if is_pattern "$1"; then
		set -- "$1"
	else
		set -- "$1-[0-9]*"
	fi
	ls "$PKG_DBDIR" | awk -f "$tools/pkgmatch.awk" -v pat="$1"
}

# base_of PKGNAME: the name without its version.
base_of() {
	echo "${1%-*}"
}

# plist_entries FILE TYPE: the arguments of every "@TYPE" line of a
# +CONTENTS file (TYPE "name", "pkgdep", "blddep", "cwd", ...).
plist_entries() {
	sed -n -e "s/^@$2 //p" "$1"
}
