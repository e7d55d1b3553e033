//! The pbulk.conf reader on many configurations: what `. pbulk.conf` leaves
//! in /bin/sh must be exactly what the programs see.

use crate::support::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use pbulk::cli::Channel;
use pbulk::config::{self, Config, MasterMode};

fn write_conf(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn load(text: &str) -> Config {
    let dir = tempfile::tempdir().unwrap();
    let p = write_conf(dir.path(), "pbulk.conf", text);
    Config::load_from(&p).unwrap_or_else(|e| panic!("load failed: {}", e.msg))
}

fn load_err(text: &str) -> (String, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_conf(dir.path(), "pbulk.conf", text);
    let e = Config::load_from(&p).expect_err("config should be refused");
    assert_eq!(e.code, 1);
    assert_eq!(e.channel, Channel::Diag);
    assert!(!e.msg.contains('\n'), "one line: {:?}", e.msg);
    (e.msg, p, dir)
}

/// The shipped etc/pbulk.conf with the tokens the Makefile substitutes.
pub fn default_conf(prefix: &str) -> String {
    let text = std::fs::read_to_string(common::root().join("etc/pbulk.conf")).unwrap();
    text.replace("@PREFIX@", prefix)
        .replace("@PBULK_CONFIG_VERSION@", "0.68")
        .replace("@PKG_ADD_CMD@", &format!("{prefix}/sbin/pkg_add"))
        .replace("@PKG_ADMIN_CMD@", &format!("{prefix}/sbin/pkg_admin"))
        .replace("@PKG_DELETE_CMD@", &format!("{prefix}/sbin/pkg_delete"))
        .replace("@PKG_INFO_CMD@", &format!("{prefix}/sbin/pkg_info"))
        .replace("@BZIP2@", "/bin/bzip2")
        .replace("@DIGEST@", &format!("{prefix}/bin/digest"))
        .replace("@GZIP_CMD@", "/bin/gzip -nf -9")
        .replace("@TARGET_MAKE@", "${prefix}/bin/bmake")
        .replace("@MAIL_CMD@", "/usr/bin/mail")
        .replace("@NEATO@", &format!("{prefix}/bin/neato"))
        .replace("@SED@", "/bin/sed")
        .replace("@TAR@", "/bin/tar")
}

/// The variables of the reference pbulk.conf rev 1.29, in file order.
const REFERENCE_ORDER: &[&str] = &[
    "config_version",
    "base_url",
    "reuse_scan_results",
    "master_mode",
    "master_ip",
    "scan_clients",
    "build_clients",
    "master_port_scan",
    "master_port_build",
    "pkg_rsync_args",
    "pkg_rsync_target",
    "report_rsync_args",
    "report_rsync_target",
    "report_subject_prefix",
    "report_recipients",
    "bootstrapkit",
    "strict_mode",
    "skip_age_check",
    "report_graph_script_limit",
    "unprivileged_user",
    "use_unprivileged_checksum",
    "cross_compile",
    "target_arch",
    "target_destdir",
    "bulklog",
    "packages",
    "prefix",
    "pkgsrc",
    "pkgdb",
    "varbase",
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
    "loc",
    "pbuild",
    "presolve",
    "pscan",
    "keep_wrkdir",
    "keep_prefix",
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
    "script_phase_build",
    "script_phase_report",
    "script_phase_scan",
    "script_phase_upload",
    "sync_buildlog",
    "sync_package",
    "pkg_sufx",
];

#[test]
fn default_file_has_reference_variables_in_reference_order() {
    let text = default_conf("/usr/pbulk");
    let assigned: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split('=').next().unwrap())
        .collect();
    assert_eq!(assigned, REFERENCE_ORDER);
    assert!(text.contains("\n#limited_list=/limited_list\n"));
    assert_eq!(find_token(&text), None, "unsubstituted token left");
    assert_eq!(find_token("a@b.org x=@PREFIX@/bin"), Some("PREFIX"));
}

/// The first `@NAME@` substitution token in `text`.
fn find_token(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    (0..b.len()).filter(|&i| b[i] == b'@').find_map(|i| {
        let len = b[i + 1..]
            .iter()
            .take_while(|&&c| c.is_ascii_uppercase() || c == b'_')
            .count();
        (len > 0 && b.get(i + 1 + len) == Some(&b'@')).then(|| &text[i + 1..i + 1 + len])
    })
}

#[test]
fn default_file_reference_values() {
    let cfg = load(&default_conf("/usr/pbulk"));
    let expect = [
        ("config_version", "0.68"),
        (
            "base_url",
            "http://www.pkgsrc-box.org/reports/current/DragonFly-1.8",
        ),
        ("reuse_scan_results", "no"),
        ("master_mode", "yes"),
        (
            "scan_clients",
            "192.168.75.21 192.168.75.22 192.168.75.23 192.168.75.24",
        ),
        ("master_port_scan", "192.168.75.10:2001"),
        ("master_port_build", "192.168.75.10:2002"),
        ("pkg_rsync_args", "-av --delete-excluded -e ssh"),
        ("report_rsync_args", "-avz --delete-excluded -e ssh"),
        ("report_recipients", "pkgsrc-bulk@netbsd.org"),
        ("bootstrapkit", "/usr/pkgsrc/bootstrap/bootstrap.tar.gz"),
        ("report_graph_script_limit", "512"),
        ("target_destdir", "/usr/src/destdir.vax"),
        ("pkgdb", "/usr/pkg/pkgdb"),
        ("gzip", "/bin/gzip -nf -9"),
        ("make", "/usr/pkg/bin/bmake"),
        ("rsync", "/usr/pbulk/bin/rsync"),
        ("loc", "/bulklog/meta"),
        ("pbuild", "/usr/pbulk/bin/pbulk-build"),
        ("client_prepare_chroot", ":"),
        ("script_phase_upload", "/usr/pbulk/libexec/pbulk/upload"),
        ("sync_buildlog", ":"),
        ("sync_package", "default_sync_package"),
        ("pkg_sufx", ".tgz"),
    ];
    for (k, v) in expect {
        assert_eq!(cfg.get(k), Some(v), "{k}");
    }
    assert_eq!(cfg.get("limited_list"), None);
    assert_eq!(cfg.get("checksum_packages"), None);
    assert!(cfg.checksum_packages());
    assert!(cfg.check_version().is_ok());
    assert_eq!(cfg.master_mode().unwrap(), MasterMode::Yes);
    assert!(!cfg.cross_compile());
    assert_eq!(cfg.dest_root(), "");
    assert_eq!(
        config::command_words(cfg.value("gzip")).unwrap().1,
        ["-nf", "-9"]
    );
}

#[test]
fn joyent_dialect_variables() {
    let cfg = load(
        "config_version=0.68\nchroot_dir=/data/chroot\nchroot_create=/opt/bin/mkchroot\n\
         chroot_delete=\"/opt/bin/rmchroot -f\"\nbuild_chroots=8\nscan_procs=4\n",
    );
    assert_eq!(cfg.value("chroot_dir"), "/data/chroot");
    assert_eq!(cfg.value("chroot_create"), "/opt/bin/mkchroot");
    assert_eq!(cfg.words("chroot_delete"), ["/opt/bin/rmchroot", "-f"]);
    assert_eq!(cfg.count("build_chroots").unwrap(), Some(8));
    assert_eq!(cfg.count("scan_procs").unwrap(), Some(4));
    assert_eq!(cfg.count("build_procs").unwrap(), None);
}

#[test]
fn bad_counts_are_refused_naming_the_variable() {
    let cfg = load("scan_procs=many\nbuild_procs=0\n");
    assert!(cfg
        .count("scan_procs")
        .unwrap_err()
        .msg
        .contains("scan_procs=many"));
    assert!(cfg
        .count("build_procs")
        .unwrap_err()
        .msg
        .contains("build_procs=0"));
}

#[test]
fn tricky_quoting() {
    let cfg = load(concat!(
        "pkg_rsync_args=\"-av  --delete-excluded\t-e 'ssh -p 22'\"\n",
        "base_url='http://h/$notexpanded/x'\n",
        "report_subject_prefix=\"say \\\"hi\\\" \\\\ \\$HOME\"\n",
        "report_recipients=\"a@b\nc@d\"\n",
        "pkg_rsync_target=host:/path=with=equals\n",
        "mail=\\:\n",
    ));
    assert_eq!(
        cfg.value("pkg_rsync_args"),
        "-av  --delete-excluded\t-e 'ssh -p 22'"
    );
    assert_eq!(
        cfg.words("pkg_rsync_args"),
        ["-av", "--delete-excluded", "-e", "'ssh", "-p", "22'"]
    );
    assert_eq!(cfg.value("base_url"), "http://h/$notexpanded/x");
    assert_eq!(cfg.value("report_subject_prefix"), "say \"hi\" \\ $HOME");
    assert_eq!(cfg.value("report_recipients"), "a@b\nc@d");
    assert_eq!(cfg.words("report_recipients"), ["a@b", "c@d"]);
    assert_eq!(cfg.value("pkg_rsync_target"), "host:/path=with=equals");
    assert_eq!(cfg.value("mail"), ":");
}

#[test]
fn command_substitution_and_functions() {
    let cfg = load(concat!(
        "top() { echo /srv/bulk; }\n",
        "bulklog=$(top)/log\n",
        "packages=`echo /srv/packages`\n",
        "base_url=\"$(printf 'x\\n\\n\\n')\"\n",
        "loc=${bulklog}/meta\n",
    ));
    assert_eq!(cfg.value("bulklog"), "/srv/bulk/log");
    assert_eq!(cfg.value("packages"), "/srv/packages");
    assert_eq!(cfg.value("base_url"), "x", "trailing newlines are cut");
    assert_eq!(cfg.loc(), Path::new("/srv/bulk/log/meta"));
}

#[test]
fn conditionals() {
    let cfg = load(concat!(
        "if [ -d / ]; then master_mode=no; else master_mode=yes; fi\n",
        "case \"$(echo x86_64)\" in\n",
        "x86_64) target_arch=amd64 ;;\n",
        "*) target_arch=other ;;\n",
        "esac\n",
        "[ -e /nonexistent/file ] && make=/bad/make || make=/good/make\n",
    ));
    assert_eq!(cfg.master_mode().unwrap(), MasterMode::No);
    assert_eq!(cfg.value("target_arch"), "amd64");
    assert_eq!(cfg.value("make"), "/good/make");
}

#[test]
fn unset_versus_empty() {
    let cfg = load("pkg_sufx=\nprefix=/usr/pkg\nunset prefix\nsync_package=\n");
    assert_eq!(cfg.get("pkg_sufx"), Some(""));
    assert_eq!(cfg.pkg_sufx(), "", "an empty suffix stays empty");
    assert_eq!(cfg.get("prefix"), None);
    assert_eq!(cfg.value("prefix"), "");
    assert_eq!(cfg.sync_package(), "");
    let cfg = load("bulklog=/b\n");
    assert_eq!(cfg.pkg_sufx(), ".tgz");
    assert_eq!(cfg.sync_package(), "default_sync_package");
    assert_eq!(cfg.sync_buildlog(), ":");
    assert!(cfg.checksum_packages());
    assert!(!cfg.strict_mode());
    assert!(
        cfg.cross_compile(),
        "unset is not `no`, as in the scripts' test"
    );
}

#[test]
fn derived_values_follow_assignment_order() {
    let cfg = load(concat!(
        "prefix=/opt/pkg\nmake=${prefix}/bin/bmake\n",
        "bulklog=/a\nloc=${bulklog}/meta\nbulklog=/b\n",
        "target_arch=arm\ntarget_destdir=/dest.${target_arch}\ncross_compile=yes\n",
    ));
    assert_eq!(cfg.value("make"), "/opt/pkg/bin/bmake");
    assert_eq!(
        cfg.loc(),
        Path::new("/a/meta"),
        "loc keeps the value of its assignment"
    );
    assert_eq!(cfg.bulklog(), Path::new("/b"));
    assert_eq!(cfg.dest_root(), "/dest.arm");
    assert_eq!(cfg.history_file(), Path::new("/b.history"));
}

#[test]
fn included_files_and_stderr_noise() {
    let dir = tempfile::tempdir().unwrap();
    write_conf(dir.path(), "site.conf", "packages=/site/packages\n");
    let main = write_conf(
        dir.path(),
        "pbulk.conf",
        &format!(
            ". {}/site.conf\nno_such_command_here\nbulklog=/x\n",
            dir.path().display()
        ),
    );
    let cfg = Config::load_from(&main).unwrap();
    assert_eq!(cfg.value("packages"), "/site/packages");
    assert_eq!(
        cfg.value("bulklog"),
        "/x",
        "a failing command does not stop sourcing"
    );
}

#[test]
fn config_that_resets_positional_parameters_or_printf() {
    let cfg = load("set -- one two three\nshift\nprintf() { :; }\nbulklog=/pp\n");
    assert_eq!(cfg.value("bulklog"), "/pp");
}

#[test]
fn yes_no_rules_per_variable() {
    let cfg = load(concat!(
        "reuse_scan_results=YES\nstrict_mode=YES\nskip_age_check=Yes\nkeep_wrkdir=yes\n",
        "keep_prefix=Yes\ncross_compile=NO\nuse_unprivileged_checksum=No\nchecksum_packages=No\n",
        "master_mode=nO\n",
    ));
    assert!(!cfg.reuse_scan_results());
    assert!(cfg.strict_mode());
    assert!(cfg.skip_age_check());
    assert!(cfg.keep_wrkdir());
    assert!(!cfg.keep_prefix());
    assert!(
        cfg.cross_compile(),
        "only lowercase no switches cross mode off"
    );
    assert!(cfg.use_unprivileged_checksum());
    assert!(
        cfg.checksum_packages(),
        "only no and NO switch checksums off"
    );
    assert_eq!(cfg.master_mode().unwrap(), MasterMode::No);
    for off in ["no", "NO"] {
        assert!(!load(&format!("checksum_packages={off}\n")).checksum_packages());
    }
}

#[test]
fn bad_master_mode_is_the_reference_message() {
    let e = load("master_mode=maybe\n").master_mode().unwrap_err();
    assert_eq!((e.code, e.channel), (1, Channel::Stdout));
    assert_eq!(e.msg, "master_mode must be either yes or no.\n");
}

#[test]
fn syntax_error_names_file_and_line() {
    let (msg, p, _d) = load_err("bulklog=/x\nif [ x ]; then\nmake=y\nfi fi\n");
    assert_eq!(
        msg,
        format!(
            "cannot source configuration {}: line 4: Syntax error: \"fi\" unexpected",
            p.display()
        )
    );
}

#[test]
fn unterminated_substitution_names_file_and_line() {
    let (msg, p, _d) = load_err("a=1\nb=$(\n");
    assert!(
        msg.starts_with(&format!(
            "cannot source configuration {}: line 3: ",
            p.display()
        )),
        "{msg}"
    );
}

#[test]
fn parameter_error_is_fatal_and_named() {
    let (msg, p, _d) = load_err("bulklog=/x\nloc=${undefined_thing?must be set}\n");
    assert!(
        msg.starts_with(&format!(
            "cannot source configuration {}: line 2: ",
            p.display()
        )),
        "{msg}"
    );
    assert!(msg.contains("must be set"), "{msg}");
}

#[test]
fn early_exit_is_refused() {
    let (msg, _, _d) = load_err("bulklog=/x\nexit 0\nloc=/y\n");
    assert!(msg.ends_with("it exits before its end"), "{msg}");
    let (msg, _, _d) = load_err("exit 3\n");
    assert!(msg.contains("exit status: 3"), "{msg}");
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope.conf");
    let e = Config::load_from(&p).unwrap_err();
    assert_eq!(
        e.msg,
        format!(
            "cannot read configuration {}: No such file or directory",
            p.display()
        )
    );
}

#[test]
fn unreadable_paths() {
    // Tests run as root, for whom mode bits do not stop reading; a
    // directory and a path through a plain file fail for root as well.
    let dir = tempfile::tempdir().unwrap();
    let e = Config::load_from(dir.path()).unwrap_err();
    assert_eq!(
        e.msg,
        format!(
            "cannot read configuration {}: not a regular file",
            dir.path().display()
        )
    );
    let file = write_conf(dir.path(), "plain", "x=1\n");
    let through = file.join("pbulk.conf");
    let e = Config::load_from(&through).unwrap_err();
    assert_eq!(
        e.msg,
        format!(
            "cannot read configuration {}: Not a directory",
            through.display()
        )
    );
}

#[test]
fn version_check_message() {
    let e = load("config_version=0.1\n").check_version().unwrap_err();
    assert_eq!((e.code, e.channel), (1, Channel::Stdout));
    assert_eq!(
        e.msg,
        "Your configuration has version 0.1.\nThis version of pbulk expects version 0.68.\n"
    );
    // No config_version at all: one line naming the file instead of an
    // empty version.
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(dir.path(), "pbulk.conf", "bulklog=/x\n");
    let e = Config::load_from(&conf)
        .unwrap()
        .check_version()
        .unwrap_err();
    assert_eq!((e.code, e.channel), (1, Channel::Diag));
    assert_eq!(
        e.msg,
        format!(
            "{} sets no config_version: it is empty or not a pbulk.conf \
             (this version of pbulk expects config_version=0.68)",
            conf.display()
        )
    );
}

#[test]
fn config_output_does_not_leak_into_values() {
    let cfg = load("echo hello from the config\necho oops >&2\nbulklog=/q\n");
    assert_eq!(cfg.value("bulklog"), "/q");
}

#[test]
fn tools_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let script = write_conf(dir.path(), "tool", "#!/bin/sh\n");
    let plain = write_conf(dir.path(), "plain", "");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = load(&format!(
        "make=\"{} -j4\"\ntar=/no/such/tar\nmail=:\nsed=sh\ngzip={}\n",
        script.display(),
        plain.display()
    ));
    let make = cfg.tool("make").unwrap();
    assert_eq!(
        (make.prog.as_str(), make.args.as_slice()),
        (script.to_str().unwrap(), &["-j4".to_string()][..])
    );
    let e = cfg.tool("tar").unwrap_err();
    assert!(
        e.msg.starts_with("cannot run tar=/no/such/tar (from "),
        "{}",
        e.msg
    );
    assert!(e.msg.ends_with("): No such file or directory"), "{}", e.msg);
    assert!(cfg.tool("mail").unwrap().is_noop());
    assert!(cfg.tool("sed").is_ok(), "bare names are looked up in PATH");
    assert!(cfg
        .tool("gzip")
        .unwrap_err()
        .msg
        .ends_with("Permission denied"));
    assert!(cfg
        .tool("bzip2")
        .unwrap_err()
        .msg
        .starts_with("bzip2 is not set in "));
}

#[test]
fn pbulk_conf_override_reaches_the_programs() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_conf(
        dir.path(),
        "good.conf",
        "config_version=0.68\nbulklog=/nonexistent\n",
    );
    let out = Command::new(common::bin("bulkbuild-rebuild"))
        .env("PBULK_CONF", &good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Usage: "));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(" package ...\n"));
}

#[test]
fn programs_report_a_broken_config_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_conf(dir.path(), "bad.conf", "config_version=0.68\ncase x in\n");
    for prog in [
        "pre-build",
        "client-clean",
        "bulkbuild",
        "bulkbuild-restart",
    ] {
        let out = Command::new(common::bin(prog))
            .env("PBULK_CONF", &bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{prog}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{prog}: {err}");
        assert!(
            err.starts_with(&format!(
                "{prog}: cannot source configuration {}: line ",
                bad.display()
            )),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn programs_refuse_other_versions_and_touch_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bulklog = dir.path().join("bulklog");
    std::fs::create_dir_all(bulklog.join("meta")).unwrap();
    std::fs::write(bulklog.join("meta/success"), "a-1\n").unwrap();
    std::fs::write(bulklog.join("some-pkg-1.0"), "log\n").unwrap();
    let conf = write_conf(
        dir.path(),
        "old.conf",
        &format!(
            "config_version=0.1\nbulklog={}\nloc=${{bulklog}}/meta\nmaster_mode=no\n",
            bulklog.display()
        ),
    );
    let listing = || {
        let mut v: Vec<_> = walk(&bulklog);
        v.sort();
        v
    };
    let before = listing();
    for prog in [
        "pre-build",
        "client-clean",
        "client-prepare",
        "scan-client-start",
        "build-client-start",
        "bulkbuild-restart",
        "bulkbuild-rebuild",
    ] {
        let out = Command::new(common::bin(prog))
            .env("PBULK_CONF", &conf)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{prog}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "Your configuration has version 0.1.\nThis version of pbulk expects version 0.68.\n",
            "{prog}"
        );
        assert!(out.stderr.is_empty(), "{prog}");
        assert_eq!(listing(), before, "{prog} changed the log tree");
    }
}

fn walk(p: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.push((path.clone(), Vec::new()));
            out.extend(walk(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn help_is_a_short_description_and_the_usage() {
    for prog in [
        "bulkbuild",
        "bulkbuild-restart",
        "bulkbuild-rebuild",
        "pre-build",
        "client-clean",
        "client-prepare",
        "scan-client-start",
        "build-client-start",
    ] {
        let out = Command::new(common::bin(prog))
            .arg("--help")
            .env("PBULK_CONF", "/nonexistent/pbulk.conf")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{prog}");
        assert!(out.stdout.is_empty(), "{prog}");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.starts_with(&format!("{prog}: ")), "{prog}: {text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{prog}");
        assert!(
            lines[1].starts_with(&format!("usage: {prog}")),
            "{prog}: {text}"
        );
    }
}

#[test]
fn relative_pbulk_conf_is_read_from_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    write_conf(dir.path(), "pbulk.conf", "config_version=0.1\n");
    // Without the fix sh's `.` searches PATH for "pbulk.conf" and fails.
    let out = Command::new(common::bin("bulkbuild-rebuild"))
        .current_dir(dir.path())
        .env("PBULK_CONF", "pbulk.conf")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Your configuration has version 0.1.\nThis version of pbulk expects version 0.68.\n"
    );
}
