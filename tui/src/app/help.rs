//! The `?` popup: every key, by screen.

use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

const KEYS: &[(&str, &str)] = &[
    ("Everywhere", ""),
    (
        "?  q  Esc",
        "this help, quit (progress is saved), close the screen",
    ),
    ("↑ ↓ / k j", "move or scroll"),
    ("Home", ""),
    ("Enter / l", "read the lesson"),
    (
        "c  r",
        "knowledge check, run the part's experiment (quick profile)",
    ),
    (
        "x  d  f",
        "the part's challenges, your own data, fetch the part's dataset",
    ),
    ("Lesson", ""),
    ("PgUp PgDn / g G", "page, top, bottom"),
    ("c  r  x", "its knowledge check, experiment, challenges"),
    ("Knowledge check", ""),
    ("Space", "choose an option (several when many are right)"),
    ("Enter", "submit, then next question"),
    ("0-9 . -", "type a numeric answer"),
    ("Experiment", ""),
    (
        "s  Tab",
        "stop at the next batch (record saved); training/results/samples",
    ),
    ("Challenges", ""),
    ("Tab", "switch between the list and the statement"),
    (
        "s  t  h",
        "start (copy the starter), run visible checks, next hint",
    ),
    ("Your data", ""),
    (
        "Enter  Ctrl-T",
        "identify the data; train the plan (Tab: path / target)",
    ),
];

/// The keys, wrapped to the popup and scrolled from line `scroll` (clamped), so every key is
/// readable at any terminal size.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, scroll: u16) {
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                Line::styled(*k, theme.h2)
            } else {
                Line::raw(format!("  {k:<16} {v}"))
            }
        })
        .collect();
    let width = 78.min(area.width);
    let needed: u16 = lines
        .iter()
        .map(|l| wrapped_rows(&l.to_string(), width.saturating_sub(2) as usize))
        .sum();
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    let height = (needed + 2).min(area.height);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(popup);
    let visible = height.saturating_sub(2);
    let scroll = scroll.min(needed.saturating_sub(visible));
    let title = if needed > visible {
        format!(
            " Keys {}/{} (arrows scroll, Esc closes) ",
            scroll + visible,
            needed
        )
    } else {
        " Keys (Esc closes) ".to_string()
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        paragraph
            .scroll((scroll, 0))
            .block(Block::bordered().title(title)),
        popup,
    );
}

/// Rows a line takes when wrapped at word boundaries into `width` columns.
fn wrapped_rows(text: &str, width: usize) -> u16 {
    let width = width.max(1);
    let (mut rows, mut used) = (1u16, 0usize);
    for word in text.split(' ') {
        let w = unicode_width::UnicodeWidthStr::width(word);
        let need = if used == 0 { w } else { used + 1 + w };
        if need <= width {
            used = need;
        } else {
            rows += 1 + (w.saturating_sub(1) / width) as u16;
            used = w % width;
        }
    }
    rows
}
