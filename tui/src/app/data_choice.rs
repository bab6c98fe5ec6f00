//! Choosing the data for a part's run (the lesson's `r`): the course's dataset, another file
//! already in the data dir that the part's runner reads (a smaller MedMNIST set as an offline
//! stand-in, say), or a typed path. The choice is kept per part in the student's progress and
//! offered first next time.

use crate::theme::Theme;
use petri_engine::data::fetchable::Fetchable;
use petri_engine::experiment::Suite;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use std::path::{Path, PathBuf};

/// One line of the list.
#[derive(Debug, Clone, PartialEq)]
pub enum DataOption {
    /// The part's own dataset (`None`: the runner's default place), with its state.
    Course { name: String, usable: bool },
    /// A file or folder in the data dir, or remembered from last time.
    Path(PathBuf),
    /// Type a path.
    Typed,
}

/// What the app should do after a key.
pub enum Choice {
    /// Run on the part's dataset (`None`) or on this path; `resume` is `None` until the student
    /// has been asked about an interrupted run on the same data.
    Run {
        data: Option<PathBuf>,
        resume: Option<bool>,
    },
}

pub struct DataChoiceView {
    pub part: Suite,
    pub lesson_id: String,
    pub options: Vec<DataOption>,
    pub cursor: usize,
    /// Being typed, when the cursor is on `Typed` and Enter was pressed.
    pub typing: Option<String>,
    pub message: Option<String>,
    /// An interrupted run exists for this data (the epochs it finished): continue or not?
    pub pending: Option<(Option<PathBuf>, usize)>,
}

impl DataChoiceView {
    /// The choices for `part`; `remembered` (the last choice) comes first when it still exists.
    pub fn new(part: Suite, lesson_id: &str, data_dir: &Path, remembered: Option<&str>) -> Self {
        let mut options = Vec::new();
        let course = course_item(part);
        if let Some(item) = &course {
            options.push(DataOption::Course {
                name: item.name(),
                usable: item.status(data_dir, false).is_usable(),
            });
        }
        if matches!(part, Suite::Classification | Suite::Augmentation) {
            // Any MedMNIST file present: the image runners read every one of them.
            let own = course.as_ref().map(|c| c.dest(data_dir));
            let mut files: Vec<PathBuf> =
                std::fs::read_dir(petri_engine::data::layout::medmnist_dir(data_dir))
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "npz"))
                    .filter(|p| Some(p) != own.as_ref())
                    .collect();
            files.sort();
            options.extend(files.into_iter().map(DataOption::Path));
        }
        if let Some(r) = remembered.map(PathBuf::from).filter(|p| p.exists()) {
            options.retain(|o| *o != DataOption::Path(r.clone()));
            options.insert(0, DataOption::Path(r));
        }
        options.push(DataOption::Typed);
        DataChoiceView {
            part,
            lesson_id: lesson_id.to_string(),
            options,
            cursor: 0,
            typing: None,
            message: None,
            pending: None,
        }
    }

    /// Asks whether to continue the interrupted run on `data` (which had finished `epochs`).
    pub fn ask_resume(&mut self, data: Option<PathBuf>, epochs: usize) {
        self.typing = None;
        self.message = Some(format!(
            "An interrupted run on this data had finished {epochs} epoch(s): Enter continues it \
             from there, n starts afresh"
        ));
        self.pending = Some((data, epochs));
    }

    pub fn is_typing(&self) -> bool {
        self.typing.is_some()
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Option<Choice> {
        if let Some((data, _)) = &self.pending {
            let resume = match key.code {
                KeyCode::Enter => true,
                KeyCode::Char('n') => false,
                _ => return None,
            };
            return Some(Choice::Run {
                data: data.clone(),
                resume: Some(resume),
            });
        }
        if let Some(text) = &mut self.typing {
            match key.code {
                KeyCode::Char(c) => text.push(c),
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Enter => {
                    let path = crate::paths::expand_home(text.trim());
                    if path.exists() {
                        return Some(Choice::Run {
                            data: Some(path),
                            resume: None,
                        });
                    }
                    self.message = Some(format!("{} does not exist", path.display()));
                }
                _ => {}
            }
            return None;
        }
        let n = self.options.len();
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => self.cursor = (self.cursor + 1) % n,
            KeyCode::Up | KeyCode::Char('k') => self.cursor = (self.cursor + n - 1) % n,
            KeyCode::Enter => match &self.options[self.cursor] {
                DataOption::Course { usable: true, .. } => {
                    return Some(Choice::Run {
                        data: None,
                        resume: None,
                    });
                }
                DataOption::Course { name, .. } => {
                    self.message = Some(format!(
                        "{name} is not downloaded yet: press Esc, then f on the home screen to fetch \
                         it, or choose another file here"
                    ))
                }
                DataOption::Path(p) => {
                    return Some(Choice::Run {
                        data: Some(p.clone()),
                        resume: None,
                    });
                }
                DataOption::Typed => self.typing = Some(String::new()),
            },
            _ => {}
        }
        None
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(4).min(90);
        let mut lines = vec![
            Line::raw(format!(
                "Which data should the {} run use?",
                self.part.name()
            )),
            Line::raw(""),
        ];
        for (i, o) in self.options.iter().enumerate() {
            let pointer = if i == self.cursor {
                theme.pointer()
            } else {
                "  "
            };
            let (text, style) = match o {
                DataOption::Course { name, usable: true } => {
                    (format!("{name} (the course's dataset)"), theme.good)
                }
                DataOption::Course { name, .. } => (
                    format!("{name} (the course's dataset, not downloaded: f on home)"),
                    theme.warning,
                ),
                DataOption::Path(p) => (p.display().to_string(), ratatui::style::Style::new()),
                DataOption::Typed => match &self.typing {
                    Some(t) => (format!("path: {t}_"), ratatui::style::Style::new()),
                    None => ("another file or folder: type its path".into(), theme.dim),
                },
            };
            lines.push(Line::from(vec![
                Span::raw(pointer),
                Span::styled(text, style),
            ]));
        }
        lines.push(Line::raw(""));
        if let Some(m) = &self.message {
            lines.push(Line::styled(m.clone(), theme.warning));
        }
        lines.push(Line::styled(
            if self.pending.is_some() {
                "Enter continue  n start afresh  Esc back"
            } else if self.is_typing() {
                "type a path, Enter run, Esc back"
            } else {
                "↑↓ choose  Enter run  Esc back"
            },
            theme.dim,
        ));
        // As tall as its wrapped lines (a long path or message takes several rows), so the
        // key line at the bottom is never pushed out.
        let inner = w.saturating_sub(2).max(1) as usize;
        let rows: usize = lines
            .iter()
            .map(|l| {
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                crate::text::wrap_words(&text, inner).len()
            })
            .sum();
        let h = (rows as u16 + 2).min(area.height.saturating_sub(2));
        let popup = Rect {
            x: area.x + (area.width.saturating_sub(w)) / 2,
            y: area.y + (area.height.saturating_sub(h)) / 2,
            width: w,
            height: h,
        };
        frame.render_widget(Clear, popup);
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::bordered().title(" Data for this run ")),
            popup,
        );
    }
}

/// The part's own dataset as a fetchable item (none for regression: it is embedded).
fn course_item(part: Suite) -> Option<Fetchable> {
    match part {
        Suite::Classification | Suite::Augmentation => Fetchable::named(part.dataset(), 28).ok(),
        Suite::Segmentation => Some(Fetchable::SkinAutofluorescence),
        Suite::Regression => None,
    }
}
