//! `petri grade --gradescope-bundle`: a Gradescope autograder zip. It carries Petri's source
//! (the tracked files the binary embedded when it was built, so the zip is the same from an
//! installed binary and from a checkout), a `setup.sh` that builds it once and builds the
//! challenge kit by grading the starter, and a `run_autograder` that grades
//! `/autograder/submission` into `/autograder/results/results.json`.
//!
//! Both scripts take `$AUTOGRADER_ROOT` (default `/autograder`) and `setup.sh` takes
//! `$PETRI_BIN` (a prebuilt `petri` instead of building one) and `$PETRI_PYTHON` (a Python
//! with numpy instead of making a venv), so the bundle can be tried on any machine before it
//! is uploaded; the tests do that.

use crate::challenge::{Challenge, Kind};
use crate::language::Language;
use petri_engine::{Error, Result};
use std::io::Write;
use std::path::Path;

/// setup.sh's lines for a code challenge's Python answers: a venv with numpy where the
/// sandbox user can read it (not under root's private home).
const PYTHON_SETUP: &str = r#"if [[ -z "${PETRI_PYTHON:-}" ]]; then
  if ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update && apt-get install -y --no-install-recommends python3 python3-venv
  fi
  python3 -m venv "$ROOT/source/python"
  "$ROOT/source/python/bin/pip" install --quiet numpy
  export PETRI_PYTHON="$ROOT/source/python/bin/python"
fi
"#;

/// run_autograder's line naming the Python setup.sh made.
const PYTHON_RUN: &str =
    "export PETRI_PYTHON=\"${PETRI_PYTHON:-$ROOT/source/python/bin/python}\"\n";

/// What setup.sh grades to warm up (it builds the kit and tries the interpreter): the starter,
/// in each language for a code challenge. Returns the commands that lay the answers out, and
/// the folder to grade.
fn warm_up(c: &Challenge) -> (String, String) {
    if c.kind == Kind::Config {
        return (String::new(), format!("challenges/{}/starter", c.id));
    }
    let folder = "\"$ROOT/source/warm-up-answers\"";
    let mut copies = String::new();
    for l in Language::ALL {
        for f in c.files_for(l) {
            copies.push_str(&format!(
                "mkdir -p {folder}/{l} && cp challenges/{}/starter/{f} {folder}/{l}/\n",
                c.id
            ));
        }
    }
    (copies, folder.to_string())
}

fn setup_sh(c: &Challenge) -> String {
    let fetch = if c.task == "image-config" {
        "./target/release/petri data fetch breastmnist --data-dir \"$ROOT/source/data\"\n"
    } else {
        ""
    };
    let python = if c.kind == Kind::Code {
        PYTHON_SETUP
    } else {
        ""
    };
    let (copies, answers) = warm_up(c);
    format!(
        r#"#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
cd "$ROOT/source/petri"
if [[ -n "${{PETRI_BIN:-}}" ]]; then
  # A petri built elsewhere for this machine (or by a test).
  mkdir -p target/release
  cp "$PETRI_BIN" target/release/petri
else
  if ! command -v cargo >/dev/null && [[ ! -f "$HOME/.cargo/env" ]]; then
    apt-get update && apt-get install -y --no-install-recommends curl ca-certificates build-essential
    curl --proto '=https' -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  fi
  [[ -f "$HOME/.cargo/env" ]] && source "$HOME/.cargo/env"
  cargo build --release --locked -p petri
fi
{fetch}{python}# Build the challenge kit (and try the Python) now, not on the first student's submission.
{copies}PETRI_GRADE_KIT="${{PETRI_GRADE_KIT:-$ROOT/source/grade-kit}}" ./target/release/petri grade \
  --challenge {id} {answers} --out "$ROOT/source/warm-up" --format json \
  --data-dir "$ROOT/source/data" >/dev/null
echo "petri is ready: $(./target/release/petri --version)"
"#,
        id = c.id
    )
}

fn run_autograder(c: &Challenge) -> String {
    let python = if c.kind == Kind::Code { PYTHON_RUN } else { "" };
    format!(
        r#"#!/usr/bin/env bash
# Gradescope runs this for every submission.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
[[ -f "$HOME/.cargo/env" ]] && source "$HOME/.cargo/env"
cd "$ROOT/source/petri"
{python}PETRI_GRADE_KIT="${{PETRI_GRADE_KIT:-$ROOT/source/grade-kit}}" ./target/release/petri grade \
  --challenge {id} "$ROOT/submission" --out "$ROOT/results" --format gradescope \
  --data-dir "$ROOT/source/data"
"#,
        id = c.id
    )
}

/// Writes the autograder zip for `c` to `out`, with `source` (path, bytes) under `petri/`.
/// Entries carry a fixed time, so the same source gives the same bytes. Returns its size.
pub fn write(c: &Challenge, source: &[(&str, &[u8])], out: &Path) -> Result<u64> {
    let tmp = petri_engine::atomic::temp_path(out);
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut zip = zip::ZipWriter::new(file);
    let zip_err = |e: zip::result::ZipError| Error::invalid(format!("{}: {e}", out.display()));
    let base = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let exec = base.unix_permissions(0o755);
    for (name, body) in [
        ("setup.sh", setup_sh(c)),
        ("run_autograder", run_autograder(c)),
    ] {
        zip.start_file(name, exec).map_err(zip_err)?;
        zip.write_all(body.as_bytes())
            .map_err(|e| Error::io(out, e))?;
    }
    for (path, bytes) in source {
        // Scripts keep their execute bit.
        let options = if path.ends_with(".sh") || path.starts_with("scripts/") {
            exec
        } else {
            base.unix_permissions(0o644)
        };
        zip.start_file(format!("petri/{path}"), options)
            .map_err(zip_err)?;
        zip.write_all(bytes).map_err(|e| Error::io(out, e))?;
    }
    zip.finish().map_err(zip_err)?;
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
    std::fs::metadata(out)
        .map(|m| m.len())
        .map_err(|e| Error::io(out, e))
}
