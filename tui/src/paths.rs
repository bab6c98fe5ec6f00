//! Where Petri keeps things on the user's machine.

use std::path::{Path, PathBuf};

/// `--data-dir`, else `$PETRI_DATA`, else the XDG data dir (`~/.local/share/petri`).
pub fn data_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("PETRI_DATA").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("petri")
}

/// `$PETRI_STATE`, else the XDG state dir (`~/.local/state/petri`), else the data dir.
pub fn state_dir(data_dir: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("PETRI_STATE").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::state_dir()
        .map(|d| d.join("petri"))
        .unwrap_or_else(|| data_dir.join("state"))
}

pub fn progress_file(state_dir: &Path) -> PathBuf {
    state_dir.join("progress.json")
}

/// `$PETRI_CHALLENGES`, else the `challenges/` folder of the checkout petri was built from,
/// else the copy embedded in the binary (see `installed.rs`).
pub fn challenges_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PETRI_CHALLENGES").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    crate::installed::challenges()
}

/// How this machine builds code submissions: the kit in `kit_dir` (default in the state dir),
/// from `petri-core`'s source (the checkout's, or the embedded copy).
pub fn build_env(state_dir: &Path, kit_dir: Option<PathBuf>) -> petri_grader::harness::BuildEnv {
    let (core_dir, lock_file) = crate::installed::kit_sources();
    petri_grader::harness::BuildEnv::new(
        core_dir,
        lock_file,
        kit_dir.unwrap_or_else(|| grade_kit_dir(state_dir)),
    )
}

/// `$PETRI_GRADE_KIT`, else `grade-kit` in the state dir: where the kit that every code
/// submission links is built, once per machine.
pub fn grade_kit_dir(state_dir: &Path) -> PathBuf {
    std::env::var_os("PETRI_GRADE_KIT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| state_dir.join("grade-kit"))
}

/// A path typed in the tutor, as a shell would read it: `~` and `~/...` are the home folder.
pub fn expand_home(typed: &str) -> PathBuf {
    let home = dirs::home_dir();
    match (typed, typed.strip_prefix("~/"), home) {
        ("~", _, Some(home)) => home,
        (_, Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(typed),
    }
}

#[cfg(test)]
mod expand_tests {
    #[test]
    fn a_tilde_is_the_home_folder() {
        let home = dirs::home_dir().unwrap();
        assert_eq!(
            super::expand_home("~/scans/a.npz"),
            home.join("scans/a.npz")
        );
        assert_eq!(super::expand_home("~"), home);
        assert_eq!(
            super::expand_home("/data/x"),
            std::path::PathBuf::from("/data/x")
        );
    }
}
