//! `petri man`: one manual page that documents every command. clap_mangen's page lists the
//! subcommands as `petri-data(1)` and friends, pages that nothing installs; here each visible
//! subcommand, at every level, gets its own section on the one page (synopsis, description,
//! options, examples), and hidden ones (`grade-worker`) stay out.

use clap::Command;
use clap_mangen::Man;
use std::io;

/// The page for `cmd` (the whole command line, `Cli::command()`).
pub fn render(cmd: Command) -> io::Result<Vec<u8>> {
    let mut cmd = cmd.bin_name("petri").disable_help_subcommand(true);
    cmd.build();
    let man = Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    page.extend_from_slice(b".SH COMMANDS\n");
    for sub in visible(&cmd) {
        page.extend_from_slice(format!(".TP\n\\fB{}\\fR\n", full_name(sub)).as_bytes());
        if let Some(about) = sub.get_about() {
            page.extend_from_slice(format!("{}\n", escape(&about.to_string())).as_bytes());
        }
    }
    for sub in visible(&cmd) {
        command_sections(sub, &mut page)?;
    }
    if cmd.get_after_help().is_some() {
        let mut notes = Vec::new();
        man.render_extra_section(&mut notes)?;
        page.extend(rename_sections(&notes, |_| "NOTES".to_string()));
    }
    man.render_version_section(&mut page)?;
    Ok(dedupe_preamble(page))
}

/// The visible subcommands of `cmd`, depth first.
fn visible(cmd: &Command) -> Vec<&Command> {
    let mut out = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.push(sub);
        out.extend(visible(sub));
    }
    out
}

/// "petri data fetch" (bin names are set by `Command::build`).
fn full_name(cmd: &Command) -> String {
    cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string()
}

/// One command's section: `.SH "PETRI DATA FETCH"` with its synopsis, description, options
/// and examples as subsections.
fn command_sections(cmd: &Command, page: &mut Vec<u8>) -> io::Result<()> {
    let man = Man::new(cmd.clone());
    let mut part = Vec::new();
    man.render_synopsis_section(&mut part)?;
    man.render_description_section(&mut part)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut part)?;
    }
    if cmd.get_after_help().is_some() {
        man.render_extra_section(&mut part)?;
    }
    page.extend_from_slice(format!(".SH \"{}\"\n", full_name(cmd).to_uppercase()).as_bytes());
    page.extend(rename_sections(&part, |title| match title {
        "EXTRA" => ".SS NOTES".to_string(),
        other => format!(".SS {other}"),
    }));
    Ok(())
}

/// `.SH TITLE` lines rewritten by `rename` (which gets the title and returns the whole line).
fn rename_sections(roff: &[u8], rename: impl Fn(&str) -> String) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::new();
    for line in text.lines() {
        match line.strip_prefix(".SH ") {
            Some(title) => out.push_str(&rename(title.trim_matches('"'))),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// Each render starts with roff's apostrophe preamble; once at the top is enough.
fn dedupe_preamble(page: Vec<u8>) -> Vec<u8> {
    const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let text = String::from_utf8_lossy(&page);
    match text.split_once(PREAMBLE) {
        Some((head, rest)) => {
            format!("{head}{PREAMBLE}{}", rest.replace(PREAMBLE, "")).into_bytes()
        }
        None => page,
    }
}

/// Text that roff would read as a request if it began a line.
fn escape(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.replace('\\', "\\\\")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
