//! Scrolling for every pane whose text can be taller than the pane (a lesson, the key list, a
//! knowledge check's feedback, a run's log and results, a challenge's check output), so that
//! everything the tutor shows can be read at 80x24. One type, one set of keys (`?` lists them).

use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};
use std::cell::Cell;

/// Where a pane is scrolled to. Keys move it; drawing clamps it to the text and remembers the
/// last scrollable row, so a key pressed past the end does not have to be undone.
#[derive(Debug, Default, Clone)]
pub struct Scroll {
    top: usize,
    /// A pane that keeps its end in view as text is added (a live log)...
    sticky: bool,
    /// ...while it is scrolled to the end.
    follow: bool,
    /// The last top row that still fills the pane, as of the last draw.
    max_top: Cell<usize>,
    /// Rows of one page, as of the last draw.
    page: Cell<usize>,
}

impl Scroll {
    /// From the top.
    pub fn new() -> Self {
        Scroll::default()
    }

    /// Following the end of a growing text (a log).
    pub fn at_end() -> Self {
        Scroll {
            sticky: true,
            follow: true,
            ..Scroll::default()
        }
    }

    /// Back to the start (new content): the top, or the end of a log.
    pub fn reset(&mut self) {
        self.top = 0;
        self.follow = self.sticky;
    }

    /// To the end of the text as it will be drawn next (after text was added below).
    pub fn scroll_to_end(&mut self) {
        self.top = usize::MAX;
        self.follow = self.sticky;
    }

    /// The scrolling keys: ↑↓ (k j) a row, PgUp PgDn a page, Home End (g G) the ends. Returns
    /// whether the key was one of them.
    pub fn on_key(&mut self, code: KeyCode) -> bool {
        let max = self.max_top.get();
        let page = self.page.get().saturating_sub(1).max(1);
        let top = if self.follow { max } else { self.top.min(max) };
        let top = match code {
            KeyCode::Down | KeyCode::Char('j') => top + 1,
            KeyCode::Up | KeyCode::Char('k') => top.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => top + page,
            KeyCode::PageUp => top.saturating_sub(page),
            KeyCode::Home | KeyCode::Char('g') => 0,
            KeyCode::End | KeyCode::Char('G') => max,
            _ => return false,
        };
        self.top = top.min(max);
        self.follow = self.sticky && self.top >= max;
        true
    }

    /// Draws `lines` (wrapped) in `block` over `area`, scrolled; when the text is taller than
    /// the pane, the block's bottom says which rows are shown and how to see the rest.
    pub fn draw(&self, frame: &mut Frame, area: Rect, lines: Vec<Line<'_>>, block: Block<'_>) {
        let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
        let rows = paragraph.line_count(block.inner(area).width);
        self.render(frame, area, paragraph, rows, block);
    }

    /// `draw` for lines already wrapped to the pane (rendered Markdown, whose code blocks must
    /// not wrap under the margin).
    pub fn draw_wrapped(
        &self,
        frame: &mut Frame,
        area: Rect,
        lines: Vec<Line<'_>>,
        block: Block<'_>,
    ) {
        let rows = lines.len();
        self.render(frame, area, Paragraph::new(lines), rows, block);
    }

    fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        paragraph: Paragraph<'_>,
        rows: usize,
        block: Block<'_>,
    ) {
        let page = block.inner(area).height as usize;
        let max = rows.saturating_sub(page);
        self.max_top.set(max);
        self.page.set(page);
        let top = if self.follow { max } else { self.top.min(max) };
        let block = if max > 0 {
            let (first, last) = (top + 1, (top + page).min(rows));
            let long = format!(" rows {first}-{last} of {rows}, ↑↓ PgUp PgDn ");
            let note = if long.chars().count() + 2 <= area.width as usize {
                long
            } else {
                format!(" {first}-{last}/{rows} ")
            };
            block.title_bottom(Line::from(note).right_aligned())
        } else {
            block
        };
        frame.render_widget(
            paragraph
                .block(block)
                .scroll((top.min(u16::MAX as usize) as u16, 0)),
            area,
        );
    }

    /// Rows `lines` take when wrapped to `width`, as `draw` wraps them.
    pub fn rows(lines: &[Line<'_>], width: u16) -> usize {
        Paragraph::new(lines.to_vec())
            .wrap(Wrap { trim: false })
            .line_count(width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn draw(scroll: &Scroll, n: usize) -> String {
        let mut t = Terminal::new(TestBackend::new(40, 6)).unwrap();
        t.draw(|f| {
            let lines: Vec<Line> = (1..=n).map(|i| Line::raw(format!("line {i}"))).collect();
            scroll.draw(f, f.area(), lines, Block::bordered());
        })
        .unwrap();
        format!("{}", t.backend())
    }

    #[test]
    fn keys_move_within_the_text_and_the_border_says_where() {
        let mut s = Scroll::new();
        let screen = draw(&s, 10);
        assert!(
            screen.contains("line 1") && !screen.contains("line 5"),
            "{screen}"
        );
        assert!(screen.contains("rows 1-4 of 10"), "{screen}");
        for _ in 0..20 {
            s.on_key(KeyCode::Down);
        }
        let screen = draw(&s, 10);
        assert!(
            screen.contains("line 10") && screen.contains("rows 7-10"),
            "{screen}"
        );
        // Past the end is not remembered: one Up moves up at once.
        s.on_key(KeyCode::Up);
        assert!(draw(&s, 10).contains("rows 6-9"));
        s.on_key(KeyCode::Home);
        assert!(draw(&s, 10).contains("rows 1-4"));
        assert!(!s.on_key(KeyCode::Char('x')));
        // Text that fits has no scroll note.
        assert!(!draw(&Scroll::new(), 3).contains("rows"));
    }

    #[test]
    fn a_log_follows_its_end_until_scrolled_up() {
        let mut s = Scroll::at_end();
        assert!(draw(&s, 10).contains("line 10"));
        assert!(draw(&s, 12).contains("line 12"), "new lines stay in view");
        s.on_key(KeyCode::Up);
        let screen = draw(&s, 14);
        assert!(
            !screen.contains("line 14"),
            "scrolled up: it stays put\n{screen}"
        );
        s.on_key(KeyCode::End);
        assert!(draw(&s, 16).contains("line 16"), "End follows again");
    }
}
