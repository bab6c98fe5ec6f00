//! A lesson: rendered Markdown with scrolling, and keys to its knowledge check and experiment.

use super::Open;
use crate::content::Lesson;
use crate::markdown;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};
use std::cell::Cell;

pub struct LessonView {
    pub lesson: Lesson,
    pub scroll: usize,
    /// Lines and page height of the last draw, for clamping and paging.
    rendered: Cell<(usize, usize)>,
}

impl LessonView {
    pub fn new(lesson: Lesson) -> Self {
        LessonView {
            lesson,
            scroll: 0,
            rendered: Cell::new((0, 10)),
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Option<Open> {
        let (total, page) = self.rendered.get();
        let max = total.saturating_sub(page);
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => self.scroll = (self.scroll + 1).min(max),
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.scroll = (self.scroll + page.saturating_sub(1)).min(max)
            }
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(page.saturating_sub(1)),
            KeyCode::Char('g') | KeyCode::Home => self.scroll = 0,
            KeyCode::Char('G') | KeyCode::End => self.scroll = max,
            KeyCode::Char('c') => return Some(Open::Quiz),
            KeyCode::Char('r') => return Some(Open::Experiment),
            KeyCode::Char('x') => return Some(Open::Challenges),
            _ => {}
        }
        None
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let [body, help] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
        let inner_width = body.width.saturating_sub(4);
        let lines = markdown::render(&self.lesson.body, inner_width, theme);
        let page = body.height.saturating_sub(2) as usize;
        self.rendered.set((lines.len(), page));
        let scroll = self.scroll.min(lines.len().saturating_sub(page));
        let title = format!(" {} ", self.lesson.part.title);
        frame.render_widget(
            Paragraph::new(lines.clone())
                .block(Block::bordered().title(title))
                .scroll((scroll as u16, 0)),
            body,
        );
        if lines.len() > page {
            let mut state = ScrollbarState::new(lines.len().saturating_sub(page)).position(scroll);
            let bar = if theme.ascii {
                Scrollbar::new(ScrollbarOrientation::VerticalRight)
                    .track_symbol(Some("|"))
                    .thumb_symbol("#")
                    .begin_symbol(None)
                    .end_symbol(None)
            } else {
                Scrollbar::new(ScrollbarOrientation::VerticalRight)
            };
            frame.render_stateful_widget(bar, body, &mut state);
        }
        let pct = if lines.len() <= page {
            100
        } else {
            100 * (scroll + page).min(lines.len()) / lines.len()
        };
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!(
                    "{pct:>3}%  ↑↓ PgUp PgDn scroll  c check  r run  x challenges  Esc back  ? help"
                ),
                theme.dim,
            )),
            help,
        );
    }
}
