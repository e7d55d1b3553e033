# pkgmatch.awk: pkg_install-style package pattern matching for the stand-in
# tools (POSIX awk; runs with mawk, gawk and one-true-awk).
#
# Reads candidate package names (one per line, extra words ignored) on stdin
# and prints those matching the pattern `pat`:
#   awk -f pkgmatch.awk -v pat='foo>=1.0'          best match only
#   awk -f pkgmatch.awk -v pat='foo>=1.0' -v all=1 every match, input order
# Exit status 0 if something matched, 1 otherwise.
#
# Patterns: csh alternates `{a,b}`, dewey comparisons `name>=1.0<2`,
# shell globs `name-[0-9]*`, otherwise exact names. Version ordering follows
# pkg_install's dewey rules (alpha < beta < pre = rc < release, `nb`
# revisions break ties, letters count as `.N`).

function simple(c) {
	return c ~ /^[A-Za-z0-9-]$/
}

# Split version v into vec[1..n] and the nb revision; returns n.
function mkversion(v, vec,    n, c, rest, num, lc) {
	n = 0; NBREV = 0
	while (length(v) > 0) {
		c = substr(v, 1, 1)
		if (c ~ /[0-9]/) {
			match(v, /^[0-9]+/)
			vec[++n] = substr(v, 1, RLENGTH) + 0
			v = substr(v, RLENGTH + 1)
			continue
		}
		lc = tolower(v)
		if (substr(lc, 1, 5) == "alpha") { vec[++n] = -3; v = substr(v, 6); continue }
		if (substr(lc, 1, 4) == "beta") { vec[++n] = -2; v = substr(v, 5); continue }
		if (substr(lc, 1, 3) == "pre") { vec[++n] = -1; v = substr(v, 4); continue }
		if (substr(lc, 1, 2) == "rc") { vec[++n] = -1; v = substr(v, 3); continue }
		if (substr(lc, 1, 2) == "pl") { vec[++n] = 0; v = substr(v, 3); continue }
		if (c == "_" || c == ".") { vec[++n] = 0; v = substr(v, 2); continue }
		if (substr(lc, 1, 2) == "nb") {
			rest = substr(v, 3)
			num = 0
			if (match(rest, /^[0-9]+/)) {
				num = substr(rest, 1, RLENGTH) + 0
				rest = substr(rest, RLENGTH + 1)
			}
			NBREV = num
			v = rest
			continue
		}
		if (c ~ /[A-Za-z]/) {
			vec[++n] = 0
			vec[++n] = index("abcdefghijklmnopqrstuvwxyz", tolower(c))
			v = substr(v, 2)
			continue
		}
		v = substr(v, 2)
	}
	return n
}

# Sign of (a - b) under dewey ordering.
function dewey_diff(a, b,    va, vb, na, nb, nba, nbb, i, m, x, y) {
	split("", va); split("", vb)
	na = mkversion(a, va); nba = NBREV
	nb = mkversion(b, vb); nbb = NBREV
	m = na > nb ? na : nb
	for (i = 1; i <= m; i++) {
		x = (i <= na) ? va[i] : 0
		y = (i <= nb) ? vb[i] : 0
		if (x != y)
			return x < y ? -1 : 1
	}
	if (nba != nbb)
		return nba < nbb ? -1 : 1
	return 0
}

function dewey_test(lhs, op, rhs,    d) {
	d = dewey_diff(lhs, rhs)
	if (op == "<") return d < 0
	if (op == "<=") return d <= 0
	if (op == ">") return d > 0
	if (op == ">=") return d >= 0
	if (op == "==") return d == 0
	return d != 0
}

function version_of(name,    i) {
	i = lastdash(name)
	return i ? substr(name, i + 1) : ""
}

function lastdash(s,    i, p) {
	p = 0
	for (i = 1; i <= length(s); i++)
		if (substr(s, i, 1) == "-")
			p = i
	return p
}

function take_op(s) {
	if (substr(s, 1, 2) == "<=" || substr(s, 1, 2) == ">=" || \
	    substr(s, 1, 2) == "==" || substr(s, 1, 2) == "!=")
		return substr(s, 1, 2)
	return substr(s, 1, 1)
}

function dewey_match(p, name,    i, sep, ver, base, op, rest, lt, op2, lower) {
	i = lastdash(name)
	if (!i)
		return 0
	ver = substr(name, i + 1)
	base = substr(name, 1, i - 1)
	match(p, /[<>]/)
	sep = RSTART
	if (substr(p, 1, sep - 1) != base)
		return 0
	rest = substr(p, sep)
	op = take_op(rest)
	rest = substr(rest, length(op) + 1)
	if (op == ">" || op == ">=") {
		lt = index(rest, "<")
		if (lt) {
			op2 = take_op(substr(rest, lt))
			if (!dewey_test(ver, op2, substr(rest, lt + length(op2))))
				return 0
			lower = substr(rest, 1, lt - 1)
			return dewey_test(ver, op, lower)
		}
	}
	return dewey_test(ver, op, rest)
}

# Translate a shell glob into an anchored ERE.
function glob_re(g,    re, i, c, j, cls) {
	re = "^"
	for (i = 1; i <= length(g); i++) {
		c = substr(g, i, 1)
		if (c == "*") re = re ".*"
		else if (c == "?") re = re "."
		else if (c == "[") {
			j = index(substr(g, i + 1), "]")
			if (!j) { re = re "\\["; continue }
			cls = substr(g, i + 1, j - 1)
			if (substr(cls, 1, 1) == "!")
				cls = "^" substr(cls, 2)
			re = re "[" cls "]"
			i += j
		} else if (c == "\\" && i < length(g)) {
			i++
			re = re "[" substr(g, i, 1) "]"
		} else if (c ~ /[.+(){}|^$]/) re = re "\\" c
		else re = re c
	}
	return re "$"
}

function alternates(p, name,    open, depth, i, c, cl, prefix, suffix, body, start, hit) {
	open = index(p, "{")
	depth = 0; cl = 0
	for (i = open; i <= length(p); i++) {
		c = substr(p, i, 1)
		if (c == "{") depth++
		else if (c == "}" && --depth == 0) { cl = i; break }
	}
	if (!cl) {
		printf("pkgmatch: Malformed alternate `%s'\n", p) > "/dev/stderr"
		malformed = 1
		exit
	}
	prefix = substr(p, 1, open - 1)
	suffix = substr(p, cl + 1)
	body = substr(p, open + 1, cl - open - 1)
	hit = 0; depth = 0; start = 1
	for (i = 1; i <= length(body) + 1; i++) {
		c = substr(body, i, 1)
		if (c == "{") depth++
		else if (c == "}") depth--
		else if ((c == "," && depth == 0) || i == length(body) + 1) {
			if (pkg_match(prefix substr(body, start, i - start) suffix, name))
				hit = 1
			start = i + 1
		}
	}
	return hit
}

function pkg_match(p, name,    c0, c1) {
	c0 = substr(p, 1, 1); c1 = substr(p, 2, 1)
	if (simple(c0)) {
		if (c0 != substr(name, 1, 1)) return 0
		if (simple(c1) && c1 != substr(name, 2, 1)) return 0
	}
	if (index(p, "{")) return alternates(p, name)
	if (p ~ /[<>]/) return dewey_match(p, name)
	if (index(p, "*") || index(p, "?") || index(p, "[") || index(p, "]"))
		return name ~ glob_re(p)
	return p == name
}

# pkg_order: the better of two names (higher version, then larger string).
function better(a, b,    d) {
	d = dewey_diff(version_of(a), version_of(b))
	if (d > 0) return a
	if (d < 0) return b
	return (a > b) ? a : b
}

{
	name = $1
	if (name == "" || !pkg_match(pat, name))
		next
	found = 1
	if (all)
		print name
	else
		best = (best == "") ? name : better(best, name)
}

END {
	if (malformed)
		exit 2
	if (!all && found)
		print best
	exit found ? 0 : 1
}
