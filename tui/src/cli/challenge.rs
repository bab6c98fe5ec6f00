//! `petri challenge ...` (students): list, start, check and hint, thin wrappers over
//! `petri-grader` that print a breakdown. Instructors' `petri grade` is in `grade.rs`.

use crate::progress::{self, Progress};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use petri_grader::challenge::{MARKER, Marker};
use petri_grader::{Challenge, Language, SubmissionResult, challenge};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum ChallengeCommand {
    /// List the challenges with their kind and points
    List,
    /// Print a challenge's statement and where its starter goes
    Show {
        /// The challenge: `segmentation/dice`, or `dice` when the name is unique
        id: String,
        /// Show the code in this language: rust or python [default: your last choice, else rust]
        #[arg(long, value_name = "LANGUAGE", value_parser = crate::run_spec::one_of(Language::ALL, Language::name))]
        lang: Option<Language>,
    },
    /// Copy a challenge's starter (never its reference) into a folder to work in
    Start {
        /// The challenge: `segmentation/dice`, or `dice` when the name is unique
        id: String,
        /// Folder to create [default: ./petri-<name>]
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Answer in this language: rust, or python (with numpy); remembered for next time
        /// [default: your last choice, else rust]
        #[arg(long, value_name = "LANGUAGE", value_parser = crate::run_spec::one_of(Language::ALL, Language::name))]
        lang: Option<Language>,
    },
    /// Run the visible checks on your work and print the score breakdown
    Check {
        /// The folder made by `petri challenge start` [default: .]
        dir: Option<PathBuf>,
    },
    /// Print the next hint (hints are revealed one at a time)
    Hint {
        /// The folder made by `petri challenge start` [default: .]
        dir: Option<PathBuf>,
    },
}

/// `--lang` when given, else the student's saved choice, else Rust.
fn language_or_saved(lang: Option<Language>, state_dir: &Path) -> Language {
    lang.or_else(|| {
        Progress::load(&crate::paths::progress_file(state_dir))
            .ok()?
            .language
    })
    .unwrap_or(Language::Rust)
}

fn find(id: &str) -> Result<Challenge> {
    Ok(challenge::find(&crate::paths::challenges_dir(), id)?)
}

pub fn run(
    cmd: ChallengeCommand,
    data_dir: &Path,
    state_dir: &Path,
    lessons_dir: Option<&Path>,
) -> Result<()> {
    match cmd {
        ChallengeCommand::List => {
            let all = challenge::load_all(&crate::paths::challenges_dir())?;
            crate::outln!("{:<34} {:<7} {:>6}  TITLE", "CHALLENGE", "KIND", "POINTS")?;
            for c in all {
                let kind = match c.kind {
                    petri_grader::Kind::Code => "code",
                    petri_grader::Kind::Config => "config",
                };
                crate::outln!("{:<34} {kind:<7} {:>6}  {}", c.id, c.max_points(), c.title)?;
            }
            crate::outln!("\nStart one with `petri challenge start <challenge>`.")?;
            Ok(())
        }
        ChallengeCommand::Show { id, lang } => {
            let c = find(&id)?;
            let language = language_or_saved(lang, state_dir);
            crate::outln!("{}\n", c.title)?;
            crate::outln!("{}", c.statement_for(language)?)?;
            let files = c.files_for(language);
            crate::outln!("You edit: {}", files.join(", "))?;
            crate::outln!("{}", start_line(&c))?;
            Ok(())
        }
        ChallengeCommand::Start { id, dir, lang } => start(&find(&id)?, dir, lang, state_dir),
        ChallengeCommand::Check { dir } => check(
            &dir.unwrap_or_else(|| ".".into()),
            data_dir,
            state_dir,
            lessons_dir,
        ),
        ChallengeCommand::Hint { dir } => hint(&dir.unwrap_or_else(|| ".".into())),
    }
}

/// How to start `c`: in each language for a code challenge.
fn start_line(c: &Challenge) -> String {
    match c.kind {
        petri_grader::Kind::Code => format!(
            "Start with `petri challenge start {id} --lang rust` or `petri challenge start {id} --lang python`.",
            id = c.id
        ),
        petri_grader::Kind::Config => format!("Start with `petri challenge start {}`.", c.id),
    }
}

fn start(
    c: &Challenge,
    dir: Option<PathBuf>,
    lang: Option<Language>,
    state_dir: &Path,
) -> Result<()> {
    let name = c.id.rsplit('/').next().unwrap_or("challenge");
    let dir = dir.unwrap_or_else(|| PathBuf::from(format!("petri-{name}")));
    let language = language_or_saved(lang, state_dir);
    c.copy_starter(&dir, language)?;
    if let Some(chosen) = lang {
        Progress::update(&crate::paths::progress_file(state_dir), |p| {
            p.language = Some(chosen)
        })?;
    }
    crate::outln!("Created {} for '{}'.", dir.display(), c.title)?;
    let files = c.files_for(language);
    let what = match c.kind {
        petri_grader::Kind::Code => format!("{} ({})", files.join(", "), language.title()),
        petri_grader::Kind::Config => files.join(", "),
    };
    crate::outln!(
        "Edit {what} there, then run `petri challenge check {}`.",
        dir.display()
    )?;
    if c.kind == petri_grader::Kind::Code && lang.is_none() {
        let other = Language::ALL.into_iter().find(|l| *l != language);
        if let Some(other) = other {
            crate::outln!(
                "(To answer in {} instead: `petri challenge start {} --lang {other} --dir <another folder>`.)",
                other.title(),
                c.id
            )?;
        }
    }
    Ok(())
}

/// The challenge of a folder made by `petri challenge start`, and its marker.
fn challenge_of(dir: &Path) -> Result<(Challenge, Marker)> {
    let marker = Marker::read(dir).with_context(|| {
        format!("{} is not a challenge folder (no {MARKER}): make one with `petri challenge start <challenge>`", dir.display())
    })?;
    Ok((find(&marker.id)?, marker))
}

fn hint(dir: &Path) -> Result<()> {
    let (c, marker) = challenge_of(dir)?;
    let hints = c.hints_for(marker.language);
    let seen = progress::hints_shown(dir);
    match hints.get(seen) {
        Some(h) => {
            crate::outln!("Hint {} of {}: {h}", seen + 1, hints.len())?;
            progress::set_hints_shown(dir, seen + 1)?;
        }
        None => crate::outln!(
            "No more hints ({} shown). The lesson for this part explains the idea.",
            hints.len()
        )?,
    }
    Ok(())
}

fn print_result(r: &SubmissionResult) -> Result<(), crate::out::StdoutError> {
    match r.score {
        Some(score) => crate::outln!("{}: {score:.2} / {} points", r.submission, r.max_score)?,
        None => crate::outln!("{}: not graded / {} points", r.submission, r.max_score)?,
    }
    for c in &r.checks {
        let mark = match c.score {
            None => "ERR ",
            Some(_) if c.passed() => "pass",
            Some(s) if s > 0.0 => "part",
            Some(_) => "FAIL",
        };
        let vis = if c.visible { "" } else { " (hidden)" };
        let score = c.score.map_or("  -  ".to_string(), |s| format!("{s:>5.2}"));
        let lost = c.lost.map_or(String::new(), |l| format!(": {}", l.label()));
        crate::outln!(
            "  [{mark}] {score}/{:<4} {}{vis}{lost}",
            c.max_score,
            c.name
        )?;
        for line in c.output.lines().take(8) {
            crate::outln!("         {line}")?;
        }
    }
    for n in &r.notes {
        crate::outln!("  note: {n}")?;
    }
    Ok(())
}

/// Visible checks short of full marks (`petri challenge check` exits 1).
#[derive(Debug)]
pub struct ChecksShort {
    pub short: usize,
    pub of: usize,
}

impl std::fmt::Display for ChecksShort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} visible check(s) short of full marks",
            self.short, self.of
        )
    }
}

impl std::error::Error for ChecksShort {}

fn check(dir: &Path, data_dir: &Path, state_dir: &Path, lessons_dir: Option<&Path>) -> Result<()> {
    let (c, _) = challenge_of(dir)?;
    crate::outln!(
        "Checking {} ({}) with its visible checks...",
        dir.display(),
        c.id
    )?;
    let g = crate::grading::grader(data_dir, state_dir, None, false)?;
    // Rust answers link the kit (built once per machine); Python answers do not need it.
    if c.kind == petri_grader::Kind::Code && c.answer_language(dir) == Ok(Language::Rust) {
        // A fault here is reported with the result below.
        let _ = g.kit(&|msg| {
            let _ = crate::outln!("  {msg}");
        });
    }
    let r = g.grade(&c, dir);
    g.finish();
    print_result(&r)?;
    if let Some(e) = &r.error {
        bail!("the check could not run (not your code's fault): {e}");
    }
    crate::outln!("{}", petri_grader::report::check_summary(&c, &r))?;
    if r.passed() {
        // Progress is kept by the part's lesson id.
        let lessons = crate::lessons::load_ok(lessons_dir)?;
        let key =
            crate::course::part_named(&lessons, &c.part).map_or(c.part.clone(), |p| p.id.clone());
        let path = crate::paths::progress_file(state_dir);
        Progress::update(&path, |p| {
            p.part(&key).challenges_passed.insert(c.id.clone());
        })?;
        Ok(())
    } else {
        Err(ChecksShort {
            short: r.checks.iter().filter(|k| !k.passed()).count(),
            of: r.checks.len(),
        }
        .into())
    }
}

/// `petri grade-worker TASK DIR`: the config side of a challenge, run by the grader inside the
/// sandbox.
pub fn worker(task: &str, dir: &Path) -> Result<()> {
    let t = petri_grader::tasks::find(task).with_context(|| format!("unknown task '{task}'"))?;
    Ok(t.work(dir)?)
}
