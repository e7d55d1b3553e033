use super::*;

fn m(p: &str, n: &str) -> bool {
    pkg_match(p.as_bytes(), n.as_bytes()).unwrap()
}

fn vec_of(v: &str) -> (Vec<i32>, i32) {
    let mut it = Version::new(v.as_bytes());
    let items: Vec<i32> = it.by_ref().collect();
    (items, it.nb)
}

#[test]
fn version_vectors_of_the_spec_table() {
    assert_eq!(vec_of("1.2.3"), (vec![1, 0, 2, 0, 3], 0));
    assert_eq!(vec_of("1.0rc1"), (vec![1, 0, 0, -1, 1], 0));
    assert_eq!(vec_of("2.0nb3"), (vec![2, 0, 0], 3));
    assert_eq!(vec_of("1.0a"), (vec![1, 0, 0, 0, 1], 0));
    assert_eq!(vec_of("1.0pl1"), (vec![1, 0, 0, 0, 1], 0));
    assert_eq!(vec_of("1.0_1"), (vec![1, 0, 0, 0, 1], 0));
    assert_eq!(vec_of("1.0alpha2"), (vec![1, 0, 0, -3, 2], 0));
    assert_eq!(vec_of("5.0p1"), (vec![5, 0, 0, 0, 16, 1], 0));
    assert_eq!(
        vec_of("2.4+dfsg"),
        (vec![2, 0, 4, 0, 4, 0, 6, 0, 19, 0, 7], 0)
    );
    assert_eq!(vec_of("1.0BETA1NB7"), (vec![1, 0, 0, -2, 1], 7));
    assert_eq!(vec_of("1nb2nb5"), (vec![1], 5));
    assert_eq!(vec_of("1.0pre"), (vec![1, 0, 0, -1], 0));
    assert_eq!(vec_of("~-+"), (vec![], 0));
}

#[test]
fn huge_numbers_wrap_like_c_int() {
    // 4294967297 = 2^32 + 1 wraps to 1.
    assert_eq!(vec_of("4294967297").0, vec![1]);
    assert_eq!(vec_of("2147483648").0, vec![i32::MIN]);
    // i32::MIN - 1 wraps to a positive difference in C.
    assert!(dewey_cmp(b"2147483648", DeweyOp::Gt, b"1"));
    assert!(version_cmp(b"2147483648", b"1") > 0);
    assert!(version_cmp(b"20240101123456789", b"0") != 0);
}

#[test]
fn dewey_order_consequences() {
    use DeweyOp::*;
    assert!(dewey_cmp(b"1", Eq, b"1.0.0"));
    assert!(dewey_cmp(b"1.0pl1", Eq, b"1.0.1"));
    assert!(dewey_cmp(b"1.0a", Eq, b"1.0_1"));
    assert!(dewey_cmp(b"1.0b", Eq, b"1.0.2"));
    assert!(dewey_cmp(b"1.0alpha1", Lt, b"1.0beta1"));
    assert!(dewey_cmp(b"1.0beta1", Lt, b"1.0pre1"));
    assert!(dewey_cmp(b"1.0pre2", Eq, b"1.0rc2"));
    assert!(dewey_cmp(b"1.0rc1", Lt, b"1.0"));
    assert!(dewey_cmp(b"1.0nb1", Gt, b"1.0"));
    assert!(dewey_cmp(b"1.0nb1", Lt, b"1.0.1"));
    assert!(dewey_cmp(b"1.0NB1", Ne, b"1.0"));
    assert!(dewey_cmp(b"1.0", Ge, b"1.0"));
    assert!(dewey_cmp(b"1.0", Le, b"1.0"));
}

#[test]
fn dewey_patterns() {
    assert!(m("foo>=1.0", "foo-1.0"));
    assert!(m("foo>1.0", "foo-1.0nb1"));
    assert!(!m("foo>1.0", "foo-1.0"));
    assert!(m("foo<2", "foo-1.99"));
    assert!(m("foo<=2", "foo-2.0"));
    assert!(m("foo>=1.0<2", "foo-1.5"));
    assert!(!m("foo>=1.0<2", "foo-2.0"));
    assert!(m("foo>=1.0<=2", "foo-2.0"));
    assert!(!m("foo>=1.0<=2", "foo-0.9"));
    // Base names must be equal, not just prefixes.
    assert!(!m("foo>=1", "foo-bar-1.0"));
    assert!(!m("foo-bar>=1", "foo-1.0"));
    assert!(m("foo-bar>=1", "foo-bar-1.0"));
    assert!(!m("foo>=1", "foo"));
    // `==` and `!=` alone are no dewey patterns: plain comparison.
    assert!(!m("foo==1.0", "foo-1.0"));
    assert!(m("foo==1.0", "foo==1.0"));
    // `<...>` is one `<` whose bound holds a skipped `>`.
    assert!(m("foo<2>1", "foo-1.5"));
}

#[test]
fn globs() {
    assert!(m("foo-[0-9]*", "foo-1.0"));
    assert!(!m("foo-[0-9]*", "foo-bar-1.0"));
    assert!(m("foo-[!a-z]*", "foo-1"));
    assert!(!m("foo-[!a-z]*", "foo-x"));
    assert!(m("foo-[^a-z]*", "foo-1"));
    assert!(m("a[]]b", "a]b"));
    assert!(m("a[]-]b", "a-b"));
    assert!(m("a[x-]b", "a-b"));
    assert!(m("a[\\]]b", "a]b"));
    assert!(m("a\\*b", "a*b"));
    assert!(!m("a\\*b", "axb"));
    assert!(m("ab[c", "ab[c"));
    assert!(m("ab?d", "abcd"));
    assert!(m("ab*", "ab"));
    assert!(m("*.x", "ab.x"));
    assert!(!m("*x", ".x"));
    assert!(!m("?x", ".x"));
    assert!(!m("[.]x", ".x"));
    assert!(m(".*", ".x"));
    assert!(m("a*b*c", "axxbyyc"));
    assert!(!m("a*b*c", "axxbyy"));
    assert!(m("ab]", "ab]"));
    assert!(m("ab\\", "ab\\"));
}

#[test]
fn alternates() {
    assert!(m("{gs,gs-esp}-[0-9]*", "gs-7.0"));
    assert!(m("{gs,gs-esp}-[0-9]*", "gs-esp-7.0nb1"));
    assert!(m("mpg123{,-esound,-nas}>=0.59.18", "mpg123-nas-1.33.4"));
    assert!(m("mpg123{,-esound,-nas}>=0.59.18", "mpg123-1.33.4"));
    assert!(!m("mpg123{,-esound,-nas}>=0.59.18", "mpg123-alsa-1.33.4"));
    assert!(m("a{b,c{d,e}}f-1", "acef-1"));
    assert!(m("ab{}cd", "abcd"));
    assert!(m("boost-jam-1.90{,nb*,.*}", "boost-jam-1.90nb2"));
    let e = pkg_match(b"ab{cd", b"abx-1").unwrap_err();
    assert_eq!(e.message(), "Malformed alternate `ab{cd'");
    // The quick reject runs first: no error for names it rejects.
    assert!(!m("ab{cd", "xyz-1"));
    // A malformed suffix is only found in the recursion.
    let e = pkg_match(b"{a}{b", b"ab-1").unwrap_err();
    assert_eq!(e, MatchError::MalformedAlternate(b"a{b".to_vec()));
    assert_eq!(expansions(b"{a}{b"), None);
    let mut e = expansions(b"a{b,c{d,e}}f").unwrap();
    e.sort();
    assert_eq!(e, [&b"abf"[..], b"acdf", b"acef"]);
}

#[test]
fn quick_reject_and_exact() {
    assert!(m("foo-1.0", "foo-1.0"));
    assert!(!m("foo-1.0", "foo-1.00"));
    assert!(!m("", "foo-1"));
    assert!(!m("fo", "foo-1"));
    // NUL ends C strings.
    assert!(pkg_match(b"foo-1\0junk", b"foo-1").unwrap());
}

#[test]
fn order_of_matches() {
    assert_eq!(pkg_order(b"gs-7.0", b"gs-esp-7.0nb1"), Ok(Best::Second));
    assert_eq!(
        pkg_order(b"mpg123-nas-1.33.4", b"mpg123-1.33.4"),
        Ok(Best::First)
    );
    assert_eq!(pkg_order(b"a-1.0", b"b-1"), Ok(Best::Second));
    assert_eq!(pkg_order(b"b-1", b"a-1.0"), Ok(Best::First));
    assert_eq!(pkg_order(b"a-1", b"a-1"), Ok(Best::Second));
    assert_eq!(pkg_order(b"a-2", b"a-10"), Ok(Best::Second));
    assert_eq!(pkg_order(b"abcd", b"a-1"), Err(MatchError::NoVersion));
    assert_eq!(MatchError::NoVersion.message(), "Internal error");
}

#[test]
fn prefixes() {
    assert_eq!(literal_prefix(b"foo-[0-9]*"), b"foo-");
    assert_eq!(literal_prefix(b"foo>=1"), b"foo");
    assert_eq!(literal_prefix(b"{a,b}"), b"");
    assert_eq!(literal_prefix(b"foo-1.0"), b"foo-1.0");
    assert_eq!(quick_prefix(b"foo"), b"fo");
    assert_eq!(quick_prefix(b"f.o"), b"f");
    assert_eq!(quick_prefix(b"{f"), b"");
}

#[test]
fn repeated_brace_groups_expand_once_per_distinct_text() {
    // 3^30 expansions if every alternative were matched again; the groups
    // found by the fuzzer were of this shape.
    let many = "{,,}".repeat(30);
    let hit = format!("{many}foo-{{1,2}}.0");
    assert!(pkg_match(hit.as_bytes(), b"foo-2.0").unwrap());
    assert!(!pkg_match(hit.as_bytes(), b"foo-3.0").unwrap());
    let ranged = format!("{many}{{foo,bar}}>=1.5");
    assert!(pkg_match(ranged.as_bytes(), b"bar-1.6").unwrap());
    assert!(!pkg_match(ranged.as_bytes(), b"bar-1.4").unwrap());
}

#[test]
fn expansions_met_again_in_other_branches_are_matched_once() {
    // 2^40 expansions, but only 41 distinct texts per level.
    let pat = format!("{}-1.0", "{,x}".repeat(40));
    assert!(pkg_match(pat.as_bytes(), b"xxxxx-1.0").unwrap());
    assert!(!pkg_match(pat.as_bytes(), b"y-1.0").unwrap());
    assert!(pkg_match(pat.as_bytes(), b"-1.0").unwrap());
}
