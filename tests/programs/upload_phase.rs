//! The upload phase program: filter list and a real rsync into a local
//! directory.

use crate::support::report as report_support;

use report_support::{tree, Fixture};

fn fixture() -> Fixture {
    let f = Fixture::new();
    f.write(
        "bulklog/meta/presolve",
        "PKGNAME=c-1\nCATEGORIES=devel lang\nPKGNAME=r-1\nCATEGORIES=devel\nNO_BIN_ON_FTP=not allowed\n\
PKGNAME=e-1\nCATEGORIES=www\nDEPENDS=r-1\nPKGNAME=f-1\nCATEGORIES=net\nNO_BIN_ON_FTP=\n",
    );
    f.write("bulklog/meta/success", "c-1\nr-1\ne-1\nf-1\n");
    for p in [
        "All/c-1.tgz",
        "All/r-1.tgz",
        "All/e-1.tgz",
        "All/f-1.tgz",
        "All/x-1.tgz",
    ] {
        f.write(&format!("packages/{p}"), "pkg\n");
    }
    for p in [
        "All/pkg_summary.gz",
        "All/pkg_summary.bz2",
        "SHA512.bz2",
        "devel/c-1.tgz",
        "README",
    ] {
        f.write(&format!("packages/{p}"), "x\n");
    }
    f
}

#[test]
fn uploads_unrestricted_packages_and_summaries() {
    let f = fixture();
    let out = f.run("upload", "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Uploading packages...\n"
    );
    assert_eq!(
        f.recorded("rsync.stdin").unwrap(),
        "+ All/\n+ All/c-1.tgz\n+ All/f-1.tgz\n+ All/pkg_summary.bz2\n+ All/pkg_summary.gz\n+ SHA512.bz2\n\
+ devel/\n+ devel/c-1.tgz\n+ lang/\n+ lang/c-1.tgz\n+ net/\n+ net/f-1.tgz\n- *\n"
    );
    assert_eq!(
        f.recorded("rsync.args").unwrap(),
        format!(
            "--exclude-from=-\n-a\n--delete-excluded\n.\n{}\n",
            f.path("pub").display()
        )
    );
    assert_eq!(
        tree(&f.path("pub")),
        [
            "All/c-1.tgz",
            "All/f-1.tgz",
            "All/pkg_summary.bz2",
            "All/pkg_summary.gz",
            "SHA512.bz2",
            "devel/c-1.tgz"
        ]
    );
}

#[test]
fn checksums_off_leaves_sha512_out() {
    for off in ["no", "NO"] {
        let f = fixture();
        let out = f.run("upload", &format!("checksum_packages={off}"));
        assert!(out.status.success());
        assert!(!f.recorded("rsync.stdin").unwrap().contains("SHA512"));
        assert!(!f.path("pub/SHA512.bz2").exists());
    }
    let f = fixture();
    assert!(f.run("upload", "checksum_packages=No").status.success());
    assert!(
        f.path("pub/SHA512.bz2").exists(),
        "only no and NO switch checksums off"
    );
}

#[test]
fn rsync_status_is_the_phase_status() {
    let f = fixture();
    let out = f.run("upload", "pkg_rsync_target=/nonexistent/dir/deeper");
    assert_ne!(out.status.code(), Some(0));
}
