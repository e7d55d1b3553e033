//! What the kill-and-restart test checks after every kill and at the end:
//! the reference run's files, the meta/ files whole or absent, the status
//! and the logs, and the packages.

use super::*;

/// Mask what differs between two uninterrupted runs: the site's temporary
/// path (in SCAN_DEPENDS) and the minute-exact times of the reports.
pub(super) fn normalise(text: &str, site: &Site) -> String {
    let text = text.replace(&site.path("").display().to_string(), "@SITE@/");
    let b = text.as_bytes();
    let digits = |s: &[u8], n: usize| s.len() >= n && s[..n].iter().all(u8::is_ascii_digit);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let s = &b[i..];
        // 2026-12-01 18:33
        if s.len() >= 16
            && digits(s, 4)
            && s[4] == b'-'
            && digits(&s[5..], 2)
            && s[7] == b'-'
            && digits(&s[8..], 2)
            && s[10] == b' '
            && digits(&s[11..], 2)
            && s[13] == b':'
            && digits(&s[14..], 2)
        {
            out.push_str("@ISO@");
            i += 16;
        // 20261201.1833
        } else if s.len() >= 13 && digits(s, 8) && s[8] == b'.' && digits(&s[9..], 4) {
            out.push_str("@DIR@");
            i += 13;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The files the phases write into meta/ for a full local build.
pub(super) const META_FILES: &[&str] = &[
    "status",
    "pscan",
    "pscan.stderr",
    "presolve",
    "presolve-err.log",
    "success",
    "error",
    "pbuild",
    "report",
    "report.bz2",
    "report.html",
    "report.txt",
    "report.dot",
    "report-timeline.html",
];

/// Files compared whole (after [`normalise`]) when present.
pub(super) const COMPLETE_FILES: &[&str] = &[
    "pscan",
    "presolve",
    "pbuild",
    "report",
    "report.html",
    "report.txt",
    "report.dot",
    // report-timeline.html is drawn from the build times each run records,
    // which differ from run to run: it is not compared.
];

/// A temporary name of fsutil (`.<file>.XXXXXX`, `.<file>.<pid>.<n>`), of
/// the build phase's summaries or of pkg-build's package copy, for one of
/// the files that belong there.
pub(super) fn temp_of<'a>(name: &str, files: &[&'a str]) -> Option<&'a str> {
    let rest = name.strip_prefix('.')?;
    if let Some(r) = rest.strip_prefix("pkg-build.") {
        return (!r.is_empty()).then_some("package");
    }
    files
        .iter()
        .find(|f| {
            rest.strip_prefix(**f)
                .and_then(|r| r.strip_prefix('.'))
                .is_some_and(|r| !r.is_empty())
        })
        .copied()
}

pub(super) fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// What an uninterrupted run leaves, normalised.
pub(super) struct Reference {
    pub(super) meta: BTreeMap<String, String>,
    /// Files of the reference's meta/ that this test does not know (an
    /// extension's, such as a progress snapshot): they must be there at the
    /// end and, if JSON, be whole after every kill; their content is not
    /// compared.
    pub(super) extra: BTreeSet<String>,
    pub(super) status_keys: Vec<String>,
    pub(super) status: BTreeMap<String, String>,
    pub(super) success: BTreeSet<String>,
    pub(super) error: BTreeSet<String>,
    pub(super) bulklog: BTreeMap<String, BTreeSet<String>>,
    pub(super) packages: BTreeSet<String>,
    pub(super) summary: String,
    pub(super) sha512: Vec<String>,
    /// Packages packaged (make stage-package-create) by the run.
    pub(super) ledger: usize,
    /// Offset of each marker line in the reference run.
    pub(super) times: BTreeMap<String, Duration>,
    pub(super) elapsed: Duration,
}

/// The keys pre-build writes, then scan's, then build's (once a run).
pub(super) const TIME_KEYS: &[&str] = &[
    "BUILD_START_ISO",
    "BUILD_START_DIR",
    "BUILD_START_EPOCHE",
    "SCAN_END_EPOCHE",
    "BUILD_END_ISO",
    "BUILD_END_EPOCHE",
];

pub(super) fn status_pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("status line without '=': {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// pkg_summary without what differs between two builds of a package.
pub(super) fn summary_text(all: &Path) -> String {
    decompress("gzip", &all.join("pkg_summary.gz"))
        .lines()
        .filter(|l| !l.starts_with("BUILD_DATE=") && !l.starts_with("FILE_SIZE="))
        .map(|l| format!("{l}\n"))
        .collect()
}

pub(super) fn sha512_names(site: &Site) -> Vec<String> {
    decompress("bzip2", &site.path("packages/SHA512.bz2"))
        .lines()
        .map(|l| {
            l.strip_prefix("SHA512 (")
                .and_then(|l| l.split_once(") = "))
                .unwrap_or_else(|| panic!("bad SHA512 line {l:?}"))
                .0
                .to_string()
        })
        .collect()
}

pub(super) fn bulklog_dirs(site: &Site) -> BTreeMap<String, BTreeSet<String>> {
    names(&site.path("bulklog"))
        .into_iter()
        .filter(|n| n != "meta")
        .map(|n| {
            let logs = names(&site.path("bulklog").join(&n));
            (n, logs)
        })
        .collect()
}

pub(super) fn package_files(site: &Site) -> BTreeSet<String> {
    names(&site.path("packages/All"))
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect()
}

impl Reference {
    pub(super) fn take(site: &Site, r: &Run) -> Reference {
        let mut meta = BTreeMap::new();
        let listed = names(&site.meta(""));
        let known: BTreeSet<String> = META_FILES.iter().map(|s| s.to_string()).collect();
        let missing: Vec<&String> = known.difference(&listed).collect();
        assert!(missing.is_empty(), "the reference run wrote no {missing:?}");
        let extra: BTreeSet<String> = listed.difference(&known).cloned().collect();
        assert!(
            !extra.iter().any(|n| n.starts_with('.')),
            "temporary files in the reference's meta/: {extra:?}"
        );
        for f in META_FILES {
            let text = if *f == "report.bz2" {
                decompress("bzip2", &site.meta(f))
            } else {
                fs::read_to_string(site.meta(f)).unwrap()
            };
            meta.insert(f.to_string(), normalise(&text, site));
        }
        let pairs = status_pairs(&meta["status"]);
        let success: BTreeSet<String> = site.lines("bulklog/meta/success").into_iter().collect();
        let error: BTreeSet<String> = site.lines("bulklog/meta/error").into_iter().collect();
        assert_eq!(success, expected("done").into_iter().collect());
        assert_eq!(error, expected("failed").into_iter().collect());
        let mut times = BTreeMap::new();
        for (m, _) in MARKERS {
            if let Some(t) = r.at(m) {
                times.insert(m.to_string(), t);
            }
        }
        Reference {
            extra,
            status_keys: pairs.iter().map(|(k, _)| k.clone()).collect(),
            status: pairs.into_iter().collect(),
            meta,
            success,
            error,
            bulklog: bulklog_dirs(site),
            packages: package_files(site),
            summary: summary_text(&site.path("packages/All")),
            sha512: sha512_names(site),
            ledger: site.ledger().len(),
            times,
            elapsed: r.elapsed,
        }
    }

    pub(super) fn t(&self, marker: &str) -> Duration {
        *self
            .times
            .get(marker)
            .unwrap_or_else(|| panic!("the reference run printed no {marker:?}"))
    }

    /// How long the stretch a kind aims at lasted in the reference run.
    pub(super) fn window(&self, kind: Kind, remaining: usize) -> Duration {
        let span = |a: &str, b: &str| self.t(b).saturating_sub(self.t(a));
        // Three quarters of a stretch, half of the two short ones (a few
        // milliseconds), so that a kill does not run over into the next.
        let w = match kind {
            Kind::PreStart | Kind::PreRotate => self.t("Scanning..."),
            Kind::Scan => span("Scanning...", "Resolving..."),
            Kind::Resolve => span("Resolving...", "Building...") * 2 / 3,
            Kind::Build => {
                let all = self.success.len() + self.error.len();
                let w = span("Building...", "Building pkg_summary...");
                return (w * remaining as u32 / all as u32).max(Duration::from_millis(2));
            }
            Kind::Summary => span("Building pkg_summary...", "Build reports..."),
            Kind::Report => span("Build reports...", "Sending report mail...") * 2 / 3,
            Kind::ReportUpload => span("Uploading report...", "Uploading packages..."),
            Kind::Upload => self.elapsed.saturating_sub(self.t("Uploading packages...")),
        };
        (w * 3 / 4).max(Duration::from_millis(2))
    }
}

/// What a site looked like right after a kill.
pub(super) struct Snapshot {
    pub(super) success: BTreeSet<String>,
    pub(super) error: BTreeSet<String>,
    pub(super) ledger: usize,
}

/// The lines of a log: whole, known to the log, none twice.
pub(super) fn log_lines(
    site: &Site,
    name: &str,
    allowed: &BTreeSet<String>,
    when: &str,
) -> BTreeSet<String> {
    let text = fs::read_to_string(site.meta(name)).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{when}: meta/{name} ends in a partial line: {text:?}"
    );
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let set: BTreeSet<String> = lines.iter().cloned().collect();
    assert_eq!(
        set.len(),
        lines.len(),
        "{when}: meta/{name} names a package twice: {lines:?}"
    );
    let stray: Vec<&String> = set.difference(allowed).collect();
    assert!(stray.is_empty(), "{when}: meta/{name} has {stray:?}");
    set
}

/// meta/status: the complete pre-build block of the reference, then
/// scan's line, then build's pairs (one more per resumed build).
pub(super) fn check_status(site: &Site, rf: &Reference, when: &str, finished: bool) {
    let text = fs::read_to_string(site.meta("status")).unwrap();
    assert!(
        text.ends_with('\n'),
        "{when}: meta/status ends in a partial line: {text:?}"
    );
    let pairs = status_pairs(&text);
    let head = rf
        .status_keys
        .iter()
        .position(|k| k == "SCAN_END_EPOCHE")
        .unwrap();
    assert!(
        pairs.len() >= head,
        "{when}: meta/status is cut short: {text:?}"
    );
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i < head {
            assert_eq!(
                k, &rf.status_keys[i],
                "{when}: meta/status key {i}: {text:?}"
            );
        }
        if TIME_KEYS.contains(&k.as_str()) {
            let ok = match k.as_str() {
                "BUILD_START_ISO" | "BUILD_END_ISO" => normalise(v, site) == "@ISO@",
                "BUILD_START_DIR" => normalise(v, site) == "@DIR@",
                _ => !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()),
            };
            assert!(ok, "{when}: meta/status {k}={v:?}");
        } else {
            assert_eq!(Some(v), rf.status.get(k), "{when}: meta/status {k}");
        }
    }
    let tail: Vec<&str> = pairs[head..].iter().map(|(k, _)| k.as_str()).collect();
    let mut rest = tail.as_slice();
    if let Some(r) = rest.strip_prefix(&["SCAN_END_EPOCHE"]) {
        rest = r;
        while let Some(r) = rest.strip_prefix(&["BUILD_END_ISO", "BUILD_END_EPOCHE"]) {
            rest = r;
        }
    }
    assert!(rest.is_empty(), "{when}: meta/status tail {tail:?}");
    if finished {
        assert!(
            tail.len() >= 3,
            "{when}: meta/status lacks the end of the build: {tail:?}"
        );
    }
}

/// After a kill (or at the end): every file in meta/ is well-formed and,
/// where it is written whole, equal to the reference's; the package
/// directory holds only complete packages and summaries. Returns the
/// temporary files found.
pub(super) fn check_site(site: &Site, rf: &Reference, when: &str) -> Vec<String> {
    let mut temps = Vec::new();
    let meta = site.meta("");
    let listed = names(&meta);
    let extra: Vec<&str> = rf.extra.iter().map(String::as_str).collect();
    let all_files: Vec<&str> = META_FILES.iter().copied().chain(extra).collect();
    for name in &listed {
        if META_FILES.contains(&name.as_str()) {
            continue;
        }
        if rf.extra.contains(name) {
            if name.ends_with(".json") {
                let text = site.read(&format!("bulklog/meta/{name}"));
                let t = text.trim();
                assert!(
                    t.starts_with('{') && t.ends_with('}'),
                    "{when}: meta/{name} is not whole: {text:?}"
                );
            }
            continue;
        }
        assert!(
            temp_of(name, &all_files).is_some(),
            "{when}: unexpected meta/{name}"
        );
        temps.push(format!("meta/{name}"));
    }
    let has = |f: &str| listed.contains(f);
    if has("status") {
        check_status(site, rf, when, false);
    }
    for f in COMPLETE_FILES {
        if has(f) {
            let text = fs::read_to_string(meta.join(f)).unwrap();
            assert!(
                normalise(&text, site) == rf.meta[*f],
                "{when}: meta/{f} differs from the reference's ({} bytes):\n{text}",
                text.len()
            );
        }
    }
    if has("report.bz2") {
        let text = decompress("bzip2", &meta.join("report.bz2"));
        assert!(
            normalise(&text, site) == rf.meta["report"],
            "{when}: meta/report.bz2 is not the report"
        );
    }
    // The stderr logs are complete once the output they go with is.
    // (A kill while pre-build clears the old tree may take either first.)
    for (out, log) in [("pscan", "pscan.stderr"), ("presolve", "presolve-err.log")] {
        if has(out) && has(log) {
            let text = site.read(&format!("bulklog/meta/{log}"));
            assert_eq!(normalise(&text, site), rf.meta[log], "{when}: meta/{log}");
        }
    }
    // Both logs without presolve would stop bulkbuild-restart (it cannot
    // check them); one of them alone is a run that starts over.
    assert!(
        !(has("success") && has("error")) || has("presolve"),
        "{when}: meta/success and meta/error without meta/presolve"
    );
    let mut success = BTreeSet::new();
    for (log, allowed) in [("success", &rf.success), ("error", &rf.error)] {
        if has(log) {
            let set = log_lines(site, log, allowed, when);
            if log == "success" {
                success = set;
            }
        }
    }

    // Packages: whole files of the reference's set; the summaries, when
    // there, complete (they are made only after a whole build).
    let all = site.path("packages/All");
    let mut tgz = Vec::new();
    for name in names(&all) {
        if name.starts_with('.') {
            assert!(
                temp_of(&name, &["pkg_summary.gz", "pkg_summary.bz2"]).is_some(),
                "{when}: unexpected packages/All/{name}"
            );
            temps.push(format!("packages/All/{name}"));
            continue;
        }
        assert!(
            rf.packages.contains(&name),
            "{when}: unexpected packages/All/{name}"
        );
        if name.ends_with(".tgz") {
            tgz.push(all.join(&name));
        }
    }
    for name in names(&site.path("packages")) {
        if name.starts_with('.') {
            assert!(
                temp_of(&name, &["SHA512.bz2"]).is_some(),
                "{when}: unexpected packages/{name}"
            );
            temps.push(format!("packages/{name}"));
        }
    }
    for p in &success {
        assert!(
            all.join(format!("{p}.tgz")).is_file(),
            "{when}: {p} is in meta/success but not in packages/All"
        );
    }
    if !tgz.is_empty() {
        let st = Command::new("gzip").arg("-tq").args(&tgz).status().unwrap();
        assert!(st.success(), "{when}: a package in packages/All is damaged");
    }
    if all.join("pkg_summary.gz").exists() {
        assert_eq!(summary_text(&all), rf.summary, "{when}: pkg_summary.gz");
    }
    if all.join("pkg_summary.bz2").exists() {
        let a = decompress("bzip2", &all.join("pkg_summary.bz2"));
        let b = decompress("gzip", &all.join("pkg_summary.gz"));
        assert_eq!(a, b, "{when}: pkg_summary.bz2 is not pkg_summary.gz");
    }
    if site.path("packages/SHA512.bz2").exists() {
        assert_eq!(sha512_names(site), rf.sha512, "{when}: SHA512.bz2");
    }
    temps
}

/// The end of a site: what an uninterrupted run leaves, exactly, but for
/// one thing: a package killed after pkg-build had put it into
/// packages/All but before pbulk-build logged it is found up to date by the
/// restart, and pkg-build then exits at once, as the original does, leaving
/// the log directory of the interrupted build behind. Such directories
/// (of packages that succeed and were being built at a kill) are returned.
pub(super) fn check_final(
    site: &Site,
    rf: &Reference,
    interrupted: &BTreeSet<String>,
) -> Vec<String> {
    let when = "after the last restart";
    let listed: BTreeSet<String> = names(&site.meta(""))
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect();
    let want: BTreeSet<String> = rf.meta.keys().chain(&rf.extra).cloned().collect();
    assert_eq!(listed, want, "{when}: meta/");
    check_site(site, rf, when);
    check_status(site, rf, when, true);
    let success: BTreeSet<String> = site.lines("bulklog/meta/success").into_iter().collect();
    let error: BTreeSet<String> = site.lines("bulklog/meta/error").into_iter().collect();
    assert_eq!(success, rf.success, "{when}: meta/success");
    assert_eq!(error, rf.error, "{when}: meta/error");
    let mut dirs = bulklog_dirs(site);
    let stale: Vec<String> = dirs
        .keys()
        .filter(|d| !rf.bulklog.contains_key(*d))
        .cloned()
        .collect();
    let shown = stale.iter().map(|d| format!("{d} {:?}", dirs[d])).collect();
    for d in &stale {
        assert!(
            rf.success.contains(d) && interrupted.contains(d),
            "{when}: bulklog/{d} is left ({:?})",
            dirs[d]
        );
        dirs.remove(d);
    }
    assert_eq!(dirs, rf.bulklog, "{when}: the failure logs");
    let stale: Vec<String> = shown;
    assert_eq!(package_files(site), rf.packages, "{when}: packages/All");
    assert_eq!(summary_text(&site.path("packages/All")), rf.summary);
    assert_eq!(sha512_names(site), rf.sha512);
    for line in decompress("bzip2", &site.path("packages/SHA512.bz2")).lines() {
        let (file, hex) = line
            .strip_prefix("SHA512 (")
            .and_then(|l| l.split_once(") = "))
            .unwrap();
        let real = Command::new("sha512sum")
            .arg(site.path("packages").join(file))
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&real.stdout).starts_with(hex),
            "{when}: digest of {file}"
        );
    }
    stale
}
