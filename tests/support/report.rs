//! Shared fixtures of the report and upload phase tests: a scratch tree,
//! a pbulk.conf pointing at it, and stand-in `mail`, `neato` and `rsync`
//! scripts that record their arguments and stdin (rsync then runs the real
//! rsync).
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::common;

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(f.path("tools")).unwrap();
        std::fs::create_dir_all(f.path("rec")).unwrap();
        let rec = f.path("rec");
        let rec = rec.display();
        f.tool(
            "mail",
            &format!("printf '%s\\n' \"$@\" > {rec}/mail.args\ncat > {rec}/mail.stdin\n"),
        );
        f.tool(
            "neato",
            &format!(
                "printf '%s\\n' \"$@\" > {rec}/neato.args\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = -o ]; then \
printf '<svg/>\\n' > \"$2\"; fi\n  shift\ndone\n"
            ),
        );
        f.tool(
            "rsync",
            &format!(
                "printf '%s\\n' \"$@\" > {rec}/rsync.args\ncat > {rec}/rsync.stdin\npwd > {rec}/rsync.cwd\n\
exec rsync \"$@\" < {rec}/rsync.stdin\n"
            ),
        );
        f
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn tool(&self, name: &str, body: &str) {
        let p = self.path("tools").join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Write pbulk.conf: the defaults of this fixture, then `extra` lines.
    pub fn config(&self, extra: &str) -> PathBuf {
        let t = self.dir.path().display();
        let b = |n: &str| common::bin(n).display().to_string();
        let text = format!(
            "config_version=0.68\nbulklog={t}/bulklog\nloc=${{bulklog}}/meta\npackages={t}/packages\n\
report_script={}\nreport_html_script={}\nreport_txt_script={}\nreport_graph_script={}\npackages_script={}\n\
bzip2=bzip2\nneato={t}/tools/neato\nmail={t}/tools/mail\nrsync={t}/tools/rsync\nreport_rsync_args=\"-a\"\n\
report_rsync_target={t}/reports\nreport_subject_prefix=pkgsrc\nreport_recipients=\"a@example.org  b@example.org\"\n\
report_graph_script_limit=512\npkg_rsync_args=\"-a --delete-excluded\"\npkg_rsync_target={t}/pub\n{extra}\n",
            b("create-report"),
            b("create-report-html"),
            b("create-report-txt"),
            b("create-broken-graph"),
            b("compute-packages"),
        );
        let p = self.path("pbulk.conf");
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Run a phase program with the config written by [`Fixture::config`].
    pub fn run(&self, prog: &str, extra_config: &str) -> Output {
        let conf = self.config(extra_config);
        Command::new(common::bin(prog))
            .env("PBULK_CONF", conf)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    pub fn recorded(&self, what: &str) -> Option<String> {
        std::fs::read_to_string(self.path("rec").join(what)).ok()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// The files below `root`, relative, sorted.
pub fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
