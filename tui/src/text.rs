//! Text laid out for the terminal: word wrapping that the screens and the lesson renderer share.

/// `text` in lines of at most `width` columns, broken between words; a word longer than a
/// line (a path, say) is broken where the line ends.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    let width = width.max(1);
    let mut words: Vec<String> = Vec::new();
    for word in text.split(' ') {
        let mut rest: Vec<char> = word.chars().collect();
        while unicode_width::UnicodeWidthStr::width(rest.iter().collect::<String>().as_str())
            > width
        {
            let tail = rest.split_off(width);
            words.push(rest.into_iter().collect());
            rest = tail;
        }
        words.push(rest.into_iter().collect());
    }
    for word in &words {
        let word = word.as_str();
        let used = unicode_width::UnicodeWidthStr::width(line.as_str());
        let w = unicode_width::UnicodeWidthStr::width(word);
        if !line.is_empty() && used + 1 + w > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push(line);
    out
}

/// One line of an indented report in lines of at most `width` columns, continuation lines
/// indented under the first one's text: past its leading spaces, and past a `! ` or `- `
/// bullet.
pub fn wrap_hanging(line: &str, width: usize) -> Vec<String> {
    let lead = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[lead..];
    let bullet = if rest.starts_with("! ") || rest.starts_with("- ") {
        2
    } else {
        0
    };
    let indent = lead + bullet;
    if indent + 8 > width {
        return wrap_words(line, width);
    }
    let mut out = Vec::new();
    for (i, part) in wrap_words(&line[indent..], width - indent)
        .into_iter()
        .enumerate()
    {
        let head = if i == 0 { &line[..indent] } else { "" };
        out.push(format!("{head:<indent$}{part}"));
    }
    out
}

/// A name in at most `w` characters: whole when it fits, else cut with an ellipsis.
pub fn fit(name: &str, w: usize, ascii: bool) -> String {
    if name.chars().count() <= w {
        return name.to_string();
    }
    let cut: String = name.chars().take(w.saturating_sub(1)).collect();
    format!("{cut}{}", if ascii { "." } else { "…" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_wrap_between_words() {
        assert_eq!(
            super::wrap_words("fetch the part's dataset", 10),
            vec!["fetch the", "part's", "dataset"]
        );
        assert_eq!(super::wrap_words("short", 10), vec!["short"]);
        assert_eq!(
            super::wrap_hanging("  ! [x] few images here", 14),
            vec!["  ! [x] few", "    images", "    here"]
        );
        assert_eq!(
            super::wrap_words("at /a/very/long/path", 8),
            vec!["at", "/a/very/", "long/pat", "h"]
        );
    }
}
