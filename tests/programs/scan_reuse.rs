//! pbulk-scan `-L`: reuse of an old scan by the reference's rules, and the
//! incremental promise: after touching a shared .mk file exactly the
//! packages that include it are rescanned and the result equals a full scan.

use crate::support::scan_fake;

use scan_fake::{record, scanned, text, Tree};

/// 6 packages; p1, p3 and p5 include mk/shared.mk (their PKGNAME carries
/// its content, as a version set in a shared file would); every SCAN_DEPENDS
/// form appears: absolute, `../../` and package-relative.
fn tree() -> Tree {
    let t = Tree::new();
    t.subdirs("", "cat\n");
    t.subdirs("cat", "p0 p1 p2 p3 p4 p5\n");
    t.file("mk", "shared.mk", b"1.0");
    t.file("mk", "other.mk", b"");
    let root = t.root.display().to_string();
    for i in 0..6 {
        let loc = format!("cat/p{i}");
        t.file(&loc, "Makefile", b"");
        let (name, deps) = if i % 2 == 1 {
            t.file(&loc, "vfile", format!("{root}/mk/shared.mk").as_bytes());
            (
                format!("p{i}-@V@"),
                format!("{root}/{loc}/../../mk/shared.mk ../../mk/other.mk Makefile"),
            )
        } else {
            (format!("p{i}-1"), format!("{root}/mk/other.mk Makefile"))
        };
        t.package(&loc, &record(&name, "", &deps));
    }
    t.age();
    t
}

fn index_calls(t: &Tree) -> Vec<String> {
    t.calls()
        .into_iter()
        .filter(|c| c.starts_with("pbulk-index"))
        .collect()
}

#[test]
fn unchanged_tree_reuses_everything() {
    let t = tree();
    assert_eq!(t.scan(&[], "old").status.code(), Some(0));
    assert_eq!(index_calls(&t).len(), 6);
    let o = t.scan(&["-v", "-L", t.path("old").to_str().unwrap()], "new");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(index_calls(&t), Vec::<String>::new());
    assert_eq!(
        std::fs::read(t.path("new")).unwrap(),
        std::fs::read(t.path("old")).unwrap()
    );
    // Reused jobs count as done for the progress output.
    assert_eq!(text(&o.stdout), "...... 6/6\n");
}

#[test]
fn touching_a_shared_file_rescans_exactly_its_includers() {
    let t = tree();
    assert_eq!(t.scan(&["-j", "2"], "old").status.code(), Some(0));
    t.calls();
    // Change the shared file: it is now newer than the old scan.
    t.file("mk", "shared.mk", b"2.0");
    let o = t.scan(&["-j", "2", "-L", t.path("old").to_str().unwrap()], "new");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let mut calls = index_calls(&t);
    calls.sort();
    assert_eq!(
        calls,
        [
            "pbulk-index cat/p1",
            "pbulk-index cat/p3",
            "pbulk-index cat/p5"
        ]
    );
    assert_eq!(t.scan(&[], "full").status.code(), Some(0));
    let new = std::fs::read(t.path("new")).unwrap();
    assert_eq!(text(&new), text(&std::fs::read(t.path("full")).unwrap()));
    assert!(text(&new).contains("PKGNAME=p3-2.0\n"));
}

#[test]
fn reuse_rules_of_the_reference() {
    let t = tree();
    let root = t.root.display().to_string();
    // A hand-written old scan: a multi-version location whose second
    // variant names a missing file (only the first variant's SCAN_DEPENDS
    // counts), a location without SCAN_DEPENDS (always reused), one whose
    // file is gone (rescanned), and PKG_LOCATION lines out of place (they
    // are cut out and written back as line 2).
    let old = format!(
        "PKGNAME=old0-1\nPKG_LOCATION=cat/p0\nSCAN_DEPENDS={root}/mk/other.mk\n\
         PKGNAME=old0b-1\nSCAN_DEPENDS=/nonexistent\nPKG_LOCATION=cat/p0\n\
         PKGNAME=old2-1\nX=1\nPKG_LOCATION=cat/p2\n\
         PKGNAME=old4-1\nPKG_LOCATION=cat/p4\nSCAN_DEPENDS=Makefile gone.mk\n"
    );
    std::fs::write(t.path("old"), &old).unwrap();
    let o = t.scan(&["-L", t.path("old").to_str().unwrap()], "new");
    assert_eq!(o.status.code(), Some(0));
    let mut calls = index_calls(&t);
    calls.sort();
    assert_eq!(
        calls,
        [
            "pbulk-index cat/p1",
            "pbulk-index cat/p3",
            "pbulk-index cat/p4",
            "pbulk-index cat/p5"
        ]
    );
    let new = text(&std::fs::read(t.path("new")).unwrap());
    let expect_start = format!(
        "PKGNAME=old0-1\nPKG_LOCATION=cat/p0\nSCAN_DEPENDS={root}/mk/other.mk\n\
         PKGNAME=old0b-1\nPKG_LOCATION=cat/p0\nSCAN_DEPENDS=/nonexistent\n"
    );
    assert!(new.starts_with(&expect_start), "{new}");
    assert!(
        new.contains("PKGNAME=old2-1\nPKG_LOCATION=cat/p2\nX=1\nPKGNAME=p3-1.0\n"),
        "{new}"
    );
    assert!(new.contains(&scanned(
        &record("p4-1", "", &format!("{root}/mk/other.mk Makefile")),
        "cat/p4"
    )));

    // A file modified in the same second as the old scan forces a rescan:
    // give the old scan the tree's (past) time.
    let past = std::fs::metadata(t.root.join("mk/other.mk"))
        .unwrap()
        .modified()
        .unwrap();
    filetime::set_file_mtime(t.path("old"), filetime::FileTime::from_system_time(past)).unwrap();
    t.calls();
    assert_eq!(
        t.scan(&["-L", t.path("old").to_str().unwrap()], "new2")
            .status
            .code(),
        Some(0)
    );
    let mut calls = index_calls(&t);
    calls.sort();
    assert_eq!(calls.len(), 5, "{calls:?}");
    assert!(!calls.contains(&"pbulk-index cat/p2".to_string()));

    // Malformed old scans stop the scan before any make runs.
    std::fs::write(t.path("bad"), "PKGNAME=x-1\nX=1\n").unwrap();
    let o = t.scan(&["-L", t.path("bad").to_str().unwrap()], "new3");
    assert_eq!(
        (o.status.code(), text(&o.stderr)),
        (Some(1), "pbulk-scan: Location entry missing\n".into())
    );
    std::fs::write(t.path("bad"), "PKGNAME=x-1\nPKG_LOCATION=a/b").unwrap();
    let o = t.scan(&["-L", t.path("bad").to_str().unwrap()], "new3");
    assert_eq!(
        (o.status.code(), text(&o.stderr)),
        (Some(1), "pbulk-scan: Incomplete old scan\n".into())
    );
    assert!(t.calls().is_empty());
    // A missing old scan is silently no old scan.
    let o = t.scan(&["-L", t.path("nothing").to_str().unwrap()], "new3");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(index_calls(&t).len(), 6);
}
