//! `petri completions SHELL`: the completion script, with what a user can type where. The
//! command line leaves some values open (a part is a lesson's number, name or id; a challenge
//! may be named in full or by its last word), so the parser cannot list them; here they are
//! attached for the script alone: parts after `lesson` and `quiz`, challenges after
//! `challenge show|start` and `grade --challenge`, datasets after `data fetch`. Hidden commands
//! and flags (`grade-worker`, `run --job`) are left out, and fish, whose generator completes no
//! positional values, gets them added.

use clap::builder::PossibleValue;
use clap::{Arg, Command};
use clap_complete::Shell;

/// Values to offer for an argument: (command path, argument id, values).
fn candidates() -> Vec<(&'static str, &'static str, Vec<String>)> {
    let parts = crate::lessons::embedded_part_names();
    let challenges = crate::installed::challenge_ids();
    let datasets: Vec<String> = petri_engine::data::fetchable::Fetchable::all()
        .iter()
        .map(|f| f.name())
        .collect();
    vec![
        ("lesson", "part", parts.clone()),
        ("quiz", "part", parts),
        ("challenge show", "id", challenges.clone()),
        ("challenge start", "id", challenges.clone()),
        ("grade", "challenge", challenges),
        ("data fetch", "name", datasets),
    ]
}

/// The completion script for `shell`.
pub fn render(cmd: Command, shell: Shell) -> Vec<u8> {
    let offered = candidates();
    let mut cmd = visible("", &cmd, &offered);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "petri", &mut out);
    if shell == Shell::Fish {
        out.extend(fish_positionals(&cmd, &[]).into_bytes());
    }
    out
}

/// `cmd` without hidden subcommands and arguments, with `offered` values attached.
fn visible(path: &str, cmd: &Command, offered: &[(&str, &str, Vec<String>)]) -> Command {
    let mut out = Command::new(leak(cmd.get_name()));
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    if let Some(version) = cmd.get_version() {
        out = out.version(leak(version));
    }
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let mut arg: Arg = arg.clone();
        if let Some((_, _, values)) = offered
            .iter()
            .find(|(p, id, _)| *p == path && *id == arg.get_id().as_str())
        {
            let values: Vec<PossibleValue> =
                values.iter().map(|v| PossibleValue::new(leak(v))).collect();
            arg = arg.value_parser(clap::builder::PossibleValuesParser::new(values));
        }
        out = out.arg(arg);
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_path = if path.is_empty() {
            sub.get_name().to_string()
        } else {
            format!("{path} {}", sub.get_name())
        };
        out = out.subcommand(visible(&sub_path, sub, offered));
    }
    out
}

/// fish lines offering the values of positional arguments (clap_complete's fish generator
/// completes options only), in the conditions its own lines use.
fn fish_positionals(cmd: &Command, parents: &[&str]) -> String {
    let mut out = String::new();
    let values: Vec<String> = cmd
        .get_positionals()
        .flat_map(|a| a.get_possible_values())
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() {
        let condition = match parents {
            [] => "__fish_petri_needs_command".to_string(),
            [one] => format!("__fish_petri_using_subcommand {one}"),
            [one, two, ..] => {
                format!(
                    "__fish_petri_using_subcommand {one}; and __fish_seen_subcommand_from {two}"
                )
            }
        };
        out.push_str(&format!(
            "complete -c petri -n \"{condition}\" -f -a \"{}\"\n",
            values.join(" ")
        ));
    }
    for sub in cmd.get_subcommands() {
        let mut path = parents.to_vec();
        path.push(sub.get_name());
        out.push_str(&fish_positionals(sub, &path));
    }
    out
}

/// clap's names are `&'static str`; a completion script is generated once per process, so the
/// few names copied here live until it exits.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}
