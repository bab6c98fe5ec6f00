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

/// `$PETRI_CHALLENGES`, else the `challenges/` folder of the checkout petri was built from.
pub fn challenges_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PETRI_CHALLENGES").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../challenges")
}

/// `$PETRI_GRADE_KIT`, else `grade-kit` in the state dir: where the kit that every code
/// submission links is built, once per machine.
pub fn grade_kit_dir(state_dir: &Path) -> PathBuf {
    std::env::var_os("PETRI_GRADE_KIT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| state_dir.join("grade-kit"))
}
