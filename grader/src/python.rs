//! Python answers: the interpreter that runs them (found once per grading run, and tried from
//! inside the sandbox before any submission counts on it), the syntax check that stands in for
//! a build, and the command that runs the harness on one request.
//!
//! The interpreter is `PETRI_PYTHON` when set, else `python3` on `PATH`; it needs numpy. What it
//! reads (its executable, standard library, packages, a venv's `pyvenv.cfg`) is asked of the
//! interpreter itself and becomes the sandbox's read list: nothing else of the machine, so
//! neither the reference nor another student's folder.

use crate::failure::Failure;
use crate::result::{Lost, Refusal};
use crate::sandbox::{self, Access, Ending, Limits, Spec};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The environment variable naming the interpreter.
pub const ENV: &str = "PETRI_PYTHON";

/// An interpreter with numpy, and what it needs to read.
#[derive(Debug, Clone)]
pub struct Python {
    /// As found (a venv's `bin/python` stays so: the venv's packages come from its path).
    pub executable: PathBuf,
    pub version: String,
    pub numpy: String,
    /// Read (and execute) access the interpreter needs inside the sandbox.
    pub read: Vec<PathBuf>,
}

/// Asks the interpreter where it lives. Printed as one JSON line.
const PROBE: &str = r#"
import json, os, sys, sysconfig
import numpy
read = [os.path.realpath(sys.executable)]
read += [p for p in sys.path if os.path.isabs(p) and os.path.exists(p)]
for extra in (os.path.join(sys.prefix, "pyvenv.cfg"),
              os.path.join(sysconfig.get_config_var("LIBDIR") or "/", sysconfig.get_config_var("LDLIBRARY") or "-")):
    if os.path.isfile(extra):
        read.append(extra)
print(json.dumps({"version": sys.version.split()[0], "numpy": numpy.__version__, "read": read}))
"#;

#[derive(Deserialize)]
struct Probed {
    version: String,
    numpy: String,
    read: Vec<PathBuf>,
}

impl Python {
    /// The interpreter named by `PETRI_PYTHON`, else `python3` on `PATH`, if it has numpy.
    /// `Err` says what is missing and what to do (a grader-side fault: nothing is graded).
    pub fn find() -> Result<Python, String> {
        let named = std::env::var_os(ENV).map(PathBuf::from);
        let executable = match &named {
            Some(p) => p.clone(),
            None => on_path("python3").ok_or_else(|| {
                format!(
                    "no Python: Python answers need python3 with numpy, and python3 is not on PATH. Install it (with `pip install numpy`), or set {ENV} to an interpreter that has numpy"
                )
            })?,
        };
        let out = Command::new(&executable)
            .args(["-I", "-c", PROBE])
            .env_clear()
            .output()
            .map_err(|e| format!("cannot run {} ({ENV}): {e}", executable.display()))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            return Err(match last {
                Some(l) if l.contains("numpy") => format!(
                    "{} has no numpy, which Python answers use: install it (`{} -m pip install numpy`), or set {ENV} to an interpreter that has it",
                    executable.display(),
                    executable.display()
                ),
                _ => format!(
                    "{} does not run: {}",
                    executable.display(),
                    last.unwrap_or("no message")
                ),
            });
        }
        let probed: Probed = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "{} answered the probe with something else than JSON: {e}",
                executable.display()
            )
        })?;
        Ok(Python {
            executable,
            version: probed.version,
            numpy: probed.numpy,
            read: probed.read,
        })
    }

    /// The interpreter `find` names, once `try_in_sandbox` has run it as a sandbox user would
    /// (a user id claimed for the try and held until it ends), in a scratch folder under
    /// `scratch_dir` that is removed afterwards. What the grader and `petri doctor` both ask.
    pub fn usable(scratch_dir: &Path) -> Result<Python, String> {
        let python = Python::find()?;
        let user = sandbox::SandboxUser::claim(sandbox::SANDBOX_UID_BASE, 0);
        let scratch = scratch_dir.join(format!("python-check-{}", std::process::id()));
        let tried = python.try_in_sandbox(&scratch, user.as_ref().map(|u| u.uid));
        let _ = std::fs::remove_dir_all(&scratch);
        tried.map(|()| python)
    }

    /// "Python 3.11.2 with numpy 2.2.6 (/usr/bin/python3)".
    pub fn describe(&self) -> String {
        format!(
            "Python {} with numpy {} ({})",
            self.version,
            self.numpy,
            self.executable.display()
        )
    }

    /// What a Python run may touch: the system's libraries, the interpreter's files, and
    /// `work` to write in.
    pub fn access(&self, work: &Path) -> Access {
        let mut access = Access::system();
        access.read.extend(self.read.iter().cloned());
        access.write.push(work.to_path_buf());
        access
    }

    /// `python harness.py ARGS` in `dir`: isolated (no user site, no PYTHON* variables), no
    /// bytecode written, numerical libraries on one thread (their thread pools would count
    /// against the process limit and the CPU time of one answer).
    pub fn command(&self, dir: &Path, script: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.executable);
        cmd.args(["-I", "-B", script])
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("OPENBLAS_NUM_THREADS", "1")
            .env("OMP_NUM_THREADS", "1")
            .env("MKL_NUM_THREADS", "1")
            .env("LC_ALL", "C.UTF-8");
        cmd
    }

    /// Runs `import numpy` inside the sandbox as `uid`, as every answer will be run: an
    /// interpreter the sandbox user cannot read (one under /root, say) is found here, once,
    /// as the grader's fault, not as every student's crash.
    pub fn try_in_sandbox(&self, work: &Path, uid: Option<u32>) -> Result<(), String> {
        std::fs::create_dir_all(work)
            .map_err(|e| format!("cannot create {}: {e}", work.display()))?;
        sandbox::hand_over(work, uid).map_err(|e| format!("{}: {e}", work.display()))?;
        let mut cmd = self.command(work, "-c", &[]);
        // `-c` takes the next argument as the program.
        cmd.arg("import numpy");
        let spec = Spec {
            limits: run_limits(30, 1024),
            access: self.access(work),
            uid,
            trusted_tools: false,
        };
        let done = sandbox::run(cmd, &spec);
        if done.success() {
            return Ok(());
        }
        let last = done
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .to_string();
        Err(format!(
            "{} works, but not inside the grading sandbox ({}: {last}). Submissions run as another user with only the interpreter's own files readable: put a Python with numpy where every user can read it (e.g. `python3 -m venv /opt/petri-python && /opt/petri-python/bin/pip install numpy`, not under a private home folder) and set {ENV}",
            self.describe(),
            done.reason(&spec.limits)
        ))
    }

    /// Compiles `source` (the student's `file`) to bytecode in memory, inside the sandbox: a
    /// syntax error is the Python answer's "does not compile". Nothing of it runs.
    pub fn check_syntax(
        &self,
        wall_s: u64,
        file: &str,
        source: &[u8],
        work: &Path,
    ) -> Result<(), Failure> {
        let dir = work.join("syntax");
        std::fs::create_dir_all(&dir).map_err(|e| Failure::io("create", &dir, e))?;
        std::fs::write(dir.join(file), source).map_err(|e| Failure::io("write", &dir, e))?;
        let mut cmd = self.command(&dir, "-c", &[]);
        cmd.arg("import sys\nname = sys.argv[1]\ncompile(open(name, 'rb').read(), name, 'exec')")
            .arg(file);
        let spec = Spec {
            limits: run_limits(wall_s, 1024),
            access: self.access(&dir),
            uid: None,
            trusted_tools: false,
        };
        let done = sandbox::run(cmd, &spec);
        if done.success() {
            return Ok(());
        }
        if let Ending::NotStarted(why) = &done.ending {
            return Err(Failure::Grader(format!(
                "could not start {}: {why}",
                self.executable.display()
            )));
        }
        // The traceback's last lines: where, and what ("SyntaxError: invalid syntax").
        let lines: Vec<&str> = done
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("Traceback"))
            .collect();
        let tail = lines[lines.len().saturating_sub(4)..].join("\n");
        let why = if done.ending == Ending::Exited(1) {
            tail
        } else {
            format!("{} {tail}", done.reason(&spec.limits))
        };
        Err(Failure::Submission(Refusal::new(
            Lost::DoesNotBuild,
            format!("does not compile:\n{}", why.trim()),
        )))
    }
}

/// Limits of a Python run that is not an answer (the probe in the sandbox, the syntax check).
fn run_limits(wall_s: u64, memory_mb: u64) -> Limits {
    Limits {
        wall: Duration::from_secs(wall_s),
        cpu_seconds: wall_s * 2,
        memory_bytes: memory_mb << 20,
        file_bytes: 16 << 20,
        processes: 16,
        output_bytes: 64 << 10,
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
