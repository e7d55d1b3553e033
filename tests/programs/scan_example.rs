//! pbulk-scan with the real bmake on a copy of the example tree
//! (`tests/pkgsrc`): the output equals what a plain sequential reference
//! scanner written here produces (bmake run in every location, records with
//! PKG_LOCATION as line 2), for -j 1 and -j 3; SUBDIR words with a slash are
//! locations; and an incremental rescan after touching a buildlink3.mk
//! runs make in exactly the packages that include it.

use crate::support::common;
use crate::support::example_tree as example_tree_util;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

const LEAKY: [&str; 5] = ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKECONF", "MAKEOBJDIR"];

fn clean(cmd: &mut Command) -> &mut Command {
    for v in LEAKY {
        cmd.env_remove(v);
    }
    cmd.env_remove("USER_ADDITIONAL_PKGS")
}

fn bmake(dir: &Path, args: &[&str]) -> Vec<u8> {
    let o = clean(&mut Command::new("bmake"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "bmake {args:?} in {}", dir.display());
    o.stdout
}

fn words(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The reference: enumerate, then scan every location in order.
fn reference_scan(tree: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for cat in words(&bmake(tree, &["show-subdir-var", "VARNAME=SUBDIR"])) {
        for pkg in words(&bmake(
            &tree.join(&cat),
            &["show-subdir-var", "VARNAME=SUBDIR"],
        )) {
            let loc = format!("{cat}/{pkg}");
            let text = String::from_utf8(bmake(&tree.join(&loc), &["pbulk-index"])).unwrap();
            assert!(
                text.starts_with("PKGNAME=") && text.ends_with('\n'),
                "{loc}"
            );
            for line in text.split_inclusive('\n') {
                out.extend_from_slice(line.as_bytes());
                if line.starts_with("PKGNAME=") {
                    out.extend_from_slice(format!("PKG_LOCATION={loc}\n").as_bytes());
                }
            }
        }
    }
    out
}

fn copy_tree(dst: &Path) {
    let st = Command::new("cp")
        .arg("-R")
        .arg(example_tree_util::tree())
        .arg(dst)
        .status()
        .unwrap();
    assert!(st.success());
    // Everything older than any scan written from now on.
    let past = filetime::FileTime::from_system_time(SystemTime::now() - Duration::from_secs(3600));
    fn walk(dir: &Path, t: filetime::FileTime) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, t);
            }
            filetime::set_file_mtime(&p, t).unwrap();
        }
    }
    walk(dst, past);
}

fn scan(
    tree: &Path,
    make: &Path,
    args: &[&str],
    out: &Path,
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut c = Command::new(common::bin("pbulk-scan"));
    clean(&mut c)
        .arg("-M")
        .arg(make)
        .args(args)
        .arg(tree)
        .arg(out)
        .envs(env.iter().copied());
    c.output().unwrap()
}

#[test]
fn example_tree_with_bmake() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("pkgsrc");
    copy_tree(&tree);
    let expected = reference_scan(&tree);
    assert!(expected.len() > 1000);

    // A wrapper that logs the targets the scanner asks for.
    let log = tmp.path().join("calls");
    let make = tmp.path().join("make");
    std::fs::write(
        &make,
        format!(
            "#!/bin/sh\necho \"$1 $PWD\" >> {}\nexec bmake \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&make, std::fs::Permissions::from_mode(0o755)).unwrap();
    let index_calls = || -> Vec<String> {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        let prefix = format!("pbulk-index {}/", tree.display());
        let mut v: Vec<String> = t
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };

    for j in ["1", "3"] {
        let out = tmp.path().join(format!("pscan.{j}"));
        let o = scan(&tree, &make, &["-v", "-j", j], &out, &[]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            std::fs::read(&out).unwrap() == expected,
            "-j {j}: output differs from the reference scan"
        );
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            format!("{} 36/36\n", ".".repeat(36))
        );
        assert_eq!(index_calls().len(), 36);
    }

    // A top-level SUBDIR word with a slash is a location of its own.
    let out = tmp.path().join("pscan.extra");
    let o = scan(
        &tree,
        &make,
        &["-v"],
        &out,
        &[("USER_ADDITIONAL_PKGS", "misc/hello")],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(std::fs::read(&out).unwrap() == expected);
    let hello = String::from_utf8(bmake(&tree.join("misc/hello"), &["pbulk-index"])).unwrap();
    let name = hello
        .lines()
        .next()
        .unwrap()
        .strip_prefix("PKGNAME=")
        .unwrap()
        .to_owned();
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("pbulk-scan: Duplicate package: {name}\n")
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{} 37/37\n", ".".repeat(37))
    );
    assert_eq!(
        index_calls()
            .iter()
            .filter(|l| l.as_str() == "misc/hello")
            .count(),
        2
    );

    // Incremental: unchanged tree, nothing rescanned.
    let old = tmp.path().join("pscan.1");
    let o = scan(
        &tree,
        &make,
        &["-L", old.to_str().unwrap()],
        &tmp.path().join("pscan.inc"),
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(index_calls(), Vec::<String>::new());
    assert!(std::fs::read(tmp.path().join("pscan.inc")).unwrap() == expected);

    // Touch a buildlink3.mk: exactly its includers are rescanned.
    let bl3 = "../../devel/libbase/buildlink3.mk";
    let text = String::from_utf8(expected.clone()).unwrap();
    let mut includers: Vec<String> = Vec::new();
    let mut loc = String::new();
    for line in text.lines() {
        if let Some(l) = line.strip_prefix("PKG_LOCATION=") {
            loc = l.to_owned();
        }
        if let Some(d) = line.strip_prefix("SCAN_DEPENDS=") {
            if d.split(' ').any(|w| w == bl3) && !includers.contains(&loc) {
                includers.push(loc.clone());
            }
        }
    }
    includers.sort();
    assert!((3..20).contains(&includers.len()), "{includers:?}");
    filetime::set_file_mtime(
        tree.join("devel/libbase/buildlink3.mk"),
        filetime::FileTime::now(),
    )
    .unwrap();
    let o = scan(
        &tree,
        &make,
        &["-j", "2", "-L", old.to_str().unwrap()],
        &tmp.path().join("pscan.inc2"),
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(index_calls(), includers);
    assert!(std::fs::read(tmp.path().join("pscan.inc2")).unwrap() == expected);
}
