//! `petri grade` (instructors, CI) and `petri grade-merge`: grade a class's submissions in
//! parallel, keep the reports current as each finishes, resume an interrupted run, regrade
//! some, grade one shard of many and merge the shards.
//!
//! Exit status: 0 when every submission was graded; 1 when grading could not start (bad
//! arguments, unknown challenge, unwritable reports); 3 when some submission could not be
//! graded through the grader's fault (the reports say which and why); 130 when stopped.

use anyhow::{Context, Result, bail};
use clap::Args;
use petri_grader::report::{self, Format, Reports};
use petri_grader::shard::{self, Shard, ShardManifest, ShardOutput};
use petri_grader::{Challenge, Grader, Kind, SubmissionResult, challenge};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[derive(Args)]
#[command(after_help = "\
Reports (in --out): results.jsonl (always: one line per submission, appended as each finishes; \
--resume, --only and grade-merge read it), gradescope/NAME/results.json (or results.json for a \
single submission), junit.xml, gradebook.csv.

Exit status: 0 every submission graded; 1 grading could not start; 3 some submissions could \
not be graded through the grader's fault (no toolchain, a full disk, a missing dataset: the \
reports mark them as errors, never as 0); 130 stopped (add --resume to continue).

Examples:
  petri grade --challenge dice submissions/ --jobs 4
  petri grade --challenge dice submissions/ --resume          # after a crash or Ctrl-C
  petri grade --challenge dice submissions/ --only ada,bob    # regrade two into the reports
  petri grade --challenge dice submissions/ --shard 3/8 --out shard-3
  petri grade-merge --out grades shard-*")]
pub struct GradeArgs {
    /// The challenge, e.g. `segmentation/dice` or `dice`
    #[arg(long)]
    pub challenge: String,
    /// Submission folders; a folder holding several submissions is graded one per subfolder
    pub submissions: Vec<PathBuf>,
    /// Submissions graded (and built) at once; each has its own time and memory limits
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Where reports go
    #[arg(long, default_value = "grades")]
    pub out: PathBuf,
    /// Report formats besides results.jsonl, comma-separated (json: results.jsonl, which is
    /// always written)
    #[arg(long, value_delimiter = ',', default_value = "gradescope,junit,json,csv",
          value_parser = ["gradescope", "junit", "json", "jsonl", "csv"])]
    pub format: Vec<String>,
    /// Where the kit that code submissions link is built once per machine [default:
    /// $PETRI_GRADE_KIT, else grade-kit in the state dir]
    #[arg(long, value_name = "DIR")]
    pub kit_dir: Option<PathBuf>,
    /// Visible checks only (what a student's `petri challenge check` runs)
    #[arg(long)]
    pub visible_only: bool,
    /// Continue a stopped run in --out: submissions already graded there (and unchanged since)
    /// are kept, the rest graded
    #[arg(long, conflicts_with = "only")]
    pub resume: bool,
    /// Regrade only these submissions (folder names, comma-separated or repeated) into the
    /// reports already in --out
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub only: Vec<String>,
    /// Grade the I-th of N shares of the submissions (by name, round robin), for a CI matrix
    /// or a Slurm array; combine the shards' --out folders with `petri grade-merge`
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Write a Gradescope autograder zip for this challenge to this file and exit
    #[arg(long, value_name = "ZIP")]
    pub gradescope_bundle: Option<PathBuf>,
}

#[derive(Args)]
#[command(after_help = "\
Reads each folder's results.jsonl and shard.json and writes one set of reports, the same as \
grading every submission on one machine. A shard that is missing or unfinished, given twice, \
or of another class (or split) is refused, exit status 1, naming what is wrong; --partial merges \
what is there despite a missing or unfinished shard, and the reports say so (merge.json, \
JUnit's title). Exit status 3 when a merged submission was not graded.

Example:
  petri grade-merge --out grades shard-1 shard-2 shard-3")]
pub struct MergeArgs {
    /// The shards' --out folders
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Where the merged reports go
    #[arg(long, default_value = "grades")]
    pub out: PathBuf,
    /// Merge even when shards are missing or unfinished (never a duplicated or foreign one);
    /// the reports say what is missing
    #[arg(long)]
    pub partial: bool,
    /// Report formats besides results.jsonl, comma-separated (json: results.jsonl, which is
    /// always written)
    #[arg(long, value_delimiter = ',', default_value = "gradescope,junit,json,csv",
          value_parser = ["gradescope", "junit", "json", "jsonl", "csv"])]
    pub format: Vec<String>,
}

/// Some submissions could not be graded through the grader's fault (exit status 3).
#[derive(Debug)]
pub struct Ungraded {
    pub count: usize,
    pub out: PathBuf,
}

impl std::fmt::Display for Ungraded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} submission(s) could not be graded through the grader's fault (not scored; the reports in {} say why). Fix the cause and add --resume to grade just those.",
            self.count,
            self.out.display()
        )
    }
}

impl std::error::Error for Ungraded {}

/// The grading run was stopped (exit status 130).
#[derive(Debug)]
pub struct Stopped {
    pub out: PathBuf,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped; the submissions graded so far are in {}. Run the same command with --resume to continue.",
            self.out.display()
        )
    }
}

impl std::error::Error for Stopped {}

/// A submission folder and its name (the name its reports are kept by), computed once.
struct Submission {
    name: String,
    path: PathBuf,
}

/// Expands folders of submissions: a folder without the challenge's files stands for its
/// subfolders. Refuses two submissions of one name (their reports would collide). Sorted by
/// name.
fn submissions(c: &Challenge, args: &[PathBuf]) -> Result<Vec<Submission>> {
    let mut out = Vec::new();
    for a in args {
        if !a.is_dir() {
            bail!(
                "{} is not a folder: give submission folders (or a folder of them)",
                a.display()
            );
        }
        if c.answer_files().iter().any(|f| a.join(f).exists()) {
            out.push(a.clone());
        } else {
            let mut subs: Vec<PathBuf> = std::fs::read_dir(a)
                .with_context(|| format!("cannot list {}", a.display()))?
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
    let mut named: Vec<(String, PathBuf)> = out
        .into_iter()
        .map(|p| (petri_grader::grade::submission_name(&p), p))
        .collect();
    named.sort();
    for w in named.windows(2) {
        if w[0].0 == w[1].0 {
            bail!(
                "two submissions are named '{}' ({} and {}): reports are kept by folder name, so rename one",
                w[0].0,
                w[0].1.display(),
                w[1].1.display()
            );
        }
    }
    Ok(named
        .into_iter()
        .map(|(name, path)| Submission { name, path })
        .collect())
}

fn find(id: &str) -> Result<Challenge> {
    Ok(challenge::find(&crate::paths::challenges_dir(), id)?)
}

pub fn grade(args: GradeArgs, data_dir: &Path, state_dir: &Path) -> Result<()> {
    let c = find(&args.challenge)?;
    if let Some(zip) = &args.gradescope_bundle {
        return write_bundle(&c, zip);
    }
    let formats = Format::parse_list(&args.format.join(","))?;
    let all = submissions(&c, &args.submissions)?;
    let single = all.len() == 1;
    let mut subs = chosen(&all, args.shard, &args.only)?;
    let keep = args.resume || !args.only.is_empty();
    let reports = Reports::open(&args.out, &c.id, &formats, keep, single)?;
    if let Some(s) = args.shard {
        let class: Vec<String> = all.iter().map(|s| s.name.clone()).collect();
        ShardManifest::new(&c.id, s, &class).save(&args.out)?;
    }
    if args.resume {
        subs.retain(|s| !already_graded(&reports, &c, s));
    }
    let g = crate::grading::grader(
        data_dir,
        state_dir,
        args.kit_dir.clone(),
        !args.visible_only,
    )?;
    let total = subs.len();
    eprintln!(
        "Grading {total} submission(s) of {} with {} job(s){}...",
        c.id,
        args.jobs,
        match (args.shard, args.resume) {
            (Some(s), _) => format!(" (shard {}/{} of {})", s.index, s.count, all.len()),
            (None, true) => format!(" ({} already graded)", all.len() - total),
            _ => String::new(),
        }
    );
    if c.kind == Kind::Code && total > 0 {
        // Built once, before the jobs start, so its progress is said once.
        if let Err(e) = g.kit(&|msg| eprintln!("  {msg}")) {
            eprintln!("  cannot build code submissions: {e}");
        }
    }
    // The jobs stop after the submissions being graded.
    let stop = crate::signals::stop_on_signal(
        "\nstopping after the submissions being graded now (Ctrl-C again to quit at once)",
    );
    let run = grade_all(&g, &c, &subs, args.jobs, reports, &stop);
    g.finish();
    if let Some(e) = run.write_error {
        return Err(e.context(format!(
            "cannot write the reports in {}",
            args.out.display()
        )));
    }
    let written = run.reports.finish()?;
    for w in written.iter().take(6) {
        crate::outln!("wrote {}", w.display())?;
    }
    if written.len() > 6 {
        crate::outln!("wrote {} more report files", written.len() - 6)?;
    }
    if stop.load(Ordering::SeqCst) && run.done < total {
        return Err(Stopped { out: args.out }.into());
    }
    finish(&run.reports.results(), &args.out)
}

/// `--gradescope-bundle ZIP`: writes the autograder zip of `c` and says what it holds.
fn write_bundle(c: &Challenge, zip: &Path) -> Result<()> {
    let source = crate::installed::workspace_source();
    let bytes = petri_grader::bundle::write(c, source, zip)?;
    crate::outln!(
        "Wrote {} ({:.1} MB: Petri's source, {} files, and the two scripts): upload it as \
         the autograder of a Gradescope programming assignment. Try it first with \
         AUTOGRADER_ROOT=DIR (unzip it into DIR/source, then run setup.sh and run_autograder).",
        zip.display(),
        bytes as f64 / 1e6,
        source.len()
    )?;
    Ok(())
}

/// The submissions of this run: those of `shard` (all without one), and of those only the ones
/// `only` names (all when empty). A name in `only` that is not among them is a usage error.
fn chosen<'a>(
    all: &'a [Submission],
    shard: Option<Shard>,
    only: &[String],
) -> Result<Vec<&'a Submission>> {
    let mut subs: Vec<&Submission> = match shard {
        Some(s) => all
            .iter()
            .enumerate()
            .filter(|(i, _)| s.holds(*i))
            .map(|(_, sub)| sub)
            .collect(),
        None => all.iter().collect(),
    };
    if !only.is_empty() {
        let unknown: Vec<&str> = only
            .iter()
            .filter(|n| !subs.iter().any(|s| &s.name == *n))
            .map(|n| n.as_str())
            .collect();
        if !unknown.is_empty() {
            return Err(crate::run_spec::Usage(format!(
                "--only names submissions that are not among those given: {}",
                unknown.join(", ")
            ))
            .into());
        }
        subs.retain(|s| only.contains(&s.name));
    }
    Ok(subs)
}

/// `--resume`: `sub` was graded in these reports (not left ungraded) and has not changed since.
fn already_graded(reports: &Reports, c: &Challenge, sub: &Submission) -> bool {
    reports.get(&sub.name).is_some_and(|r| {
        r.error.is_none() && r.digest == petri_grader::grade::submission_digest(c, &sub.path)
    })
}

/// What the grading jobs leave behind.
struct Run {
    /// The reports, every finished submission recorded.
    reports: Reports,
    /// Submissions graded.
    done: usize,
    /// Reports that could not be written, which stopped the run.
    write_error: Option<anyhow::Error>,
}

/// Grades `subs` with `jobs` threads, recording each result in `reports` as it finishes and
/// saying it on stderr, until all are graded or `stop` is set.
fn grade_all(
    g: &Grader,
    c: &Challenge,
    subs: &[&Submission],
    jobs: u16,
    reports: Reports,
    stop: &AtomicBool,
) -> Run {
    let total = subs.len();
    let queue = Mutex::new(subs.iter());
    let reports = Mutex::new(reports);
    let done = AtomicUsize::new(0);
    let write_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some(sub) = next else { break };
                    let r = g.grade_named(c, &sub.path, &sub.name);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    eprintln!("[{n}/{total}] {}", summary(&r));
                    let mut reports = reports.lock().unwrap_or_else(|p| p.into_inner());
                    if let Err(e) = reports.record(r) {
                        // Reports that cannot be written stop the run: grading on would lose work.
                        *write_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.into());
                        stop.store(true, Ordering::SeqCst);
                        break;
                    }
                }
            });
        }
    });
    Run {
        reports: reports.into_inner().unwrap_or_else(|p| p.into_inner()),
        done: done.into_inner(),
        write_error: write_error.into_inner().unwrap_or_else(|p| p.into_inner()),
    }
}

/// Exit status 3 when any result is ungraded, after saying which.
fn finish(results: &[SubmissionResult], out: &Path) -> Result<()> {
    let ungraded: Vec<&SubmissionResult> = results.iter().filter(|r| r.error.is_some()).collect();
    for r in &ungraded {
        // Gradescope shows the autograder's stdout to instructors: the reason must be there.
        crate::outln!(
            "NOT GRADED {}: {}",
            r.submission,
            r.error.as_deref().unwrap_or_default()
        )?;
    }
    if ungraded.is_empty() {
        Ok(())
    } else {
        Err(Ungraded {
            count: ungraded.len(),
            out: out.to_path_buf(),
        }
        .into())
    }
}

/// One line per finished submission.
fn summary(r: &SubmissionResult) -> String {
    match (&r.error, r.score) {
        (Some(e), _) => format!(
            "{} NOT GRADED ({:.1} s): {}",
            r.submission,
            r.seconds,
            e.lines().next().unwrap_or_default()
        ),
        (None, Some(s)) => format!(
            "{} {s:.2}/{} ({:.1} s)",
            r.submission, r.max_score, r.seconds
        ),
        (None, None) => format!("{} not scored", r.submission),
    }
}

/// `petri grade-merge`: the shards' results as one run's reports.
pub fn merge(args: MergeArgs) -> Result<()> {
    let formats = Format::parse_list(&args.format.join(","))?;
    let mut shards = Vec::new();
    for dir in &args.shards {
        let journal = dir.join("results.jsonl");
        if !journal.is_file() {
            bail!(
                "{} has no results.jsonl: give the --out folders of `petri grade --shard` runs",
                dir.display()
            );
        }
        shards.push(ShardOutput {
            dir: dir.clone(),
            manifest: ShardManifest::load(dir)?,
            results: report::read_journal(&journal)?,
        });
    }
    let gaps = shard::gaps(&shards);
    let refused: Vec<&str> = gaps
        .iter()
        .filter(|g| !g.partial_ok || !args.partial)
        .map(|g| g.message.as_str())
        .collect();
    if !refused.is_empty() {
        let hint = if gaps.iter().all(|g| g.partial_ok) {
            "\n(--partial merges what is there, and the reports say what is missing)"
        } else {
            ""
        };
        bail!(
            "these shards are not one whole class:\n  {}{hint}",
            refused.join("\n  ")
        );
    }
    let partial: Vec<String> = gaps.into_iter().map(|g| g.message).collect();
    for g in &partial {
        eprintln!("partial merge: {g}");
    }
    let results: Vec<SubmissionResult> = shards.into_iter().flat_map(|s| s.results).collect();
    let Some(first) = results.first() else {
        bail!("the shards hold no results yet");
    };
    let challenge = first.challenge.clone();
    if let Some(other) = results.iter().find(|r| r.challenge != challenge) {
        bail!(
            "the shards grade different challenges ('{challenge}' and '{}')",
            other.challenge
        );
    }
    let is_partial = !partial.is_empty();
    let written = Reports::write_all(&args.out, &challenge, &formats, results.clone(), partial)?;
    crate::outln!(
        "merged {} submission(s) of {challenge} from {} shard(s) into {} ({} files){}",
        results.len(),
        args.shards.len(),
        args.out.display(),
        written.len(),
        if is_partial {
            "; PARTIAL: see merge.json"
        } else {
            ""
        }
    )?;
    finish(&results, &args.out)
}
