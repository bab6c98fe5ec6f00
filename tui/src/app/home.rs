//! Home: the course's parts and the state of their data.

use super::App;
use crate::course::{PARTS, dataset_present};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};

pub fn draw(app: &App, frame: &mut Frame) {
    let [title, body, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("Petri", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw("  identify and train deep networks on biomedical data"),
        ])),
        title,
    );
    let [list_area, detail_area] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
    let items: Vec<ListItem> = PARTS
        .iter()
        .enumerate()
        .map(|(i, p)| ListItem::new(format!("{i}. {}", p.title)))
        .collect();
    let mut state = ListState::default().with_selected(Some(app.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::bordered().title(" Course "))
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .highlight_symbol(if app.options.ascii { "> " } else { "▶ " }),
        list_area,
        &mut state,
    );
    let part = &PARTS[app.selected];
    let mut lines = vec![
        Line::from(Span::styled(
            part.title,
            Style::new().add_modifier(Modifier::BOLD),
        )),
        Line::raw(""),
    ];
    lines.push(Line::raw(part.summary));
    if let Some(d) = part.dataset {
        lines.push(Line::raw(""));
        let status = if dataset_present(&app.options.data_dir, d) {
            "present".to_string()
        } else {
            format!("not downloaded: petri data fetch {d}")
        };
        lines.push(Line::raw(format!("Data: {d} ({status})")));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" Part ")),
        detail_area,
    );
    frame.render_widget(Paragraph::new("↑/↓ or j/k choose   q quit"), help);
}
