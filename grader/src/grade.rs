//! Grades submissions of one challenge: collects the student's files, builds (code challenges),
//! runs the task's requests in the sandbox, scores every check. A bad submission costs that
//! submission points, never the batch; a fault of the grader itself (no toolchain, a full
//! disk, a missing dataset) leaves the submission ungraded, with `error` saying why, never a 0.

use crate::challenge::{Challenge, CheckSpec, Kind};
use crate::failure::Failure;
use crate::harness::{self, BuildEnv, Kit};
use crate::language::Language;
use crate::python::Python;
use crate::result::{CheckResult, Lost, Refusal, SubmissionResult};
use crate::sandbox::{self, Access, Ending, Limits, Spec};
use crate::tasks::{self, Ctx, Request};
use petri_engine::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
    /// The kit code submissions link, built on first use (see `harness`).
    kit: OnceLock<std::result::Result<Kit, String>>,
    /// The interpreter of Python answers, found on first use (see `python`).
    python: OnceLock<std::result::Result<Python, String>>,
}

/// Counter that gives concurrent jobs distinct sandbox user ids.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

impl Grader {
    /// A grader whose scratch space is a fresh folder under the system's temporary folder
    /// (removed by `finish`).
    pub fn new(
        build: BuildEnv,
        worker: PathBuf,
        data_dir: PathBuf,
        hidden: bool,
    ) -> Result<Grader> {
        let work_dir = std::env::temp_dir().join(format!("petri-grade-{}", std::process::id()));
        std::fs::create_dir_all(&work_dir).map_err(|e| Error::io(&work_dir, e))?;
        // Sandboxed submissions run under their own user id and must reach their folders.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&work_dir, std::fs::Permissions::from_mode(0o711))
            .map_err(|e| Error::io(&work_dir, e))?;
        Ok(Grader {
            build,
            worker,
            data_dir,
            work_dir,
            hidden,
            kit: OnceLock::new(),
            python: OnceLock::new(),
        })
    }

    /// Removes the scratch space.
    pub fn finish(&self) {
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }

    /// The kit code submissions link, built on the first call (`say` hears what takes time).
    /// An `Err` is the grader's fault: every code submission is then reported as not graded.
    pub fn kit(&self, say: &dyn Fn(&str)) -> std::result::Result<&Kit, String> {
        self.kit
            .get_or_init(|| harness::kit(&self.build, say))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The interpreter Python answers run on, found and tried inside the sandbox on the first
    /// call. An `Err` is the grader's fault: every Python submission is then not graded.
    pub fn python(&self) -> std::result::Result<&Python, String> {
        self.python
            .get_or_init(|| Python::usable(&self.work_dir))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Grades `submission` (a folder holding the challenge's files), reported under its
    /// folder's name (`submission_name`). Never fails: what the grader could not do is the
    /// result's `error`.
    pub fn grade(&self, challenge: &Challenge, submission: &Path) -> SubmissionResult {
        self.grade_named(challenge, submission, &submission_name(submission))
    }

    /// `grade`, reported under `name`: for callers that have named their submissions already
    /// (`petri grade` keeps its reports by these names).
    pub fn grade_named(
        &self,
        challenge: &Challenge,
        submission: &Path,
        name: &str,
    ) -> SubmissionResult {
        let started = Instant::now();
        let wanted: Vec<&CheckSpec> = challenge
            .checks
            .iter()
            .filter(|c| self.hidden || c.visible)
            .collect();
        let mut notes: Vec<String> = sandbox::Protections::probe().missing();
        let outcome = self.run(challenge, &wanted, submission, name);
        let (checks, leaderboard, error) = match outcome {
            Ok(o) => {
                notes.extend(o.notes.iter().cloned());
                let checks: Vec<CheckResult> = wanted
                    .iter()
                    .map(|spec| {
                        let scored =
                            o.credits.get(&spec.id).cloned().unwrap_or_else(|| {
                                tasks::Credit::lost(Lost::NoAnswer, "not scored")
                            });
                        let (credit, output) = (scored.credit, scored.why);
                        CheckResult {
                            id: spec.id.clone(),
                            name: spec.name.clone(),
                            // Two decimals: reports are read by people and spreadsheets.
                            score: Some(
                                (credit.clamp(0.0, 1.0) * spec.points * 100.0).round() / 100.0,
                            ),
                            max_score: spec.points,
                            visible: spec.visible,
                            output,
                            lost: (credit < 1.0).then_some(scored.lost),
                            seconds: scored.seconds,
                        }
                    })
                    .collect();
                (checks, o.leaderboard, None)
            }
            Err(reason) => {
                let checks: Vec<CheckResult> = wanted
                    .iter()
                    .map(|spec| CheckResult {
                        id: spec.id.clone(),
                        name: spec.name.clone(),
                        score: None,
                        max_score: spec.points,
                        visible: spec.visible,
                        output: format!("not graded: {reason}"),
                        lost: None,
                        seconds: None,
                    })
                    .collect();
                (checks, None, Some(reason))
            }
        };
        let score = error
            .is_none()
            .then(|| checks.iter().filter_map(|c| c.score).sum::<f64>());
        SubmissionResult {
            submission: name.to_string(),
            challenge: challenge.id.clone(),
            score,
            max_score: wanted.iter().map(|c| c.points).sum(),
            checks,
            leaderboard,
            notes,
            seconds: started.elapsed().as_secs_f64(),
            graded_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            error,
            digest: submission_digest(challenge, submission),
        }
    }

    /// Everything between the submission's files and the task's outcome; `Err` is the
    /// grader's fault.
    fn run(
        &self,
        challenge: &Challenge,
        wanted: &[&CheckSpec],
        submission: &Path,
        name: &str,
    ) -> std::result::Result<tasks::Outcome, String> {
        let task = tasks::find(&challenge.task).ok_or_else(|| {
            format!(
                "{}: unknown task '{}' in challenge.toml",
                challenge.id, challenge.task
            )
        })?;
        let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
        let work = self.work_dir.join(format!("{slot:03}-{}", sanitize(name)));
        let result = (|| {
            std::fs::create_dir_all(&work)
                .map_err(|e| Failure::io("create its scratch folder", &work, e).reason())?;
            let (program, files) = match self.prepare(challenge, task, submission, &work) {
                Ok(p) => p,
                Err(Failure::Grader(why)) => return Err(why),
                Err(Failure::Submission(refusal)) => {
                    let mut out = tasks::Outcome::default();
                    out.fail_all(wanted, &refusal);
                    return Ok(out);
                }
            };
            // Held until this submission is graded: no other grader uses (and kills) its id.
            let user = sandbox::SandboxUser::claim(sandbox::SANDBOX_UID_BASE, slot as u32)
                .ok_or_else(|| {
                    format!(
                        "no sandbox user id is free: every lock in {} is held; wait for the other \
                     gradings to end",
                        std::env::temp_dir().display()
                    )
                })?;
            let uid = user.uid;
            let ctx = Ctx {
                challenge,
                data_dir: &self.data_dir,
                files: &files,
                seed: 2024,
            };
            let mut calls = 0usize;
            let mut fault = None;
            let mut call = |req: &Request| -> std::result::Result<serde_json::Value, Refusal> {
                calls += 1;
                let dir = work.join(format!("run-{calls}"));
                match self.call(challenge, &program, &dir, req, uid) {
                    Ok(v) => Ok(v),
                    Err(Failure::Submission(refusal)) => Err(refusal),
                    Err(Failure::Grader(why)) => {
                        fault.get_or_insert(why.clone());
                        // Not scored: the submission is reported as not graded.
                        Err(Refusal::new(Lost::Crashed, why))
                    }
                }
            };
            let outcome = task
                .grade(&ctx, wanted, &mut call)
                .map_err(|e| e.to_string())?;
            match fault {
                Some(why) => Err(why),
                None => Ok(outcome),
            }
        })();
        if std::env::var_os("PETRI_GRADE_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&work);
        }
        result
    }

    /// Reads the submission's files and, for code, builds the harness (Rust) or checks the
    /// syntax (Python).
    fn prepare(
        &self,
        challenge: &Challenge,
        task: &dyn tasks::Task,
        submission: &Path,
        work: &Path,
    ) -> std::result::Result<(Program, Files), Failure> {
        let language = match challenge.kind {
            Kind::Code => Some(
                challenge
                    .answer_language(submission)
                    .map_err(Failure::Submission)?,
            ),
            Kind::Config => None,
        };
        let names = language.map_or_else(|| challenge.files.clone(), |l| challenge.files_for(l));
        let files = read_files(&names, submission)?;
        let Some(language) = language else {
            return Ok((Program::Worker(files.clone()), files));
        };
        let source = task.harness(language).ok_or_else(|| {
            Failure::Grader(format!(
                "task '{}' has no {} harness",
                challenge.task,
                language.title()
            ))
        })?;
        let (file, bytes) = &files[0];
        let program = match language {
            Language::Rust => {
                let kit = self.kit(&|_| {}).map_err(Failure::Grader)?;
                let bin =
                    harness::build(kit, challenge.build_time_limit_s, source, file, bytes, work)?;
                Program::Harness(bin)
            }
            Language::Python => {
                let python = self.python().map_err(Failure::Grader)?;
                python.check_syntax(challenge.build_time_limit_s, file, bytes, work)?;
                Program::Python {
                    harness: source,
                    file: file.clone(),
                    source: bytes.clone(),
                }
            }
        };
        Ok((program, files))
    }

    /// One request to the submission: fresh run folder, sandboxed child, response parsed.
    fn call(
        &self,
        challenge: &Challenge,
        program: &Program,
        dir: &Path,
        req: &Request,
        uid: u32,
    ) -> std::result::Result<serde_json::Value, Failure> {
        let fail = |e: std::io::Error| Failure::io("prepare", dir, e);
        std::fs::create_dir_all(dir).map_err(fail)?;
        let body = serde_json::to_vec(&req.json).map_err(|e| Failure::Grader(e.to_string()))?;
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
        let (cmd, access, uid) = self.command(challenge, program, dir, uid)?;
        let spec = Spec {
            limits: limits.clone(),
            access,
            uid,
            trusted_tools: matches!(program, Program::Worker(_)),
        };
        let done = sandbox::run(cmd, &spec);
        if let Ending::NotStarted(why) = &done.ending {
            return Err(Failure::Grader(format!(
                "could not start the submission's program: {why}"
            )));
        }
        if !done.success() || !dir.join("response.json").is_file() {
            // A run that could not write for want of space is not the submission's failure.
            if let Some(full) = crate::failure::disk_full(dir) {
                return Err(full);
            }
        }
        if !done.success() {
            let mut reason = done.reason(&limits);
            // The worker's error and the Python harness's "failed to load" end stderr.
            if matches!(program, Program::Worker(_) | Program::Python { .. })
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
            return Err(Failure::Submission(Refusal::new(done.lost(), reason)));
        }
        read_answers(dir)
    }

    /// The command that runs `program` on the request in `dir`, what it may touch, and the
    /// user it runs as (the prepared files handed over to that user).
    fn command(
        &self,
        challenge: &Challenge,
        program: &Program,
        dir: &Path,
        uid: u32,
    ) -> std::result::Result<(Command, Access, Option<u32>), Failure> {
        let fail = |e: std::io::Error| Failure::io("prepare", dir, e);
        let mut access = Access::system();
        access.write.push(dir.to_path_buf());
        let (cmd, uid) = match program {
            Program::Python {
                harness,
                file,
                source,
            } => {
                let python = self.python().map_err(Failure::Grader)?;
                std::fs::write(dir.join("harness.py"), harness).map_err(fail)?;
                std::fs::write(dir.join(file), source).map_err(fail)?;
                sandbox::hand_over(dir, Some(uid)).map_err(fail)?;
                access = python.access(dir);
                (python.command(dir, "harness.py", &[file]), Some(uid))
            }
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
        Ok((cmd, access, uid))
    }
}

/// The answers a run wrote (`dir/response.json`), or why there are none.
fn read_answers(dir: &Path) -> std::result::Result<serde_json::Value, Failure> {
    let path = dir.join("response.json");
    let meta = std::fs::metadata(&path).map_err(|_| {
        Failure::Submission(Refusal::new(
            Lost::NoAnswer,
            "finished without writing its answers (response.json)",
        ))
    })?;
    if meta.len() > 128 << 20 {
        return Err(Failure::Submission(Refusal::new(
            Lost::OverLimit,
            "wrote an answer file larger than 128 MB",
        )));
    }
    let text = std::fs::read(&path).map_err(|e| {
        Failure::Submission(Refusal::new(
            Lost::NoAnswer,
            format!("cannot read its answers: {e}"),
        ))
    })?;
    serde_json::from_slice(&text).map_err(|e| {
        Failure::Submission(Refusal::new(
            Lost::NoAnswer,
            format!("its answers are not valid JSON: {e}"),
        ))
    })
}

/// The submission's `names`, each a plain file of at most 1 MB.
fn read_files(names: &[String], submission: &Path) -> std::result::Result<Files, Failure> {
    let refuse = |why: String| Failure::Submission(Refusal::new(Lost::NotSubmitted, why));
    let mut files = Vec::new();
    for f in names {
        let p = submission.join(f);
        let meta = std::fs::symlink_metadata(&p).map_err(|_| {
            refuse(format!(
                "{f} is missing from the submission ({})",
                submission.display()
            ))
        })?;
        if !meta.is_file() {
            return Err(refuse(format!(
                "{f} must be a plain file (links are not accepted)"
            )));
        }
        if meta.len() > 1 << 20 {
            return Err(refuse(format!("{f} is larger than 1 MB")));
        }
        let bytes = std::fs::read(&p).map_err(|e| refuse(format!("cannot read {f}: {e}")))?;
        files.push((f.clone(), bytes));
    }
    Ok(files)
}

/// SHA-256 over the challenge's files of a submission (names, lengths, bytes; a missing file
/// counts as missing), so an unchanged submission is known when a run resumes.
pub fn submission_digest(challenge: &Challenge, submission: &Path) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for f in &challenge.answer_files() {
        h.update(f.as_bytes());
        match std::fs::read(submission.join(f)) {
            Ok(bytes) => {
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(&bytes);
            }
            Err(_) => h.update(b"\0missing"),
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The student's files: name and bytes.
type Files = Vec<(String, Vec<u8>)>;

/// What runs for each request.
enum Program {
    /// A compiled code submission.
    Harness(PathBuf),
    /// A Python answer (`file`, holding `source`), imported by the `harness` script.
    Python {
        harness: &'static str,
        file: String,
        source: Vec<u8>,
    },
    /// `petri grade-worker` with the student's experiment files.
    Worker(Files),
}

/// The name a submission is reported under: its folder's (after resolving `.` and links).
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
