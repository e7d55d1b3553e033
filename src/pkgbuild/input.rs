//! What pkg-build takes from its presolve block on stdin, and the privilege
//! decisions that follow from it.

use std::io::BufRead;

use super::shread::ShRead;

/// The fields of one presolve record pkg-build uses (raw bytes, as the
/// shell variables hold them after `read`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    pub pkgname: Vec<u8>,
    /// `PKG_LOCATION`, e.g. `devel/gmake`.
    pub pkgdir: Vec<u8>,
    /// `DEPENDS`: the resolved direct dependencies, blank separated.
    pub dependencies: Vec<u8>,
    pub categories: Vec<u8>,
    /// `MULTI_VERSION`: extra make variable assignments.
    pub make_flags: Vec<u8>,
    pub use_destdir: Vec<u8>,
    /// `BOOTSTRAP_PKG`: non-empty for packages of the bootstrap kit.
    pub is_bootstrap: Vec<u8>,
    pub usergroup_phase: Vec<u8>,
}

impl BuildInfo {
    /// Consume `input` completely; for each known prefix the last line wins.
    pub fn parse(input: impl BufRead) -> std::io::Result<BuildInfo> {
        let mut info = BuildInfo::default();
        let mut r = ShRead::new(input);
        while let Some(mut f) = r.read(1)? {
            let line = f.remove(0);
            let slots: [(&[u8], &mut Vec<u8>); 8] = [
                (b"PKGNAME=", &mut info.pkgname),
                (b"PKG_LOCATION=", &mut info.pkgdir),
                (b"DEPENDS=", &mut info.dependencies),
                (b"CATEGORIES=", &mut info.categories),
                (b"MULTI_VERSION=", &mut info.make_flags),
                (b"USE_DESTDIR=", &mut info.use_destdir),
                (b"BOOTSTRAP_PKG=", &mut info.is_bootstrap),
                (b"USERGROUP_PHASE=", &mut info.usergroup_phase),
            ];
            for (prefix, slot) in slots {
                if let Some(rest) = line.strip_prefix(prefix) {
                    *slot = rest.to_vec();
                    break;
                }
            }
        }
        Ok(info)
    }

    pub fn is_bootstrap(&self) -> bool {
        !self.is_bootstrap.is_empty()
    }
}

/// How a make step is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// The argument vector as is.
    Direct,
    /// `su <unprivileged_user> -c '"$@"' make <argv...>`.
    Su,
}

/// The runners of the checksum, build (configure, all) and install steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runners {
    pub checksum: Runner,
    pub build: Runner,
    pub install: Runner,
}

/// The original's choice: unprivileged checksum unless the config says
/// exactly `no`; build always unprivileged; install unprivileged only for
/// `user-destdir`; nothing changes users unless running as root.
pub fn select_runners(use_unprivileged_checksum: &str, use_destdir: &[u8], euid: u32) -> Runners {
    if euid != 0 {
        return Runners {
            checksum: Runner::Direct,
            build: Runner::Direct,
            install: Runner::Direct,
        };
    }
    Runners {
        checksum: if use_unprivileged_checksum != "no" {
            Runner::Su
        } else {
            Runner::Direct
        },
        build: Runner::Su,
        install: if use_destdir == b"user-destdir" {
            Runner::Su
        } else {
            Runner::Direct
        },
    }
}

/// Which step the user/group helper serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsergroupStep {
    Configure,
    Build,
    Install,
}

/// The make targets the user/group helper runs before `step`, if any: the
/// patterns are tried in the original's order (`*configure`, `*build`,
/// `pre-install`) and the first match decides.
pub fn usergroup_targets(phase: &[u8], step: UsergroupStep) -> Option<&'static [&'static str]> {
    if phase.ends_with(b"configure") {
        (step == UsergroupStep::Configure).then_some(&["create-usergroup", "clean"][..])
    } else if phase.ends_with(b"build") {
        (step == UsergroupStep::Build).then_some(&["create-usergroup"][..])
    } else if phase == b"pre-install" {
        (step == UsergroupStep::Install).then_some(&["create-usergroup"][..])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_occurrence_wins_and_read_rules_apply() {
        let input = b"PKGNAME=a-1\nPKG_LOCATION=cat/a\nDEPENDS= b-1  c-2 \nPKGNAME=a-2\n\
MULTI_VERSION= PYTHON_VERSION_REQD=311\nCATEGORIES=x\\\\y z\nBOOTSTRAP_PKG=yes\n\
ALL_DEPENDS=ignored\nUSE_DESTDIR=user-destdir\nUSERGROUP_PHASE=pre-install\nPKG_LOCATION=tail";
        let info = BuildInfo::parse(&input[..]).unwrap();
        assert_eq!(info.pkgname, b"a-2");
        assert_eq!(
            info.pkgdir, b"cat/a",
            "a last line without newline is never read"
        );
        assert_eq!(info.dependencies, b" b-1  c-2");
        assert_eq!(info.make_flags, b" PYTHON_VERSION_REQD=311");
        assert_eq!(info.categories, b"x\\y z");
        assert!(info.is_bootstrap());
        assert_eq!(info.use_destdir, b"user-destdir");
        assert_eq!(info.usergroup_phase, b"pre-install");
    }

    #[test]
    fn runner_choice() {
        use Runner::*;
        let r = select_runners("no", b"destdir", 0);
        assert_eq!(
            r,
            Runners {
                checksum: Direct,
                build: Su,
                install: Direct
            }
        );
        let r = select_runners("", b"user-destdir", 0);
        assert_eq!(
            r,
            Runners {
                checksum: Su,
                build: Su,
                install: Su
            }
        );
        let r = select_runners("NO", b"", 0);
        assert_eq!(r.checksum, Su, "only lowercase no turns it off");
        let r = select_runners("yes", b"user-destdir", 1000);
        assert_eq!(
            r,
            Runners {
                checksum: Direct,
                build: Direct,
                install: Direct
            }
        );
    }

    #[test]
    fn usergroup_helper_patterns() {
        use UsergroupStep::*;
        assert_eq!(
            usergroup_targets(b"pre-configure", Configure),
            Some(&["create-usergroup", "clean"][..])
        );
        assert_eq!(usergroup_targets(b"configure", Build), None);
        assert_eq!(
            usergroup_targets(b"post-build", Build),
            Some(&["create-usergroup"][..])
        );
        assert_eq!(
            usergroup_targets(b"pre-install", Install),
            Some(&["create-usergroup"][..])
        );
        assert_eq!(usergroup_targets(b"post-install", Install), None);
        assert_eq!(usergroup_targets(b"", Configure), None);
    }
}
