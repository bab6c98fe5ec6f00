//! Embeds the course content (`../lessons/*/lesson.md` and `check.toml`) in the binary, so an
//! installed `petri` works from any folder. `--lessons DIR` reads a folder instead.

use std::fmt::Write;
use std::path::Path;

/// `petri --version`: the version, the commit it was built from, and the training backends
/// compiled in (GPU backends are cargo features).
fn version() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(manifest)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit =
        git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown commit".into());
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let dir = manifest.join(dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("refs/heads").display()
        );
    }
    let mut backends = vec!["cpu"];
    if std::env::var_os("CARGO_FEATURE_WGPU").is_some() {
        backends.push("vulkan (wgpu)");
    }
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        backends.push("cuda");
    }
    println!(
        "cargo:rustc-env=PETRI_VERSION={} (commit {commit}; backends: {})",
        env!("CARGO_PKG_VERSION"),
        backends.join(", ")
    );
}

/// Every file below `dir` (relative paths, sorted), skipping folders named in `skip`.
fn files_below(dir: &Path, skip: &[&str]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !skip.contains(&name.as_str()) {
                    stack.push(p);
                }
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// What an installed binary needs from the source tree at run time, embedded so that it works
/// from anywhere: the challenges (never their references), `petri-core`'s source with a
/// standalone manifest, and `Cargo.lock`, for the grader's kit.
fn tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = String::new();
    let mut list = |name: &str, dir: &Path, skip: &[&str]| {
        println!("cargo:rerun-if-changed={}", dir.display());
        writeln!(out, "pub static {name}: &[(&str, &[u8])] = &[").unwrap();
        for f in files_below(dir, skip) {
            let rel = f.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            writeln!(
                out,
                "    ({rel:?}, include_bytes!({:?})),",
                f.display().to_string()
            )
            .unwrap();
        }
        out.push_str("];\n");
    };
    list("CHALLENGES", &root.join("challenges"), &["reference"]);
    list("CORE_SRC", &root.join("core/src"), &[]);
    let lock = root.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    writeln!(
        out,
        "pub static LOCK: &str = include_str!({:?});",
        lock.display().to_string()
    )
    .unwrap();
    writeln!(
        out,
        "pub static CORE_MANIFEST: &str = \"[package]\\nname = \\\"petri-core\\\"\\nversion = \\\"{}\\\"\\nedition = \\\"2024\\\"\\n\\n[dependencies]\\n\";",
        env!("CARGO_PKG_VERSION")
    )
    .unwrap();
    source(&root, &mut out);
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_tree.rs");
    std::fs::write(dest, out).unwrap();
}

/// What building Petri needs, for the Gradescope autograder bundle: the workspace's tracked
/// files (git-ignored ones such as `bench/.venv` and `target/` never go in), without the
/// challenges' references. Embedded so that a bundle from an installed binary is the same as
/// one from the checkout.
const SOURCE_ROOTS: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "bench",
    "core",
    "engine",
    "grader",
    "tui",
    "tests",
    "lessons",
    "challenges",
    "patches",
];

fn source(root: &Path, out: &mut String) {
    let tracked = std::process::Command::new("git")
        .args(["ls-files", "-z", "--"])
        .args(SOURCE_ROOTS)
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success() && !o.stdout.is_empty())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split('\0')
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        });
    // Without git (a source archive): every file below the roots but build outputs, virtual
    // environments and hidden folders.
    let files = tracked.unwrap_or_else(|| {
        let mut v = Vec::new();
        for r in SOURCE_ROOTS {
            let p = root.join(r);
            if p.is_file() {
                v.push(r.to_string());
            } else {
                for f in files_below(&p, &["target", ".venv", ".git", "__pycache__"]) {
                    v.push(f.strip_prefix(root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        v
    });
    let mut files: Vec<String> = files
        .into_iter()
        .filter(|f| !f.split('/').any(|part| part == "reference"))
        .filter(|f| root.join(f).is_file())
        .collect();
    files.sort();
    for r in SOURCE_ROOTS {
        println!("cargo:rerun-if-changed={}", root.join(r).display());
    }
    writeln!(out, "pub static SOURCE: &[(&str, &[u8])] = &[").unwrap();
    for f in files {
        writeln!(
            out,
            "    ({f:?}, include_bytes!({:?})),",
            root.join(&f).display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
}

fn main() {
    version();
    tree();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("lesson.md").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    let mut out = String::from(
        "/// (folder name, lesson.md, check.toml) of every lesson, embedded at build time.\n",
    );
    out.push_str("pub static LESSONS: &[(&str, &str, &str)] = &[\n");
    for d in &dirs {
        println!("cargo:rerun-if-changed={}", d.display());
        for f in ["lesson.md", "check.toml"] {
            println!("cargo:rerun-if-changed={}", d.join(f).display());
        }
        let name = d.file_name().unwrap().to_string_lossy();
        let check = d.join("check.toml");
        let check_expr = if check.exists() {
            format!("include_str!({:?})", check.display().to_string())
        } else {
            "\"\"".to_string()
        };
        writeln!(
            out,
            "    ({name:?}, include_str!({:?}), {check_expr}),",
            d.join("lesson.md").display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_lessons.rs");
    std::fs::write(dest, out).unwrap();
}
