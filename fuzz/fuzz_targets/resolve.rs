//! Arbitrary bytes as a scan file: the resolver must never panic, and a
//! run that fails writes nothing. The first byte picks the options.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pbulk::resolve::{self, Options};

fuzz_target!(|data: &[u8]| {
    let (flags, text) = data.split_first().map_or((0, &[][..]), |(f, t)| (*f, t));
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("pscan");
    std::fs::write(&path, text).expect("write input");
    let missing = (flags & 8 != 0)
        .then(|| std::fs::File::create(dir.path().join("missing")).expect("missing file"));
    let opts = Options {
        strict: flags & 1 != 0,
        verbosity: u32::from((flags >> 1) & 3),
        missing,
        inputs: vec![path],
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    match resolve::run(opts, &mut out, &mut err) {
        Ok(0) => assert!(out.is_empty() || out.starts_with(b"PKGNAME=")),
        Ok(code) => assert!(code == 1 && out.is_empty()),
        Err(e) => assert!(e.code == 1 && out.is_empty() && !e.msg.contains('\n')),
    }
});
