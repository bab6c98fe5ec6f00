//! Builds a code submission: the student's one Rust file becomes `src/student.rs` of a harness
//! crate the grader owns (its `main.rs`, its `Cargo.toml`: no `build.rs`, no dependencies of
//! the student's choosing), compiled inside the sandbox so that `include_bytes!` and friends
//! cannot reach hidden data or references. All submissions share one target directory, so
//! `petri-engine` and its dependencies compile once per machine.

use crate::sandbox::{self, Access, Limits, Spec};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// Where the harness finds the engine and the toolchain, and where it builds.
#[derive(Debug, Clone)]
pub struct BuildEnv {
    /// The `engine/` folder of a Petri checkout (the harness links it by path).
    pub engine_dir: PathBuf,
    /// Shared target directory for every submission.
    pub target_dir: PathBuf,
    /// A `Cargo.lock` pinning the versions Petri was tested with.
    pub lock_file: Option<PathBuf>,
    pub cargo_home: PathBuf,
    pub rustup_home: PathBuf,
}

impl BuildEnv {
    /// The engine this binary was built from, and the usual toolchain locations.
    pub fn from_checkout(target_dir: PathBuf) -> BuildEnv {
        let engine_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine");
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let from_env = |k: &str, d: &str| {
            std::env::var_os(k)
                .map(PathBuf::from)
                .unwrap_or(home.join(d))
        };
        let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
        BuildEnv {
            engine_dir: engine_dir.canonicalize().unwrap_or(engine_dir),
            target_dir,
            lock_file: lock.is_file().then_some(lock),
            cargo_home: from_env("CARGO_HOME", ".cargo"),
            rustup_home: from_env("RUSTUP_HOME", ".rustup"),
        }
    }
}

const MANIFEST: &str = r#"[package]
name = "NAME"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
petri-engine = { path = "ENGINE" }
serde = "1"
serde_json = "1"

# Its own workspace, with the profile of Petri's, so compiled dependencies are shared.
[workspace]

[profile.dev.package."*"]
opt-level = 3

[profile.dev]
opt-level = 1
debug = "line-tables-only"
"#;

/// One cargo at a time: builds share the target directory, and the binary is copied out
/// before the next build overwrites it.
static BUILD: Mutex<()> = Mutex::new(());

/// Compiles `student_source` (the student's `student_file`) into a harness with `main_source`; returns the binary, copied
/// to `work/harness-bin`, or the compiler's complaint.
pub fn build(
    env: &BuildEnv,
    main_source: &str,
    student_file: &str,
    student_source: &[u8],
    work: &Path,
) -> Result<PathBuf, String> {
    let crate_dir = work.join("harness");
    let src = crate_dir.join("src");
    let tmp = crate_dir.join("tmp");
    let io = |e: std::io::Error| {
        format!(
            "grader could not prepare the build in {}: {e}",
            crate_dir.display()
        )
    };
    std::fs::create_dir_all(&src).map_err(io)?;
    std::fs::create_dir_all(&tmp).map_err(io)?;
    std::fs::create_dir_all(&env.target_dir).map_err(io)?;
    // A name of its own: cargo hashes a workspace-root package without its path, so two
    // harnesses of the same name (in this process or a concurrent grader) would share and
    // overwrite one executable.
    static BUILDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("petri-harness-{}-{n}", std::process::id());
    let manifest = MANIFEST
        .replace("NAME", &name)
        .replace("ENGINE", &env.engine_dir.to_string_lossy());
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).map_err(io)?;
    if let Some(lock) = &env.lock_file {
        std::fs::copy(lock, crate_dir.join("Cargo.lock")).map_err(io)?;
    }
    std::fs::write(src.join("main.rs"), main_source).map_err(io)?;
    std::fs::write(src.join("student.rs"), student_source).map_err(io)?;

    let mut cmd = Command::new(env.cargo_home.join("bin/cargo"));
    // JSON messages name the executable by its unique hashed path: the plain
    // `target/debug/petri-harness` is shared by every build (and by concurrent graders).
    cmd.args([
        "build",
        "--offline",
        "--message-format=json-diagnostic-short",
    ])
    .current_dir(&crate_dir)
    .env("CARGO_TARGET_DIR", &env.target_dir)
    .env("CARGO_HOME", &env.cargo_home)
    .env("RUSTUP_HOME", &env.rustup_home)
    .env("TMPDIR", &tmp)
    .env("CARGO_TERM_COLOR", "never")
    .env_remove("RUSTC_WRAPPER")
    .env_remove("CARGO_BUILD_RUSTC_WRAPPER");
    let mut access = Access::system();
    access
        .read
        .extend(["/usr", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev"].map(PathBuf::from));
    access.read.push(env.rustup_home.clone());
    access.read.push(env.engine_dir.clone());
    // The engine inherits its version and edition from Petri's workspace manifest.
    if let Some(root) = env.engine_dir.parent() {
        access.read.push(root.join("Cargo.toml"));
    }
    access.write.extend([
        crate_dir.clone(),
        env.target_dir.clone(),
        env.cargo_home.clone(), // cargo's package-cache lock
        PathBuf::from("/dev/null"),
    ]);
    let spec = Spec {
        limits: Limits {
            wall: Duration::from_secs(1800),
            cpu_seconds: 7200,
            memory_bytes: 64 << 30,
            file_bytes: 4 << 30,
            processes: 0,
            output_bytes: 16 << 20,
        },
        access,
        uid: None,
        trusted_tools: true,
    };
    let _guard = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let done = sandbox::run(cmd, &spec);
    let messages: Vec<serde_json::Value> = done
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if !done.success() {
        let mut errors: Vec<String> = messages
            .iter()
            .filter(|m| m["reason"] == "compiler-message" && m["message"]["level"] == "error")
            .filter_map(|m| m["message"]["rendered"].as_str())
            .map(|r| r.trim().replace("src/student.rs", student_file))
            .take(10)
            .collect();
        if errors.is_empty() {
            errors = done
                .stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(10)
                .map(String::from)
                .collect();
        }
        return Err(format!(
            "does not compile ({}):\n{}",
            done.reason(&spec.limits),
            errors.join("\n")
        ));
    }
    let built = messages
        .iter()
        .rev()
        .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name.as_str())
        .and_then(|m| m["executable"].as_str())
        .map(PathBuf::from)
        .ok_or("grader could not find the built harness in cargo's output")?;
    let bin = work.join("harness-bin");
    std::fs::copy(&built, &bin)
        .map_err(|e| format!("grader could not copy the built harness: {e}"))?;
    // Each submission's executable is unique; keep the shared target folder from growing.
    let _ = std::fs::remove_file(&built);
    Ok(bin)
}
