//! Embeds the course content (`../lessons/*/lesson.md` and `check.toml`) in the binary, so an
//! installed `petri` works from any folder. `--lessons DIR` reads a folder instead.

use std::fmt::Write;
use std::path::Path;

fn main() {
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
