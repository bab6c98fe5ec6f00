//! ROC curves from a record's test predictions (the CSV each image classifier writes beside
//! the record): for two classes one curve per run, the second class positive as in MedMNIST's
//! AUC (`roc.svg`/`.png`); for more classes, or labels, one figure per run with a curve per
//! class against the rest (`roc-RUN.svg`/`.png`). Each curve's legend gives its AUC.

use super::{DrawResult, FONT, both, colour};
use anyhow::{Context, Result};
use petri_engine::experiment::ExperimentRecord;
use petri_engine::experiment::predictions::{self, ClassTable};
use petri_engine::metrics::classification::{auc, roc_curve};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One curve: its legend and points.
struct Curve {
    label: String,
    points: Vec<(f64, f64)>,
}

/// The class predictions of each run that has them: (run name, seed note, table). A run over
/// seeds is drawn from its first seed's predictions.
fn class_predictions(record: &ExperimentRecord) -> Result<Vec<(String, ClassTable)>> {
    let mut out = Vec::new();
    for run in &record.runs {
        let (file, seed) = if let Some(f) = &run.predictions {
            (f, None)
        } else if let Some(s) = run.per_seed.first()
            && let Some(f) = &s.predictions
        {
            (f, Some(s.seed))
        } else {
            continue;
        };
        let path = Path::new(file);
        // Tables and masks have predictions files of their own kinds.
        let header = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the predictions of {}: {file}", run.name))?;
        if !header
            .lines()
            .next()
            .unwrap_or("")
            .split(',')
            .any(|h| h == "p_0")
        {
            continue;
        }
        let table = predictions::read_classes(path)?;
        let name = match seed {
            Some(s) => format!("{} (seed {s})", run.name),
            None => run.name.clone(),
        };
        out.push((name, table));
    }
    Ok(out)
}

/// The curve of class (or label) `c` against the rest, labelled `name (AUC x)`.
fn curve(table: &ClassTable, c: usize, name: &str) -> Option<Curve> {
    let scores: Vec<f64> = table.probs.iter().map(|p| p[c]).collect();
    let positive: Vec<bool> = table
        .truth
        .iter()
        .map(|t| {
            if table.multi_label {
                t[c] == 1
            } else {
                t[0] as usize == c
            }
        })
        .collect();
    let points = roc_curve(&scores, &positive)?;
    let area = auc(&scores, &positive)?;
    Some(Curve {
        label: format!("{name} (AUC {area:.3})"),
        points,
    })
}

pub fn write(record: &ExperimentRecord, dir: &Path) -> Result<Vec<PathBuf>> {
    let runs = class_predictions(record)?;
    let mut written = Vec::new();
    let binary = runs
        .iter()
        .all(|(_, t)| !t.multi_label && t.probs.first().is_some_and(|p| p.len() == 2));
    if binary && !runs.is_empty() {
        let curves: Vec<Curve> = runs
            .iter()
            .filter_map(|(name, t)| curve(t, 1, name))
            .collect();
        let positive = record
            .class_names
            .get(1)
            .cloned()
            .unwrap_or_else(|| "1".into());
        let title = format!(
            "{}: ROC on the test split, '{positive}' positive",
            record.part.name()
        );
        written.extend(both(
            dir,
            "roc",
            |a| draw(a, &title, &curves),
            |a| draw(a, &title, &curves),
        )?);
        return Ok(written);
    }
    for (name, table) in &runs {
        let k = table.probs.first().map_or(0, Vec::len);
        let class = |c: usize| {
            record
                .class_names
                .get(c)
                .cloned()
                .unwrap_or_else(|| c.to_string())
        };
        let curves: Vec<Curve> = (0..k).filter_map(|c| curve(table, c, &class(c))).collect();
        let title = format!("{name}: ROC per class against the rest, test split");
        let file = format!("roc-{}", predictions::file_stem(name));
        written.extend(both(
            dir,
            &file,
            |a| draw(a, &title, &curves),
            |a| draw(a, &title, &curves),
        )?);
    }
    Ok(written)
}

fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    curves: &[Curve],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0f64, 0.0..1.0f64)?;
    chart
        .configure_mesh()
        .x_desc("false positive rate (1 - specificity)")
        .y_desc("true positive rate (sensitivity)")
        .label_style((FONT, 16))
        .draw()?;
    // Chance: a classifier that guesses.
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.mix(0.3).stroke_width(1),
        ))?
        .label("chance (AUC 0.5)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.3).stroke_width(1)));
    for (i, c) in curves.iter().enumerate() {
        let colour = colour(i);
        chart
            .draw_series(LineSeries::new(
                c.points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(c.label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
