//! The example pkgsrc tree (`tests/pkgsrc`) as pbulk-scan and pre-build see
//! it: SUBDIR listings, `pbulk-index` records (c-programs.md §0.3 rules and
//! the field order of mk/pbulk/pbulk-index.mk), multi-version expansion and
//! the platform variables of `pkgtools/pkg_install`.

use crate::support::example_tree as example_tree_util;

use example_tree_util::{bmake, bmake_ok, tree};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;

/// The lines every record has, in this order (then optional MULTI_VERSION).
const FIELDS: [&str; 12] = [
    "PKGNAME=",
    "ALL_DEPENDS=",
    "PKG_SKIP_REASON=",
    "PKG_FAIL_REASON=",
    "NO_BIN_ON_FTP=",
    "RESTRICTED=",
    "CATEGORIES=",
    "MAINTAINER=",
    "USE_DESTDIR=",
    "BOOTSTRAP_PKG=",
    "USERGROUP_PHASE=",
    "SCAN_DEPENDS=",
];

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// Split `pbulk-index` output into records the way the C programs do.
fn records(out: &str) -> Vec<Vec<String>> {
    assert!(
        out.ends_with('\n'),
        "output not newline-terminated: {out:?}"
    );
    let mut recs: Vec<Vec<String>> = Vec::new();
    for line in out.lines() {
        if line.starts_with("PKGNAME=") {
            recs.push(Vec::new());
        }
        recs.last_mut()
            .expect("output starts with PKGNAME=")
            .push(line.to_owned());
    }
    recs
}

fn field<'a>(rec: &'a [String], name: &str) -> &'a str {
    rec.iter()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {rec:?}"))
}

/// Directories below `dir` that hold a Makefile, sorted.
fn make_dirs(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Makefile").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Every location of the tree, found the way pbulk-scan finds them.
fn locations() -> Vec<String> {
    let root = tree();
    let mut locs = Vec::new();
    for cat in words(&bmake_ok(
        &root,
        &["show-subdir-var", "VARNAME=SUBDIR"],
        &[],
    )) {
        for pkg in words(&bmake_ok(
            &root.join(&cat),
            &["show-subdir-var", "VARNAME=SUBDIR"],
            &[],
        )) {
            locs.push(format!("{cat}/{pkg}"));
        }
    }
    locs
}

fn check_record(loc: &str, rec: &[String]) {
    let names: Vec<&str> = rec.iter().map(|l| &l[..=l.find('=').unwrap()]).collect();
    let multi = names.len() == FIELDS.len() + 1;
    assert_eq!(&names[..FIELDS.len()], &FIELDS[..], "{loc}: field order");
    if multi {
        assert_eq!(names[FIELDS.len()], "MULTI_VERSION=", "{loc}");
        let mv = field(rec, "MULTI_VERSION=");
        assert!(
            mv.starts_with(' ') && !mv.contains("  "),
            "{loc}: MULTI_VERSION={mv:?}"
        );
    } else {
        assert_eq!(names.len(), FIELDS.len(), "{loc}: extra lines {rec:?}");
    }
    let pkgname = field(rec, "PKGNAME=");
    assert!(
        pkgname.len() >= 4 && !pkgname.contains([' ', '\t']),
        "{loc}: PKGNAME={pkgname:?}"
    );
    assert!(
        pkgname.rfind('-').is_some_and(|i| i > 0),
        "{loc}: {pkgname} has no version"
    );

    for dep in words(field(rec, "ALL_DEPENDS=")) {
        let (pat, dir) = dep
            .split_once(':')
            .unwrap_or_else(|| panic!("{loc}: dependency {dep}"));
        assert!(
            !pat.is_empty() && dir.starts_with("../../"),
            "{loc}: dependency {dep}"
        );
        let target = tree().join(loc).join(dir);
        assert!(
            target.join("Makefile").is_file() || dir == "../../misc/ghost",
            "{loc}: dependency location {dir} does not exist"
        );
    }

    let scan_deps = words(field(rec, "SCAN_DEPENDS="));
    let mut sorted = scan_deps.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        scan_deps, sorted,
        "{loc}: SCAN_DEPENDS not sorted and unique"
    );
    for must in [
        "Makefile",
        "../../mk/bsd.pkg.mk",
        "../../mk/bsd.prefs.mk",
        "../../mk/pbulk-index.mk",
    ] {
        assert!(
            scan_deps.iter().any(|f| f == must),
            "{loc}: SCAN_DEPENDS lacks {must}"
        );
    }
    for f in &scan_deps {
        let p = tree().join(loc).join(f);
        assert!(p.is_file(), "{loc}: SCAN_DEPENDS names missing file {f}");
    }
    let categories = field(rec, "CATEGORIES=");
    let cat = loc.split('/').next().unwrap();
    assert!(
        words(categories).iter().any(|c| c == cat),
        "{loc}: CATEGORIES={categories}"
    );
}

#[test]
fn subdir_lists_match_the_directories() {
    let root = tree();
    let cats = words(&bmake_ok(
        &root,
        &["show-subdir-var", "VARNAME=SUBDIR"],
        &[],
    ));
    let expected: BTreeSet<String> = make_dirs(&root);
    assert_eq!(cats.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        cats.windows(2).all(|w| w[0] < w[1]),
        "categories sorted: {cats:?}"
    );
    for cat in &cats {
        let pkgs = words(&bmake_ok(
            &root.join(cat),
            &["show-subdir-var", "VARNAME=SUBDIR"],
            &[],
        ));
        let dirs = make_dirs(&root.join(cat));
        assert_eq!(
            pkgs.iter().cloned().collect::<BTreeSet<_>>(),
            dirs,
            "category {cat}"
        );
    }
    // USER_ADDITIONAL_PKGS adds locations with a slash to the top level.
    let out = bmake_ok(
        &root,
        &[
            "show-subdir-var",
            "VARNAME=SUBDIR",
            "USER_ADDITIONAL_PKGS=misc/hello",
        ],
        &[],
    );
    assert_eq!(words(&out).last().map(String::as_str), Some("misc/hello"));
}

#[test]
fn every_record_is_well_formed() {
    let locs = locations();
    assert!((30..=40).contains(&locs.len()), "{} locations", locs.len());
    let mut seen = HashSet::new();
    let mut total = 0;
    for loc in &locs {
        let out = bmake_ok(&tree().join(loc), &["pbulk-index"], &[]);
        let recs = records(&out);
        assert!(!recs.is_empty(), "{loc}: no record");
        for rec in &recs {
            check_record(loc, rec);
            let name = field(rec, "PKGNAME=").to_owned();
            assert!(seen.insert(name.clone()), "duplicate package {name}");
            total += 1;
        }
    }
    assert_eq!(total, 40, "scan records of the whole tree");
}

#[test]
fn multi_version_packages_give_one_record_per_variant() {
    let out = bmake_ok(&tree().join("devel/py-hello"), &["pbulk-index"], &[]);
    let recs = records(&out);
    let got: Vec<(&str, &str)> = recs
        .iter()
        .map(|r| (field(r, "PKGNAME="), field(r, "MULTI_VERSION=")))
        .collect();
    assert_eq!(
        got,
        [
            ("py312-hello-1.0", " PYTHON_VERSION_REQD=312"),
            ("py311-hello-1.0", " PYTHON_VERSION_REQD=311")
        ]
    );
    assert_eq!(
        field(&recs[1], "ALL_DEPENDS="),
        "  python311>=3.0:../../lang/python311"
    );
    assert!(field(&recs[0], "SCAN_DEPENDS=").contains("../../lang/python/pyversion.mk"));

    // Two classes: the cartesian product, defaults first, python slowest.
    let out = bmake_ok(&tree().join("devel/lua-py-bridge"), &["pbulk-index"], &[]);
    let got: Vec<String> = records(&out)
        .iter()
        .map(|r| format!("{}|{}", field(r, "PKGNAME="), field(r, "MULTI_VERSION=")))
        .collect();
    assert_eq!(
        got,
        [
            "py312-lua54-bridge-0.2| PYTHON_VERSION_REQD=312 LUA_VERSION_REQD=54",
            "py312-lua53-bridge-0.2| PYTHON_VERSION_REQD=312 LUA_VERSION_REQD=53",
            "py311-lua54-bridge-0.2| PYTHON_VERSION_REQD=311 LUA_VERSION_REQD=54",
            "py311-lua53-bridge-0.2| PYTHON_VERSION_REQD=311 LUA_VERSION_REQD=53",
        ]
    );

    // pkg-build passes the MULTI_VERSION words to make on the command line.
    let dir = tree().join("devel/lua-py-bridge");
    let args = [
        "show-var",
        "VARNAME=PKGNAME",
        "PYTHON_VERSION_REQD=311",
        "LUA_VERSION_REQD=53",
    ];
    assert_eq!(bmake_ok(&dir, &args, &[]), "py311-lua53-bridge-0.2\n");
    // A single-variant package has no MULTI_VERSION line.
    let out = bmake_ok(&tree().join("lang/python311"), &["pbulk-index"], &[]);
    assert!(!out.contains("MULTI_VERSION"), "{out}");
}

#[test]
fn flags_and_reasons_reach_the_records() {
    let rec = |loc: &str| records(&bmake_ok(&tree().join(loc), &["pbulk-index"], &[])).remove(0);
    assert_eq!(field(&rec("pkgtools/pkg_install"), "BOOTSTRAP_PKG="), "yes");
    assert_eq!(field(&rec("devel/libtop"), "BOOTSTRAP_PKG="), "");
    let skipped = rec("misc/skipped");
    assert!(field(&skipped, "PKG_SKIP_REASON=")
        .starts_with("\"[bsd.pkg.mk] skipped-1.0 is not available"));
    assert_eq!(field(&skipped, "PKG_FAIL_REASON="), "");
    assert_eq!(
        field(&rec("misc/broken"), "PKG_FAIL_REASON="),
        r#""[bsd.pkg.mk] broken-1.0 is marked broken: does not \"compile\"""#
    );
    let restricted = rec("net/restricted");
    assert_eq!(
        field(&restricted, "RESTRICTED="),
        "No redistribution allowed"
    );
    assert_eq!(
        field(&restricted, "NO_BIN_ON_FTP="),
        "No redistribution allowed"
    );
    let nobin = rec("net/nobinftp");
    assert_eq!(field(&nobin, "RESTRICTED="), "");
    assert_eq!(
        field(&nobin, "NO_BIN_ON_FTP="),
        "Binary redistribution forbidden by the license"
    );
    assert_eq!(field(&rec("net/destdir-yes"), "USE_DESTDIR="), "yes");
    assert_eq!(field(&rec("misc/hello"), "USE_DESTDIR="), "user-destdir");
    assert_eq!(
        field(&rec("sysutils/daemon-preinst"), "USERGROUP_PHASE="),
        "pre-install"
    );
    assert_eq!(
        field(&rec("sysutils/daemon-conf"), "USERGROUP_PHASE="),
        "configure"
    );
    // A dependency diamond, a chain through buildlink3.mk files, alternates.
    assert_eq!(
        words(field(&rec("math/dia-top"), "ALL_DEPENDS=")),
        [
            "buildtool>=1.0:../../devel/buildtool",
            "dia-left>=1.0:../../math/dia-left",
            "dia-right>=1.0:../../math/dia-right"
        ]
    );
    let top = rec("devel/libtop");
    assert_eq!(
        words(field(&top, "ALL_DEPENDS=")),
        [
            "libmid>=2.0:../../devel/libmid",
            "libbase>=1.0:../../devel/libbase"
        ]
    );
    assert!(field(&top, "SCAN_DEPENDS=").contains("../../devel/libbase/buildlink3.mk"));
    assert!(field(&rec("textproc/app"), "ALL_DEPENDS=")
        .contains("{docgen,docgen2}>=2.0:../../textproc/docgen"));
}

#[test]
fn makeconf_and_environment_settings_win() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("mk.conf");
    std::fs::write(
        &conf,
        "OPSYS=NetBSD\nOS_VERSION=10.1\nMACHINE_ARCH=x86_64\nLOCALBASE=/opt/demo\n",
    )
    .unwrap();
    let dir = tree().join("pkgtools/pkg_install");
    let env = [("MAKECONF", conf.to_str().unwrap())];
    let vars = [
        "OPSYS",
        "OS_VERSION",
        "OS_VARIANT",
        "LOWER_VARIANT_VERSION",
        "MACHINE_ARCH",
        "PKGSRC_COMPILER",
    ];
    let got: Vec<String> = vars
        .iter()
        .map(|v| bmake_ok(&dir, &["show-var", &format!("VARNAME={v}")], &env))
        .collect();
    assert_eq!(got, ["NetBSD\n", "10.1\n", "\n", "\n", "x86_64\n", "gcc\n"]);
    assert_eq!(
        bmake_ok(&dir, &["show-var", "VARNAME=PKG_DBDIR"], &env),
        "/opt/demo/pkgdb\n"
    );
    // Without MAKECONF the platform comes from uname.
    let opsys = bmake_ok(&dir, &["show-var", "VARNAME=OPSYS"], &[]);
    let uname = std::process::Command::new("uname")
        .arg("-s")
        .output()
        .unwrap();
    assert_eq!(opsys.as_bytes(), uname.stdout);
    // The environment overrides the defaults too, and shows in the record.
    let env = [
        ("MAKECONF", conf.to_str().unwrap()),
        ("WRKOBJDIR", "/var/tmp/w"),
    ];
    let out = bmake_ok(&dir, &["show-vars", "VARNAMES=PKGNAME STAGE_PKGFILE"], &env);
    assert_eq!(
        out,
        "pkg_install-20250417\n/var/tmp/w/pkgtools/pkg_install/work/.packages/pkg_install-20250417.tgz\n"
    );
    let rec = records(&bmake_ok(&dir, &["pbulk-index"], &env)).remove(0);
    assert!(words(field(&rec, "SCAN_DEPENDS=")).contains(&conf.to_str().unwrap().to_owned()));
    // An unknown target fails, so make failures are visible to callers.
    assert!(!bmake(&dir, &["no-such-target"], &[]).status.success());
}

/// The outcome of a full bulk build of the tree, as tests/pkgsrc/README.md
/// documents it (pbulk-build's report statuses).
const OUTCOMES: [(&str, &str); 40] = [
    ("buildtool-1.5", "done"),
    ("libbase-1.0nb2", "done"),
    ("libmid-2.1", "done"),
    ("libtop-0.9.3", "done"),
    ("py312-lua54-bridge-0.2", "done"),
    ("py312-lua53-bridge-0.2", "done"),
    ("py311-lua54-bridge-0.2", "done"),
    ("py311-lua53-bridge-0.2", "done"),
    ("py312-hello-1.0", "done"),
    ("py311-hello-1.0", "done"),
    ("lua53-5.3.6", "done"),
    ("lua54-5.4.7", "done"),
    ("python311-3.11.10", "done"),
    ("python312-3.12.7", "done"),
    ("dia-left-1.0", "done"),
    ("dia-right-1.0", "done"),
    ("dia-top-1.0", "done"),
    ("broken-1.0", "prefailed"),
    ("fail-build-1.0", "failed"),
    ("fail-checksum-1.0", "failed"),
    ("fail-configure-1.0", "failed"),
    ("fail-install-1.0", "failed"),
    ("fail-package-1.0", "failed"),
    ("hello-2.12", "done"),
    ("missing-dep-1.0", "prefailed"),
    ("needs-fail-build-1.0", "indirect-failed"),
    ("needs-needs-fail-1.0", "indirect-failed"),
    ("needs-skipped-1.0", "indirect-prefailed"),
    ("needs-unresolvable-1.0", "indirect-prefailed"),
    ("skipped-1.0", "prefailed"),
    ("unresolvable-1.0", "prefailed"),
    ("destdir-yes-1.0", "done"),
    ("nobinftp-2.0", "done"),
    ("restricted-1.0", "done"),
    ("digest-20220214", "done"),
    ("pkg_install-20250417", "done"),
    ("daemon-conf-1.0", "done"),
    ("daemon-preinst-1.0", "done"),
    ("app-1.2", "done"),
    ("docgen-3.0", "done"),
];

/// Best match of `pattern` among `names`, by the stand-ins' pkgmatch.awk.
fn best_match(pattern: &str, names: &str) -> Option<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("awk")
        .arg("-f")
        .arg(example_tree_util::tool("pkgmatch.awk"))
        .arg("-v")
        .arg(format!("pat={pattern}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(names.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap().trim_end().to_owned())
}

#[test]
fn documented_outcomes_follow_from_the_records() {
    let mut recs = Vec::new();
    for loc in locations() {
        for rec in records(&bmake_ok(&tree().join(&loc), &["pbulk-index"], &[])) {
            recs.push((loc.clone(), rec));
        }
    }
    let names: String = recs
        .iter()
        .map(|(_, r)| format!("{}\n", field(r, "PKGNAME=")))
        .collect();
    // Records come in scan order; dependencies may come later, so iterate.
    let mut outcome: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    while outcome.len() < recs.len() {
        for (loc, rec) in &recs {
            let name = field(rec, "PKGNAME=");
            if outcome.contains_key(name) {
                continue;
            }
            let mut deps = Vec::new();
            let mut unresolved = false;
            for dep in words(field(rec, "ALL_DEPENDS=")) {
                match best_match(dep.split(':').next().unwrap(), &names) {
                    Some(d) => deps.push(d),
                    None => unresolved = true,
                }
            }
            let reason = !field(rec, "PKG_SKIP_REASON=").is_empty()
                || !field(rec, "PKG_FAIL_REASON=").is_empty();
            let state = if reason || unresolved {
                "prefailed"
            } else if deps.iter().any(|d| !outcome.contains_key(d)) {
                continue;
            } else if deps.iter().any(|d| outcome[d].ends_with("prefailed")) {
                "indirect-prefailed"
            } else if deps.iter().any(|d| outcome[d].ends_with("failed")) {
                "indirect-failed"
            } else if loc.starts_with("misc/fail-") {
                "failed"
            } else {
                "done"
            };
            outcome.insert(name.to_owned(), state);
        }
    }
    for (name, want) in OUTCOMES {
        assert_eq!(outcome.get(name).copied(), Some(want), "{name}");
    }
    assert_eq!(outcome.len(), OUTCOMES.len());
}
