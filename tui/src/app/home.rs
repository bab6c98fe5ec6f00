//! Home: the course's parts with progress per part, and the state of their data.

use super::{App, Open};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};

pub fn on_key(app: &mut App, key: KeyEvent) {
    let n = app.lessons.len().max(1);
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => app.selected = (app.selected + 1) % n,
        KeyCode::Up | KeyCode::Char('k') => app.selected = (app.selected + n - 1) % n,
        KeyCode::Enter | KeyCode::Char('l') | KeyCode::Right => app.open(Some(Open::Lesson)),
        KeyCode::Char('c') => app.open(Some(Open::Quiz)),
        KeyCode::Char('r') => app.open(Some(Open::Experiment)),
        KeyCode::Char('x') => app.open(Some(Open::Challenges)),
        KeyCode::Char('d') => app.open(Some(Open::YourData)),
        KeyCode::Char('f') => app.start_fetch(),
        _ => {}
    }
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let [title, body, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("Petri", t.h2),
            Span::raw("  identify and train deep networks on biomedical data"),
        ])),
        title,
    );
    let [list_area, detail_area] =
        Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(body);

    let items = course_items(app);
    let mut state = ListState::default().with_selected(Some(app.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::bordered().title(" Course "))
            .highlight_style(t.selected)
            .highlight_symbol(t.pointer()),
        list_area,
        &mut state,
    );

    let lines = part_lines(app);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" Part ")),
        detail_area,
    );
    frame.render_widget(
        Paragraph::new(Line::styled(
            "Enter lesson  c check  r run  x challenges  d your data  ? help  q quit",
            t.dim,
        )),
        help,
    );
}

/// The course list: each part with its lesson mark and its check's score.
fn course_items(app: &App) -> Vec<ListItem<'static>> {
    let t = &app.theme;
    app.lessons
        .iter()
        .map(|l| {
            let p = app.progress.parts.get(&l.part.id);
            let read = p.is_some_and(|p| p.lesson_read);
            let mark = if read {
                if t.ascii { "[x]" } else { "✓" }
            } else if t.ascii {
                "[ ]"
            } else {
                "·"
            };
            // A check opened but not answered yet has a saved seed and no answers: not "0/0".
            let quiz = p
                .and_then(|p| p.quiz.as_ref())
                .filter(|q| !q.answers.is_empty())
                .map(|q| format!(" {}/{}", q.correct(), l.check.len()))
                .unwrap_or_default();
            ListItem::new(Line::from(vec![
                Span::styled(format!("{mark} "), if read { t.good } else { t.dim }),
                Span::raw(
                    l.part
                        .title
                        .split(':')
                        .next()
                        .unwrap_or(&l.part.title)
                        .to_string(),
                ),
                Span::styled(quiz, t.accent),
            ]))
        })
        .collect()
}

/// The selected part: its lesson, check, runs and challenges, and what its data needs.
fn part_lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = Vec::new();
    if let Some(l) = app.lessons.get(app.selected) {
        lines.push(Line::styled(l.part.title.clone(), t.h3));
        if !l.part.summary.is_empty() {
            lines.push(Line::raw(l.part.summary.clone()));
        }
        lines.push(Line::raw(""));
        let p = app.progress.parts.get(&l.part.id);
        let read = p.is_some_and(|p| p.lesson_read);
        lines.push(Line::raw(format!(
            "Lesson: {} ({} min)",
            if read { "read" } else { "not read yet" },
            l.part.minutes
        )));
        let quiz = match p.and_then(|p| p.quiz.as_ref()) {
            Some(q) if q.answers.len() >= l.check.len() => {
                format!("{} of {} right", q.correct(), l.check.len())
            }
            Some(q) if !q.answers.is_empty() => format!(
                "{} of {} answered, {} right (c continues it)",
                q.answers.len(),
                l.check.len(),
                q.correct()
            ),
            _ => format!("not taken ({} questions)", l.check.len()),
        };
        lines.push(Line::raw(format!("Knowledge check: {quiz}")));
        let runs = p.map_or(0, |p| p.runs.len());
        if !l.part.experiments.is_empty() {
            lines.push(Line::raw(format!("Experiments run: {runs}")));
        }
        let challenges = p.map_or(0, |p| p.challenges_passed.len());
        lines.push(Line::raw(format!("Challenges passed: {challenges}")));
        if !l.part.experiments.is_empty() {
            // The same facts as `petri doctor`, for this part.
            let report = crate::doctor::part(app.selected, &l.part, &app.options.data_dir);
            if let Some(d) = l.part.dataset().filter(|_| report.needs.is_empty()) {
                lines.push(Line::raw(""));
                lines.push(Line::from(vec![
                    Span::raw(format!("Data: {d} ")),
                    Span::styled("embedded", t.good),
                ]));
            }
            if !report.needs.is_empty() {
                lines.push(Line::raw(""));
            }
            for n in &report.needs {
                let label = match n.item {
                    petri_engine::data::fetchable::Fetchable::Resnet18Weights => "Weights",
                    _ => "Data",
                };
                let status = if n.status.is_usable() {
                    Span::styled(n.status.label(), t.good)
                } else {
                    Span::styled(
                        format!(
                            "{}: press f (or {})",
                            n.status.label(),
                            n.item.fetch_command()
                        ),
                        t.warning,
                    )
                };
                lines.push(Line::from(vec![
                    Span::raw(format!("{label}: {} ", n.item.name())),
                    status,
                ]));
            }
        }
    } else {
        lines.push(Line::raw(
            "No lessons found. Run `petri content check` to see why.",
        ));
    }
    lines
}
