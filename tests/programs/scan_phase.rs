//! The scan phase program: messages, command lines, files in LOC, the
//! limited-build loop and its endings, with our pbulk-scan on a fake tree
//! and a stand-in resolver written here (it logs its arguments, prints
//! its inputs' records, and with -i lists the locations ALL_DEPENDS names
//! that no input holds).

use crate::support::common;
use crate::support::scan_fake;

use std::path::PathBuf;
use std::process::{Command, Output};

use scan_fake::{record, scanned, text, write_exec, Tree};

const RESOLVER: &str = r#"#!/bin/sh
echo "$*" >> "$RESOLVE_LOG"
strict=0
missing=
while getopts si:v o; do
	case $o in
	s) strict=1 ;;
	i) missing=$OPTARG ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$RESOLVE_STDERR" ] && echo "$RESOLVE_STDERR" >&2
awk -v missing="${missing:-/dev/null}" '
/^PKGNAME=/ { skip = seen[$0]++ }
!skip { print }
/^PKG_LOCATION=/ { have[substr($0, 14)] = 1 }
/^ALL_DEPENDS=/ {
	n = split(substr($0, 13), d, " ")
	for (i = 1; i <= n; i++) { sub(/.*:\.\.\/\.\.\//, "", d[i]); want[d[i]] = 1 }
}
END {
	printf "" > missing
	for (w in want) if (!(w in have)) { print w > missing; bad++ }
	exit (bad > 0 && strict) ? 1 : 0
}' strict=$strict "$@"
[ -n "$missing" ] && sort -o "$missing" "$missing"
exit "${RESOLVE_EXIT:-0}"
"#;

struct Setup {
    t: Tree,
    conf: PathBuf,
    loc: PathBuf,
}

impl Setup {
    /// A tree where x/a needs y/b, y/b needs z/c, and x/d needs gone/e
    /// (a location that does not exist).
    fn new(extra_conf: &str) -> Setup {
        let t = Tree::new();
        t.subdirs("", "x y z\n");
        t.subdirs("x", "a d\n");
        t.subdirs("y", "b\n");
        t.subdirs("z", "c\n");
        t.package("x/a", &record("a-1", "b>=1:../../y/b", ""));
        t.package("y/b", &record("b-1", "c-[0-9]*:../../z/c", ""));
        t.package("z/c", &record("c-1", "", ""));
        t.package("x/d", &record("d-1", "e>=1:../../gone/e", ""));
        write_exec(&t.path("resolve"), RESOLVER);
        let bulklog = t.path("bulklog");
        let loc = bulklog.join("meta");
        std::fs::create_dir_all(&loc).unwrap();
        std::fs::write(loc.join("status"), "BUILD_START_EPOCHE=1\n").unwrap();
        let conf = t.path("pbulk.conf");
        std::fs::write(
            &conf,
            format!(
                "config_version=0.68\nmaster_mode=no\nbulklog={}\nloc=${{bulklog}}/meta\npkgsrc={}\nmake={}\n\
                 pscan={}\npresolve={}\n{extra_conf}\n",
                bulklog.display(),
                t.root.display(),
                t.make.display(),
                common::bin("pbulk-scan").display(),
                t.path("resolve").display()
            ),
        )
        .unwrap();
        Setup { t, conf, loc }
    }

    fn run(&self) -> Output {
        Command::new(common::bin("scan"))
            .env("PBULK_CONF", &self.conf)
            .env("RESOLVE_LOG", self.t.path("resolve.log"))
            .env("FAKE_MAKE_LOG", &self.t.log)
            .output()
            .unwrap()
    }

    fn meta(&self, name: &str) -> String {
        text(&std::fs::read(self.loc.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
    }

    fn resolver_calls(&self) -> Vec<String> {
        let l = self.loc.display().to_string();
        let text = std::fs::read_to_string(self.t.path("resolve.log")).unwrap_or_default();
        text.lines().map(|s| s.replace(&l, "LOC")).collect()
    }

    fn status_ends_with_scan_end(&self) -> bool {
        let s = self.meta("status");
        let last = s.lines().last().unwrap();
        s.starts_with("BUILD_START_EPOCHE=1\n")
            && last
                .strip_prefix("SCAN_END_EPOCHE=")
                .is_some_and(|n| n.parse::<u64>().is_ok())
    }
}

#[test]
fn full_build() {
    let s = Setup::new("ignore_missing_dependencies=yes");
    let o = s.run();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "Scanning...\n.... 4/4\nResolving...\n");
    assert_eq!(
        text(&o.stderr),
        "The 'ignore_missing_dependencies' configuration variable is obsolete and has no effect.\n"
    );
    let pscan = s.meta("pscan");
    assert!(pscan.starts_with(&scanned(&record("a-1", "b>=1:../../y/b", ""), "x/a")));
    assert_eq!(s.meta("presolve"), pscan);
    assert_eq!(s.resolver_calls(), ["-v LOC/pscan"]);
    assert_eq!(s.meta("presolve-err.log"), "");
    assert_eq!(s.meta("pscan.stderr"), "");
    assert!(s.status_ends_with_scan_end());
}

#[test]
fn full_build_strict_failure_warns_and_goes_on() {
    let s = Setup::new("strict_mode=YES");
    s.t.subdirs("z", "c gone\n");
    std::fs::write(s.loc.join("pscan.stderr"), "earlier\n").unwrap();
    let o = Command::new(common::bin("scan"))
        .env("PBULK_CONF", &s.conf)
        .env("RESOLVE_LOG", s.t.path("resolve.log"))
        .env("RESOLVE_STDERR", "cannot resolve")
        .env("RESOLVE_EXIT", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        text(&o.stderr),
        format!(
            "Global dependency resolution failed, check {}/presolve-err.log for details\n",
            s.loc.display()
        )
    );
    assert_eq!(s.resolver_calls(), ["-s -v LOC/pscan"]);
    assert_eq!(s.meta("presolve-err.log"), "cannot resolve\n");
    // pbulk-scan's stderr is appended to pscan.stderr.
    assert_eq!(
        s.meta("pscan.stderr"),
        format!(
            "earlier\nCannot change directory to \"{}/z/gone\".\npbulk-scan: Scan failed for z/gone\n",
            s.t.root.display()
        )
    );
    assert!(s.status_ends_with_scan_end());
}

#[test]
fn reuse_of_the_old_scan_and_scan_procs() {
    let s = Setup::new("reuse_scan_results=yes\nscan_procs=3");
    s.t.age();
    let old = s.t.path("bulklog.old/meta/pscan");
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    // An old scan made by a first run.
    assert_eq!(s.run().status.code(), Some(0));
    std::fs::copy(s.loc.join("pscan"), &old).unwrap();
    let _ = std::fs::remove_file(&s.t.log);
    // Log the pbulk-scan command line through a wrapper.
    let wrapper = s.t.path("pscan-wrapper");
    write_exec(
        &wrapper,
        &format!(
            "#!/bin/sh\necho \"$*\" > {}\nexec {} \"$@\"\n",
            s.t.path("pscan.args").display(),
            common::bin("pbulk-scan").display()
        ),
    );
    let conf =
        std::fs::read_to_string(&s.conf).unwrap() + &format!("pscan={}\n", wrapper.display());
    std::fs::write(&s.conf, conf).unwrap();
    let o = s.run();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        format!(
            "Using old scan results from {}\nScanning...\n.... 4/4\nResolving...\n",
            old.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(s.t.path("pscan.args")).unwrap(),
        format!(
            "-v -j 3 -M {} -L {} {} {}/pscan\n",
            s.t.make.display(),
            old.display(),
            s.t.root.display(),
            s.loc.display()
        )
    );
    assert!(
        s.t.calls().iter().all(|c| !c.starts_with("pbulk-index")),
        "everything reused"
    );
    assert_eq!(s.meta("pscan"), text(&std::fs::read(&old).unwrap()));
}

#[test]
fn master_mode_values() {
    let s = Setup::new("master_mode=maybe");
    let o = s.run();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stdout),
        "Scanning...\nmaster_mode must be either yes or no.\n"
    );
    assert!(!s.loc.join("pscan").exists());

    // The master form of the command line, as the reference writes it.
    let s = Setup::new(
        "master_mode=yes\npscan_start_script=/start\nmaster_port_scan=10.0.0.1:2001\nscan_procs=4",
    );
    let wrapper = s.t.path("pscan-wrapper");
    write_exec(
        &wrapper,
        &format!(
            "#!/bin/sh\necho \"$*\" > {}\nexit 3\n",
            s.t.path("pscan.args").display()
        ),
    );
    let conf =
        std::fs::read_to_string(&s.conf).unwrap() + &format!("pscan={}\n", wrapper.display());
    std::fs::write(&s.conf, conf).unwrap();
    let o = s.run();
    assert_eq!(
        o.status.code(),
        Some(3),
        "set -e passes pbulk-scan's status on"
    );
    assert_eq!(text(&o.stdout), "Scanning...\n");
    assert_eq!(
        std::fs::read_to_string(s.t.path("pscan.args")).unwrap(),
        format!(
            "-v -I /start -m 10.0.0.1:2001 -M {} {} {}/pscan\n",
            s.t.make.display(),
            s.t.root.display(),
            s.loc.display()
        )
    );
}

fn limited(list: &str, extra: &str) -> (Setup, Output) {
    let s = Setup::new(&format!(
        "limited_list={}\n{extra}",
        "${bulklog}/../limited"
    ));
    std::fs::write(s.t.path("limited"), list).unwrap();
    std::fs::remove_dir_all(&s.loc).unwrap();
    let o = s.run();
    (s, o)
}

#[test]
fn limited_build_follows_dependencies_until_closed() {
    let (s, o) = limited("# wanted\nx/a  # the root\n\n", "");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let round = "Scanning...\n. 1/1\nResolving...\n";
    assert_eq!(text(&o.stdout), round.repeat(3));
    assert_eq!(
        s.resolver_calls(),
        [
            "-i LOC/missing -v LOC/pscan",
            "-i LOC/missing -v LOC/presolve LOC/pscan",
            "-i LOC/missing -v LOC/presolve LOC/pscan",
        ]
    );
    assert_eq!(
        s.meta("presolve"),
        scanned(&record("a-1", "b>=1:../../y/b", ""), "x/a")
            + &scanned(&record("b-1", "c-[0-9]*:../../z/c", ""), "y/b")
            + &scanned(&record("c-1", "", ""), "z/c")
    );
    // Each round's pscan holds only that round's locations.
    assert_eq!(s.meta("pscan"), scanned(&record("c-1", "", ""), "z/c"));
    assert_eq!(s.meta("missing"), "");
    assert_eq!(s.meta("missing.s"), "z/c\n");
    // LOC was created by the phase; status gets only the end stamp.
    assert!(s.meta("status").starts_with("SCAN_END_EPOCHE="));
}

#[test]
fn limited_build_with_unresolvable_dependencies() {
    let (s, o) = limited("x/d\n", "");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "Scanning...\n. 1/1\nResolving...\nScanning...\n. 1/1\nResolving...\n\
         Unresolvable dependencies found, marking packages depending on them as broken:\ngone/e\n"
    );
    assert_eq!(
        s.resolver_calls(),
        [
            "-i LOC/missing -v LOC/pscan",
            "-i LOC/missing -v LOC/presolve LOC/pscan",
            "-v LOC/presolve LOC/pscan"
        ]
    );
    // The second round changed nothing, so presolve.new was left as is,
    // then the final non-incremental run replaced presolve.
    assert_eq!(
        s.meta("presolve"),
        scanned(&record("d-1", "e>=1:../../gone/e", ""), "x/d")
    );
    assert!(!s.loc.join("presolve.new").exists());
    assert!(s.meta("status").starts_with("SCAN_END_EPOCHE="));

    let (s, o) = limited("x/d\n", "strict_mode=yes");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout)
        .ends_with("Resolving...\nUnresolvable dependencies found, exiting\ngone/e\n"));
    assert_eq!(s.resolver_calls().len(), 2);
    assert_eq!(s.meta("presolve.new"), s.meta("presolve"));
    assert!(!s.loc.join("status").exists());
}
