//! "Your data": `petri identify` and `petri train` in the tutor. Type a path (and, for a table,
//! the target column), Enter identifies it on a background thread, Ctrl-T trains the plan in
//! the experiment view.

use crate::theme::Theme;
use petri_engine::identify::{self, Identification};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use std::cell::Cell;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Path,
    Target,
}

enum State {
    Idle,
    Identifying,
    Done(Box<Identification>),
    Failed(String),
}

/// What the app should do after a key.
pub enum Action {
    /// Identify the data at this path (with this target column, for tables).
    Identify(PathBuf, Option<String>),
    /// Train this plan on this data.
    Train(PathBuf, Box<identify::Plan>),
}

pub struct YourDataView {
    pub path: String,
    pub target: String,
    field: Field,
    state: State,
    scroll: usize,
    rendered: Cell<(usize, usize)>,
}

impl Default for YourDataView {
    fn default() -> Self {
        Self::new()
    }
}

impl YourDataView {
    pub fn new() -> Self {
        YourDataView {
            path: String::new(),
            target: String::new(),
            field: Field::Path,
            state: State::Idle,
            scroll: 0,
            rendered: Cell::new((0, 10)),
        }
    }

    /// The identification, once it finished.
    pub fn identified(&self) -> Option<&Identification> {
        match &self.state {
            State::Done(id) => Some(id),
            _ => None,
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let (total, page) = self.rendered.get();
        match key.code {
            KeyCode::Char('t') if ctrl => {
                if let State::Done(id) = &self.state {
                    return Some(Action::Train(id.path.clone(), Box::new(id.plan.clone())));
                }
            }
            KeyCode::Tab | KeyCode::BackTab => {
                self.field = if self.field == Field::Path {
                    Field::Target
                } else {
                    Field::Path
                }
            }
            KeyCode::Enter => return self.identify(),
            KeyCode::Backspace => {
                self.field_mut().pop();
            }
            KeyCode::Down => self.scroll = (self.scroll + 1).min(total.saturating_sub(page)),
            KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown => self.scroll = (self.scroll + page).min(total.saturating_sub(page)),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(page),
            KeyCode::Char(c) if !ctrl => self.field_mut().push(c),
            _ => {}
        }
        None
    }

    fn field_mut(&mut self) -> &mut String {
        match self.field {
            Field::Path => &mut self.path,
            Field::Target => &mut self.target,
        }
    }

    /// Enter: the identification to start (`super::work::identify`), now waited for.
    fn identify(&mut self) -> Option<Action> {
        let path = crate::paths::expand_home(self.path.trim());
        if self.path.trim().is_empty() {
            self.state = State::Failed("type the path of your data first".into());
            return None;
        }
        let target = Some(self.target.trim().to_string()).filter(|t| !t.is_empty());
        self.scroll = 0;
        self.state = State::Identifying;
        Some(Action::Identify(path, target))
    }

    /// A finished identification (tests set one directly).
    pub fn show(&mut self, id: Identification) {
        self.state = State::Done(Box::new(id));
    }

    pub fn is_identifying(&self) -> bool {
        matches!(self.state, State::Identifying)
    }

    /// The identification it was waiting for.
    pub fn on_identified(&mut self, found: Result<Identification, String>) -> bool {
        if !matches!(self.state, State::Identifying) {
            return false;
        }
        self.state = match found {
            Ok(id) => State::Done(Box::new(id)),
            Err(e) => State::Failed(e),
        };
        true
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let [fields, body, help] = Layout::vertical([
            Constraint::Length(4),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(area);
        let field = |name: &str, value: &str, active: bool, hint: &str| {
            let cursor = if active { "_" } else { "" };
            Line::from(vec![
                Span::styled(
                    format!("{name:<8}"),
                    if active { theme.accent } else { theme.dim },
                ),
                Span::raw(format!("{value}{cursor}")),
                Span::styled(
                    if value.is_empty() && !active {
                        hint.to_string()
                    } else {
                        String::new()
                    },
                    theme.dim,
                ),
            ])
        };
        frame.render_widget(
            Paragraph::new(vec![
                field("Data", &self.path, self.field == Field::Path, ""),
                field(
                    "Target",
                    &self.target,
                    self.field == Field::Target,
                    "(tables only: the column to predict)",
                ),
            ])
            .block(Block::bordered().title(" Your data ")),
            fields,
        );
        let lines: Vec<Line> = match &self.state {
            // One paragraph: the Paragraph's wrap breaks it to the pane's width.
            State::Idle => vec![Line::raw(
                "Give a MedMNIST-style .npz, a folder with one folder of images per class, a \
                 folder of images and masks, or a CSV (with its target column). Enter \
                 identifies the task, warns about the data, and proposes a plan; Ctrl-T then \
                 trains it.",
            )],
            State::Identifying => vec![Line::raw("Reading the data...")],
            State::Failed(e) => vec![Line::styled(e.clone(), theme.bad)],
            State::Done(id) => {
                let width = body.width.saturating_sub(2).max(1) as usize;
                id.render()
                    .lines()
                    .flat_map(|l| {
                        let style = if l.trim_start().starts_with('!') {
                            theme.warning
                        } else if l.starts_with("  task:") {
                            theme.h3
                        } else {
                            Style::default()
                        };
                        // Wrapped under their own text, so warnings and reasons stay readable.
                        crate::text::wrap_hanging(l, width)
                            .into_iter()
                            .map(move |part| Line::styled(part, style))
                    })
                    .collect()
            }
        };
        let page = body.height.saturating_sub(2) as usize;
        // Wrapped lines take more rows than they count; the estimate keeps scrolling usable.
        let width = body.width.saturating_sub(2).max(1) as usize;
        let rows: usize = lines.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
        self.rendered.set((rows, page));
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::bordered().title(" Identification "))
                .scroll((self.scroll.min(rows.saturating_sub(page)) as u16, 0)),
            body,
        );
        let keys = if matches!(self.state, State::Done(_)) {
            "Enter identify  Ctrl-T train this plan  Tab field  ↑↓ scroll  Esc back"
        } else {
            "type a path  Enter identify  Tab field  Esc back"
        };
        frame.render_widget(Paragraph::new(Line::styled(keys, theme.dim)), help);
    }
}
