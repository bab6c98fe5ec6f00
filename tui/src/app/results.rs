//! A record's runs, compared as the course compares them: for classification a table, a bar
//! chart of test accuracy per run, per-class recall side by side, a confusion-matrix heatmap
//! and the validation accuracy of every run per epoch on one chart; for regression a table and
//! a bar chart of MAE/RMSE (mean ± std) per model; for segmentation Dice per class. Runs that
//! finished appear as each ends; what the lesson expects is checked once all have.

use super::scroll::Scroll;
use crate::text;
use crate::theme::Theme;
use petri_engine::experiment::ExperimentRecord;
use petri_engine::experiment::expected::Expected;
use petri_engine::experiment::seeds::Comparison;
use petri_engine::metrics::Metric;
use petri_engine::train::ModelRun;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Wrap};

/// What the pane shows: a whole record, or the runs finished so far.
pub struct Shown<'a> {
    pub runs: &'a [ModelRun],
    pub class_names: &'a [String],
    pub expected: &'a [Expected],
    /// The seeds each run was repeated over (empty: one seed).
    pub seeds: &'a [u64],
    pub comparisons: &'a [Comparison],
    /// What the run skipped or noted, with why (e.g. frozen and fine-tune without weights).
    pub notes: &'a [String],
    /// All runs are in (the record was saved).
    pub complete: bool,
}

impl<'a> Shown<'a> {
    pub fn record(r: &'a ExperimentRecord) -> Self {
        Shown {
            runs: &r.runs,
            class_names: &r.class_names,
            expected: &r.expected,
            seeds: &r.seeds,
            comparisons: &r.comparisons,
            notes: &r.notes,
            complete: true,
        }
    }
}

/// Rows the per-epoch chart needs to be worth drawing.
const CHART_ROWS: u16 = 10;

/// The results of `r` over `area`: the runs' metrics, what the lesson expects, comparisons and
/// earlier runs, scrolled with `scroll` when taller than the pane; the per-epoch chart below
/// when everything fits with room for it.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    r: Shown,
    earlier: &[ExperimentRecord],
    theme: &Theme,
    scroll: &Scroll,
) {
    let block = Block::bordered().title(" Results ");
    let inner = block.inner(area);
    if r.runs.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "Results appear as each run finishes.",
                theme.dim,
            ))
            .block(block),
            area,
        );
        return;
    }
    let mut lines: Vec<Line<'static>> = Vec::new();
    if !r.complete {
        lines.push(Line::styled(
            format!(
                "{} run(s) finished so far; the others are training",
                r.runs.len()
            ),
            theme.dim,
        ));
    }
    let repeated_rmse = r
        .runs
        .iter()
        .any(|m| m.repeated_metric(Metric::Rmse).is_some());
    let classification = !repeated_rmse && !r.runs.iter().any(|m| m.per_class.contains_key("dice"));
    let table_start = lines.len();
    let mut details = Vec::new();
    if repeated_rmse {
        lines.extend(regression(&r, inner.width as usize, theme));
    } else if r.runs.iter().any(|m| m.per_class.contains_key("dice")) {
        lines.extend(segmentation(&r, theme));
    } else {
        let (table, rest) = classification_lines(&r, inner.width as usize, theme);
        lines.extend(table);
        details = rest;
    }
    if r.seeds.len() > 1 {
        let list: Vec<String> = r.seeds.iter().map(u64::to_string).collect();
        let over = format!(
            "  mean {} std over seeds {}",
            plus_minus(theme),
            list.join(", ")
        );
        // Beside the table's heading: a short pane has no row to spare for it.
        if let Some(heading) = lines.get_mut(table_start) {
            heading.spans.push(Span::styled(over, theme.dim));
        }
    }
    lines.extend(outcomes(r.runs, r.notes, theme));
    lines.extend(expected(r.expected, theme));
    lines.extend(comparisons(r.comparisons, theme));
    // What decides the lesson's question first; the details a short pane scrolls to.
    lines.extend(details);
    lines.extend(history(earlier, theme));
    let text_rows = Scroll::rows(&lines, inner.width) as u16;
    let curves = classification && r.runs.iter().any(|m| m.epochs.len() > 1);
    if curves && inner.height >= text_rows + CHART_ROWS {
        frame.render_widget(block, area);
        let [top, chart] =
            Layout::vertical([Constraint::Length(text_rows), Constraint::Min(CHART_ROWS)])
                .areas(inner);
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), top);
        val_accuracy_chart(frame, chart, r.runs, theme);
    } else {
        scroll.draw(frame, area, lines, block);
    }
}

/// Runs that did not finish, and what the run skipped or noted, with why.
fn outcomes(runs: &[ModelRun], notes: &[String], theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for m in runs {
        let Some(why) = m.unfinished() else { continue };
        let why = format!("{}: {why}", m.name);
        lines.push(Line::styled(why, theme.warning));
    }
    for n in notes {
        lines.push(Line::styled(n.clone(), theme.dim));
    }
    if !lines.is_empty() {
        lines.insert(0, Line::raw(""));
    }
    lines
}

/// Validation accuracy per epoch, one line per run (the original notebooks' comparison).
fn val_accuracy_chart(frame: &mut Frame, area: Rect, runs: &[ModelRun], theme: &Theme) {
    let palette = [theme.accent, theme.good, theme.code, theme.bad, theme.h3];
    let points: Vec<Vec<(f64, f64)>> = runs
        .iter()
        .map(|m| {
            m.epochs
                .iter()
                .filter_map(|e| e.val_metric(Metric::Accuracy).map(|a| (e.epoch as f64, a)))
                .collect()
        })
        .collect();
    let max_epoch = points.iter().flatten().map(|p| p.0).fold(1.0f64, f64::max);
    let (lo, hi) = points
        .iter()
        .flatten()
        .fold((1.0f64, 0.0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lo, hi) = if lo > hi {
        (0.0, 1.0)
    } else {
        ((lo - 0.05).max(0.0), (hi + 0.05).min(1.0))
    };
    let datasets: Vec<Dataset> = runs
        .iter()
        .zip(&points)
        .enumerate()
        .map(|(i, (m, p))| {
            Dataset::default()
                .name(m.name.clone())
                .marker(if theme.ascii {
                    Marker::Dot
                } else {
                    Marker::Braille
                })
                .graph_type(GraphType::Line)
                .style(palette[i % palette.len()])
                .data(p)
        })
        .collect();
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(" validation accuracy per epoch "))
        // Show the run names even when the legend takes a good part of a small chart.
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)))
        .x_axis(
            Axis::default()
                .title("epoch")
                .style(theme.dim)
                .bounds([1.0, max_epoch])
                .labels(["1".to_string(), format!("{max_epoch:.0}")]),
        )
        .y_axis(
            Axis::default()
                .style(theme.dim)
                .bounds([lo, hi])
                .labels([format!("{lo:.2}"), format!("{hi:.2}")]),
        )
        .style(Style::default());
    frame.render_widget(chart, area);
}

/// What the lesson expects, and whether these runs show it.
fn expected(expected: &[Expected], theme: &Theme) -> Vec<Line<'static>> {
    if expected.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![
        Line::raw(""),
        Line::styled("what the lesson expects", theme.h3),
    ];
    for e in expected {
        use petri_engine::experiment::expected::Verdict;
        let (mark, style) = match (e.verdict, theme.ascii) {
            (Verdict::Shown, false) => ("✓", theme.good),
            (Verdict::Shown, true) => ("+", theme.good),
            (Verdict::NotShown, false) => ("✗", theme.bad),
            (Verdict::NotShown, true) => ("x", theme.bad),
            (Verdict::WithinSpread, _) => ("~", theme.dim),
        };
        let verdict = match (e.verdict, &e.spread) {
            (Verdict::Shown, Some(over)) => format!("shown beyond the spread over {over}"),
            (Verdict::Shown, None) => "shown".to_string(),
            (Verdict::NotShown, _) => "not shown here".to_string(),
            (Verdict::WithinSpread, over) => format!(
                "not decided: within the spread over {}",
                over.as_deref().unwrap_or("runs")
            ),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::raw(format!("{}: {verdict} ({})", e.claim, e.evidence)),
        ]));
    }
    lines
}

fn plus_minus(theme: &Theme) -> &'static str {
    if theme.ascii { "+/-" } else { "±" }
}

/// Pairs of runs against the seed-to-seed spread.
fn comparisons(comparisons: &[Comparison], theme: &Theme) -> Vec<Line<'static>> {
    if comparisons.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![
        Line::raw(""),
        Line::styled(
            format!(
                "differences against the seed-to-seed spread ({})",
                Metric::from_name(&comparisons[0].metric).map_or_else(
                    || comparisons[0].metric.replace('_', " "),
                    |m| m.label().into()
                )
            ),
            theme.h3,
        ),
    ];
    for c in comparisons {
        let (verdict, style) = if c.beyond_spread {
            ("larger than the spread", theme.good)
        } else {
            ("within the spread: not told apart", theme.dim)
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "  {} vs {}: {:+.3} ",
                c.a,
                c.b,
                c.a_value.mean - c.b_value.mean
            )),
            Span::styled(verdict, style),
        ]));
    }
    lines
}

/// Earlier records of the part, one line per run with its headline metrics.
fn history(earlier: &[ExperimentRecord], theme: &Theme) -> Vec<Line<'static>> {
    if earlier.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![
        Line::raw(""),
        Line::styled("earlier runs of this part (newest first)", theme.h3),
    ];
    for rec in earlier {
        for m in &rec.runs {
            let shown: Vec<String> = [
                Metric::Accuracy,
                Metric::Auc,
                Metric::Rmse,
                Metric::DiceMean,
            ]
            .into_iter()
            .filter_map(|k| m.test_metric(k).map(|v| format!("{k} {v:.3}")))
            .collect();
            lines.push(Line::raw(format!(
                "  seed {} {:<12} {}",
                rec.seed,
                m.name.chars().take(12).collect::<String>(),
                shown.join("  ")
            )));
        }
    }
    lines
}

fn ms(r: &ModelRun, k: Metric) -> Option<(f64, f64)> {
    r.repeated_metric(k).map(|m| (m.mean, m.std))
}

fn regression(r: &Shown, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let name_w = r
        .runs
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(5)
        .min(26);
    let mut lines = vec![Line::styled(
        format!("{:<name_w$} {:>16} {:>16}", "model", "MAE", "RMSE"),
        theme.h3,
    )];
    let pm = plus_minus(theme);
    let fmt = |v: Option<(f64, f64)>| v.map_or("-".into(), |(m, s)| format!("{m:.3} {pm} {s:.3}"));
    for m in r.runs {
        let name: String = m.name.chars().take(name_w).collect();
        lines.push(Line::raw(format!(
            "{name:<name_w$} {:>16} {:>16}",
            fmt(ms(m, Metric::Mae)),
            fmt(ms(m, Metric::Rmse))
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("RMSE (shorter is better)", theme.h3));
    let max = r
        .runs
        .iter()
        .filter_map(|m| ms(m, Metric::Rmse).map(|v| v.0))
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let bar_room = width.saturating_sub(name_w + 9).max(4);
    let (full, empty) = if theme.ascii {
        ("#", " ")
    } else {
        ("█", " ")
    };
    for m in r.runs {
        let Some((v, _)) = ms(m, Metric::Rmse) else {
            continue;
        };
        let n = ((v / max) * bar_room as f64).round() as usize;
        let name: String = m.name.chars().take(name_w).collect();
        lines.push(Line::from(vec![
            Span::raw(format!("{name:<name_w$} ")),
            Span::styled(full.repeat(n.max(1)), theme.accent),
            Span::raw(empty.repeat(bar_room.saturating_sub(n.max(1)))),
            Span::raw(format!(" {v:.3}")),
        ]));
    }
    lines
}

/// The table, and the details below what the lesson expects: bars, recall, confusion.
fn classification_lines(
    r: &Shown,
    width: usize,
    theme: &Theme,
) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
    let name_w = r
        .runs
        .iter()
        .map(|m| m.name.chars().count())
        .max()
        .unwrap_or(3)
        .clamp(3, 24);
    let table = classification_table(r, name_w, theme);
    // A short pane scrolls to the bars, the recall table and the confusion matrix.
    let below = [
        accuracy_bars(r, name_w, width, theme),
        recall_table(r, theme),
        confusion_lines(r, theme),
    ];
    (table, below.concat())
}

/// Accuracy, balanced accuracy and AUC per run (mean ± std over seeds).
fn classification_table(r: &Shown, name_w: usize, theme: &Theme) -> Vec<Line<'static>> {
    // Over seeds, each cell is mean±std (the std without its leading zero, to fit 80 columns).
    let spread = r.runs.iter().any(|m| !m.repeated.is_empty());
    let pm = if theme.ascii { "+" } else { "±" };
    let v = |m: &ModelRun, k: Metric| match (m.test_metric(k), m.repeated_metric(k)) {
        (Some(_), Some(s)) if spread => format!(
            "{:.3}{pm}{}",
            s.mean,
            format!("{:.3}", s.std).trim_start_matches('0')
        ),
        (Some(x), _) => format!("{x:.3}"),
        (None, _) => "-".into(),
    };
    let col = if spread { 11 } else { 9 };
    let mut table = vec![Line::styled(
        format!(
            "{:<name_w$} {:>col$} {:>col$} {:>col$}",
            "run", "accuracy", "bal. acc", "auc"
        ),
        theme.h3,
    )];
    for m in r.runs {
        table.push(Line::raw(format!(
            "{:<name_w$} {:>col$} {:>col$} {:>col$}",
            text::fit(&m.name, name_w, theme.ascii),
            v(m, Metric::Accuracy),
            v(m, Metric::BalancedAccuracy),
            v(m, Metric::Auc)
        )));
    }
    table
}

/// Test accuracy per run as bars (the original notebooks' bar chart).
fn accuracy_bars(r: &Shown, name_w: usize, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut bars = Vec::new();
    if r.runs.len() > 1 {
        bars.push(Line::raw(""));
        bars.push(Line::styled("test accuracy", theme.h3));
        // Room for " 0.820" and, over seeds, " ± 0.020" after the bar.
        let spread_w = if r
            .runs
            .iter()
            .any(|m| m.repeated_metric(Metric::Accuracy).is_some())
        {
            8
        } else {
            0
        };
        let room = width.saturating_sub(name_w + 8 + spread_w).clamp(4, 60);
        let bar = if theme.ascii { "#" } else { "█" };
        for m in r.runs {
            let Some(a) = m.test_metric(Metric::Accuracy) else {
                continue;
            };
            let n = ((a * room as f64).round() as usize).max(1);
            let spread = m
                .repeated_metric(Metric::Accuracy)
                .map_or(String::new(), |s| {
                    format!(" {} {:.3}", plus_minus(theme), s.std)
                });
            bars.push(Line::from(vec![
                Span::raw(format!(
                    "{:<name_w$} ",
                    text::fit(&m.name, name_w, theme.ascii)
                )),
                Span::styled(bar.repeat(n), theme.accent),
                Span::raw(format!(
                    "{} {a:.3}{spread}",
                    " ".repeat(room.saturating_sub(n))
                )),
            ]));
        }
    }
    bars
}

/// A class's name cut to `w` columns, or its index.
fn class_label(r: &Shown, k: usize, w: usize, theme: &Theme) -> String {
    r.class_names
        .get(k)
        .map(|n| text::fit(n, w, theme.ascii))
        .unwrap_or_else(|| k.to_string())
}

/// The width of the class-name column: the longest name, 2 to 20 columns.
fn class_width(r: &Shown) -> usize {
    r.class_names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(2)
        .clamp(2, 20)
}

/// Per-class recall, the runs side by side (with more than one run).
fn recall_table(r: &Shown, theme: &Theme) -> Vec<Line<'static>> {
    let class_w = class_width(r);
    let mut recall = Vec::new();
    let with_recall: Vec<&ModelRun> = r
        .runs
        .iter()
        .filter(|m| m.per_class.contains_key("recall"))
        .collect();
    if with_recall.len() > 1 {
        let col = with_recall
            .iter()
            .map(|m| m.name.chars().count())
            .max()
            .unwrap_or(6)
            .clamp(6, 12);
        recall.push(Line::raw(""));
        let mut header = format!("{:<class_w$}", "recall");
        for m in &with_recall {
            header.push_str(&format!(" {:>col$}", text::fit(&m.name, col, theme.ascii)));
        }
        recall.push(Line::styled(header, theme.h3));
        let classes = with_recall
            .iter()
            .map(|m| m.per_class["recall"].len())
            .max()
            .unwrap_or(0);
        for k in 0..classes {
            let mut row = format!("{:<class_w$}", class_label(r, k, class_w, theme));
            for m in &with_recall {
                let cell = m.per_class["recall"].get(k).copied().flatten();
                row.push_str(&format!(
                    " {:>col$}",
                    cell.map_or("-".into(), |c| format!("{c:.2}"))
                ));
            }
            recall.push(Line::raw(row));
        }
    }
    recall
}

/// The confusion matrix of the last run that has one, shaded by row share.
fn confusion_lines(r: &Shown, theme: &Theme) -> Vec<Line<'static>> {
    let class_w = class_width(r);
    let mut confusion = Vec::new();
    if let Some(run) = r.runs.iter().rev().find(|m| m.confusion.is_some()) {
        let cm = run.confusion.as_ref().expect("checked");
        confusion.push(Line::raw(""));
        confusion.push(Line::styled(
            match r.seeds.len() {
                0 | 1 => format!("confusion ({}): rows true, columns predicted", run.name),
                n => format!(
                    "confusion ({}, summed over {n} seeds): rows true, columns predicted",
                    run.name
                ),
            },
            theme.h3,
        ));
        let shades: &[&str] = if theme.ascii {
            &[" ", ".", ":", "#"]
        } else {
            &[" ", "░", "▒", "▓"]
        };
        // Columns as wide as the longest class name (up to 12), so names are cut only when longer.
        let cell_w = (class_w + 1).clamp(7, 13);
        let mut header = format!("{:<class_w$} ", "");
        for p in 0..cm.len() {
            header.push_str(&format!(
                "{:>cell_w$}",
                class_label(r, p, cell_w - 1, theme)
            ));
        }
        confusion.push(Line::styled(header, theme.dim));
        for (t, row) in cm.iter().enumerate() {
            let total = row.iter().sum::<u64>().max(1) as f64;
            let mut spans = vec![Span::raw(format!(
                "{:<class_w$} ",
                class_label(r, t, class_w, theme)
            ))];
            for (p, &c) in row.iter().enumerate() {
                let share = c as f64 / total;
                let shade = shades[((share * 3.0).round() as usize).min(3)];
                let style = if p == t {
                    theme.good
                } else if share > 0.2 {
                    theme.bad
                } else {
                    theme.dim
                };
                spans.push(Span::styled(
                    format!(" {shade}{c:>w$}", w = cell_w - 2),
                    style,
                ));
            }
            if let Some(Some(rec)) = run.per_class.get("recall").and_then(|v| v.get(t)) {
                spans.push(Span::styled(format!("  recall {rec:.2}"), theme.dim));
            }
            confusion.push(Line::from(spans));
        }
    }
    confusion
}

fn segmentation(r: &Shown, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for m in r.runs {
        let acc = match (
            m.repeated_metric(Metric::PixelAccuracy),
            m.test_metric(Metric::PixelAccuracy),
        ) {
            (Some(s), _) => format!("{:.3} {} {:.3}", s.mean, plus_minus(theme), s.std),
            (None, Some(v)) => format!("{v:.3}"),
            (None, None) => "-".into(),
        };
        lines.push(Line::styled(
            format!("{}: pixel accuracy {acc}", m.name),
            theme.h3,
        ));
        if let Some(dice) = m.per_class.get("dice") {
            for (k, d) in dice.iter().enumerate() {
                let name = r
                    .class_names
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| k.to_string());
                let v = d.map_or("  -  ".into(), |v| format!("{v:.3}"));
                let n = d.map_or(0, |v| (v * 20.0).round() as usize);
                let bar = if theme.ascii { "#" } else { "█" };
                lines.push(Line::from(vec![
                    Span::raw(format!("  Dice {name:<12} {v} ")),
                    Span::styled(bar.repeat(n), theme.accent),
                ]));
            }
        }
    }
    lines
}
