//! `petri challenge ...` (students) and `petri grade` (instructors, CI): thin wrappers over
//! `petri-grader` that print a breakdown and write reports.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use petri_engine::progress::Progress;
use petri_grader::report::{self, Format};
use petri_grader::{Challenge, Grader, SubmissionResult, challenge, harness::BuildEnv};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use petri_grader::challenge::MARKER;

#[derive(Subcommand)]
pub enum ChallengeCommand {
    /// List the challenges with their kind and points
    List,
    /// Print a challenge's statement and where its starter goes
    Show { id: String },
    /// Copy a challenge's starter (never its reference) into a folder to work in
    Start {
        id: String,
        /// Folder to create [default: ./petri-<name>]
        #[arg(long)]
        dir: Option<PathBuf>,
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

#[derive(Args)]
pub struct GradeArgs {
    /// The challenge, e.g. `segmentation/dice` or `dice`
    #[arg(long)]
    pub challenge: String,
    /// Submission folders; a folder holding several submissions is graded one per subfolder
    pub submissions: Vec<PathBuf>,
    /// Submissions graded at once
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Where reports go
    #[arg(long, default_value = "grades")]
    pub out: PathBuf,
    /// Report formats, comma-separated: gradescope, junit, json, csv
    #[arg(long, default_value = "gradescope,junit,json,csv")]
    pub format: String,
    /// Shared cargo target folder for code submissions [default: $PETRI_GRADE_TARGET, else in the state dir]
    #[arg(long)]
    pub target_dir: Option<PathBuf>,
    /// Visible checks only (what a student's `petri challenge check` runs)
    #[arg(long)]
    pub visible_only: bool,
    /// Write a Gradescope autograder zip for this challenge to this file and exit
    #[arg(long, value_name = "ZIP")]
    pub gradescope_bundle: Option<PathBuf>,
}

fn find(id: &str) -> Result<Challenge> {
    Ok(challenge::find(&crate::paths::challenges_dir(), id)?)
}

pub fn run(cmd: ChallengeCommand, data_dir: &Path, state_dir: &Path) -> Result<()> {
    match cmd {
        ChallengeCommand::List => {
            let all = challenge::load_all(&crate::paths::challenges_dir())?;
            println!("{:<34} {:<7} {:>6}  TITLE", "CHALLENGE", "KIND", "POINTS");
            for c in all {
                let kind = match c.kind {
                    petri_grader::Kind::Code => "code",
                    petri_grader::Kind::Config => "config",
                };
                println!("{:<34} {kind:<7} {:>6}  {}", c.id, c.max_points(), c.title);
            }
            println!("\nStart one with `petri challenge start <challenge>`.");
            Ok(())
        }
        ChallengeCommand::Show { id } => {
            let c = find(&id)?;
            println!("{}\n", c.title);
            println!("{}", c.statement_text()?);
            println!("You edit: {}", c.files.join(", "));
            println!("Start with `petri challenge start {}`.", c.id);
            Ok(())
        }
        ChallengeCommand::Start { id, dir } => start(&find(&id)?, dir),
        ChallengeCommand::Check { dir } => {
            check(&dir.unwrap_or_else(|| ".".into()), data_dir, state_dir)
        }
        ChallengeCommand::Hint { dir } => hint(&dir.unwrap_or_else(|| ".".into())),
    }
}

fn start(c: &Challenge, dir: Option<PathBuf>) -> Result<()> {
    let name = c.id.rsplit('/').next().unwrap_or("challenge");
    let dir = dir.unwrap_or_else(|| PathBuf::from(format!("petri-{name}")));
    c.copy_starter(&dir)?;
    println!("Created {} for '{}'.", dir.display(), c.title);
    println!(
        "Edit {} there, then run `petri challenge check {}`.",
        c.files.join(", "),
        dir.display()
    );
    Ok(())
}

fn challenge_of(dir: &Path) -> Result<Challenge> {
    let marker = dir.join(MARKER);
    let id = std::fs::read_to_string(&marker).with_context(|| {
        format!("{} is not a challenge folder (no {MARKER}): make one with `petri challenge start <challenge>`", dir.display())
    })?;
    find(id.trim())
}

fn hint(dir: &Path) -> Result<()> {
    let c = challenge_of(dir)?;
    let seen_file = dir.join(".petri-hints");
    let seen: usize = std::fs::read_to_string(&seen_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    match c.hints.get(seen) {
        Some(h) => {
            println!("Hint {} of {}: {h}", seen + 1, c.hints.len());
            std::fs::write(&seen_file, format!("{}\n", seen + 1))?;
        }
        None => println!(
            "No more hints ({} shown). The lesson for this part explains the idea.",
            c.hints.len()
        ),
    }
    Ok(())
}

pub fn grader(
    data_dir: &Path,
    state_dir: &Path,
    target: Option<PathBuf>,
    hidden: bool,
) -> Result<Grader> {
    let work_dir = std::env::temp_dir().join(format!("petri-grade-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;
    // Sandboxed submissions run under their own user id and must reach their folders.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&work_dir, std::fs::Permissions::from_mode(0o711))?;
    Ok(Grader {
        build: BuildEnv::from_checkout(
            target.unwrap_or_else(|| crate::paths::grade_target_dir(state_dir)),
        ),
        worker: std::env::current_exe().context("cannot find the petri binary")?,
        data_dir: data_dir.to_path_buf(),
        work_dir,
        hidden,
    })
}

fn print_result(r: &SubmissionResult) {
    println!("{}: {:.2} / {} points", r.submission, r.score, r.max_score);
    for c in &r.checks {
        let mark = if c.score >= c.max_score {
            "pass"
        } else if c.score > 0.0 {
            "part"
        } else {
            "FAIL"
        };
        let vis = if c.visible { "" } else { " (hidden)" };
        println!(
            "  [{mark}] {:>5.2}/{:<4} {}{vis}",
            c.score, c.max_score, c.name
        );
        for line in c.output.lines().take(8) {
            println!("         {line}");
        }
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
}

fn check(dir: &Path, data_dir: &Path, state_dir: &Path) -> Result<()> {
    let c = challenge_of(dir)?;
    println!(
        "Checking {} ({}) with its visible checks...",
        dir.display(),
        c.id
    );
    let g = grader(data_dir, state_dir, None, false)?;
    let r = g.grade(&c, dir);
    let _ = std::fs::remove_dir_all(&g.work_dir);
    let r = r?;
    print_result(&r);
    if r.score >= r.max_score {
        let path = crate::paths::progress_file(state_dir);
        Progress::update(&path, |p| {
            p.part(&crate::course::progress_key(&c.part))
                .challenges_passed
                .insert(c.id.clone());
        })?;
        println!("All visible checks pass. Hidden checks run when your instructor grades.");
    }
    Ok(())
}

/// Expands folders of submissions: a folder without the challenge's files stands for its
/// subfolders.
fn submissions(c: &Challenge, args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        if !a.is_dir() {
            bail!(
                "{} is not a folder: give submission folders (or a folder of them)",
                a.display()
            );
        }
        if c.files.iter().any(|f| a.join(f).exists()) {
            out.push(a.clone());
        } else {
            let mut subs: Vec<PathBuf> = std::fs::read_dir(a)?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            subs.sort();
            if subs.is_empty() {
                // Graded anyway: it scores 0 with "file missing", which is the truth.
                out.push(a.clone());
            }
            out.extend(subs);
        }
    }
    if out.is_empty() {
        bail!(
            "no submissions given: petri grade --challenge {} FOLDER...",
            c.id
        );
    }
    Ok(out)
}

pub fn grade(args: GradeArgs, data_dir: &Path, state_dir: &Path) -> Result<()> {
    let c = find(&args.challenge)?;
    if let Some(zip) = &args.gradescope_bundle {
        petri_grader::bundle::write(&c, zip)?;
        println!(
            "Wrote {}: upload it as the autograder of a Gradescope programming assignment.",
            zip.display()
        );
        return Ok(());
    }
    let formats = Format::parse_list(&args.format)?;
    let subs = submissions(&c, &args.submissions)?;
    let g = grader(
        data_dir,
        state_dir,
        args.target_dir.clone(),
        !args.visible_only,
    )?;
    eprintln!(
        "Grading {} submission(s) of {} with {} job(s)...",
        subs.len(),
        c.id,
        args.jobs.max(1)
    );
    let queue = Mutex::new(subs.iter().enumerate().collect::<Vec<_>>().into_iter());
    let results: Mutex<Vec<(usize, SubmissionResult)>> = Mutex::new(Vec::new());
    let fatal: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..args.jobs.clamp(1, 64) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some((i, sub)) = next else { break };
                    match g.grade(&c, sub) {
                        Ok(r) => {
                            eprintln!("  {} {:.2}/{}", r.submission, r.score, r.max_score);
                            results
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push((i, r));
                        }
                        Err(e) => {
                            *fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.into());
                            break;
                        }
                    }
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&g.work_dir);
    if let Some(e) = fatal.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e.context("the grader could not run"));
    }
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<SubmissionResult> = results.into_iter().map(|(_, r)| r).collect();
    for r in &results {
        print_result(r);
    }
    let written = report::write(&args.out, &results, &formats)?;
    for w in written {
        println!("wrote {}", w.display());
    }
    Ok(())
}

/// `petri grade-worker TASK DIR`: the config side of a challenge, run by the grader inside the
/// sandbox.
pub fn worker(task: &str, dir: &Path) -> Result<()> {
    let t = petri_grader::tasks::find(task).with_context(|| format!("unknown task '{task}'"))?;
    Ok(t.work(dir)?)
}
