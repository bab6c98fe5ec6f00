//! `petri grade --gradescope-bundle`: a Gradescope autograder zip. It carries Petri's source
//! (Gradescope builds it once in `setup.sh`, then builds the challenge kit by grading the
//! starter), and a `run_autograder` that grades `/autograder/submission` into
//! `/autograder/results/results.json`.

use crate::challenge::Challenge;
use petri_engine::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Folders and files of the checkout that building Petri needs.
const SOURCE: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "bench",
    "core",
    "engine",
    "grader",
    "tui",
    "tests",
    "lessons",
    "challenges",
];

fn setup_sh(c: &Challenge) -> String {
    let fetch = if c.task == "image-config" {
        "./target/release/petri data fetch breastmnist --data-dir /autograder/source/data\n"
    } else {
        ""
    };
    format!(
        r#"#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built.
set -euo pipefail
apt-get update && apt-get install -y --no-install-recommends curl ca-certificates build-essential
curl --proto '=https' -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
source "$HOME/.cargo/env"
cd /autograder/source/petri
cargo build --release --locked
{fetch}# Build the challenge kit now, not on the first student's submission.
PETRI_GRADE_KIT=/autograder/source/grade-kit ./target/release/petri grade \
  --challenge {id} challenges/{id}/starter --out /tmp/petri-warm --format json \
  --data-dir /autograder/source/data
"#,
        id = c.id
    )
}

fn run_autograder(c: &Challenge) -> String {
    format!(
        r#"#!/usr/bin/env bash
# Gradescope runs this for every submission.
source "$HOME/.cargo/env"
cd /autograder/source/petri
PETRI_GRADE_KIT=/autograder/source/grade-kit ./target/release/petri grade \
  --challenge {id} /autograder/submission --out /autograder/results --format gradescope \
  --data-dir /autograder/source/data
"#,
        id = c.id
    )
}

fn add_tree(zip: &mut zip::ZipWriter<std::fs::File>, root: &Path, rel: &Path) -> Result<()> {
    let path = root.join(rel);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    if path.is_dir() {
        if rel
            .file_name()
            .is_some_and(|n| n == "target" || n == ".git")
        {
            return Ok(());
        }
        let mut entries: Vec<_> = std::fs::read_dir(&path)
            .map_err(|e| Error::io(&path, e))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            add_tree(zip, root, &rel.join(e.file_name()))?;
        }
    } else if path.is_file() {
        let name = Path::new("petri")
            .join(rel)
            .to_string_lossy()
            .replace('\\', "/");
        zip.start_file(name, opts)
            .map_err(|e| Error::invalid(e.to_string()))?;
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        zip.write_all(&bytes).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// Writes the autograder zip for `c` to `out`.
pub fn write(c: &Challenge, out: &Path) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tmp = petri_engine::atomic::temp_path(out);
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut zip = zip::ZipWriter::new(file);
    let exec = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    for (name, body) in [
        ("setup.sh", setup_sh(c)),
        ("run_autograder", run_autograder(c)),
    ] {
        zip.start_file(name, exec)
            .map_err(|e| Error::invalid(e.to_string()))?;
        zip.write_all(body.as_bytes())
            .map_err(|e| Error::io(out, e))?;
    }
    for item in SOURCE {
        add_tree(&mut zip, &root, Path::new(item))?;
    }
    zip.finish().map_err(|e| Error::invalid(e.to_string()))?;
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))
}
