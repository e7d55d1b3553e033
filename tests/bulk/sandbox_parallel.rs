//! Parallel local builds in private slots (`build_procs`, `pbulk-build -S
//! -P`): the same results as a serial build, on seeded random trees (seed
//! printed; `PBULK_SANDBOX_SEED` replays) and on the example tree, a
//! multi-version pair built at once in separate work directories, a
//! parallel run killed with SIGKILL and restarted, and the refusals where
//! slots cannot be kept apart. Sites live in /var/tmp: /tmp is one of the
//! paths each slot has its own of, so nothing shared may lie there.

use crate::support::bulk as bulk_support;
use crate::support::common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bulk_support::{chmod_x, Site};
use common::{bin, Rng};

/// Not /tmp: each slot has a /tmp of its own.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pbulk-sandbox-")
        .tempdir_in("/var/tmp")
        .unwrap()
}

/// Whether this process may make mount namespaces; a test that needs them
/// says so in one line and stops where it may not (never under CI).
fn namespaces_or_skip() -> bool {
    let ok = Command::new("unshare")
        .args(["-m", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        common::skip(
            "the sandbox tests",
            "this process cannot create mount namespaces (needs root on Linux)",
        );
    }
    ok
}

/// No mount of the host names `dir`.
fn no_mounts_under(dir: &Path) {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let d = dir.to_string_lossy();
    assert!(
        !info.lines().any(|l| l.contains(d.as_ref())),
        "a mount under {d} leaked to the host"
    );
}

// ---- seeded random trees, built by pbulk-build directly ----

/// A build that checks the private prefix and /tmp hold exactly what it
/// put there, and publishes a "package" naming what it found installed.
const SCRIPT: &str = r#"#!/bin/sh
n= deps=
while IFS= read -r l; do
  case $l in PKGNAME=*) n=${l#PKGNAME=};; DEPENDS=*) deps=${l#DEPENDS=};; esac
done
mkdir -p "$LOGS/$n" "$PFX"
echo "build of $n with: $deps" > "$LOGS/$n/build.log"
rm -rf "$PFX"/* /tmp/"$TAG".*
for d in $deps; do cp "$PKGS/$d" "$PFX/$d" || exit 1; done
echo "$n" > /tmp/"$TAG"."$n"
sleep 0.0$(( ${#deps} % 4 + 1 ))
want=$(for d in $deps; do echo "$d"; done | sort)
[ "$want" = "$(ls "$PFX" | sort)" ] || { echo "foreign prefix" >> "$LOGS/$n/build.log"; exit 1; }
[ "$(cd /tmp && ls -d "$TAG".*)" = "$TAG.$n" ] || { echo "foreign /tmp" >> "$LOGS/$n/build.log"; exit 1; }
case " $FAILS " in *" $n "*) echo "failed on purpose" >> "$LOGS/$n/build.log"; exit 1;; esac
{ echo "$n"; ls "$PFX"; } > "$PKGS/.$n" && mv "$PKGS/.$n" "$PKGS/$n"
rm -r "$LOGS/$n"
"#;

/// 24 packages depending on random earlier ones; the failing ones.
fn tree(rng: &mut Rng) -> (String, String) {
    let mut out = String::new();
    let mut fails = Vec::new();
    for i in 0..24u64 {
        let mut deps = std::collections::BTreeSet::new();
        for _ in 0..rng.below(4).min(i) {
            deps.insert(rng.below(i));
        }
        out.push_str(&format!(
            "PKGNAME=pkg{i:02}-1.0\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\n"
        ));
        if !deps.is_empty() {
            let names: Vec<String> = deps.iter().map(|d| format!("pkg{d:02}-1.0")).collect();
            out.push_str(&format!("DEPENDS={}\n", names.join(" ")));
        }
        if rng.below(8) == 0 {
            fails.push(format!("pkg{i:02}-1.0"));
        }
    }
    (out, fails.join(" "))
}

/// Everything a run leaves: logs as sets, the report, packages, logs.
fn tree_run(dir: &Path, input: &str, fails: &str, parallel: bool) -> BTreeMap<String, String> {
    fs::create_dir_all(dir.join("packages")).unwrap();
    fs::create_dir_all(dir.join("logs")).unwrap();
    fs::write(dir.join("presolve"), input).unwrap();
    fs::write(dir.join("b.sh"), SCRIPT).unwrap();
    chmod_x(&dir.join("b.sh"));
    let tag = format!(
        "pbulk-sandbox-{}",
        dir.file_name().unwrap().to_string_lossy()
    );
    let mut c = Command::new(bin("pbulk-build"));
    if parallel {
        c.arg("-j").arg("4").arg("-S").arg(dir.join("slots"));
        c.arg("-P").arg(dir.join("pfx")).args(["-P", "/tmp"]);
    }
    let out = c
        .args([
            "-r", "report", "-b", "./b.sh", "presolve", "success", "error",
        ])
        .current_dir(dir)
        .env("PFX", dir.join("pfx"))
        .env("PKGS", dir.join("packages"))
        .env("LOGS", dir.join("logs"))
        .env("TAG", &tag)
        .env("FAILS", fails)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The serial run used the host's /tmp.
    for e in fs::read_dir("/tmp").unwrap().flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with(&format!("{tag}."))
        {
            let _ = fs::remove_file(e.path());
        }
    }
    let mut snap = BTreeMap::new();
    for f in ["success", "error"] {
        let mut lines: Vec<String> = read(&dir.join(f)).lines().map(String::from).collect();
        lines.sort();
        snap.insert(f.to_string(), lines.join("\n"));
    }
    snap.insert("report".into(), read(&dir.join("report")));
    snap.extend(files(&dir.join("packages"), "packages"));
    snap.extend(files(&dir.join("logs"), "logs"));
    snap
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

/// Every file below `dir` as `label/relative path` -> content.
fn files(dir: &Path, label: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(format!("{label}/{rel}"), read(&p));
            }
        }
    }
    out
}

#[test]
fn random_trees_parallel_in_slots_equal_serial() {
    if !namespaces_or_skip() {
        return;
    }
    let mut rng = Rng(common::seed("PBULK_SANDBOX_SEED"));
    for round in 0..3 {
        let (input, fails) = tree(&mut rng);
        let tmp = scratch();
        let (a, b) = (tmp.path().join("serial"), tmp.path().join("parallel"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        let serial = tree_run(&a, &input, &fails, false);
        let parallel = tree_run(&b, &input, &fails, true);
        assert!(
            serial.get("success").is_some_and(|s| !s.is_empty()),
            "round {round}: nothing built"
        );
        assert_eq!(
            serial, parallel,
            "round {round}: parallel differs from serial"
        );
        assert!(!b.join("slots").exists(), "slot directories left behind");
        assert_eq!(fs::read_dir(b.join("pfx")).unwrap().count(), 0);
        no_mounts_under(tmp.path());
    }
}

// ---- the example tree, whole bulk builds ----

/// A site of the example tree in /var/tmp. The make wrapper makes the two
/// builds of devel/py-hello (py311-, py312-hello) wait for each other in
/// their build step when `PAIR_DIR` is set, and records how many it saw.
fn example_site(extra: &str) -> Site {
    let site = Site::new_in(Path::new("/var/tmp"), extra);
    // The tree beside the site, not in a clone that may lie below /tmp,
    // which every slot has a private one of.
    site.copy_tree();
    let make = site.path("bin/make");
    let inner = site.path("bin/make.inner");
    fs::rename(&make, &inner).unwrap();
    fs::write(
        &make,
        format!(
            "#!/bin/sh\nif [ -n \"$PAIR_DIR\" ]; then\n  case \"$(pwd)\" in */devel/py-hello)\n    \
             for a in \"$@\"; do [ \"$a\" = all ] || continue\n      touch \"$PAIR_DIR/$$\"; i=0\n      \
             while [ \"$(ls \"$PAIR_DIR\" | wc -l)\" -lt 2 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done\n      \
             ls \"$PAIR_DIR\" | wc -l > \"$PAIR_DIR.seen.$$\"\n    done;;\n  esac\nfi\nexec {} \"$@\"\n",
            inner.display()
        ),
    )
    .unwrap();
    chmod_x(&make);
    site
}

fn set_procs(site: &Site, n: usize) {
    let text = fs::read_to_string(site.conf()).unwrap();
    fs::write(site.conf(), format!("{text}build_procs={n}\n")).unwrap();
}

/// What must be equal between serial and parallel runs: the logs as sets,
/// the statuses, the failed packages' log files, and every binary
/// package's +CONTENTS and file list.
fn example_snapshot(site: &Site) -> BTreeMap<String, String> {
    let mut snap = BTreeMap::new();
    for f in ["success", "error"] {
        let mut lines = site.lines(&format!("bulklog/meta/{f}"));
        lines.sort();
        snap.insert(f.to_string(), lines.join("\n"));
    }
    let statuses = site.statuses();
    snap.insert("pbuild".into(), format!("{statuses:?}"));
    for (pkg, st) in &statuses {
        if st == "failed" {
            snap.extend(files(
                &site.path("bulklog").join(pkg),
                &format!("log/{pkg}"),
            ));
        }
    }
    let all = site.path("packages/All");
    for e in fs::read_dir(&all).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".tgz") {
            continue;
        }
        let tar = |args: &[&str]| {
            let out = Command::new("tar")
                .args(args)
                .arg(e.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "tar {args:?} {name}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let contents = Command::new("tar")
            .args(["-xzOf"])
            .arg(e.path())
            .arg("+CONTENTS")
            .output()
            .unwrap();
        snap.insert(
            format!("pkg/{name}/+CONTENTS"),
            String::from_utf8_lossy(&contents.stdout).into_owned(),
        );
        snap.insert(format!("pkg/{name}/files"), tar(&["-tzf"]));
    }
    snap
}

/// Forget the packages and the log tree of the previous run (pre-build
/// keeps `${packages}`, and pkg-up-to-date would reuse them).
fn fresh(site: &Site) {
    let _ = fs::remove_dir_all(site.path("packages"));
    let _ = fs::remove_dir_all(site.path("bulklog"));
}

fn bulkbuild(site: &Site, prog: &str, pair: Option<&Path>) -> std::process::Output {
    let mut c = site.cmd(prog);
    if let Some(p) = pair {
        c.env("PAIR_DIR", p);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{prog}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn example_tree_parallel_equals_serial_and_survives_kill() {
    if !namespaces_or_skip() {
        return;
    }
    let site = example_site("");
    let t = Instant::now();
    bulkbuild(&site, "bulkbuild", None);
    eprintln!("serial bulkbuild: {:?}", t.elapsed());
    let serial = example_snapshot(&site);
    assert_eq!(
        serial["success"].lines().count(),
        bulk_support::expected("done").len()
    );
    // The serial run draws its timeline too, and report.html links it.
    let csv = site.read("bulklog/meta/build-timeline.csv");
    assert_eq!(
        csv.lines().count(),
        serial["success"].lines().count() + serial["error"].lines().count()
    );
    assert!(csv.lines().all(|l| l.split(',').nth(1) == Some("1")));
    assert!(site
        .read("bulklog/meta/report.html")
        .contains("<a href=\"report-timeline.html\">"));
    assert!(site
        .read("bulklog/meta/report-timeline.html")
        .contains("<svg"));

    // Four slots, the multi-version pair made to build at the same time.
    set_procs(&site, 4);
    fresh(&site);
    let pair = site.path("pair");
    fs::create_dir_all(&pair).unwrap();
    let t = Instant::now();
    bulkbuild(&site, "bulkbuild", Some(&pair));
    eprintln!("parallel bulkbuild: {:?}", t.elapsed());
    assert_eq!(
        example_snapshot(&site),
        serial,
        "4 slots differ from serial"
    );
    let seen: Vec<String> = fs::read_dir(site.path(""))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("pair.seen."))
        .map(|e| read(&e.path()).trim().to_string())
        .collect();
    assert_eq!(
        seen,
        ["2", "2"],
        "py311-hello and py312-hello did not build at once"
    );
    let slots: std::collections::BTreeSet<String> = site
        .read("bulklog/meta/build-timeline.csv")
        .lines()
        .filter_map(|l| l.split(',').nth(1).map(String::from))
        .collect();
    assert!(
        slots.len() > 1
            && slots
                .iter()
                .all(|s| ["1", "2", "3", "4"].contains(&s.as_str()))
    );
    assert!(!site.path("work-master/.pbulk-sandbox").exists());
    no_mounts_under(site.dir.path());

    // Killed with its whole process group in the middle, then restarted.
    fresh(&site);
    let mut child = site
        .cmd("bulkbuild")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut killed = false;
    while Instant::now() < deadline {
        if site.lines("bulklog/meta/success").len() >= 6 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            killed = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.wait();
    assert!(killed, "the parallel run ended before it could be killed");
    // The keeper kills the builds' group once pbulk-build is gone.
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    bulkbuild(&site, "bulkbuild-restart", None);
    eprintln!("restart after kill: {:?}", t.elapsed());
    assert_eq!(
        example_snapshot(&site),
        serial,
        "killed and restarted differs from serial"
    );
    assert!(!site.path("work-master/.pbulk-sandbox").exists());
    no_mounts_under(site.dir.path());
}

// ---- refusals ----

fn refused(site: &Site, wrap: Option<&[&str]>, want: &str) {
    let prog = site.path("pbulk/bin/bulkbuild");
    let mut c = match wrap {
        Some(w) => {
            let mut c = Command::new(w[0]);
            c.args(&w[1..]).arg(&prog);
            c
        }
        None => Command::new(&prog),
    };
    let out = c
        .env("PBULK_CONF", site.conf())
        .env("PBULK_LIBEXECDIR", site.path("pbulk/libexec/pbulk"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "not refused: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("build_procs=4 refused") && err.contains(want),
        "{err}"
    );
    assert!(
        err.contains("build_procs=1"),
        "says what to configure: {err}"
    );
    assert!(
        !site.path("bulklog").exists(),
        "something ran before the refusal"
    );
}

#[test]
fn refused_where_no_namespace_can_be_made() {
    let setpriv = PathBuf::from("/usr/bin/setpriv");
    if !namespaces_or_skip() {
        return;
    }
    if !setpriv.exists() {
        common::skip(
            "refused_where_no_namespace_can_be_made",
            "no setpriv (util-linux) to drop CAP_SYS_ADMIN with",
        );
        return;
    }
    let site = example_site("build_procs=4\n");
    // Without CAP_SYS_ADMIN, unshare(CLONE_NEWNS) fails for real.
    refused(
        &site,
        Some(&["/usr/bin/setpriv", "--bounding-set=-sys_admin"]),
        "no private mount namespace",
    );
}

#[test]
fn refused_without_wrkobjdir_or_with_shared_paths_in_tmp() {
    if !namespaces_or_skip() {
        return;
    }
    let site = example_site("build_procs=4\n");
    let mk = site.path("mk.conf.master");
    let text = fs::read_to_string(&mk).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("WRKOBJDIR"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&mk, without).unwrap();
    refused(&site, None, "WRKOBJDIR");
    fs::write(&mk, text).unwrap();
    let conf = fs::read_to_string(site.conf()).unwrap();
    fs::write(
        site.conf(),
        format!("{conf}packages=/tmp/pbulk-sandbox-packages\n"),
    )
    .unwrap();
    refused(
        &site,
        None,
        "packages /tmp/pbulk-sandbox-packages lies inside /tmp",
    );
}
