//! Lesson Markdown to terminal lines: headings, emphasis, inline code, lists, tables, code
//! blocks with light syntax colouring, and block quotes drawn as call-out boxes. Text is wrapped
//! here (not by the widget) so call-out borders and list indents continue on wrapped lines.

use crate::theme::Theme;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

struct Renderer<'t> {
    theme: &'t Theme,
    width: usize,
    lines: Vec<Line<'static>>,
    /// Inline spans of the block being built.
    spans: Vec<Span<'static>>,
    style: Vec<Style>,
    list: Vec<Option<u64>>,
    quote: Option<Style>,
    heading: Option<HeadingLevel>,
    code: Option<String>,
    table: Option<Vec<Vec<String>>>,
    cell: String,
}

pub fn render(markdown: &str, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let mut r = Renderer {
        theme,
        width: (width as usize).max(20),
        lines: Vec::new(),
        spans: Vec::new(),
        style: vec![Style::new()],
        list: Vec::new(),
        quote: None,
        heading: None,
        code: None,
        table: None,
        cell: String::new(),
    };
    for event in Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    ) {
        r.event(event);
    }
    r.flush(None);
    while r.lines.last().is_some_and(|l| l.width() == 0) {
        r.lines.pop();
    }
    r.lines
}

impl Renderer<'_> {
    fn current(&self) -> Style {
        *self.style.last().unwrap_or(&Style::new())
    }

    fn push_style(&mut self, f: impl FnOnce(Style) -> Style) {
        let s = f(self.current());
        self.style.push(s);
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| l.width() > 0) {
            match self.quote {
                Some(s) => self
                    .lines
                    .push(Line::from(Span::styled(self.theme.bar(), s))),
                None => self.lines.push(Line::raw("")),
            }
        }
    }

    /// Wraps the pending spans into lines with `first` / continuation prefixes.
    fn flush(&mut self, bullet: Option<String>) {
        if self.spans.is_empty() {
            return;
        }
        let spans = std::mem::take(&mut self.spans);
        let mut prefix: Vec<Span<'static>> = Vec::new();
        if let Some(s) = self.quote {
            prefix.push(Span::styled(self.theme.bar(), s));
        }
        let indent = "  ".repeat(self.list.len().saturating_sub(1));
        let first_prefix = match &bullet {
            Some(b) => format!("{indent}{b}"),
            None => indent.clone() + if self.list.is_empty() { "" } else { "  " },
        };
        let cont_prefix = " ".repeat(first_prefix.width());
        let prefix_w =
            prefix.iter().map(|s| s.content.width()).sum::<usize>() + first_prefix.width();
        let avail = self.width.saturating_sub(prefix_w).max(10);

        // Split spans into words, keeping styles, then fill lines greedily.
        let mut words: Vec<(String, Style, bool)> = Vec::new(); // (text, style, space before)
        let mut space = false;
        for s in spans {
            let text = s.content.to_string();
            for (i, part) in text.split(' ').enumerate() {
                if i > 0 {
                    space = true;
                }
                if part.is_empty() {
                    continue;
                }
                words.push((part.to_string(), s.style, space));
                space = false;
            }
            if text.ends_with(' ') {
                space = true;
            }
        }
        let mut line: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        let mut first = true;
        let emit =
            |line: &mut Vec<Span<'static>>, first: &mut bool, lines: &mut Vec<Line<'static>>| {
                let mut all = prefix.clone();
                all.push(Span::raw(if *first {
                    first_prefix.clone()
                } else {
                    cont_prefix.clone()
                }));
                all.append(line);
                lines.push(Line::from(all));
                *first = false;
            };
        for (word, style, space_before) in words {
            let w = word.width();
            let gap = usize::from(space_before && used > 0);
            if used > 0 && used + gap + w > avail {
                emit(&mut line, &mut first, &mut self.lines);
                used = 0;
            } else if gap == 1 {
                line.push(Span::raw(" "));
                used += 1;
            }
            used += w;
            line.push(Span::styled(word, style));
        }
        if !line.is_empty() {
            emit(&mut line, &mut first, &mut self.lines);
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if let Some(code) = &mut self.code {
                    code.push_str(&t);
                } else if self.table.is_some() {
                    self.cell.push_str(&t);
                } else {
                    let style = self.current();
                    self.spans.push(Span::styled(t.to_string(), style));
                }
            }
            Event::Code(t) => {
                if self.table.is_some() {
                    self.cell.push_str(&t);
                } else {
                    let style = self.current().patch(self.theme.code);
                    self.spans.push(Span::styled(t.to_string(), style));
                }
            }
            Event::SoftBreak => self.spans.push(Span::raw(" ")),
            Event::HardBreak => self.flush(None),
            Event::Rule => {
                self.flush(None);
                self.lines.push(Line::styled(
                    self.theme.rule(self.width.min(60)),
                    self.theme.dim,
                ));
            }
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Heading { level, .. } => {
                self.flush(None);
                self.blank();
                self.heading = Some(level);
                let style = match level {
                    HeadingLevel::H1 => self.theme.h1,
                    HeadingLevel::H2 => self.theme.h2,
                    _ => self.theme.h3,
                };
                self.style.push(style);
            }
            Tag::Paragraph => {}
            Tag::Emphasis => self.push_style(|s| s.add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(|s| s.add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(|s| s.add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { .. } => self.push_style(|s| s.add_modifier(Modifier::UNDERLINED)),
            Tag::BlockQuote(_) => {
                self.flush(None);
                self.blank();
                self.quote = Some(self.theme.note);
            }
            Tag::List(start) => {
                self.flush(None);
                if self.list.is_empty() {
                    self.blank();
                }
                self.list.push(start);
            }
            Tag::Item => {}
            Tag::CodeBlock(kind) => {
                self.flush(None);
                self.blank();
                let lang = match kind {
                    CodeBlockKind::Fenced(l) => l.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some(String::new());
                self.cell = lang; // remember the language until the block ends
            }
            Tag::Table(_) => {
                self.flush(None);
                self.blank();
                self.table = Some(Vec::new());
            }
            Tag::TableHead | Tag::TableRow => {
                if let Some(t) = &mut self.table {
                    t.push(Vec::new());
                }
            }
            Tag::TableCell => self.cell.clear(),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                self.flush(None);
                self.heading = None;
                self.style.pop();
                self.lines.push(Line::raw(""));
            }
            TagEnd::Paragraph => {
                // A call-out's first bold word ("Common mistake:") decides its colour.
                if self.quote.is_some() && self.lines.last().is_some_and(|l| l.width() <= 2) {
                    let text: String = self.spans.iter().map(|s| s.content.as_ref()).collect();
                    if text.starts_with("Common mistake") || text.starts_with("Warning") {
                        self.quote = Some(self.theme.warning);
                    }
                }
                if self.list.is_empty() {
                    self.flush(None);
                    self.blank();
                }
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link => {
                self.style.pop();
            }
            TagEnd::BlockQuote(_) => {
                self.flush(None);
                while self.lines.last().is_some_and(|l| l.width() <= 2) {
                    self.lines.pop();
                }
                self.quote = None;
                self.lines.push(Line::raw(""));
            }
            TagEnd::Item => {
                let depth = self.list.len();
                let bullet = match self.list.last_mut() {
                    Some(Some(n)) => {
                        let b = format!("{n}. ");
                        *n += 1;
                        b
                    }
                    _ => format!("{} ", self.theme.bullet(depth)),
                };
                self.flush(Some(bullet));
            }
            TagEnd::List(_) => {
                self.list.pop();
                if self.list.is_empty() {
                    self.lines.push(Line::raw(""));
                }
            }
            TagEnd::CodeBlock => {
                let code = self.code.take().unwrap_or_default();
                let lang = std::mem::take(&mut self.cell);
                for line in code.trim_end_matches('\n').lines() {
                    self.lines.push(highlight(line, &lang, self.theme));
                }
                self.lines.push(Line::raw(""));
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.cell);
                if let Some(row) = self.table.as_mut().and_then(|t| t.last_mut()) {
                    row.push(cell.trim().to_string());
                }
            }
            TagEnd::Table => {
                let rows = self.table.take().unwrap_or_default();
                self.table_lines(rows);
            }
            _ => {}
        }
    }

    /// A table laid out to the page's width: columns keep their natural width when the
    /// table fits; otherwise the widest columns narrow (not below their longest word while
    /// any other column can give) and their cells wrap onto more rows, so no text is cut.
    fn table_lines(&mut self, rows: Vec<Vec<String>>) {
        let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; cols];
        let mut longest_word = vec![1; cols];
        for row in &rows {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(c.width());
                let word = c.split(' ').map(UnicodeWidthStr::width).max().unwrap_or(0);
                longest_word[i] = longest_word[i].max(word);
            }
        }
        let total = |w: &[usize]| w.iter().sum::<usize>() + 3 * w.len().saturating_sub(1);
        // A header wider than its column's cells wraps first: two header rows cost less
        // than body cells wrapped in every row.
        let mut body = vec![0; cols];
        for row in rows.iter().skip(1) {
            for (i, c) in row.iter().enumerate() {
                body[i] = body[i].max(c.width());
            }
        }
        let header_word = |i: usize| {
            rows.first().and_then(|h| h.get(i)).map_or(0, |h| {
                h.split(' ').map(UnicodeWidthStr::width).max().unwrap_or(0)
            })
        };
        for i in 0..cols {
            let floor = body[i].max(header_word(i)).max(1);
            while total(&widths) > self.width && widths[i] > floor {
                widths[i] -= 1;
            }
        }
        while total(&widths) > self.width {
            let above_words = (0..cols)
                .filter(|&i| widths[i] > longest_word[i])
                .max_by_key(|&i| widths[i]);
            let Some(i) = above_words.or_else(|| {
                (0..cols)
                    .filter(|&i| widths[i] > 4)
                    .max_by_key(|&i| widths[i])
            }) else {
                break;
            };
            widths[i] -= 1;
        }
        for (r, row) in rows.iter().enumerate() {
            let cells: Vec<Vec<String>> = widths
                .iter()
                .enumerate()
                .map(|(i, &w)| {
                    let cell = row.get(i).map(String::as_str).unwrap_or("");
                    crate::text::wrap_words(cell, w)
                })
                .collect();
            let height = cells.iter().map(Vec::len).max().unwrap_or(1);
            let style = if r == 0 { self.theme.h3 } else { Style::new() };
            for k in 0..height {
                let mut spans = Vec::new();
                for (i, w) in widths.iter().enumerate() {
                    let part = cells[i].get(k).map(String::as_str).unwrap_or("");
                    let pad = w.saturating_sub(part.width());
                    spans.push(Span::styled(format!("{part}{}", " ".repeat(pad)), style));
                    if i + 1 < widths.len() {
                        spans.push(Span::styled(
                            format!(" {} ", self.theme.column()),
                            self.theme.dim,
                        ));
                    }
                }
                self.lines.push(Line::from(spans));
            }
            if r == 0 {
                self.lines.push(Line::styled(
                    self.theme.rule(total(&widths)),
                    self.theme.dim,
                ));
            }
        }
        self.lines.push(Line::raw(""));
    }
}

/// Colours a code line: comments dim, `petri` commands and their flags, TOML keys.
fn highlight(line: &str, lang: &str, theme: &Theme) -> Line<'static> {
    let indent = Span::raw("    ");
    let t = line.trim_start();
    if t.starts_with('#') && !matches!(lang, "md" | "markdown") {
        return Line::from(vec![indent, Span::styled(line.to_string(), theme.dim)]);
    }
    match lang {
        "sh" | "bash" | "shell" | "console" => {
            let mut spans = vec![indent];
            for (i, word) in line.split(' ').enumerate() {
                if i > 0 {
                    spans.push(Span::raw(" "));
                }
                let style = if i == 0 {
                    theme.command
                } else if word.starts_with('-') {
                    theme.flag
                } else {
                    theme.code
                };
                spans.push(Span::styled(word.to_string(), style));
            }
            Line::from(spans)
        }
        "toml" => match line.split_once('=') {
            Some((k, v)) => Line::from(vec![
                indent,
                Span::styled(k.to_string(), theme.flag),
                Span::raw("="),
                Span::styled(v.to_string(), theme.code),
            ]),
            None => Line::from(vec![indent, Span::styled(line.to_string(), theme.h3)]),
        },
        _ => Line::from(vec![indent, Span::styled(line.to_string(), theme.code)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_too_wide_for_the_page_wraps_its_cells_and_keeps_every_word() {
        let md = "| Stage | What it does | Size for a 28x28 input |\n|---|---|---|\n\
                  | conv1 | 7x7 convolution, stride 2, batch norm, ReLU | 14x14 |\n\
                  | layer2 | 2 basic blocks, first with stride 2 | 4x4 |\n";
        let theme = Theme::new(false, false);
        let lines: Vec<String> = render(md, 30, &theme)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        assert!(lines.iter().all(|l| l.width() <= 30), "{lines:#?}");
        let text = lines.join(" ");
        for word in md
            .split(['|', ' ', '\n'])
            .filter(|w| !w.is_empty() && !w.starts_with('-'))
        {
            assert!(text.contains(word), "{word:?} lost from {lines:#?}");
        }
        assert!(!text.contains('…'), "{lines:#?}");
    }
}
