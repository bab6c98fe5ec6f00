//! `petri identify`: the protocol's first steps as a tool. Reads a dataset (MedMNIST-style
//! `.npz`, class-named image folders, an images + masks folder, or a CSV with a target),
//! decides the task from evidence in the data, warns about what would mislead training, and
//! proposes a plan (network, loss, optimiser, augmentation, transfer, metric) with the lesson
//! behind each choice.
//!
//! This file holds the entry point [`identify`], the report ([`Identification`], [`Warning`])
//! and what the kinds of data share (lessons cited, class balance warnings); each kind of data
//! has its own file: `images.rs` (`.npz`, class folders), `segmentation.rs` (images + masks),
//! `table.rs` (CSV), with `duplicates.rs` (near-copies of images) and `plan.rs` (the plan file).

mod duplicates;
mod images;
mod plan;
mod segmentation;
mod table;

pub use plan::{Plan, Reason};

use crate::data::class_folders;
use crate::data::registry::Task;
use crate::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Something in the data that would mislead training or evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    /// Stable key for scripts: `few-examples`, `imbalance`, `tiny-images`, `near-duplicates`,
    /// `missing-values`, `integer-target`, `mask-255`, `small-table`.
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Identification {
    pub path: PathBuf,
    /// What the input is, in words.
    pub data_kind: String,
    pub task: Task,
    /// Why this task: what in the data says so.
    pub evidence: Vec<String>,
    /// Sizes, channels, splits, class balance.
    pub facts: Vec<String>,
    pub warnings: Vec<Warning>,
    pub plan: Plan,
    pub reasons: Vec<Reason>,
}

// Lessons a reason cites, by their part's name (`petri lesson classification`). `petri
// content check` verifies each names a lesson.
const L_PROTOCOL: &str = "protocol";
const L_CLASSIFY: &str = "classification";
const L_AUGMENT: &str = "augmentation";
const L_SEGMENT: &str = "segmentation";
const L_REGRESS: &str = "regression";
/// Every lesson a reason may cite, by part name.
pub const LESSONS_CITED: [&str; 5] = [L_PROTOCOL, L_CLASSIFY, L_AUGMENT, L_SEGMENT, L_REGRESS];

/// Reads `path` and identifies its task; `target` names the target column of a table.
pub fn identify(path: &Path, target: Option<&str>) -> Result<Identification> {
    if !path.exists() {
        return Err(Error::invalid(format!(
            "{}: no such file or folder",
            path.display()
        )));
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if path.is_dir() {
        if class_folders::looks_like(path) {
            images::from_class_folders(&class_folders::find(path)?)
        } else {
            segmentation::from_segmentation(path)
        }
    } else if ext == "npz" {
        images::from_npz(path)
    } else if matches!(ext.as_str(), "csv" | "tsv" | "txt") {
        let Some(target) = target else {
            let cols = table::raw_table(path)?.0;
            return Err(Error::invalid(format!(
                "{} is a table: say which column to predict with --target COLUMN (columns: {})",
                path.display(),
                cols.join(", ")
            )));
        };
        table::from_table(path, target)
    } else {
        Err(Error::format(
            path,
            "is not a kind Petri reads: give a MedMNIST-style .npz, a folder of class folders, a folder of images and masks, or a .csv with --target",
        ))
    }
}

/// Class balance warnings shared by image and table classification.
pub(super) fn balance_warnings(
    counts: &[usize],
    names: &[String],
    warnings: &mut Vec<Warning>,
) -> bool {
    let present: Vec<usize> = counts.iter().copied().filter(|&c| c > 0).collect();
    let (min, max) = (
        present.iter().min().copied().unwrap_or(0),
        present.iter().max().copied().unwrap_or(0),
    );
    if let Some((i, &c)) = counts.iter().enumerate().min_by_key(|(_, c)| **c)
        && c < 50
    {
        warnings.push(Warning {
            code: "few-examples",
            message: format!(
                "class '{}' has only {c} training examples: expect noisy results; augmentation and transfer learning help most here",
                names.get(i).cloned().unwrap_or_default()
            ),
        });
    }
    let imbalanced = min > 0 && max >= 2 * min;
    if imbalanced {
        warnings.push(Warning {
            code: "imbalance",
            message: format!(
                "classes are imbalanced ({max} vs {min} training examples): accuracy rewards predicting the majority; weight the loss and report AUC or balanced accuracy"
            ),
        });
    }
    imbalanced
}

impl Identification {
    /// The plain-text report `petri identify` prints and the tutor shows.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let id = self;
        let mut s = String::new();
        let _ = writeln!(s, "{}", id.path.display());
        let _ = writeln!(s, "  data: {}", id.data_kind);
        let _ = writeln!(s, "  task: {}", id.task);
        let _ = writeln!(s, "  because:");
        for e in &id.evidence {
            let _ = writeln!(s, "    - {e}");
        }
        for f in &id.facts {
            let _ = writeln!(s, "  {f}");
        }
        if id.warnings.is_empty() {
            let _ = writeln!(s, "  warnings: none");
        } else {
            let _ = writeln!(s, "  warnings:");
            for w in &id.warnings {
                let _ = writeln!(s, "    ! [{}] {}", w.code, w.message);
            }
        }
        let _ = writeln!(s, "  plan:");
        for r in &id.reasons {
            let _ = writeln!(s, "    {:<14} {}", r.item, r.choice);
            let _ = writeln!(s, "    {:<14} {} (lesson: {})", "", r.why, r.lesson);
        }
        let p = &id.plan;
        let _ = writeln!(
            s,
            "    {:<14} {} lr {}, {} epochs, batch {}",
            "training",
            p.training.optimizer.name(),
            p.training.optimizer.lr(),
            p.training.epochs,
            p.training.batch_size
        );
        s
    }
}
