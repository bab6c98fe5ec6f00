//! `petri-bench` under the name `petri` is `petri`: the GPU check carries this one binary for
//! both (scripts/gpu-check).

use std::process::Command;

#[test]
fn petri_bench_named_petri_is_petri() {
    let dir = std::env::temp_dir().join(format!("petri-bench-as-petri-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let petri = dir.join("petri");
    let _ = std::fs::remove_file(&petri);
    std::fs::copy(env!("CARGO_BIN_EXE_petri-bench"), &petri).unwrap();
    let out = Command::new(&petri).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("petri "), "{text}");
    // Under its own name it is the benchmark.
    let out = Command::new(env!("CARGO_BIN_EXE_petri-bench"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Benchmarks of Petri"));
    std::fs::remove_dir_all(&dir).unwrap();
}
