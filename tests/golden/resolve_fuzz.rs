//! Fuzz-style tests that run on the stable toolchain: deterministic random
//! scans and patterns, many iterations, asserting no panic, sane errors,
//! and agreement of the matcher with the plain reference implementation.
//! (`fuzz/` holds the cargo-fuzz targets for open-ended runs on nightly.)

use crate::support::pattern_ref;

use pattern_ref::Rng;
use pbulk::pattern;
use pbulk::resolve::{self, Options};

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len())]
}

fn random_pattern(rng: &mut Rng, len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ab-1.2{},*?[]!^\\<>=_nbrc";
    (0..rng.below(len + 1))
        .map(|_| ALPHABET[rng.below(ALPHABET.len())])
        .collect()
}

fn random_name(rng: &mut Rng) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ab-12.]*[{,nb";
    (0..rng.below(9))
        .map(|_| ALPHABET[rng.below(ALPHABET.len())])
        .collect()
}

#[test]
fn matcher_agrees_with_the_reference_on_random_input() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..300_000 {
        let p = random_pattern(&mut rng, 12);
        let n = random_name(&mut rng);
        let ours = pattern::pkg_match(&p, &n).map_err(|e| match e {
            pattern::MatchError::MalformedAlternate(s) => s,
            pattern::MatchError::NoVersion | pattern::MatchError::TooManyAlternates(_) => {
                unreachable!()
            }
        });
        assert_eq!(
            ours,
            pattern_ref::pkg_match(&p, &n),
            "pattern {:?} name {:?}",
            String::from_utf8_lossy(&p),
            String::from_utf8_lossy(&n)
        );
        let _ = pattern::pkg_order(&p, &n);
    }
}

#[test]
fn hostile_globs_stay_fast() {
    let p = "a*".repeat(40) + "b";
    let n = "a".repeat(5000);
    assert!(!pattern::pkg_match(p.as_bytes(), n.as_bytes()).unwrap());
    let deep = "{".repeat(200) + &"}".repeat(200);
    assert!(!pattern::pkg_match(deep.as_bytes(), b"x").unwrap());
}

/// A random scan: mostly well-formed records with some damage.
fn random_scan(rng: &mut Rng) -> Vec<u8> {
    let names = ["foo", "foo-bar", "ab", "libx", "py3-x", "zz"];
    let versions = ["1.0", "2", "1.0nb1", "3a", "", "1.0rc1"];
    let mut out = Vec::new();
    for _ in 0..rng.below(8) {
        let name = format!("{}-{}", pick(rng, &names), pick(rng, &versions));
        let mut deps = String::new();
        for _ in 0..rng.below(4) {
            let pat = match rng.below(5) {
                0 => format!("{}>={}", pick(rng, &names), pick(rng, &versions)),
                1 => format!("{}-[0-9]*", pick(rng, &names)),
                2 => format!("{{{},{}}}>=1", pick(rng, &names), pick(rng, &names)),
                3 => String::from_utf8_lossy(&random_pattern(rng, 8)).into_owned(),
                _ => format!("{}-{}", pick(rng, &names), pick(rng, &versions)),
            };
            let sep = pick(rng, &[":../../", ":../../", ":", "", ":../"]);
            deps += &format!(
                "{} {pat}{sep}cat/{}",
                pick(rng, &["", " ", "\t"]),
                pick(rng, &names)
            );
        }
        out.extend_from_slice(format!("PKGNAME={name}\n").as_bytes());
        if rng.below(10) > 0 {
            out.extend_from_slice(format!("PKG_LOCATION=cat/{name}\n").as_bytes());
        }
        if rng.below(10) > 0 {
            out.extend_from_slice(format!("ALL_DEPENDS={deps}\n").as_bytes());
        }
        if rng.below(3) == 0 {
            out.extend_from_slice(b"PKG_FAIL_REASON=\n");
        }
        if rng.below(8) == 0 {
            out.extend_from_slice(b"DEPENDS=foo-1.0\n");
        }
    }
    // Damage: drop, flip or insert a few bytes.
    for _ in 0..rng.below(3) {
        if out.is_empty() {
            break;
        }
        let at = rng.below(out.len());
        match rng.below(3) {
            0 => {
                out.remove(at);
            }
            1 => out[at] = b"\0\n:{} -"[rng.below(7)],
            _ => out.insert(at, b"\nPKGNAME=x:{"[rng.below(12)]),
        }
    }
    out
}

const KNOWN_ERRORS: &[&str] = &[
    "Invalid input",
    "Invalid input (NUL character found)",
    "No ALL_DEPENDS line for ",
    "Malformed alternate `",
    "Internal error",
];

#[test]
fn resolver_survives_random_scans() {
    // Thousands of small files: keep them in memory where the system can.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let (mut ok, mut failed, mut errors) = (0, 0, 0);
    for round in 0..2000 {
        let inputs: Vec<_> = (0..1 + rng.below(2))
            .map(|k| {
                let p = dir.path().join(format!("in{k}"));
                std::fs::write(&p, random_scan(&mut rng)).unwrap();
                p
            })
            .collect();
        let missing =
            (rng.below(3) == 0).then(|| std::fs::File::create(dir.path().join("missing")).unwrap());
        let opts = Options {
            strict: rng.below(2) == 0,
            verbosity: rng.below(3) as u32,
            missing,
            inputs,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        match resolve::run(opts, &mut out, &mut err) {
            Ok(0) => {
                ok += 1;
                assert!(
                    out.is_empty() || out.starts_with(b"PKGNAME="),
                    "round {round}"
                );
                assert!(out.is_empty() || out.ends_with(b"\n"), "round {round}");
            }
            Ok(1) => {
                failed += 1;
                assert!(out.is_empty(), "round {round}: output despite failure");
            }
            Ok(code) => panic!("round {round}: exit status {code}"),
            Err(e) => {
                errors += 1;
                assert_eq!(e.code, 1);
                assert!(out.is_empty());
                assert!(
                    KNOWN_ERRORS.iter().any(|k| e.msg.starts_with(k)),
                    "round {round}: unexpected error {:?}",
                    e.msg
                );
            }
        }
        assert!(
            err.is_empty() || err.starts_with(b"pbulk-resolve: "),
            "round {round}"
        );
    }
    eprintln!("{ok} ok, {failed} failed, {errors} errors");
    assert!(ok > 50 && failed > 50 && errors > 50);
}
