//! A part's challenges: the list, the statement, the student's copy, hints revealed one at a
//! time, and the visible checks run on a background thread with the score breakdown. Code
//! challenges are answered in Rust or Python: the first start asks which, and the choice is
//! remembered in the progress file (`l` changes it).

use super::Options;
use super::scroll::Scroll;
use crate::markdown;
use crate::progress::{self, Progress};
use crate::theme::Theme;
use petri_grader::challenge::{Challenge, MARKER, Marker};
use petri_grader::{Kind, Language, SubmissionResult};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pane {
    List,
    Statement,
    Check,
}

enum CheckState {
    Idle,
    Running { since: Instant, id: String },
    Done(SubmissionResult),
    Failed(String),
}

pub struct ChallengeView {
    /// The part's progress key (`03-segmentation`).
    pub part_key: String,
    pub challenges: Vec<Challenge>,
    selected: usize,
    focus: Pane,
    statement_scroll: Scroll,
    /// The check's report can be longer than its pane (`Tab` to it, then scroll).
    check_scroll: Scroll,
    /// Where students' copies go: `<state>/challenges/<part>/<name>`.
    workspace: PathBuf,
    state_dir: PathBuf,
    check: CheckState,
    pub message: Option<String>,
    /// The language code challenges are answered in, once the student has chosen.
    language: Option<Language>,
    /// Waiting for `r` or `p`: which language to start a code challenge in.
    asking_language: bool,
}

impl ChallengeView {
    pub fn new(part_key: &str, challenges: Vec<Challenge>, options: &Options) -> Self {
        ChallengeView {
            part_key: part_key.to_string(),
            challenges,
            selected: 0,
            focus: Pane::List,
            statement_scroll: Scroll::new(),
            check_scroll: Scroll::new(),
            workspace: options.state_dir.join("challenges"),
            state_dir: options.state_dir.clone(),
            check: CheckState::Idle,
            message: None,
            language: Progress::load(&crate::paths::progress_file(&options.state_dir))
                .ok()
                .and_then(|p| p.language),
            asking_language: false,
        }
    }

    /// The language `c` is shown in: its copy's, else the student's choice, else Rust.
    fn language_of(&self, c: &Challenge) -> Language {
        Marker::read(&self.copy_dir(c))
            .and_then(|m| m.language)
            .or(self.language)
            .unwrap_or(Language::Rust)
    }

    /// Saves the student's choice of language and starts the challenge that asked for it.
    fn choose_language(&mut self, language: Language) {
        self.asking_language = false;
        self.language = Some(language);
        let path = crate::paths::progress_file(&self.state_dir);
        if let Err(e) = Progress::update(&path, |p| p.language = Some(language)) {
            self.message = Some(format!("could not save your choice of language: {e}"));
            return;
        }
        self.start();
    }

    fn current(&self) -> Option<&Challenge> {
        self.challenges.get(self.selected)
    }

    /// The student's working copy of challenge `c`.
    pub fn copy_dir(&self, c: &Challenge) -> PathBuf {
        self.workspace.join(&c.id)
    }

    /// Hints revealed so far (kept with the copy, as `petri challenge hint` does).
    fn hints_shown(&self, c: &Challenge) -> usize {
        progress::hints_shown(&self.copy_dir(c))
    }

    pub fn is_checking(&self) -> bool {
        matches!(self.check, CheckState::Running { .. })
    }

    /// A key; returns the check to run when `t` asks for one (`super::work::check`).
    pub fn on_key(&mut self, key: KeyEvent) -> Option<(Challenge, PathBuf)> {
        self.message = None;
        if std::mem::take(&mut self.asking_language) {
            match key.code {
                KeyCode::Char('r') => self.choose_language(Language::Rust),
                KeyCode::Char('p') => self.choose_language(Language::Python),
                _ => self.message = Some("not started: s asks again".into()),
            }
            return None;
        }
        let n = self.challenges.len().max(1);
        match (key.code, self.focus) {
            (KeyCode::Tab, _) => {
                self.focus = match self.focus {
                    Pane::List => Pane::Statement,
                    Pane::Statement => Pane::Check,
                    Pane::Check => Pane::List,
                }
            }
            (KeyCode::BackTab, _) => {
                self.focus = match self.focus {
                    Pane::List => Pane::Check,
                    Pane::Statement => Pane::List,
                    Pane::Check => Pane::Statement,
                }
            }
            (KeyCode::Down | KeyCode::Char('j'), Pane::List) => {
                self.selected = (self.selected + 1) % n;
                self.statement_scroll.reset();
            }
            (KeyCode::Up | KeyCode::Char('k'), Pane::List) => {
                self.selected = (self.selected + n - 1) % n;
                self.statement_scroll.reset();
            }
            (
                KeyCode::Down
                | KeyCode::Up
                | KeyCode::Char('j' | 'k')
                | KeyCode::Home
                | KeyCode::End,
                Pane::Check,
            )
            | (KeyCode::PageDown | KeyCode::PageUp | KeyCode::Char(' '), Pane::Check) => {
                self.check_scroll.on_key(key.code);
            }
            (
                KeyCode::Down
                | KeyCode::Up
                | KeyCode::Char('j' | 'k')
                | KeyCode::Home
                | KeyCode::End
                | KeyCode::PageDown
                | KeyCode::PageUp
                | KeyCode::Char(' '),
                _,
            ) => {
                self.statement_scroll.on_key(key.code);
            }
            (KeyCode::Char('s'), _) => self.start(),
            (KeyCode::Char('l'), _) => self.asking_language_for_next_start(),
            (KeyCode::Char('h'), _) => self.next_hint(),
            (KeyCode::Char('t'), _) => return self.run_check(),
            _ => {}
        }
        None
    }

    /// `l`: the next code challenge started asks for its language again.
    fn asking_language_for_next_start(&mut self) {
        self.asking_language = true;
        self.message =
            Some("Answer code challenges in which language? r Rust, p Python (with numpy)".into());
    }

    fn start(&mut self) {
        let Some(c) = self.current().cloned() else {
            return;
        };
        let dir = self.copy_dir(&c);
        if dir.join(MARKER).exists() {
            self.message = Some(format!("your copy is already in {}", dir.display()));
            return;
        }
        let Some(language) = self
            .language
            .or((c.kind == Kind::Config).then_some(Language::Rust))
        else {
            // Asked once; the answer is remembered.
            self.asking_language_for_next_start();
            return;
        };
        self.message = Some(match c.copy_starter(&dir, language) {
            Ok(()) => format!(
                "started: edit {} in {}",
                c.files_for(language).join(", "),
                dir.display()
            ),
            Err(e) => format!("{e}"),
        });
    }

    fn next_hint(&mut self) {
        let Some(c) = self.current().cloned() else {
            return;
        };
        let shown = self.hints_shown(&c);
        if shown >= c.hints_for(Some(self.language_of(&c))).len() {
            self.message = Some("no more hints: the part's lesson explains the idea".into());
            return;
        }
        let dir = self.copy_dir(&c);
        if !dir.exists() {
            self.message =
                Some("press s to start the challenge first (hints are kept with your copy)".into());
            return;
        }
        if let Err(e) = progress::set_hints_shown(&dir, shown + 1) {
            self.message = Some(format!("could not save the hint count: {e}"));
        }
    }

    /// `t`: the check to run on the current challenge's copy, now waited for.
    fn run_check(&mut self) -> Option<(Challenge, PathBuf)> {
        let c = self.current().cloned()?;
        if self.is_checking() {
            self.message = Some("a check is already running".into());
            return None;
        }
        let dir = self.copy_dir(&c);
        if !dir.exists() {
            self.message = Some("press s to start the challenge first".into());
            return None;
        }
        self.check = CheckState::Running {
            since: Instant::now(),
            id: c.id.clone(),
        };
        Some((c, dir))
    }

    /// The check could not start (the grader could not be set up).
    pub fn check_failed(&mut self, why: String) {
        self.check = CheckState::Failed(why);
    }

    /// A finished check (tests feed one in directly).
    pub fn show_result(&mut self, result: SubmissionResult) {
        self.check = CheckState::Done(result);
        self.check_scroll.reset();
    }

    /// The check it was waiting for; returns the id of a challenge whose visible checks all
    /// passed, for the progress file.
    pub fn on_checked(&mut self, result: Result<SubmissionResult, String>) -> Option<String> {
        let CheckState::Running { id, .. } = &self.check else {
            return None;
        };
        let id = id.clone();
        match result {
            Ok(r) => {
                let passed = r.passed().then_some(id);
                self.check = CheckState::Done(r);
                self.check_scroll.reset();
                passed
            }
            Err(e) => {
                self.check = CheckState::Failed(e);
                None
            }
        }
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, passed: &[String]) {
        let [top, results, help] = Layout::vertical([
            Constraint::Min(6),
            Constraint::Length(area.height.saturating_sub(8).min(10) / 2 + 3),
            Constraint::Length(1),
        ])
        .areas(area);
        let [list_area, statement_area] =
            Layout::horizontal([Constraint::Percentage(34), Constraint::Percentage(66)]).areas(top);
        let focus_style = |p: Pane| {
            if self.focus == p {
                theme.accent
            } else {
                theme.dim
            }
        };

        let items = self.list_items(list_area.width, theme, passed);
        let mut state = ListState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(
            List::new(items)
                .block(
                    Block::bordered()
                        .title(" Challenges ")
                        .border_style(focus_style(Pane::List)),
                )
                .highlight_style(theme.selected)
                .highlight_symbol(theme.pointer()),
            list_area,
            &mut state,
        );

        let lines = self.statement_lines(statement_area.width.saturating_sub(4), theme);
        let title = self
            .current()
            .map_or(String::new(), |c| format!(" {} ", c.id));
        self.statement_scroll.draw_wrapped(
            frame,
            statement_area,
            lines,
            Block::bordered()
                .title(title)
                .border_style(focus_style(Pane::Statement)),
        );

        let body = self.check_lines(results.width, theme);
        self.check_scroll.draw(
            frame,
            results,
            body,
            Block::bordered()
                .title(" Check ")
                .border_style(focus_style(Pane::Check)),
        );
        let help_text = self.message.clone().unwrap_or_else(|| {
            "s start  t check  h hint  l language  Tab pane  ↑↓ scroll  Esc back  ? help".into()
        });
        frame.render_widget(Paragraph::new(Line::styled(help_text, theme.dim)), help);
    }

    /// The challenge list: a mark for the passed ones, titles wrapped under themselves.
    fn list_items(
        &self,
        list_width: u16,
        theme: &Theme,
        passed: &[String],
    ) -> Vec<ListItem<'static>> {
        self.challenges
            .iter()
            .map(|c| {
                let done = passed.contains(&c.id);
                let mark = match (done, theme.ascii) {
                    (true, true) => "[x] ",
                    (true, false) => "✓ ",
                    (false, true) => "[ ] ",
                    (false, false) => "· ",
                };
                let kind = if c.kind == Kind::Code {
                    "code"
                } else {
                    "config"
                };
                // Titles wrap under themselves: the list is a third of an 80-column screen.
                let indent = mark.chars().count();
                let room = (list_width as usize)
                    .saturating_sub(2 + theme.pointer().chars().count() + indent)
                    .max(8);
                let mut lines: Vec<Line> = crate::text::wrap_words(&c.title, room)
                    .into_iter()
                    .enumerate()
                    .map(|(i, part)| match i {
                        0 => Line::from(vec![
                            Span::styled(mark, if done { theme.good } else { theme.dim }),
                            Span::raw(part),
                        ]),
                        _ => Line::raw(format!("{}{part}", " ".repeat(indent))),
                    })
                    .collect();
                lines.push(Line::styled(
                    format!("    {kind}, {} points", c.max_points()),
                    theme.dim,
                ));
                ListItem::new(lines)
            })
            .collect()
    }

    /// The statement pane: where the copy is (or how to start), the statement in the answer's
    /// language, and the hints shown so far.
    fn statement_lines(&self, width: u16, theme: &Theme) -> Vec<Line<'static>> {
        let mut lines: Vec<Line<'static>> = Vec::new();
        if let Some(c) = self.current() {
            let language = self.language_of(c);
            let statement = c
                .statement_for(language)
                .unwrap_or_else(|e| format!("(the statement cannot be read: {e})"));
            let hints = c.hints_for(Some(language));
            let dir = self.copy_dir(c);
            if dir.join(MARKER).exists() {
                lines.push(Line::styled(
                    format!("Your copy (edit {}):", c.files_for(language).join(", ")),
                    theme.h3,
                ));
                // Paths do not wrap at spaces: cut them to the pane's width.
                let path: Vec<char> = dir.display().to_string().chars().collect();
                for chunk in path.chunks(width.max(10) as usize) {
                    lines.push(Line::raw(chunk.iter().collect::<String>()));
                }
            } else {
                let how = match (c.kind, self.language) {
                    (Kind::Config, _) => "Not started: press s to copy the starter.".to_string(),
                    (Kind::Code, None) => {
                        "Not started: press s to copy the starter, in Rust or Python.".to_string()
                    }
                    (Kind::Code, Some(l)) => format!(
                        "Not started: press s to copy the {} starter (l: another language).",
                        l.title()
                    ),
                };
                for part in crate::text::wrap_words(&how, width.max(10) as usize) {
                    lines.push(Line::styled(part, theme.warning));
                }
            }
            lines.push(Line::raw(""));
            lines.extend(markdown::render(&statement, width, theme));
            let shown = self.hints_shown(c).min(hints.len());
            lines.push(Line::styled(
                format!("Hints ({shown} of {} shown, h for the next)", hints.len()),
                theme.h3,
            ));
            for (i, h) in hints.iter().take(shown).enumerate() {
                lines.extend(markdown::render(&format!("{}. {h}", i + 1), width, theme));
            }
        }
        lines
    }

    /// The check pane: how to run a check, its progress, or its score breakdown.
    fn check_lines(&self, pane_width: u16, theme: &Theme) -> Vec<Line<'static>> {
        match &self.check {
            CheckState::Idle => vec![Line::styled(
                "Press t to run the visible checks on your copy. Hidden checks run when your instructor grades.",
                theme.dim,
            )],
            CheckState::Running { since, .. } => vec![Line::raw(format!(
                "Checking... {:.0} s (the first check on this machine also builds the challenge kit, a few seconds)",
                since.elapsed().as_secs_f64()
            ))],
            CheckState::Failed(e) => vec![Line::styled(
                format!("The check could not run: {e}"),
                theme.bad,
            )],
            CheckState::Done(r) => {
                let width = pane_width.saturating_sub(2).max(1) as usize;
                let mut v = vec![Line::from(vec![
                    Span::styled(
                        format!("{:.2} / {} points", r.score.unwrap_or(0.0), r.max_score),
                        theme.h3,
                    ),
                    Span::styled(
                        if r.passed() {
                            "  visible checks at full marks"
                        } else {
                            ""
                        },
                        theme.good,
                    ),
                ])];
                for c in &r.checks {
                    let score = c.score.unwrap_or(0.0);
                    let (mark, style) = if c.passed() {
                        ("pass", theme.good)
                    } else if score > 0.0 {
                        ("part", theme.warning)
                    } else {
                        ("fail", theme.bad)
                    };
                    v.push(Line::from(vec![
                        Span::styled(format!("[{mark}] "), style),
                        Span::raw(format!("{score:.2}/{} {}", c.max_score, c.name)),
                    ]));
                    // Output wraps under itself; past three lines it says how much is left
                    // rather than ending mid-report.
                    let output: Vec<&str> = c.output.lines().collect();
                    for line in output.iter().take(3) {
                        for part in crate::text::wrap_hanging(&format!("       {line}"), width) {
                            v.push(Line::styled(part, theme.dim));
                        }
                    }
                    if output.len() > 3 {
                        v.push(Line::styled(
                            format!(
                                "       ({} more line(s): run petri challenge check in your copy)",
                                output.len() - 3
                            ),
                            theme.dim,
                        ));
                    }
                }
                if let Some(c) = self.challenges.iter().find(|c| c.id == r.challenge) {
                    let summary = petri_grader::report::check_summary(c, r);
                    v.extend(
                        summary
                            .lines()
                            .map(|l| Line::styled(l.to_string(), theme.dim)),
                    );
                }
                v
            }
        }
    }
}
