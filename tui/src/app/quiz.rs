//! A knowledge check: single- and multiple-answer choices and numeric answers, with feedback
//! and an explanation right after each answer. Each answer is saved at once; `r` retries.
//! Options appear in the attempt's shuffled order (its seed is in the student's progress), and
//! the number keys, marks and feedback follow that order; `f` starts a fresh attempt.

use crate::content::{Answer, Lesson, Question, QuestionKind};
use crate::progress::Progress;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use std::path::Path;

pub struct QuizView {
    pub lesson: Lesson,
    /// The attempt's seed: the option order of every question.
    pub seed: u64,
    pub index: usize,
    /// Position in the shown order.
    pub cursor: usize,
    /// Positions in the shown order.
    pub chosen: Vec<usize>,
    pub typed: String,
    /// Set once the current question is answered: whether it was right.
    pub answered: Option<bool>,
    pub right: usize,
    pub done: bool,
    /// Enter was pressed with nothing chosen: say how to choose (nothing is submitted).
    pub choose_first: bool,
    /// The question, its options and feedback can be taller than the screen.
    scroll: super::scroll::Scroll,
}

impl QuizView {
    pub fn new(lesson: Lesson, seed: u64) -> Self {
        QuizView {
            lesson,
            seed,
            index: 0,
            cursor: 0,
            chosen: Vec::new(),
            typed: String::new(),
            answered: None,
            right: 0,
            done: false,
            choose_first: false,
            scroll: super::scroll::Scroll::new(),
        }
    }

    /// The check as the student left it: at the first question without a saved answer, the
    /// saved ones counted; at the score when every question has one.
    pub fn resume(
        lesson: Lesson,
        seed: u64,
        saved: &std::collections::BTreeMap<String, bool>,
    ) -> Self {
        let mut view = QuizView::new(lesson, seed);
        let questions = &view.lesson.check;
        view.right = questions
            .iter()
            .filter(|q| saved.get(&q.id) == Some(&true))
            .count();
        match questions.iter().position(|q| !saved.contains_key(&q.id)) {
            Some(first_open) => view.index = first_open,
            None => view.done = true,
        }
        view
    }

    /// Whether `key` goes into the numeric answer field (so it must not trigger a global
    /// key); `q` and `?` are never part of a number.
    pub fn types(&self, key: &KeyEvent) -> bool {
        self.number_open() && matches!(key.code, KeyCode::Char(c) if is_number_char(c))
    }

    /// A numeric question waiting for its answer.
    fn number_open(&self) -> bool {
        !self.done
            && self.answered.is_none()
            && self
                .lesson
                .check
                .get(self.index)
                .is_some_and(|q| q.kind == QuestionKind::Numeric)
    }

    pub fn on_key(
        &mut self,
        key: KeyEvent,
        progress: &mut Progress,
        path: &Path,
    ) -> petri_engine::Result<()> {
        if self.done {
            match key.code {
                KeyCode::Char('r') => *self = QuizView::new(self.lesson.clone(), self.seed),
                KeyCode::Char('f') => {
                    let seed = progress.fresh_quiz(path, &self.lesson.part.id)?;
                    *self = QuizView::new(self.lesson.clone(), seed);
                }
                _ => {}
            }
            return Ok(());
        }
        // ↑↓ move between options here, so the page keys scroll.
        if matches!(
            key.code,
            KeyCode::PageUp | KeyCode::PageDown | KeyCode::Home | KeyCode::End
        ) {
            self.scroll.on_key(key.code);
            return Ok(());
        }
        // A copy: choosing below changes `self` while the question is read.
        let q = self.lesson.check[self.index].clone();
        let order = q.shown_order(self.seed);
        if self.answered.is_some() {
            if matches!(
                key.code,
                KeyCode::Enter | KeyCode::Right | KeyCode::Char('n')
            ) {
                self.index += 1;
                self.cursor = 0;
                self.chosen.clear();
                self.typed.clear();
                self.answered = None;
                self.scroll.reset();
                self.done = self.index >= self.lesson.check.len();
            }
            return Ok(());
        }
        let submit = match q.kind {
            QuestionKind::Numeric => match key.code {
                KeyCode::Char(c) if is_number_char(c) => {
                    self.typed.push(c);
                    None
                }
                KeyCode::Backspace => {
                    self.typed.pop();
                    None
                }
                KeyCode::Enter => self.typed.trim().parse::<f64>().ok().map(Answer::Number),
                KeyCode::Esc => None,
                _ => None,
            },
            kind => match key.code {
                KeyCode::Down | KeyCode::Char('j') => {
                    self.cursor = (self.cursor + 1) % q.options.len();
                    None
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    self.cursor = (self.cursor + q.options.len() - 1) % q.options.len();
                    None
                }
                KeyCode::Char(' ') | KeyCode::Char('x') => {
                    self.toggle(kind);
                    None
                }
                // An option's number moves to it and chooses it (toggles it, for several).
                KeyCode::Char(c) if c.is_ascii_digit() => {
                    let n = c.to_digit(10).unwrap_or(0) as usize;
                    if (1..=q.options.len()).contains(&n) {
                        self.cursor = n - 1;
                        self.toggle(kind);
                    }
                    None
                }
                // Only a choice is submitted: Enter alone never answers (or overwrites a saved
                // answer) with whatever option the cursor happens to be on.
                KeyCode::Enter => {
                    self.choose_first = self.chosen.is_empty();
                    (!self.chosen.is_empty())
                        .then(|| Answer::Choices(self.chosen.iter().map(|&p| order[p]).collect()))
                }
                _ => None,
            },
        };
        if let Some(answer) = submit {
            // The verdict and explanation come last: show them.
            self.scroll.scroll_to_end();
            let correct = q.is_correct(&answer);
            self.answered = Some(correct);
            self.right += correct as usize;
            progress.record_answer(
                path,
                &self.lesson.part.id,
                &q.id,
                correct,
                self.lesson.check.len(),
            )?;
        }
        Ok(())
    }

    /// Chooses the option under the cursor (one answer), or toggles it (several).
    fn toggle(&mut self, kind: QuestionKind) {
        self.choose_first = false;
        if kind == QuestionKind::Single {
            self.chosen = vec![self.cursor];
        } else if let Some(p) = self.chosen.iter().position(|&c| c == self.cursor) {
            self.chosen.remove(p);
        } else {
            self.chosen.push(self.cursor);
        }
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let [body, help] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
        let total = self.lesson.check.len();
        let title = format!(" Knowledge check: {} ", self.lesson.part.title);
        let lines = if self.done {
            self.score_lines(total, theme)
        } else {
            self.question_lines(total, body.width, theme)
        };
        self.scroll
            .draw(frame, body, lines, Block::bordered().title(title));
        let keys = if self.answered.is_some() {
            "Enter next question  Esc back  ? help"
        } else if self.number_open() {
            "type a number, Enter submit, Backspace delete"
        } else if self.choose_first {
            "Choose an answer first: Space or its number, then Enter"
        } else {
            "↑↓ move  Space choose  Enter submit  Esc back  ? help"
        };
        frame.render_widget(Paragraph::new(Line::styled(keys, theme.dim)), help);
    }

    /// The finished check: the score and what the keys do.
    fn score_lines(&self, total: usize, theme: &Theme) -> Vec<Line<'static>> {
        let mut lines: Vec<Line<'static>> = Vec::new();
        lines.push(Line::styled(
            format!("Score: {} of {total}", self.right),
            theme.h2,
        ));
        lines.push(Line::raw(""));
        lines.push(Line::raw(
            "Your answers are saved. Press r to try again (same order), f for a fresh \
             attempt (new order), Esc to go back.",
        ));
        lines
    }

    /// The current question: its prompt, options (with feedback once answered) and verdict.
    fn question_lines(&self, total: usize, body_width: u16, theme: &Theme) -> Vec<Line<'static>> {
        let mut lines: Vec<Line<'static>> = Vec::new();
        let q = &self.lesson.check[self.index];
        let kind = match q.kind {
            QuestionKind::Single => "one answer",
            QuestionKind::Multiple => "all that apply",
            QuestionKind::Numeric => "a number",
        };
        lines.push(Line::styled(
            format!("Question {} of {total} ({kind})", self.index + 1),
            theme.h3,
        ));
        lines.push(Line::raw(""));
        lines.extend(crate::markdown::render(
            q.prompt.trim(),
            body_width.saturating_sub(4),
            theme,
        ));
        lines.push(Line::raw(""));
        lines.extend(self.option_lines(q, body_width, theme));
        if q.kind == QuestionKind::Numeric {
            let unit = q.unit.as_deref().unwrap_or("");
            lines.push(Line::raw(format!("Answer: {}_ {unit}", self.typed)));
        }
        if let Some(right) = self.answered {
            lines.push(Line::raw(""));
            lines.push(if right {
                Line::styled("Correct.", theme.good)
            } else {
                Line::styled("Not quite.", theme.bad)
            });
            if q.kind == QuestionKind::Numeric && !right {
                lines.push(Line::raw(format!(
                    "The answer is {}.",
                    q.answer.unwrap_or(f64::NAN)
                )));
            }
            if let Some(e) = &q.explanation {
                lines.extend(crate::markdown::render(
                    e.trim(),
                    body_width.saturating_sub(4),
                    theme,
                ));
            }
        }
        lines
    }

    /// The options in their shown order, marked, wrapped under their own text.
    fn option_lines(&self, q: &Question, body_width: u16, theme: &Theme) -> Vec<Line<'static>> {
        let mut lines: Vec<Line<'static>> = Vec::new();
        let correct = q.correct_options();
        for (i, &file_index) in q.shown_order(self.seed).iter().enumerate() {
            let o = &q.options[file_index];
            let picked = self.chosen.contains(&i);
            let is_correct = correct.contains(&file_index);
            let mark = match (q.kind, picked, theme.ascii) {
                (QuestionKind::Single, true, false) => "(•)",
                (QuestionKind::Single, false, _) => "( )",
                (QuestionKind::Single, true, true) => "(*)",
                (_, true, _) => "[x]",
                (_, false, _) => "[ ]",
            };
            let pointer = if i == self.cursor && self.answered.is_none() {
                theme.pointer()
            } else {
                "  "
            };
            let mut style = ratatui::style::Style::new();
            if self.answered.is_some() && is_correct {
                style = theme.good;
            } else if self.answered.is_some() && picked {
                style = theme.bad;
            }
            // Options and their feedback wrap under their own text, not under the marks.
            let width = body_width.saturating_sub(2) as usize;
            let head = format!("{pointer}{mark} {}. ", i + 1);
            let indent = head.chars().count();
            for (k, part) in crate::text::wrap_words(&o.text, width.saturating_sub(indent))
                .into_iter()
                .enumerate()
            {
                let lead = if k == 0 {
                    head.clone()
                } else {
                    " ".repeat(indent)
                };
                lines.push(Line::from(vec![Span::raw(lead), Span::styled(part, style)]));
            }
            if self.answered.is_some()
                && (picked || is_correct)
                && let Some(f) = &o.feedback
            {
                // Feedback is prose wrapped in the TOML file: one line, wrapped on screen.
                let f = f.split_whitespace().collect::<Vec<_>>().join(" ");
                for part in crate::text::wrap_words(&f, width.saturating_sub(7)) {
                    lines.push(Line::styled(format!("       {part}"), theme.dim));
                }
            }
        }
        lines
    }
}

/// What a numeric answer can be typed with.
fn is_number_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '.' | '-' | 'e')
}
