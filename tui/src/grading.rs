//! The grader of this machine, built one way for `petri grade`, `petri challenge check` and the
//! tutor's `t` (screens may not call `cli::`).

use anyhow::{Context, Result};
use petri_grader::Grader;
use std::path::{Path, PathBuf};

/// The grader of this machine: the kit in `kit_dir` (default in the state dir), this binary
/// as the config worker; `hidden` runs the hidden checks too (an instructor's grading).
pub fn grader(
    data_dir: &Path,
    state_dir: &Path,
    kit_dir: Option<PathBuf>,
    hidden: bool,
) -> Result<Grader> {
    let build = crate::paths::build_env(state_dir, kit_dir);
    let worker = std::env::current_exe().context("cannot find the petri binary")?;
    Ok(Grader::new(build, worker, data_dir.to_path_buf(), hidden)?)
}
