//! Training runs the tutor starts as separate processes, so that they outlive it: a dropped SSH
//! connection closes the tutor, not the run. The tutor writes what to run, typed, to
//! `DIR/request.json` (a [`JobRequest`]: a course run or a plan on the user's data) and starts
//! `petri job DIR` in a session of its own (no
//! terminal, so no hang-up reaches it), with its output in `DIR/log.txt`.
//! The child appends every training event to `DIR/events.jsonl` and writes `DIR/result.json`
//! at the end; the tutor (this one or one opened later) replays and follows the events, and
//! removes the folder once it has added the record to the student's progress.

use crate::run_spec::{JobResult, PlanRun, RunArgs};
use anyhow::{Context, Result};
use petri_engine::experiment::Suite;
use petri_engine::train::Event;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Seek};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What the tutor knows of a job it started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobMeta {
    pub pid: u32,
    pub part: Suite,
    /// The lesson whose progress gets the record.
    pub lesson_id: String,
    pub started_unix: u64,
    /// What it runs (`None` for a job started by an older Petri, which kept only its argv).
    #[serde(default)]
    pub request: Option<JobRequest>,
}

/// What the tutor asks a job to run: `DIR/request.json`, read by `petri job DIR`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
    /// Where datasets are (and the records go by default).
    pub data_dir: PathBuf,
    /// Stored as a `"run"` or a `"train"` key beside `data_dir` (the `"run"` form is what
    /// Petri wrote before plans ran as jobs).
    #[serde(flatten)]
    pub work: Work,
}

/// A job's training: what `petri run` or `petri train` would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    /// A course part (`petri run PART ...`).
    Run(RunArgs),
    /// A plan on the user's data (`petri train DATA`).
    Train(PlanRun),
}

impl JobRequest {
    /// Reads `dir/request.json`.
    pub fn read(dir: &Path) -> Result<JobRequest> {
        let path = dir.join("request.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the job's request {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a job request", path.display()))
    }

    /// How to continue it after it was killed: the command that resumes a course run, or
    /// training the plan again (plans start over).
    pub fn how_to_continue(&self) -> String {
        match &self.work {
            Work::Run(run) => {
                let mut again = run.clone();
                again.resume = true;
                format!(
                    "`petri --data-dir {} {}` continues it",
                    self.data_dir.display(),
                    again.command_line()
                )
            }
            Work::Train(_) => "Ctrl-T on \"Your data\" trains the plan again".into(),
        }
    }

    /// The course run this job trains, if it is one.
    pub fn course_run(&self) -> Option<&RunArgs> {
        match &self.work {
            Work::Run(run) => Some(run),
            Work::Train(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub dir: PathBuf,
    pub meta: JobMeta,
}

/// What a follower sees.
pub enum JobUpdate {
    Event(Event),
    /// The run ended: its result, or why there is none.
    Ended(Result<JobResult, String>),
}

pub fn jobs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("jobs")
}

/// Writes `request` into a new job folder and starts `petri job DIR` detached from this
/// terminal.
pub fn spawn(
    petri: &Path,
    state_dir: &Path,
    part: Suite,
    lesson_id: &str,
    request: JobRequest,
) -> Result<Job> {
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let dir = jobs_dir(state_dir).join(format!(
        "{}-{started_unix}-{}",
        part.name(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    petri_engine::atomic::write_json_atomic(&dir.join("request.json"), &request)?;
    let log = std::fs::File::create(dir.join("log.txt"))
        .with_context(|| format!("cannot create {}", dir.join("log.txt").display()))?;
    let mut cmd = Command::new(petri);
    cmd.arg("job")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe and touches no memory of this process.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", petri.display()))?;
    let meta = JobMeta {
        pid: child.id(),
        part,
        lesson_id: lesson_id.to_string(),
        started_unix,
        request: Some(request),
    };
    petri_engine::atomic::write_json_atomic(&dir.join("job.json"), &meta)?;
    // The child is not waited for: it belongs to its own session and outlives this process.
    // A reaper thread keeps it from lingering as a zombie while the tutor still runs.
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    Ok(Job { dir, meta })
}

/// Jobs whose records the tutor has not taken yet (running or finished), newest first.
pub fn pending(state_dir: &Path) -> Vec<Job> {
    let Ok(entries) = std::fs::read_dir(jobs_dir(state_dir)) else {
        return Vec::new();
    };
    let mut jobs: Vec<Job> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let dir = e.path();
            let text = std::fs::read_to_string(dir.join("job.json")).ok()?;
            let meta = serde_json::from_str(&text).ok()?;
            Some(Job { dir, meta })
        })
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.meta.started_unix));
    jobs
}

impl Job {
    pub fn result(&self) -> Option<JobResult> {
        let text = std::fs::read_to_string(self.dir.join("result.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Whether the process still runs (and is still this job: pids are reused).
    pub fn is_alive(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            let cmdline = std::fs::read(format!("/proc/{}/cmdline", self.meta.pid));
            let dir = self.dir.as_os_str().as_encoded_bytes();
            cmdline.is_ok_and(|c| c.windows(dir.len()).any(|w| w == dir))
        }
        #[cfg(not(target_os = "linux"))]
        {
            // SAFETY: signal 0 only checks that the process exists.
            unsafe { libc::kill(self.meta.pid as libc::pid_t, 0) == 0 }
        }
    }

    /// Asks the run to stop at its next batch (as Ctrl-C does); what finished is saved.
    pub fn stop(&self) {
        if self.is_alive() {
            // SAFETY: sends a signal to the job's own process; no memory is touched.
            unsafe {
                libc::kill(self.meta.pid as libc::pid_t, libc::SIGINT);
            }
        }
    }

    /// The record has been added to progress: the job's folder is no longer needed.
    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// Replays the job's events from the start and follows new ones on a thread until the run
    /// ends (or `updates` is dropped).
    pub fn follow(&self, updates: std::sync::mpsc::Sender<JobUpdate>) {
        let job = self.clone();
        std::thread::spawn(move || job.follow_on(updates));
    }

    fn follow_on(&self, updates: std::sync::mpsc::Sender<JobUpdate>) {
        let path = self.dir.join("events.jsonl");
        let mut offset = 0u64;
        let mut partial = String::new();
        loop {
            // The result is looked at before reading, so every event written before it is read.
            let result = self.result();
            let alive = result.is_none() && self.is_alive();
            if let Ok(mut file) = std::fs::File::open(&path)
                && file.seek(std::io::SeekFrom::Start(offset)).is_ok()
            {
                let mut reader = BufReader::new(file);
                let mut line = String::new();
                while let Ok(n) = reader.read_line(&mut line) {
                    if n == 0 {
                        break;
                    }
                    offset += n as u64;
                    if !line.ends_with('\n') {
                        // A line still being written: keep it for the next round.
                        partial.push_str(&line);
                        line.clear();
                        continue;
                    }
                    partial.push_str(&line);
                    if let Ok(e) = serde_json::from_str::<Event>(partial.trim_end())
                        && updates.send(JobUpdate::Event(e)).is_err()
                    {
                        return;
                    }
                    partial.clear();
                    line.clear();
                }
            }
            if let Some(r) = result {
                let _ = updates.send(JobUpdate::Ended(Ok(r)));
                return;
            }
            if !alive {
                let how = match &self.meta.request {
                    Some(r) => r.how_to_continue(),
                    None => "starting the same part again offers to continue it".into(),
                };
                let _ = updates.send(JobUpdate::Ended(Err(format!(
                    "the run ended without a result (killed?); its last finished epoch is kept: \
                     {how} (log: {})",
                    self.dir.join("log.txt").display()
                ))));
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
