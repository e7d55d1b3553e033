//! The scan phase end to end on the example tree (`tests/pkgsrc`) with the
//! real bmake, our pbulk-scan and our pbulk-resolve: a limited build grows
//! to exactly the dependency closure of its list, and an unresolvable
//! dependency ends the loop the non-strict or the strict way.

use crate::support::common;
use crate::support::example_tree as example_tree_util;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LEAKY: [&str; 6] = [
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKECONF",
    "MAKEOBJDIR",
    "USER_ADDITIONAL_PKGS",
];

struct Run {
    _tmp: tempfile::TempDir,
    loc: PathBuf,
    out: Output,
}

fn phase(list: &str, extra: &str) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let bulklog = tmp.path().join("bulklog");
    std::fs::write(tmp.path().join("limited"), list).unwrap();
    let conf = tmp.path().join("pbulk.conf");
    std::fs::write(
        &conf,
        format!(
            "config_version=0.68\nmaster_mode=no\nbulklog={}\nloc=${{bulklog}}/meta\npkgsrc={}\nmake=bmake\n\
             pscan={}\npresolve={}\nlimited_list={}\n{extra}\n",
            bulklog.display(),
            example_tree_util::tree().display(),
            common::bin("pbulk-scan").display(),
            common::bin("pbulk-resolve").display(),
            tmp.path().join("limited").display(),
        ),
    )
    .unwrap();
    let mut c = Command::new(common::bin("scan"));
    for v in LEAKY {
        c.env_remove(v);
    }
    let out = c.env("PBULK_CONF", &conf).output().unwrap();
    Run {
        loc: bulklog.join("meta"),
        _tmp: tmp,
        out,
    }
}

fn read(p: &Path) -> String {
    String::from_utf8(std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// location -> dependency locations, from a full scan of the tree.
fn dependency_graph() -> HashMap<String, Vec<String>> {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = Command::new(common::bin("pbulk-scan"));
    for v in LEAKY {
        c.env_remove(v);
    }
    let st = c
        .args(["-M", "bmake"])
        .arg(example_tree_util::tree())
        .arg(tmp.path().join("p"))
        .status()
        .unwrap();
    assert!(st.success());
    let mut g: HashMap<String, Vec<String>> = HashMap::new();
    let mut loc = String::new();
    for line in read(&tmp.path().join("p")).lines() {
        if let Some(l) = line.strip_prefix("PKG_LOCATION=") {
            loc = l.to_owned();
        }
        if let Some(d) = line.strip_prefix("ALL_DEPENDS=") {
            let deps = d
                .split_whitespace()
                .map(|w| w.split_once(":../../").unwrap().1.to_owned());
            g.entry(loc.clone()).or_default().extend(deps);
        }
    }
    g
}

fn locations(presolve: &str) -> BTreeSet<String> {
    presolve
        .lines()
        .filter_map(|l| l.strip_prefix("PKG_LOCATION="))
        .map(str::to_owned)
        .collect()
}

#[test]
fn limited_build_closes_over_dependencies() {
    let g = dependency_graph();
    let mut closure = BTreeSet::from(["textproc/app".to_string()]);
    let mut todo = vec!["textproc/app".to_string()];
    while let Some(l) = todo.pop() {
        for d in g.get(&l).into_iter().flatten() {
            if closure.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    assert!(closure.len() > 5);

    let r = phase("textproc/app # the one we want\n", "");
    assert_eq!(
        r.out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.out.stderr)
    );
    let presolve = read(&r.loc.join("presolve"));
    assert_eq!(locations(&presolve), closure);
    assert_eq!(read(&r.loc.join("missing")), "");
    let stdout = String::from_utf8_lossy(&r.out.stdout);
    assert!(
        stdout.starts_with("Scanning...\n. 1/1\nResolving...\nScanning...\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("Resolving...\n"), "{stdout}");
    assert!(read(&r.loc.join("status")).starts_with("SCAN_END_EPOCHE="));
    // Every package of the closure got its DEPENDS resolved.
    let app = presolve
        .split("PKGNAME=")
        .find(|r| r.starts_with("app-"))
        .unwrap();
    assert!(
        app.lines()
            .any(|l| l.starts_with("DEPENDS=") && l.contains("libbase-")),
        "{app}"
    );
}

#[test]
fn limited_build_with_an_unresolvable_dependency() {
    let r = phase("misc/needs-unresolvable\n", "");
    assert_eq!(
        r.out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.out.stderr)
    );
    let stdout = String::from_utf8_lossy(&r.out.stdout).into_owned();
    let tail = "Unresolvable dependencies found, marking packages depending on them as broken:\ndevel/libbase\n";
    assert!(stdout.ends_with(tail), "{stdout}");
    let presolve = read(&r.loc.join("presolve"));
    assert!(
        presolve.contains("PKG_FAIL_REASON=\"could not resolve dependency \"libbase>=9.0\"\"\n"),
        "{presolve}"
    );
    assert!(!r.loc.join("presolve.new").exists());

    let r = phase("misc/needs-unresolvable\n", "strict_mode=yes");
    assert_eq!(r.out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&r.out.stdout).into_owned();
    assert!(
        stdout.ends_with("Unresolvable dependencies found, exiting\ndevel/libbase\n"),
        "{stdout}"
    );
    assert!(!r.loc.join("status").exists());
}
