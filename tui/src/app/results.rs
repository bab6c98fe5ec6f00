//! A finished record, compared across its runs: a table and a bar chart of MAE/RMSE (mean ±
//! std) per model for regression, metrics side by side and a confusion-matrix heatmap for
//! classification, Dice per class for segmentation.

use crate::theme::Theme;
use petri_engine::experiment::ExperimentRecord;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    record: Option<&ExperimentRecord>,
    earlier: &[ExperimentRecord],
    theme: &Theme,
) {
    let block = Block::bordered().title(" Results ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(r) = record else {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "Results appear when the run finishes.",
                theme.dim,
            )),
            inner,
        );
        return;
    };
    let mut lines = if r.runs.iter().any(|m| m.repeated.contains_key("rmse")) {
        regression(r, inner.width as usize, theme)
    } else if r.runs.iter().any(|m| m.per_class.contains_key("dice")) {
        segmentation(r, theme)
    } else {
        classification(r, theme)
    };
    lines.extend(expected(r, theme));
    lines.extend(history(earlier, theme));
    let [body] = Layout::vertical([Constraint::Min(1)]).areas(inner);
    // Long sentences wrap rather than being cut at the pane's edge.
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
}

/// What the lesson expects, and whether these runs show it.
fn expected(r: &ExperimentRecord, theme: &Theme) -> Vec<Line<'static>> {
    if r.expected.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![
        Line::raw(""),
        Line::styled("what the lesson expects", theme.h3),
    ];
    for e in &r.expected {
        let (mark, style) = match (e.shown, theme.ascii) {
            (true, false) => ("✓", theme.good),
            (true, true) => ("+", theme.good),
            (false, false) => ("✗", theme.bad),
            (false, true) => ("x", theme.bad),
        };
        let verdict = if e.shown { "shown" } else { "not shown here" };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::raw(format!("{}: {verdict} ({})", e.claim, e.evidence)),
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
            let shown: Vec<String> = ["accuracy", "auc", "rmse", "dice_mean"]
                .iter()
                .filter_map(|k| m.test.get(*k).map(|v| format!("{k} {v:.3}")))
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

fn ms(r: &petri_engine::experiment::record::ModelRun, k: &str) -> Option<(f64, f64)> {
    r.repeated.get(k).map(|m| (m.mean, m.std))
}

fn regression(r: &ExperimentRecord, width: usize, theme: &Theme) -> Vec<Line<'static>> {
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
    let pm = if theme.ascii { "+/-" } else { "±" };
    let fmt = |v: Option<(f64, f64)>| v.map_or("-".into(), |(m, s)| format!("{m:.3} {pm} {s:.3}"));
    for m in &r.runs {
        let name: String = m.name.chars().take(name_w).collect();
        lines.push(Line::raw(format!(
            "{name:<name_w$} {:>16} {:>16}",
            fmt(ms(m, "mae")),
            fmt(ms(m, "rmse"))
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("RMSE (shorter is better)", theme.h3));
    let max = r
        .runs
        .iter()
        .filter_map(|m| ms(m, "rmse").map(|v| v.0))
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let bar_room = width.saturating_sub(name_w + 9).max(4);
    let (full, empty) = if theme.ascii {
        ("#", " ")
    } else {
        ("█", " ")
    };
    for m in &r.runs {
        let Some((v, _)) = ms(m, "rmse") else {
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

fn classification(r: &ExperimentRecord, theme: &Theme) -> Vec<Line<'static>> {
    let keys = ["accuracy", "auc"];
    let mut lines = vec![Line::styled(
        format!("{:<12} {:>9} {:>9}", "run", keys[0], keys[1]),
        theme.h3,
    )];
    for m in &r.runs {
        let v = |k: &str| m.test.get(k).map_or("-".into(), |x| format!("{x:.3}"));
        lines.push(Line::raw(format!(
            "{:<12} {:>9} {:>9}",
            m.name,
            v(keys[0]),
            v(keys[1])
        )));
    }
    if let Some(run) = r.runs.iter().rev().find(|m| m.confusion.is_some()) {
        let cm = run.confusion.as_ref().expect("checked");
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("confusion ({}): rows true, columns predicted", run.name),
            theme.h3,
        ));
        let shades: &[&str] = if theme.ascii {
            &[" ", ".", ":", "#"]
        } else {
            &[" ", "░", "▒", "▓"]
        };
        let short = |k: usize| -> String {
            r.class_names
                .get(k)
                .map(|n| n.chars().take(8).collect())
                .unwrap_or_else(|| k.to_string())
        };
        let mut header = format!("{:<9}", "");
        for p in 0..cm.len() {
            header.push_str(&format!(
                "{:>7}",
                short(p).chars().take(6).collect::<String>()
            ));
        }
        lines.push(Line::styled(header, theme.dim));
        for (t, row) in cm.iter().enumerate() {
            let total = row.iter().sum::<u64>().max(1) as f64;
            let mut spans = vec![Span::raw(format!("{:<9}", short(t)))];
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
                spans.push(Span::styled(format!(" {shade}{c:>5}"), style));
            }
            if let Some(Some(rec)) = run.per_class.get("recall").and_then(|v| v.get(t)) {
                spans.push(Span::styled(format!("  recall {rec:.2}"), theme.dim));
            }
            lines.push(Line::from(spans));
        }
    }
    lines
}

fn segmentation(r: &ExperimentRecord, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for m in &r.runs {
        let acc = m
            .test
            .get("pixel_accuracy")
            .map_or("-".into(), |v| format!("{v:.3}"));
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
