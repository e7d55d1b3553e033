//! Build-time history (an extension, `-H file`): how long each package took
//! last time, kept outside the log tree so it survives a new bulk build.
//!
//! Format: a header line, then `<pkgname>\t<milliseconds>` per package,
//! sorted by name. A package that is not in the history under its exact
//! name is looked up by its base name (the name without the version), so a
//! version bump keeps its old estimate. Finishing a package replaces every
//! entry of the same base name.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::cli::{Error, Result};
use crate::fsutil;

const HEADER: &str = "# pbulk-rs build history 1: <pkgname> TAB <milliseconds>";

pub struct History {
    path: PathBuf,
    entries: BTreeMap<String, u64>,
}

/// `foo-bar-1.2nb3` -> `foo-bar`.
pub fn pkgbase(name: &str) -> &str {
    name.rfind('-').map_or(name, |i| &name[..i])
}

impl History {
    /// Load the history; a missing file is an empty history.
    pub fn load(path: &Path) -> Result<History> {
        let mut entries = BTreeMap::new();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(Error::err(
                    format!("Cannot read history {}", path.display()),
                    &e,
                ))
            }
        };
        for (n, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parsed = line
                .split_once('\t')
                .and_then(|(k, v)| Some((k, v.parse().ok()?)));
            let Some((name, ms)) = parsed else {
                return Err(Error::errx(format!(
                    "{}:{}: invalid history line (want <pkgname> TAB <milliseconds>)",
                    path.display(),
                    n + 1
                )));
            };
            entries.insert(name.to_string(), ms);
        }
        Ok(History {
            path: path.to_path_buf(),
            entries,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The last duration of `name`, or of another version of it.
    pub fn duration(&self, name: &str) -> Option<u64> {
        if let Some(&ms) = self.entries.get(name) {
            return Some(ms);
        }
        let base = pkgbase(name);
        let from = format!("{base}-");
        self.entries
            .range(from.clone()..)
            .take_while(|(k, _)| k.starts_with(&from))
            .find(|(k, _)| pkgbase(k) == base)
            .map(|(_, &ms)| ms)
    }

    /// Record a finished build and rewrite the file atomically.
    pub fn record(&mut self, name: &str, ms: u64) -> Result<()> {
        let base = pkgbase(name);
        self.entries.retain(|k, _| pkgbase(k) != base);
        self.entries.insert(name.to_string(), ms);
        fsutil::write_atomic_with(&self.path, |w| {
            writeln!(w, "{HEADER}")?;
            for (k, v) in &self.entries {
                writeln!(w, "{k}\t{v}")?;
            }
            Ok(())
        })
        .map_err(|e| Error::err(format!("Cannot write history {}", self.path.display()), &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hist");
        let mut h = History::load(&path).unwrap();
        assert!(h.is_empty());
        h.record("foo-bar-1.0", 1500).unwrap();
        h.record("foo-2.0", 20).unwrap();
        h.record("foo-bar-1.1", 1700).unwrap();
        let h = History::load(&path).unwrap();
        assert_eq!(h.duration("foo-bar-1.1"), Some(1700));
        assert_eq!(h.duration("foo-bar-9"), Some(1700));
        assert_eq!(h.duration("foo-2.1nb1"), Some(20));
        assert_eq!(h.duration("foo-bar-baz-1"), None);
        assert_eq!(h.entries.len(), 2);
        std::fs::write(&path, "foo-1\tx\n").unwrap();
        let e = History::load(&path).err().unwrap();
        assert!(e
            .msg
            .ends_with(":1: invalid history line (want <pkgname> TAB <milliseconds>)"));
    }
}
