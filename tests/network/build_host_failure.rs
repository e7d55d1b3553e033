//! A build client whose host fails a build (its script exits 75, as
//! pkg-build does for a full disk or a missing tool) sends no status for
//! the job: the package is not logged as failed, and the master, ours as
//! the reference's, hands the job to another client.

use crate::support::build_net::*;

use std::io::Write;
use std::net::TcpListener;

/// A build script that fails every build as a host failure.
const BROKEN_HOST: &str = "#!/bin/sh\ncat > /dev/null\necho 'no space left' >&2\nexit 75\n";

#[test]
fn a_host_failure_sends_no_status_and_ends_the_client() {
    let t = Tree::new("");
    t.script("b.sh", BROKEN_HOST);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let c = Proc::spawn(&mut t.cmd(&["-c", &format!("127.0.0.1:{port}"), "-b", "b.sh"]));
    let mut s = accept(&l);
    assert_eq!(read_byte(&mut s), b'G');
    s.write_all(&frame(rec("victim-1", "").as_bytes())).unwrap();
    // No D, no F: the connection just ends.
    assert!(closed_by_peer(&mut s));
    let o = c.finish();
    assert_eq!(o.status.code(), Some(75), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stderr),
        "no space left\npbulk-build: the build host failed the build of victim-1 (see above); \
         left to the master to hand to another client\n"
    );
}

#[test]
fn the_master_builds_a_host_failed_job_on_another_client() {
    let pkgs = ["aaa-1", "bbb-1", "ccc-1"];
    let t = Tree::new(&pkgs.map(|p| rec(p, "")).concat());
    let dir = t.dir.path().display().to_string();
    t.script("broken.sh", BROKEN_HOST);
    // The good client builds only once the broken one has ended, so the
    // broken one surely gets a job first.
    t.script(
        "good.sh",
        &format!(
            "#!/bin/sh\nIFS= read -r l\ncat > /dev/null\n\
             while [ ! -f {dir}/broken.rc ]; do sleep 0.05; done\n\
             echo \"${{l#PKGNAME=}}\" >> {dir}/built\nexit 0\n"
        ),
    );
    let port = free_port();
    let client = |name: &str| {
        format!(
            "( {bin} -c 127.0.0.1:{port} -b {dir}/{name}.sh >{dir}/{name}.out 2>{dir}/{name}.err \
             </dev/null; echo $? >{dir}/{name}.rc ) >/dev/null 2>&1 </dev/null &\n",
            bin = pbulk_build().display()
        )
    };
    let start = t.script(
        "start.sh",
        &format!("#!/bin/sh\n{}{}exit 0\n", client("broken"), client("good")),
    );
    let m = t.master(port, &["-r", "report", "-I", start.to_str().unwrap()], &[]);
    let o = m.finish();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.starts_with("pbulk-build: Lost client 127.0.0.1:")
            && err.ends_with("; the job is handed out again\n")
            && err.lines().count() == 1,
        "{err}"
    );
    wait_for("the good client to end", || t.read("good.rc") == "0\n");
    assert_eq!(t.read("broken.rc"), "75\n");
    assert!(
        t.read("broken.err")
            .ends_with("(see above); left to the master to hand to another client\n"),
        "{}",
        t.read("broken.err")
    );
    let mut built: Vec<String> = t.read("built").lines().map(String::from).collect();
    built.sort();
    assert_eq!(built, pkgs);
    let mut success: Vec<String> = t.read("success").lines().map(String::from).collect();
    success.sort();
    assert_eq!(success, pkgs);
    assert_eq!(t.read("error"), "");
}
