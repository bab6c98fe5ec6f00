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
    (
        "PgUp PgDn",
        "scroll a pane taller than the screen; Home End: its ends",
    ),
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
    (
        "Space  1-9",
        "choose an option (several when many are right)",
    ),
    ("Enter", "submit your choice, then next question"),
    ("0-9 . -", "type a numeric answer"),
    ("Experiment", ""),
    (
        "s  Tab",
        "stop at the next batch (record saved); training/results/samples",
    ),
    ("↑ ↓ PgUp PgDn", "scroll the log (training) or the results"),
    (
        "w",
        "save the finished run's figures (PNG, SVG, CSV) beside its record",
    ),
    (
        "n",
        "repeat the finished run over 3 seeds: mean ± std, differences against the spread",
    ),
    ("Challenges", ""),
    ("Tab", "switch between the list and the statement"),
    (
        "s  t  h",
        "start (copy the starter), run visible checks, next hint",
    ),
    (
        "l",
        "answer code challenges in Rust or Python (asked at the first start)",
    ),
    ("Your data", ""),
    (
        "Enter  Ctrl-T",
        "identify the data; train the plan (Tab: path / target)",
    ),
];

/// Columns before a key's description ("  " + the key column + " ").
const DESCRIPTION_AT: usize = 19;

/// The keys, each description wrapped under itself (a hanging indent) to the popup's width and
/// scrolled from line `scroll` (clamped), so every key is readable at any terminal size.
pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme, scroll: u16) {
    let width = 78.min(area.width);
    let room = (width.saturating_sub(2) as usize)
        .saturating_sub(DESCRIPTION_AT)
        .max(12);
    let mut lines: Vec<Line> = Vec::new();
    for (k, v) in KEYS {
        if v.is_empty() {
            lines.push(Line::styled(*k, theme.h2));
            continue;
        }
        for (i, part) in crate::text::wrap_words(v, room).into_iter().enumerate() {
            let lead = if i == 0 {
                format!("  {k:<16} ")
            } else {
                " ".repeat(DESCRIPTION_AT)
            };
            lines.push(Line::raw(format!("{lead}{part}")));
        }
    }
    let needed = lines.len() as u16;
    let paragraph = Paragraph::new(lines);
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
            " Keys {}-{} of {} (arrows scroll, Esc closes) ",
            scroll + 1,
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
