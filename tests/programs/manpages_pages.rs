//! The manual pages and the usage texts: every page in `man/` passes
//! `mandoc -T lint -W warning`, every installed program has a page whose
//! SYNOPSIS names the options and operands of its usage text, and every
//! installed program answers `-h`, `--help` and an unknown option with that
//! usage on stderr and a non-zero status, doing nothing else.

use crate::support::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The installed programs and the section of their pages, as the Makefile
/// installs them (`BIN_PROGS` in section 1, `LIBEXEC_PROGS` in section 8).
fn installed_programs() -> Vec<(String, &'static str)> {
    let makefile = std::fs::read_to_string(common::root().join("Makefile")).unwrap();
    let joined = makefile.replace("\\\n", " ");
    let list = |var: &str| -> Vec<String> {
        let line = joined
            .lines()
            .find(|l| l.starts_with(var) && l[var.len()..].trim_start().starts_with('='))
            .unwrap_or_else(|| panic!("{var} not found in the Makefile"));
        let (_, words) = line.split_once('=').unwrap();
        words.split_whitespace().map(str::to_string).collect()
    };
    let mut v: Vec<_> = list("BIN_PROGS").into_iter().map(|p| (p, "1")).collect();
    v.extend(list("LIBEXEC_PROGS").into_iter().map(|p| (p, "8")));
    assert!(
        v.len() >= 22,
        "too few programs found in the Makefile: {v:?}"
    );
    v
}

fn page_of(prog: &str, section: &str) -> PathBuf {
    common::root().join("man").join(format!("{prog}.{section}"))
}

/// Whether mandoc can run; under CI it must.
fn have_mandoc() -> bool {
    let ok = Command::new("mandoc")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        common::skip("the manual page tests", "mandoc is not installed");
    }
    ok
}

#[test]
fn every_page_is_lint_clean_and_every_program_has_one() {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(common::root().join("man"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    for (prog, section) in installed_programs() {
        let page = page_of(&prog, section);
        assert!(
            pages.contains(&page),
            "{prog} has no page {}",
            page.display()
        );
    }
    assert!(pages.contains(&common::root().join("man/pbulk.conf.5")));
    if !have_mandoc() {
        return;
    }
    for page in &pages {
        let out = Command::new("mandoc")
            .args(["-T", "lint", "-W", "warning"])
            .arg(page)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.is_empty(),
            "mandoc -T lint -W warning {}:\n{said}",
            page.display()
        );
    }
}

/// One form of a command line: its options (letter or long name, and
/// whether it takes an argument) and its operands in order, `...` for a
/// repeated one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Form {
    opts: BTreeSet<(String, bool)>,
    operands: Vec<String>,
}

/// Operand names compared loosely (`<tree scan>`, `tree_scan` and
/// `tree-scan` are one name). The reference usage texts, kept word for
/// word, name two operands differently from the pages: pbulk-scan's typo
/// and pbulk-resolve's `<pscan output>`.
fn operand_name(s: &str) -> String {
    let n: String = s
        .trim_matches(|c| c == '<' || c == '>')
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '_' { '-' } else { c })
        .collect();
    match n.as_str() {
        "pksgrc-tree" => "pkgsrc-tree".into(),
        "pscan-output" => "input".into(),
        _ => n,
    }
}

/// The forms of a page's SYNOPSIS: one per `.Nm` line, read from the
/// `.Fl`, `.Ar` and `...` words of the lines after it.
fn synopsis_forms(page: &Path) -> Vec<Form> {
    const MACROS: &[&str] = &[
        "Nm", "Op", "Oo", "Oc", "Fl", "Ar", "Ns", "Cm", "Li", "Pq", "Ic", "Xo", "Xc", "Bk", "Ek",
        "Ek", "Brq", "Bro", "Brc",
    ];
    let text = std::fs::read_to_string(page).unwrap();
    let mut forms: Vec<Form> = Vec::new();
    let mut in_synopsis = false;
    for line in text.lines() {
        if let Some(sh) = line.strip_prefix(".Sh ") {
            in_synopsis = sh == "SYNOPSIS";
            continue;
        }
        if !in_synopsis || !line.starts_with('.') || line.starts_with(".\\\"") {
            continue;
        }
        let words: Vec<&str> = line[1..].split_whitespace().collect();
        if words.first() == Some(&"Nm") {
            forms.push(Form {
                opts: BTreeSet::new(),
                operands: Vec::new(),
            });
            continue;
        }
        let form = forms
            .last_mut()
            .unwrap_or_else(|| panic!("{}: SYNOPSIS before .Nm", page.display()));
        let mut i = 0;
        let mut in_ar = false;
        while i < words.len() {
            let w = words[i];
            if w == "Fl" && i + 1 < words.len() {
                let flag = words[i + 1];
                let takes_arg = words.get(i + 2) == Some(&"Ar");
                let names: Vec<String> = if let Some(long) = flag.strip_prefix('-') {
                    vec![format!("-{long}")]
                } else {
                    flag.chars().map(String::from).collect()
                };
                let last = names.len() - 1;
                for (k, n) in names.into_iter().enumerate() {
                    form.opts.insert((n, takes_arg && k == last));
                }
                // The option's argument is not an operand.
                i += if takes_arg { 4 } else { 2 };
                in_ar = false;
                continue;
            }
            if MACROS.contains(&w) {
                in_ar = w == "Ar";
            } else if in_ar {
                form.operands.push(operand_name(w));
            }
            i += 1;
        }
    }
    forms
}

/// The usage lines of a program's message (lines starting `usage:` in any
/// case, with their indented continuations), as the program printed them.
fn usage_lines(stderr: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut in_usage = false;
    for l in stderr.lines() {
        if l.to_lowercase().starts_with("usage:") {
            lines.push(l.to_string());
            in_usage = true;
        } else if in_usage && l.starts_with(char::is_whitespace) && !l.trim().is_empty() {
            let last = lines.last_mut().unwrap();
            last.push(' ');
            last.push_str(l.trim());
        } else {
            in_usage = false;
        }
    }
    lines
}

/// The form of one usage line, and the program it names.
fn usage_form(line: &str) -> (String, Form) {
    let rest = &line["usage:".len()..];
    let mut tokens: Vec<String> = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '[' | ']' => {
                tokens.push(c.to_string());
                chars.next();
            }
            '<' => {
                let mut t = String::new();
                for c in chars.by_ref() {
                    t.push(c);
                    if c == '>' {
                        break;
                    }
                }
                tokens.push(t);
            }
            _ => {
                let mut t = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '[' || c == ']' || c == '<' {
                        break;
                    }
                    t.push(c);
                    chars.next();
                }
                tokens.push(t);
            }
        }
    }
    let prog = Path::new(&tokens[0])
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut form = Form {
        opts: BTreeSet::new(),
        operands: Vec::new(),
    };
    let mut i = 1;
    while i < tokens.len() {
        let t = &tokens[i];
        if t == "[" || t == "]" {
        } else if let Some(flags) = t.strip_prefix('-').filter(|f| !f.is_empty()) {
            let takes_arg = tokens.get(i + 1).is_some_and(|n| n.starts_with('<'));
            let names: Vec<String> = if let Some(long) = flags.strip_prefix('-') {
                vec![format!("-{long}")]
            } else {
                flags.chars().map(String::from).collect()
            };
            let last = names.len() - 1;
            for (k, n) in names.into_iter().enumerate() {
                form.opts.insert((n, takes_arg && k == last));
            }
            if takes_arg {
                i += 1;
            }
        } else {
            form.operands.push(operand_name(t));
        }
        i += 1;
    }
    (prog, form)
}

/// A scratch bulk-build setup in which any program that did its work would
/// leave traces: a log tree with markers, and a pbulk.conf whose every
/// program is a script recording its call.
struct Scratch {
    dir: tempfile::TempDir,
}

const PROGRAM_VARS: &[&str] = &[
    "pkg_add",
    "pkg_admin",
    "pkg_delete",
    "pkg_info",
    "bzip2",
    "digest",
    "gzip",
    "make",
    "mail",
    "neato",
    "rsync",
    "sed",
    "tar",
    "pbuild",
    "presolve",
    "pscan",
    "client_prepare",
    "client_prepare_action",
    "client_prepare_chroot",
    "pkg_up_to_date_script",
    "pbuild_script",
    "pbuild_start_script",
    "pscan_start_script",
    "report_script",
    "report_html_script",
    "report_txt_script",
    "report_graph_script",
    "packages_script",
    "script_phase_pre_build",
    "script_phase_scan",
    "script_phase_build",
    "script_phase_report",
    "script_phase_upload",
    "sync_buildlog",
    "sync_package",
];

impl Scratch {
    fn new() -> Scratch {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("manpages-usage")
            .tempdir()
            .unwrap();
        let t = dir.path();
        for d in [
            "bulklog/meta",
            "bulklog/pkg-1.0",
            "packages/All",
            "prefix/pkgdb",
            "pkgsrc/pkgtools/pkg_install",
            "libexec",
        ] {
            std::fs::create_dir_all(t.join(d)).unwrap();
        }
        for f in [
            "bulklog/marker",
            "bulklog/meta/marker",
            "bulklog/pkg-1.0/build.log",
        ] {
            std::fs::write(t.join(f), "kept\n").unwrap();
        }
        std::fs::write(t.join("bulklog/meta/presolve"), "PKGNAME=pkg-1.0\n").unwrap();
        let rec = t.join("rec");
        std::fs::write(
            &rec,
            format!("#!/bin/sh\necho \"$0 $*\" >> '{}/ran'\n", t.display()),
        )
        .unwrap();
        std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::copy(&rec, t.join("libexec/client-clean")).unwrap();
        let mut conf = format!(
            "config_version=0.68\nmaster_mode=no\nbulklog={0}/bulklog\nloc={0}/bulklog/meta\n\
             packages={0}/packages\nprefix={0}/prefix\npkgdb={0}/prefix/pkgdb\n\
             pkgsrc={0}/pkgsrc\nvarbase={0}/var\nbootstrapkit=\nscan_clients=\nbuild_clients=\n",
            t.display()
        );
        for v in PROGRAM_VARS {
            conf.push_str(&format!("{v}={}\n", rec.display()));
        }
        std::fs::write(t.join("pbulk.conf"), conf).unwrap();
        Scratch { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, prog: &str, args: &[&str]) -> Output {
        Command::new(common::bin(prog))
            .args(args)
            .current_dir(self.path())
            .env("PBULK_CONF", self.path().join("pbulk.conf"))
            .env("PBULK_LIBEXECDIR", self.path().join("libexec"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Every file and directory below the scratch directory, with its size
    /// and modification time.
    fn snapshot(&self) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
        fn walk(d: &Path, out: &mut Vec<(PathBuf, u64, std::time::SystemTime)>) {
            for e in std::fs::read_dir(d).unwrap() {
                let e = e.unwrap();
                let md = std::fs::symlink_metadata(e.path()).unwrap();
                out.push((e.path(), md.len(), md.modified().unwrap()));
                if md.is_dir() {
                    walk(&e.path(), out);
                }
            }
        }
        let mut v = Vec::new();
        walk(self.path(), &mut v);
        v.sort();
        v
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn usage_texts_agree_with_the_synopses() {
    let s = Scratch::new();
    for (prog, section) in installed_programs() {
        let out = s.run(&prog, &["--no-such-option"]);
        let err = text(&out.stderr);
        let lines = usage_lines(&err);
        assert!(!lines.is_empty(), "{prog}: no usage line in {err:?}");
        let mut from_usage: Vec<Form> = lines
            .iter()
            .map(|l| {
                let (named, form) = usage_form(l);
                assert_eq!(named, prog, "{prog}: usage line {l:?}");
                form
            })
            .collect();
        let mut from_page = synopsis_forms(&page_of(&prog, section));
        from_usage.sort();
        from_page.sort();
        assert_eq!(
            from_usage, from_page,
            "{prog}: usage (left) and the SYNOPSIS of its page (right) differ"
        );
    }
}

#[test]
fn help_and_unknown_options_print_the_usage_and_do_nothing_else() {
    let s = Scratch::new();
    let before = s.snapshot();
    for (prog, _) in installed_programs() {
        let mut usages = Vec::new();
        for arg in ["-h", "--help", "-Z"] {
            let out = s.run(&prog, &[arg]);
            let err = text(&out.stderr);
            // pbulk-check keeps 1 for "something blocks a build".
            let status = if prog == "pbulk-check" { 2 } else { 1 };
            assert_eq!(out.status.code(), Some(status), "{prog} {arg}: {err}");
            assert!(out.stdout.is_empty(), "{prog} {arg} wrote to stdout");
            let usage = usage_lines(&err);
            assert!(!usage.is_empty(), "{prog} {arg}: no usage in {err:?}");
            usages.push(usage);
            assert!(
                !s.path().join("ran").exists(),
                "{prog} {arg} started {}",
                std::fs::read_to_string(s.path().join("ran")).unwrap()
            );
            assert_eq!(s.snapshot(), before, "{prog} {arg} changed the files");
        }
        assert!(
            usages.windows(2).all(|w| w[0] == w[1]),
            "{prog}: {usages:?}"
        );
    }
}

#[test]
fn reference_command_lines_keep_their_meaning() {
    let s = Scratch::new();
    // The original bulkbuild ignores its operands: a stray one still runs
    // the five phases.
    let out = s.run("bulkbuild", &["stray"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ran = std::fs::read_to_string(s.path().join("ran")).unwrap();
    assert_eq!(ran.lines().count(), 5, "{ran}");
    std::fs::remove_file(s.path().join("ran")).unwrap();

    // bulkbuild-rebuild without packages: the reference's usage on stdout,
    // status 0, nothing built.
    let out = s.run("bulkbuild-rebuild", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.starts_with("Usage: ") && said.ends_with("bulkbuild-rebuild package ...\n"),
        "{said:?}"
    );
    assert!(!s.path().join("ran").exists());

    // After `--`, a bulkbuild-rebuild operand is a package name again, and
    // one that cannot be a package name is refused as such.
    let out = s.run("bulkbuild-rebuild", &["--", "-h"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("package name `-h'") && !err.contains("usage"),
        "{err}"
    );
    assert!(!s.path().join("ran").exists());
}
