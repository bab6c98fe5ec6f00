//! Styles and glyphs. Only foreground colours and modifiers, never backgrounds, so the tutor
//! reads on light and dark terminals; `NO_COLOR` drops colours; `--ascii` drops Unicode glyphs.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone)]
pub struct Theme {
    pub ascii: bool,
    /// Colours allowed (false under `NO_COLOR`): images then draw as character shades.
    pub color: bool,
    pub h1: Style,
    pub h2: Style,
    pub h3: Style,
    pub code: Style,
    pub command: Style,
    pub flag: Style,
    pub dim: Style,
    pub note: Style,
    pub warning: Style,
    pub good: Style,
    pub bad: Style,
    pub accent: Style,
    pub selected: Style,
}

impl Theme {
    pub fn new(color: bool, ascii: bool) -> Self {
        let fg = |c: Color| {
            if color {
                Style::new().fg(c)
            } else {
                Style::new()
            }
        };
        Theme {
            ascii,
            color,
            h1: fg(Color::Cyan).add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            h2: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            h3: Style::new().add_modifier(Modifier::BOLD),
            code: fg(Color::Green),
            command: fg(Color::Magenta).add_modifier(Modifier::BOLD),
            flag: fg(Color::Blue),
            dim: Style::new().add_modifier(Modifier::DIM),
            note: fg(Color::Blue),
            warning: fg(Color::Yellow).add_modifier(Modifier::BOLD),
            good: fg(Color::Green).add_modifier(Modifier::BOLD),
            bad: fg(Color::Red).add_modifier(Modifier::BOLD),
            accent: fg(Color::Magenta),
            selected: Style::new().add_modifier(Modifier::REVERSED),
        }
    }

    /// Colour unless `NO_COLOR` is set (https://no-color.org).
    /// `--ascii`, `TERM` and `NO_COLOR` decide (see `term.rs`).
    pub fn from_env(ascii: bool) -> Self {
        Theme::new(crate::term::colours(), crate::term::ascii_only(ascii))
    }

    pub fn bar(&self) -> &'static str {
        if self.ascii { "| " } else { "▌ " }
    }

    pub fn column(&self) -> &'static str {
        if self.ascii { "|" } else { "│" }
    }

    pub fn rule(&self, width: usize) -> String {
        (if self.ascii { "-" } else { "─" }).repeat(width)
    }

    pub fn bullet(&self, depth: usize) -> &'static str {
        match (self.ascii, depth % 2) {
            (true, 1) => "*",
            (true, _) => "-",
            (false, 1) => "•",
            (false, _) => "◦",
        }
    }

    pub fn pointer(&self) -> &'static str {
        if self.ascii { "> " } else { "▶ " }
    }
}

/// Replaces every non-ASCII glyph of a drawn frame with an ASCII one (`--ascii`, `TERM=linux`,
/// `TERM=dumb`): box borders become `+ - |`, blocks and bars `# : .`, Braille chart dots `*`,
/// arrows `< > ^ v`. One pass over the buffer, so no widget can slip a glyph through.
pub fn asciify(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        let sym = cell.symbol();
        if sym.is_ascii() {
            continue;
        }
        let c = sym.chars().next().unwrap_or(' ');
        let ascii = match c {
            '─' | '━' | '═' | '╌' | '╍' | '┄' | '┅' | '┈' | '┉' | '╴' | '╶' | '╸' | '╺' => {
                "-"
            }
            '│' | '┃' | '║' | '╎' | '╏' | '┆' | '┇' | '┊' | '┋' | '╵' | '╷' | '╹' | '╻' => {
                "|"
            }
            '\u{2500}'..='\u{257f}' => "+",
            '░' | '▁' | '▂' | '▃' => ".",
            '▒' | '▄' | '▅' => ":",
            '\u{2580}'..='\u{259f}' => "#",
            '\u{2800}' => " ",
            '\u{2801}'..='\u{28ff}' => "*",
            '←' => "<",
            '→' => ">",
            '↑' => "^",
            '↓' => "v",
            '•' | '●' | '◦' | '○' => "*",
            '…' => ".",
            '±' => "~",
            '×' => "x",
            _ => "?",
        };
        cell.set_symbol(ascii);
    }
}
