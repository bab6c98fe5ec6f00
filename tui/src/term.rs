//! What the terminal can show, decided once from `TERM`, `NO_COLOR` and whether a stream is a
//! terminal: `TERM=dumb` gets plain lines (no progress bars, no full-screen tutor), `TERM=linux`
//! (the Linux console) plain ASCII, `NO_COLOR` no colours.

fn term() -> String {
    std::env::var("TERM").unwrap_or_default()
}

/// A terminal that cannot move the cursor or draw: `TERM=dumb` (Emacs shells, some CI logs).
pub fn dumb() -> bool {
    term() == "dumb"
}

/// Whether a stream that `is_tty` can show live progress bars and full-screen drawing.
pub fn interactive(is_tty: bool) -> bool {
    is_tty && !dumb()
}

/// ASCII only: asked for, or a console whose font lacks Braille and box glyphs.
pub fn ascii_only(asked: bool) -> bool {
    asked || dumb() || term() == "linux"
}

/// Colours, unless `NO_COLOR` is set (https://no-color.org) or the terminal is dumb.
pub fn colours() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && !dumb()
}

/// Progress bar glyphs (filled, tip, empty): ASCII on a console that lacks block glyphs.
pub fn bar_chars() -> &'static str {
    if ascii_only(false) {
        "#>-"
    } else {
        "█▉░"
    }
}
