//! Builds a code submission. The student's one Rust file becomes `student.rs` beside the task's
//! `main.rs` (no `build.rs`, no dependencies of the student's choosing), compiled by `rustc`
//! directly inside the sandbox, so that `include_bytes!` and friends cannot reach hidden data or
//! references.
//!
//! What the harness links is the *kit*: `petri-core` (linked under the name `petri_engine`,
//! whose paths it mirrors) and `serde_json`, built once per machine by cargo into the kit folder
//! and reused. The kit takes about 5 s to build on two cores, where linking the whole engine
//! took over 15 minutes; and with no cargo (and no shared target lock) per submission, builds of
//! different submissions run in parallel, each under its own limits.

use crate::failure::Failure;
use crate::result::{Lost, Refusal};
use crate::sandbox::{self, Access, Ending, Limits, Spec};
use petri_engine::atomic::{FileLock, write_json_atomic};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Where the harness finds `petri-core` and the toolchain, and where the kit is kept.
#[derive(Debug, Clone)]
pub struct BuildEnv {
    /// The `core/` folder of a Petri checkout (`petri-core`'s source).
    pub core_dir: PathBuf,
    /// Where the kit is built and kept, shared by every grading run on the machine.
    pub kit_dir: PathBuf,
    /// A `Cargo.lock` pinning the versions Petri was tested with.
    pub lock_file: Option<PathBuf>,
    pub cargo_home: PathBuf,
    pub rustup_home: PathBuf,
}

impl BuildEnv {
    /// `petri-core`'s source in `core_dir`, the kit kept in `kit_dir`, and the usual toolchain
    /// locations (`$CARGO_HOME`, `$RUSTUP_HOME`, else under the home dir).
    pub fn new(core_dir: PathBuf, lock_file: Option<PathBuf>, kit_dir: PathBuf) -> BuildEnv {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let from_env = |k: &str, d: &str| {
            std::env::var_os(k)
                .map(PathBuf::from)
                .unwrap_or(home.join(d))
        };
        BuildEnv {
            core_dir: core_dir.canonicalize().unwrap_or(core_dir),
            kit_dir,
            lock_file,
            cargo_home: from_env("CARGO_HOME", ".cargo"),
            rustup_home: from_env("RUSTUP_HOME", ".rustup"),
        }
    }

    /// The `petri-core` of the checkout this crate was built from.
    pub fn from_checkout(kit_dir: PathBuf) -> BuildEnv {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let lock = root.join("Cargo.lock");
        BuildEnv::new(root.join("core"), lock.is_file().then_some(lock), kit_dir)
    }

    /// cargo from `CARGO_HOME`, else the first on `PATH`.
    fn cargo(&self) -> Option<PathBuf> {
        let own = self.cargo_home.join("bin/cargo");
        if own.is_file() {
            return Some(own);
        }
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join("cargo"))
            .find(|p| p.is_file())
    }
}

/// The prebuilt libraries a harness links, and the compiler that built them (a harness must be
/// compiled by exactly that compiler).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kit {
    /// The toolchain's own `rustc` (not the rustup proxy).
    pub rustc: PathBuf,
    pub sysroot: PathBuf,
    /// Folder of the kit's compiled dependencies (`-L dependency=`).
    pub deps: PathBuf,
    /// Crate name as the harness uses it, and its `.rlib`.
    pub externs: Vec<(String, PathBuf)>,
    /// What the kit was built from; another key means build it again.
    pub key: String,
}

const KIT_MANIFEST: &str = r#"[package]
name = "petri-harness-kit"
version = "0.0.0"
edition = "2024"
publish = false

[lib]
path = "lib.rs"

[dependencies]
petri-core = { path = "CORE" }
serde = "1"
serde_json = "1"

# Its own workspace: the kit is not part of whatever project holds it.
[workspace]

[profile.release]
debug = false
"#;

/// Builds the kit unless a current one is in `env.kit_dir`. Every error is the grader's (the
/// student's code is not involved). `say` hears what takes time, for a progress line.
pub fn kit(env: &BuildEnv, say: &dyn Fn(&str)) -> Result<Kit, String> {
    let cargo = find_cargo(env)?;
    let sysroot = sysroot(env, &cargo)?;
    let rustc = sysroot.join("bin/rustc");
    let key = kit_key(env, &rustc_version(&rustc)?)?;
    let record = env.kit_dir.join("kit.json");
    if let Some(k) = current_kit(&record, &key) {
        return Ok(k);
    }
    // Concurrent graders on one machine: one builds, the others wait and reuse.
    let _lock = FileLock::exclusive(&record).map_err(|e| e.to_string())?;
    if let Some(k) = current_kit(&record, &key) {
        return Ok(k);
    }
    say(
        "building the challenge kit (petri-core, serde, serde_json) once for this machine, a few seconds...",
    );
    let src = write_kit_crate(env)?;
    let target = env.kit_dir.join("target");
    let stdout = cargo_build_kit(env, &cargo, &rustc, &src, &target)?;
    let externs = kit_externs(&stdout);
    if externs.len() != 4 {
        return Err(format!(
            "the challenge kit built in {} without its libraries (petri-core, serde, serde_json)",
            src.display()
        ));
    }
    let kit = Kit {
        rustc,
        sysroot,
        deps: target.join("release/deps"),
        externs,
        key,
    };
    write_json_atomic(&record, &kit).map_err(|e| e.to_string())?;
    Ok(kit)
}

/// cargo, or why there is none (code challenges cannot be graded without it).
fn find_cargo(env: &BuildEnv) -> Result<PathBuf, String> {
    env.cargo().ok_or_else(|| {
        format!(
            "no Rust toolchain: code challenges are compiled on this machine, and cargo is neither in {} nor on PATH. Install Rust (https://rustup.rs) or set CARGO_HOME",
            env.cargo_home.join("bin").display()
        )
    })
}

/// The sysroot of the toolchain that `cargo` belongs to (asked of the `rustc` beside it, else the
/// one on `PATH`), so the kit and every harness use the toolchain's own compiler.
fn sysroot(env: &BuildEnv, cargo: &Path) -> Result<PathBuf, String> {
    let rustc = cargo.with_file_name("rustc");
    let rustc = if rustc.is_file() {
        rustc
    } else {
        PathBuf::from("rustc")
    };
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .current_dir(&env.core_dir)
        .env("RUSTUP_HOME", &env.rustup_home)
        .env("CARGO_HOME", &env.cargo_home)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", rustc.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --print sysroot failed: {}",
            rustc.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// `rustc -vV`: part of the kit's key, since a harness must be built by the kit's compiler.
fn rustc_version(rustc: &Path) -> Result<String, String> {
    let version = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", rustc.display()))?;
    Ok(String::from_utf8_lossy(&version.stdout).into_owned())
}

/// The kit recorded in `record`, if it was built from `key` and its libraries are all there.
fn current_kit(record: &Path, key: &str) -> Option<Kit> {
    serde_json::from_slice::<Kit>(&std::fs::read(record).ok()?)
        .ok()
        .filter(|kit| kit.key == key && kit.externs.iter().all(|(_, p)| p.is_file()))
}

/// Writes the kit's crate (manifest, empty `lib.rs`, Petri's lock file) into `kit_dir/src`.
fn write_kit_crate(env: &BuildEnv) -> Result<PathBuf, String> {
    let io = |what: &str, p: &Path, e: std::io::Error| Failure::io(what, p, e).reason();
    let src = env.kit_dir.join("src");
    std::fs::create_dir_all(&src).map_err(|e| io("create", &src, e))?;
    let manifest = KIT_MANIFEST.replace("CORE", &env.core_dir.to_string_lossy());
    std::fs::write(src.join("Cargo.toml"), manifest).map_err(|e| io("write", &src, e))?;
    std::fs::write(src.join("lib.rs"), "").map_err(|e| io("write", &src, e))?;
    if let Some(lock) = &env.lock_file {
        std::fs::copy(lock, src.join("Cargo.lock")).map_err(|e| io("copy", lock, e))?;
    }
    Ok(src)
}

/// Builds the kit's crate in `src` into `target` with `rustc`; returns cargo's JSON messages,
/// or the tail of its error output.
fn cargo_build_kit(
    env: &BuildEnv,
    cargo: &Path,
    rustc: &Path,
    src: &Path,
    target: &Path,
) -> Result<String, String> {
    let out = Command::new(cargo)
        .args(["build", "--release", "--offline", "--message-format=json"])
        .current_dir(src)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_HOME", &env.cargo_home)
        .env("RUSTUP_HOME", &env.rustup_home)
        // The compiler that will build every harness builds the kit.
        .env("RUSTC", rustc)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cargo.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let how = match out.status.code() {
            Some(c) => format!("exit status {c}"),
            None => "stopped by a signal".into(),
        };
        return Err(format!(
            "could not build the challenge kit in {} ({how}):\n{}",
            src.display(),
            tail.join("\n")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The libraries a harness links, by the name it uses, from cargo's JSON messages: petri-core
/// twice (as `petri_engine` and `petri_core`), serde and serde_json.
fn kit_externs(cargo_messages: &str) -> Vec<(String, PathBuf)> {
    let mut externs = Vec::new();
    for line in cargo_messages.lines() {
        let Ok(m) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if m["reason"] != "compiler-artifact" {
            continue;
        }
        let rlib = m["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(".rlib"));
        let (Some(name), Some(rlib)) = (m["target"]["name"].as_str(), rlib) else {
            continue;
        };
        match name {
            // The engine's paths, so student files written against the engine compile.
            "petri_core" => {
                externs.push(("petri_engine".to_string(), PathBuf::from(rlib)));
                externs.push(("petri_core".to_string(), PathBuf::from(rlib)));
            }
            "serde" | "serde_json" => externs.push((name.to_string(), PathBuf::from(rlib))),
            _ => {}
        }
    }
    externs
}

/// A digest of everything the kit is built from: petri-core's sources, the manifest, the lock
/// file and the compiler's version.
fn kit_key(env: &BuildEnv, rustc_version: &str) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(KIT_MANIFEST);
    h.update(rustc_version);
    h.update(env.core_dir.to_string_lossy().as_bytes());
    let mut files = Vec::new();
    let mut stack = vec![env.core_dir.clone()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    if let Some(lock) = &env.lock_file {
        files.push(lock.clone());
    }
    for f in files {
        h.update(f.to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).map_err(|e| format!("cannot read {}: {e}", f.display()))?);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Limits of one harness build: sized for one student file, so a submission that makes the
/// compiler spin costs only itself. A correct harness builds in 1-3 s and under 400 MB.
pub fn build_limits(wall_s: u64) -> Limits {
    Limits {
        wall: Duration::from_secs(wall_s),
        cpu_seconds: wall_s * 2,
        memory_bytes: 4 << 30,
        file_bytes: 1 << 30,
        processes: 0,
        output_bytes: 1 << 20,
    }
}

/// Compiles `student_source` (the student's `student_file`) into a harness with `main_source`;
/// returns the binary, `work/harness-bin`, or why not.
pub fn build(
    kit: &Kit,
    wall_s: u64,
    main_source: &str,
    student_file: &str,
    student_source: &[u8],
    work: &Path,
) -> Result<PathBuf, Failure> {
    let (crate_dir, tmp) = write_harness_crate(work, main_source, student_source)?;
    let bin = work.join("harness-bin");
    let cmd = rustc_command(kit, &crate_dir, &tmp, &bin);
    let spec = build_spec(kit, wall_s, &crate_dir, work);
    let done = sandbox::run(cmd, &spec);
    if done.success() && bin.is_file() {
        return Ok(bin);
    }
    if let Some(fault) = grader_fault(kit, &done, work) {
        return Err(fault);
    }
    let errors = compiler_errors(&done.stderr, student_file);
    Err(Failure::Submission(Refusal::new(
        Lost::DoesNotBuild,
        format!(
            "does not compile ({}):\n{}",
            done.reason(&spec.limits),
            errors.join("\n")
        ),
    )))
}

/// Writes `work/harness/src/{main,student}.rs` and makes the compiler's `tmp` beside them;
/// returns the crate folder and that `tmp`.
fn write_harness_crate(
    work: &Path,
    main_source: &str,
    student_source: &[u8],
) -> Result<(PathBuf, PathBuf), Failure> {
    let crate_dir = work.join("harness");
    let src = crate_dir.join("src");
    let tmp = crate_dir.join("tmp");
    std::fs::create_dir_all(&src).map_err(|e| Failure::io("create", &src, e))?;
    std::fs::create_dir_all(&tmp).map_err(|e| Failure::io("create", &tmp, e))?;
    std::fs::write(src.join("main.rs"), main_source).map_err(|e| Failure::io("write", &src, e))?;
    std::fs::write(src.join("student.rs"), student_source)
        .map_err(|e| Failure::io("write", &src, e))?;
    Ok((crate_dir, tmp))
}

/// The kit's `rustc` compiling the harness crate in `crate_dir` into `bin`, linking the kit,
/// with a clean environment.
fn rustc_command(kit: &Kit, crate_dir: &Path, tmp: &Path, bin: &Path) -> Command {
    let mut cmd = Command::new(&kit.rustc);
    cmd.args([
        "--edition=2024",
        "--crate-type=bin",
        "--crate-name=harness",
        "-Copt-level=1",
        "-Cdebuginfo=0",
        "--error-format=json",
        "--json=diagnostic-short",
    ])
    .arg(format!("-Ldependency={}", kit.deps.display()));
    for (name, rlib) in &kit.externs {
        cmd.arg("--extern")
            .arg(format!("{name}={}", rlib.display()));
    }
    // Relative, so the compiler's messages name `src/student.rs`, which `compiler_errors`
    // turns into the student's own file name.
    cmd.arg("src/main.rs")
        .arg("-o")
        .arg(bin)
        .current_dir(crate_dir)
        .env_clear()
        // rustc runs the system linker (cc, ld).
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("TMPDIR", tmp);
    cmd
}

/// The sandbox of a harness build: the build's limits, the system and the kit to read, the
/// crate and `work` to write.
fn build_spec(kit: &Kit, wall_s: u64, crate_dir: &Path, work: &Path) -> Spec {
    let mut access = Access::system();
    access
        .read
        .extend(["/usr", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev"].map(PathBuf::from));
    access.read.push(kit.sysroot.clone());
    access.read.push(kit.deps.clone());
    access.write.extend([
        crate_dir.to_path_buf(),
        work.to_path_buf(),
        PathBuf::from("/dev/null"),
    ]);
    Spec {
        limits: build_limits(wall_s),
        access,
        uid: None,
        trusted_tools: true,
    }
}

/// A failed build that is not the submission's fault: the compiler could not start, the build
/// was stopped from outside, the disk is full, the compiler or the linker failed.
fn grader_fault(kit: &Kit, done: &sandbox::Finished, work: &Path) -> Option<Failure> {
    let stopped_from_outside = |sig: i32| {
        matches!(
            sig,
            libc::SIGTERM | libc::SIGINT | libc::SIGHUP | libc::SIGQUIT | libc::SIGKILL
        )
    };
    match &done.ending {
        Ending::NotStarted(why) => {
            return Some(Failure::Grader(format!(
                "could not start the compiler {}: {why}",
                kit.rustc.display()
            )));
        }
        // Our own wall clock ends a build with TimedOut; a plain kill came from elsewhere
        // (an operator, a CI runner being cancelled, the kernel out of memory).
        Ending::Signalled(sig) if stopped_from_outside(*sig) => {
            return Some(Failure::Grader(format!(
                "the build was stopped from outside the grader (signal {sig}); grade this submission again"
            )));
        }
        _ => {}
    }
    if let Some(full) = crate::failure::disk_full(work) {
        return Some(full);
    }
    let grader_side = [
        ("No space left on device", "the disk is full"),
        ("Disk quota exceeded", "the disk quota is exhausted"),
        ("internal compiler error", "the compiler crashed"),
        ("linker `cc` not found", "no C linker (cc) on this machine"),
    ];
    grader_side.into_iter().find_map(|(needle, what)| {
        done.stderr.contains(needle).then(|| {
            let line = done
                .stderr
                .lines()
                .find(|l| l.contains(needle))
                .unwrap_or(needle);
            let line: String = line.chars().take(300).collect();
            Failure::Grader(format!(
                "the grader could not build this submission ({what}): {line}"
            ))
        })
    })
}

/// Up to ten of the compiler's messages for the student, naming their own file: its errors,
/// else (stopped by a limit before any error) what it was saying, else its plain output.
fn compiler_errors(stderr: &str, student_file: &str) -> Vec<String> {
    let diagnostics: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let rendered = |errors_only: bool| -> Vec<String> {
        diagnostics
            .iter()
            .filter(|m| !errors_only || m["level"] == "error")
            .filter_map(|m| m["rendered"].as_str())
            .map(|r| r.trim().replace("src/student.rs", student_file))
            .take(10)
            .collect()
    };
    let mut errors = rendered(true);
    if errors.is_empty() {
        // Stopped by a limit before any error: what the compiler was saying then.
        errors = rendered(false);
    }
    if errors.is_empty() {
        errors = stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('{'))
            .take(10)
            .map(String::from)
            .collect();
    }
    errors
}
