//! Grades submissions of one challenge: collects the student's files, builds (code challenges),
//! runs the task's requests in the sandbox, scores every check. A bad submission costs that
//! submission points, never the batch: only a fault of the grader itself is an `Err`.

use crate::challenge::{Challenge, CheckSpec, Kind};
use crate::harness::{self, BuildEnv};
use crate::sandbox::{self, Access, Limits, Spec};
use crate::tasks::{self, Ctx, Request};
use petri_engine::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The score of one check for one submission.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub name: String,
    pub score: f64,
    pub max_score: f64,
    pub visible: bool,
    /// Why the score is what it is, for the student.
    pub output: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Leaderboard {
    pub name: String,
    pub value: f64,
    /// "asc" when lower is better.
    pub order: &'static str,
}

/// Everything graded for one submission.
#[derive(Debug, Clone, Serialize)]
pub struct SubmissionResult {
    pub submission: String,
    pub challenge: String,
    pub score: f64,
    pub max_score: f64,
    pub checks: Vec<CheckResult>,
    pub leaderboard: Option<Leaderboard>,
    /// Protections this host could not enforce, and other notes for the instructor.
    pub notes: Vec<String>,
    pub seconds: f64,
}

/// Settings shared by every submission of a grading run.
#[derive(Debug, Clone)]
pub struct Grader {
    pub build: BuildEnv,
    /// The `petri` binary, which runs config challenges (`petri grade-worker`).
    pub worker: PathBuf,
    /// Where datasets are (`medmnist/breastmnist.npz`, ...).
    pub data_dir: PathBuf,
    /// Scratch space; each submission gets its own folder.
    pub work_dir: PathBuf,
    /// Run hidden checks too (grading), or only the visible ones (a student's local check).
    pub hidden: bool,
}

/// Counter that gives concurrent jobs distinct sandbox user ids.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
/// First user id used for sandboxes when the grader runs as root.
const SANDBOX_UID_BASE: u32 = 61_000;

impl Grader {
    /// Grades `submission` (a folder holding the challenge's files).
    pub fn grade(&self, challenge: &Challenge, submission: &Path) -> Result<SubmissionResult> {
        let started = Instant::now();
        let task = tasks::find(&challenge.task).ok_or_else(|| {
            Error::invalid(format!(
                "{}: unknown task '{}' in challenge.toml",
                challenge.id, challenge.task
            ))
        })?;
        let wanted: Vec<&CheckSpec> = challenge
            .checks
            .iter()
            .filter(|c| self.hidden || c.visible)
            .collect();
        let name = submission_name(submission);
        let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
        let work = self.work_dir.join(format!("{slot:03}-{}", sanitize(&name)));
        std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
        let mut notes: Vec<String> = sandbox::Protections::probe().missing();

        let outcome = match self.prepare(challenge, task, submission, &work) {
            Err(reason) => Err(reason),
            Ok((program, files)) => {
                let uid = SANDBOX_UID_BASE + (slot % 1000) as u32;
                let ctx = Ctx {
                    challenge,
                    data_dir: &self.data_dir,
                    files: &files,
                    seed: 2024,
                };
                let mut calls = 0usize;
                let mut call = |req: &Request| -> std::result::Result<serde_json::Value, String> {
                    calls += 1;
                    self.call(
                        challenge,
                        &program,
                        &work.join(format!("run-{calls}")),
                        req,
                        uid,
                    )
                };
                Ok(task.grade(&ctx, &wanted, &mut call)?)
            }
        };
        let checks: Vec<CheckResult> = wanted
            .iter()
            .map(|spec| {
                let (credit, output) = match &outcome {
                    Err(reason) => (0.0, reason.clone()),
                    Ok(o) => o
                        .credits
                        .get(&spec.id)
                        .cloned()
                        .unwrap_or((0.0, "not scored".into())),
                };
                CheckResult {
                    id: spec.id.clone(),
                    name: spec.name.clone(),
                    // Two decimals: reports are read by people and spreadsheets.
                    score: (credit.clamp(0.0, 1.0) * spec.points * 100.0).round() / 100.0,
                    max_score: spec.points,
                    visible: spec.visible,
                    output,
                }
            })
            .collect();
        let leaderboard = outcome.as_ref().ok().and_then(|o| o.leaderboard.clone());
        if let Ok(o) = &outcome {
            notes.extend(o.notes.iter().cloned());
        }
        if std::env::var_os("PETRI_GRADE_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&work);
        }
        Ok(SubmissionResult {
            submission: name,
            challenge: challenge.id.clone(),
            score: checks.iter().map(|c| c.score).sum::<f64>(),
            max_score: wanted.iter().map(|c| c.points).sum(),
            checks,
            leaderboard,
            notes,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Reads the submission's files and, for code, builds the harness. `Err` is the reason
    /// every check scores 0.
    fn prepare(
        &self,
        challenge: &Challenge,
        task: &dyn tasks::Task,
        submission: &Path,
        work: &Path,
    ) -> std::result::Result<(Program, Files), String> {
        let mut files = Vec::new();
        for f in &challenge.files {
            let p = submission.join(f);
            let meta = std::fs::symlink_metadata(&p).map_err(|_| {
                format!(
                    "{f} is missing from the submission ({})",
                    submission.display()
                )
            })?;
            if !meta.is_file() {
                return Err(format!("{f} must be a plain file (links are not accepted)"));
            }
            if meta.len() > 1 << 20 {
                return Err(format!("{f} is larger than 1 MB"));
            }
            let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {f}: {e}"))?;
            files.push((f.clone(), bytes));
        }
        match challenge.kind {
            Kind::Code => {
                let main = task
                    .harness()
                    .ok_or_else(|| format!("task '{}' has no harness", challenge.task))?;
                let bin = harness::build(&self.build, main, &files[0].0, &files[0].1, work)?;
                Ok((Program::Harness(bin), files))
            }
            Kind::Config => Ok((Program::Worker(files.clone()), files)),
        }
    }

    /// One request to the submission: fresh run folder, sandboxed child, response parsed.
    fn call(
        &self,
        challenge: &Challenge,
        program: &Program,
        dir: &Path,
        req: &Request,
        uid: u32,
    ) -> std::result::Result<serde_json::Value, String> {
        let fail = |e: std::io::Error| format!("grader could not prepare {}: {e}", dir.display());
        std::fs::create_dir_all(dir).map_err(fail)?;
        let body = serde_json::to_vec(&req.json).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("request.json"), body).map_err(fail)?;
        for (name, bytes) in &req.files {
            std::fs::write(dir.join(name), bytes).map_err(fail)?;
        }
        let limits = Limits {
            wall: Duration::from_secs(challenge.time_limit_s),
            cpu_seconds: challenge.time_limit_s * 4,
            memory_bytes: challenge.memory_limit_mb << 20,
            file_bytes: 256 << 20,
            processes: 64,
            output_bytes: 16 << 10,
        };
        let mut access = Access::system();
        access.write.push(dir.to_path_buf());
        let (cmd, uid) = match program {
            Program::Harness(bin) => {
                let local = dir.join("submission");
                std::fs::copy(bin, &local).map_err(fail)?;
                sandbox::hand_over(dir, Some(uid)).map_err(fail)?;
                let mut cmd = Command::new(&local);
                cmd.current_dir(dir).env_clear().env("RUST_BACKTRACE", "0");
                (cmd, Some(uid))
            }
            Program::Worker(files) => {
                for (name, bytes) in files {
                    std::fs::write(dir.join(name), bytes).map_err(fail)?;
                }
                access.read.push(self.worker.clone());
                access.read.extend(["/proc", "/sys"].map(PathBuf::from));
                let mut cmd = Command::new(&self.worker);
                cmd.arg("grade-worker")
                    .arg(&challenge.task)
                    .arg(dir)
                    .current_dir(dir)
                    .env_clear()
                    .env("RAYON_NUM_THREADS", "2");
                (cmd, None)
            }
        };
        let spec = Spec {
            limits: limits.clone(),
            access,
            uid,
            trusted_tools: matches!(program, Program::Worker(_)),
        };
        let done = sandbox::run(cmd, &spec);
        if !done.success() {
            let mut reason = done.reason(&limits);
            if matches!(program, Program::Worker(_))
                && let Some(line) = done.stderr.lines().rev().find(|l| !l.trim().is_empty())
            {
                reason = format!("{reason}: {}", line.trim());
            }
            if done.dropped_bytes > 0 {
                reason.push_str(&format!(
                    " (and {} bytes of output dropped)",
                    done.dropped_bytes
                ));
            }
            return Err(reason);
        }
        let path = dir.join("response.json");
        let meta = std::fs::metadata(&path)
            .map_err(|_| "finished without writing its answers (response.json)".to_string())?;
        if meta.len() > 128 << 20 {
            return Err("wrote an answer file larger than 128 MB".into());
        }
        let text = std::fs::read(&path).map_err(|e| format!("cannot read its answers: {e}"))?;
        serde_json::from_slice(&text).map_err(|e| format!("its answers are not valid JSON: {e}"))
    }
}

/// The student's files: name and bytes.
type Files = Vec<(String, Vec<u8>)>;

/// What runs for each request.
enum Program {
    /// A compiled code submission.
    Harness(PathBuf),
    /// `petri grade-worker` with the student's experiment files.
    Worker(Files),
}

pub fn submission_name(path: &Path) -> String {
    path.canonicalize()
        .unwrap_or_else(|_| path.to_path_buf())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".into())
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}
