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

fn main() {
    version();
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
