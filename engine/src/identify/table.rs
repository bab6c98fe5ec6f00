//! Tables (CSV with a target column): classes or regression from the target's values, missing
//! values, small tables, and the MLP plan against baselines.

use super::{Identification, L_PROTOCOL, L_REGRESS, Plan, Reason, Warning, balance_warnings};
use crate::data::registry::Task;
use crate::metrics::Metric;
use crate::train::{Optimizer, TrainingSettings};
use crate::{Error, Result};
use std::path::Path;

/// The table as text: column names and rows of cells (missing values kept as they are).
pub(super) fn raw_table(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let (mut rows, _) = crate::data::tabular::records(path)?;
    if rows.len() < 2 {
        return Err(Error::format(path, "has fewer than two rows"));
    }
    // Petri's CSV reader knows the layouts (header, scikit-learn's size line); use its column
    // names and skip what it skipped, keeping the raw cells so missing values can be counted.
    // What it refuses (ragged rows), training refuses too: identify says so with its message.
    let (t, _) = crate::data::tabular::read_csv_dropping_missing(path)?;
    let skip = usize::from(t.sklearn_preamble.is_some()) + usize::from(t.had_header);
    Ok((t.columns, rows.split_off(skip.min(rows.len()))))
}

fn is_missing(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "na" | "nan" | "null" | "?"
    )
}

/// A table whose column `target` (a name or a zero-based index) is to be predicted.
pub(super) fn from_table(path: &Path, target: &str) -> Result<Identification> {
    let (cols, rows) = raw_table(path)?;
    let t = target_column(path, &cols, target)?;
    let values = TargetValues::read(&rows, t);
    let mut warnings = Vec::new();
    let (task, evidence) = table_task(&cols[t], &values, &mut warnings);
    warnings.extend(missing_warning(&cols, &rows));
    if rows.len() < 1000 {
        warnings.push(Warning {
            code: "small-table",
            message: format!("{} rows: a single split is noisy; compare models over repeated random splits and report mean ± std, and try linear and tree baselines first", rows.len()),
        });
    }
    if task != Task::Regression {
        balance_warnings(&values.class_counts(), &values.distinct, &mut warnings);
    }
    let facts = vec![
        format!(
            "{} rows, {} columns; target '{}'",
            rows.len(),
            cols.len(),
            cols[t]
        ),
        format!(
            "features: {}",
            cols.iter()
                .enumerate()
                .filter(|(i, _)| *i != t)
                .map(|(_, c)| c.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    let (plan, reasons) = table_plan(task, &cols[t]);
    Ok(Identification {
        path: path.to_path_buf(),
        data_kind: "table (CSV)".into(),
        task,
        evidence: vec![evidence],
        facts,
        warnings,
        plan,
        reasons,
    })
}

/// A row's cell in column `i`, empty where the row is short.
fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map_or("", String::as_str)
}

/// The index of the target column: by name (case-insensitive), else by zero-based index.
fn target_column(path: &Path, cols: &[String], target: &str) -> Result<usize> {
    cols.iter()
        .position(|c| c.eq_ignore_ascii_case(target))
        .or_else(|| target.parse::<usize>().ok().filter(|&i| i < cols.len()))
        .ok_or_else(|| {
            Error::invalid(format!(
                "{} has no column '{target}'; columns are: {}",
                path.display(),
                cols.join(", ")
            ))
        })
}

/// The target column's values, missing ones left out, and what kind of values they are.
struct TargetValues {
    values: Vec<String>,
    /// The distinct values, sorted.
    distinct: Vec<String>,
    /// Every value parses as a number.
    numeric: bool,
    /// Every value is a whole number.
    integers: bool,
}

impl TargetValues {
    fn read(rows: &[Vec<String>], t: usize) -> TargetValues {
        let values: Vec<String> = rows
            .iter()
            .map(|r| cell(r, t).to_string())
            .filter(|v| !is_missing(v))
            .collect();
        let numbers: Vec<f64> = values
            .iter()
            .filter_map(|v| v.parse::<f64>().ok())
            .collect();
        let numeric = numbers.len() == values.len();
        let mut distinct: Vec<String> = values.clone();
        distinct.sort();
        distinct.dedup();
        let integers = numeric && numbers.iter().all(|v| v.fract() == 0.0);
        TargetValues {
            values,
            distinct,
            numeric,
            integers,
        }
    }

    /// Rows per distinct value, in `distinct`'s order.
    fn class_counts(&self) -> Vec<usize> {
        self.distinct
            .iter()
            .map(|d| self.values.iter().filter(|v| *v == d).count())
            .collect()
    }

    /// Binary for two classes, multi-class otherwise.
    fn classes(&self) -> Task {
        if self.distinct.len() == 2 {
            Task::Binary
        } else {
            Task::MultiClass
        }
    }
}

/// The task the target column `name` asks for, with the evidence; a small set of integers
/// is classes, with a warning that it may be a scale.
fn table_task(name: &str, target: &TargetValues, warnings: &mut Vec<Warning>) -> (Task, String) {
    let distinct = &target.distinct;
    if !target.numeric {
        let evidence = format!(
            "'{name}' holds text with {} values ({})",
            distinct.len(),
            distinct
                .iter()
                .take(6)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        (target.classes(), evidence)
    } else if target.integers && distinct.len() <= 10 {
        let evidence = format!(
            "'{name}' holds only {} distinct whole numbers ({}): categories, not a measurement",
            distinct.len(),
            distinct.join(", ")
        );
        warnings.push(Warning {
            code: "integer-target",
            message: format!("the target looks numeric but is a small set of integers ({}): treated as classes; if the numbers are a real scale (a grade, a count), regression may be right after all", distinct.join(", ")),
        });
        (target.classes(), evidence)
    } else {
        let evidence = format!(
            "'{name}' is a number with {} distinct values over {} rows: a continuous measurement",
            distinct.len(),
            target.values.len()
        );
        (Task::Regression, evidence)
    }
}

/// Missing values per column (the first five named), when there are any.
fn missing_warning(cols: &[String], rows: &[Vec<String>]) -> Option<Warning> {
    let missing: Vec<(String, usize)> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                c.clone(),
                rows.iter().filter(|r| is_missing(cell(r, i))).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let total: usize = missing.iter().map(|m| m.1).sum();
    Some(Warning {
        code: "missing-values",
        message: format!(
            "{total} missing value(s) in {}: drop those rows or fill them from the training rows only (`petri train` drops them)",
            missing
                .iter()
                .take(5)
                .map(|(c, n)| format!("{c} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// The table plan (a small MLP against baselines, repeated 2/3 : 1/3 splits) for predicting
/// `target`, and the reason for each choice.
fn table_plan(task: Task, target: &str) -> (Plan, Vec<Reason>) {
    let regression = task == Task::Regression;
    let plan = Plan {
        task,
        network: "mlp".into(),
        input_size: None,
        pretrained: false,
        loss: if regression {
            "mse".into()
        } else {
            "cross-entropy".into()
        },
        class_weights: None,
        training: TrainingSettings {
            optimizer: Optimizer::Adam { lr: 0.003 },
            epochs: 300,
            batch_size: 32,
        },
        hidden: vec![],
        augmentation: vec![],
        metric: if regression {
            Metric::Mae.name().into()
        } else {
            Metric::BalancedAccuracy.name().into()
        },
        target: Some(target.to_string()),
        split: [2.0 / 3.0, 0.0, 1.0 / 3.0],
        seed: 0,
    };
    let reasons = vec![
        Reason { item: "network", choice: "mlp".into(), why: "one row of numbers per sample: no images, so no convolutions; a small network against linear and tree baselines".into(), lesson: L_REGRESS },
        Reason { item: "hidden", choice: "[] (one linear layer)".into(), why: "with hundreds of rows, deeper networks overfit: start linear, add layers only if they lower the held-out error".into(), lesson: L_REGRESS },
        Reason { item: "loss", choice: plan.loss.clone(), why: if regression { "a continuous target: mean squared error (targets standardised for training, errors reported in target units)".into() } else { "classes: cross-entropy".into() }, lesson: L_PROTOCOL },
        Reason { item: "metric", choice: plan.metric.clone(), why: if regression { "errors in the target's own units say what a user can expect; the spread over splits says how much to trust one number".into() } else { "balanced accuracy (the mean recall over classes) is not fooled by a model that ignores a rare class; the spread over splits says how much to trust one number".into() }, lesson: if regression { L_REGRESS } else { L_PROTOCOL } },
        Reason { item: "split", choice: "2/3 train, 1/3 test, repeated".into(), why: "feature scaling and selection are fitted on the training rows only".into(), lesson: L_REGRESS },
    ];
    (plan, reasons)
}
