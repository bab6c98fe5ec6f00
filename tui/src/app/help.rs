//! The `?` popup: every key, by screen.

use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};

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

pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme) {
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
    let height = (lines.len() as u16 + 2).min(area.height);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(78.min(area.width))])
        .flex(Flex::Center)
        .areas(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Keys (Esc closes) ")),
        popup,
    );
}
