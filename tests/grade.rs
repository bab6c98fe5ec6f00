//! End-to-end grading through the `petri` binary: every challenge's reference scores full
//! marks and its starter under half; hostile submissions score 0 with a readable reason, within
//! their limits, without touching the rest of the batch; reports are what Gradescope, JUnit and
//! spreadsheets read; the same submission graded twice gets the same score.
//!
//! Code submissions build into the workspace's own `target/` (same profile and lock file), so
//! the engine is not compiled a second time.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target_dir() -> PathBuf {
    // target/<profile>/petri -> target
    Path::new(env!("CARGO_BIN_EXE_petri"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf()
}

fn petri(args: &[&str], challenges: &Path, data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_petri"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("PETRI_CHALLENGES", challenges)
        .env("PETRI_GRADE_TARGET", target_dir())
        .env("PETRI_STATE", data_dir.join("state"))
        .env_remove("PETRI_DATA")
        .output()
        .expect("petri runs")
}

fn shared_data() -> Option<PathBuf> {
    let dir = root().join("../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/data is absent");
        None
    }
}

/// Grades the submission folders under `subs`; returns results.jsonl by submission name.
fn grade(challenge: &str, subs: &Path, out: &Path, data: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "grade",
        "--challenge",
        challenge,
        subs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = petri(&args, &root().join("challenges"), data);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "grading failed: {err}\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
    std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn by_name<'a>(results: &'a [Value], name: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["submission"] == name)
        .unwrap_or_else(|| panic!("no result for {name}"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A scratch folder the sandbox users can reach (tempdir's are private to root).
fn scratch() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// Reference and starter of `id` graded in one batch.
fn reference_and_starter(id: &str, data: &Path) {
    let tmp = scratch();
    let subs = tmp.path().join("subs");
    let ch = root().join("challenges").join(id);
    copy_dir(&ch.join("reference"), &subs.join("reference"));
    copy_dir(&ch.join("starter"), &subs.join("starter"));
    let results = grade(id, &subs, &tmp.path().join("out"), data, &["--jobs", "2"]);
    let reference = by_name(&results, "reference");
    let starter = by_name(&results, "starter");
    let max = reference["max_score"].as_f64().unwrap();
    assert_eq!(
        reference["score"].as_f64().unwrap(),
        max,
        "{id} reference: {reference:#}"
    );
    let s = starter["score"].as_f64().unwrap();
    assert!(
        s < max / 2.0,
        "{id} starter scored {s} of {max}: {starter:#}"
    );
}

#[test]
fn code_challenges_reference_full_marks_starter_under_half() {
    let tmp = scratch();
    for id in [
        "classification/confusion-matrix",
        "augmentation/flip-rotate",
        "augmentation/paired-crop",
        "segmentation/dice",
        "segmentation/class-weights",
        "regression/feature-selection",
    ] {
        reference_and_starter(id, tmp.path());
    }
}

#[test]
fn regression_config_reference_full_marks_starter_under_half() {
    let tmp = scratch();
    reference_and_starter("regression/network", tmp.path());
}

#[test]
fn image_config_reference_full_marks_starter_under_half() {
    // Trains ResNet-18 on BreastMNIST twice (a minute or two on 2 cores).
    let Some(data) = shared_data() else { return };
    reference_and_starter("classification/imbalance", &data);
}

#[test]
fn the_same_submission_graded_twice_gets_the_same_score() {
    let tmp = scratch();
    let subs = tmp.path().join("subs");
    let ch = root().join("challenges/regression/network");
    copy_dir(&ch.join("reference"), &subs.join("a"));
    copy_dir(&ch.join("reference"), &subs.join("b"));
    let results = grade(
        "regression/network",
        &subs,
        &tmp.path().join("out"),
        tmp.path(),
        &["--jobs", "2"],
    );
    let (a, b) = (by_name(&results, "a"), by_name(&results, "b"));
    assert_eq!(a["checks"], b["checks"]);
    assert_eq!(a["leaderboard"], b["leaderboard"]);
}

/// A copy of the dice challenge with a short time limit, so hostile runs end quickly.
fn quick_dice(tmp: &Path) -> PathBuf {
    let challenges = tmp.join("challenges");
    let dice = challenges.join("segmentation/dice");
    let from = root().join("challenges/segmentation/dice");
    copy_dir(&from, &dice);
    copy_dir(&from.join("reference"), &dice.join("reference"));
    copy_dir(&from.join("starter"), &dice.join("starter"));
    let toml = std::fs::read_to_string(dice.join("challenge.toml"))
        .unwrap()
        .replace("time_limit_s = 20", "time_limit_s = 4")
        .replace("memory_limit_mb = 512", "memory_limit_mb = 256");
    std::fs::write(dice.join("challenge.toml"), toml).unwrap();
    challenges
}

const SIGNATURE: &str =
    "pub fn dice_per_class(pred: &[u8], truth: &[u8], classes: usize) -> Vec<Option<f64>>";

fn hostile(subs: &Path, name: &str, body: &str) {
    let dir = subs.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dice.rs"), format!("{SIGNATURE} {{\n{body}\n}}\n")).unwrap();
}

fn sandbox_processes() -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|u| u.parse::<u32>().ok())
                .is_some_and(|u| (61_000..62_000).contains(&u))
        })
        .count()
}

#[test]
fn hostile_submissions_score_zero_with_a_reason_and_spare_the_batch() {
    let tmp = scratch();
    let challenges = quick_dice(tmp.path());
    let subs = tmp.path().join("subs");
    let reference = root().join("challenges/segmentation/dice/reference");
    copy_dir(&reference, &subs.join("00-good"));
    let canary = tmp.path().join("canary.txt");
    std::fs::write(&canary, "keep me").unwrap();
    let escape = tmp.path().join("escaped.txt");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let secret = reference.join("dice.rs");

    hostile(
        &subs,
        "compile-error",
        "let x: u8 = \"not a number\"; vec![]",
    );
    hostile(
        &subs,
        "panics",
        "let _ = (pred, truth, classes); panic!(\"boom\")",
    );
    hostile(
        &subs,
        "endless-loop",
        "let _ = (pred, truth, classes); loop { std::hint::spin_loop(); }",
    );
    hostile(
        &subs,
        "floods-output",
        "let _ = (pred, truth, classes); loop { println!(\"{}\", \"x\".repeat(10_000)); }",
    );
    hostile(
        &subs,
        "exhausts-memory",
        "let _ = (pred, truth, classes); let mut v: Vec<Vec<u8>> = Vec::new(); loop { v.push(vec![1u8; 64 << 20]); }",
    );
    hostile(
        &subs,
        "fork-bomb",
        "let _ = (pred, truth, classes); loop { let _ = std::process::Command::new(\"/proc/self/exe\").spawn(); }",
    );
    hostile(
        &subs,
        "writes-outside",
        &format!(
            "let _ = (pred, truth, classes); let _ = std::fs::remove_file({canary:?}); std::fs::write({escape:?}, \"x\").expect(\"write outside\"); vec![]"
        ),
    );
    hostile(
        &subs,
        "network",
        &format!(
            "let _ = (pred, truth, classes); std::net::TcpStream::connect((\"127.0.0.1\", {port})).expect(\"network\"); vec![]"
        ),
    );
    hostile(
        &subs,
        "reads-reference-at-runtime",
        &format!(
            "let _ = (pred, truth, classes); std::fs::read_to_string({secret:?}).expect(\"read the reference\"); vec![]"
        ),
    );
    hostile(
        &subs,
        "reads-reference-at-compile-time",
        &format!("let _ = (pred, truth, classes); let _ = include_str!({secret:?}); vec![]"),
    );
    hostile(
        &subs,
        "fake-report",
        "let _ = (pred, truth, classes); println!(\"{{\\\"score\\\": 10, \\\"tests\\\": []}}\"); let _ = std::fs::write(\"results.json\", \"{\\\"score\\\": 10}\"); vec![Some(1.0); classes]",
    );

    let started = std::time::Instant::now();
    let out = tmp.path().join("out");
    let mut args = vec![
        "grade",
        "--challenge",
        "segmentation/dice",
        subs.to_str().unwrap(),
    ];
    args.extend(["--out", out.to_str().unwrap(), "--jobs", "2"]);
    let o = petri(&args, &challenges, tmp.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let results: Vec<Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Each hostile run was capped by its own limits (the reasons below say which); the batch's
    // duration is not asserted, since tests share the machine.
    eprintln!("hostile batch graded in {:?}", started.elapsed());
    assert_eq!(by_name(&results, "00-good")["score"], 10.0);
    let reason = |name: &str| -> String {
        let r = by_name(&results, name);
        assert_eq!(r["score"], 0.0, "{name} scored: {r:#}");
        r["checks"][0]["output"].as_str().unwrap().to_string()
    };
    for (name, expected) in [
        ("compile-error", "does not compile"),
        ("panics", "panicked: boom"),
        ("endless-loop", "did not finish within 4 s"),
        ("floods-output", "did not finish"),
        ("exhausts-memory", "memory"),
        ("fork-bomb", ""),
        ("writes-outside", "write outside"),
        ("network", "network"),
        ("reads-reference-at-runtime", "read the reference"),
        ("reads-reference-at-compile-time", "does not compile"),
        ("fake-report", "cases right"),
    ] {
        let why = reason(name);
        eprintln!("{name}: {why}");
        assert!(
            why.contains(expected),
            "{name}: reason {why:?} lacks {expected:?}"
        );
    }
    assert!(
        canary.exists(),
        "a submission deleted a file outside its folder"
    );
    assert!(!escape.exists(), "a submission wrote outside its folder");
    assert!(
        listener.accept().is_err(),
        "a submission reached the network"
    );
    assert_eq!(
        sandbox_processes(),
        0,
        "sandboxed processes outlived grading"
    );
    // The flood was cut, not stored.
    let flood = by_name(&results, "floods-output");
    assert!(flood.to_string().len() < 100_000);
}

#[test]
fn reports_are_what_gradescope_junit_and_spreadsheets_read() {
    let tmp = scratch();
    let subs = tmp.path().join("subs");
    let ch = root().join("challenges/regression/feature-selection");
    copy_dir(&ch.join("reference"), &subs.join("ada"));
    copy_dir(&ch.join("starter"), &subs.join("bob"));
    let out = tmp.path().join("out");
    grade("feature-selection", &subs, &out, tmp.path(), &[]);
    let gs: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("gradescope/ada/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(gs["score"], 10.0);
    assert_eq!(gs["tests"].as_array().unwrap().len(), 3);
    assert_eq!(gs["tests"][1]["visibility"], "after_published");
    assert_eq!(gs["leaderboard"][0]["name"], "RMSE");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.starts_with("<?xml"));
    assert_eq!(junit.matches("<testcase").count(), 6);
    assert_eq!(
        junit.matches("<failure").count(),
        3,
        "bob fails all three: {junit}"
    );
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "submission,challenge,score,max_score,valid,ranking,rmse,leaderboard"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("ada,regression/feature-selection,10,10,2,3,5,0.1")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("bob,regression/feature-selection,0,10,0,0,0,")
    );

    // One submission: Gradescope's own layout, results.json at the top of --out.
    let single = tmp.path().join("single");
    let o = petri(
        &[
            "grade",
            "--challenge",
            "feature-selection",
            subs.join("ada").to_str().unwrap(),
            "--out",
            single.to_str().unwrap(),
            "--format",
            "gradescope",
        ],
        &root().join("challenges"),
        tmp.path(),
    );
    assert!(o.status.success());
    assert!(single.join("results.json").is_file());
}

#[test]
fn students_start_check_and_get_hints_without_seeing_the_reference() {
    let tmp = scratch();
    let dir = tmp.path().join("work");
    let challenges = root().join("challenges");
    let o = petri(
        &["challenge", "start", "dice", "--dir", dir.to_str().unwrap()],
        &challenges,
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let starter = std::fs::read_to_string(dir.join("dice.rs")).unwrap();
    let reference =
        std::fs::read_to_string(challenges.join("segmentation/dice/reference/dice.rs")).unwrap();
    assert_ne!(starter, reference);
    assert!(dir.join("README.md").is_file());
    // Starting again over the same folder refuses instead of overwriting work.
    let again = petri(
        &["challenge", "start", "dice", "--dir", dir.to_str().unwrap()],
        &challenges,
        tmp.path(),
    );
    assert!(!again.status.success());

    let o = petri(
        &["challenge", "check", dir.to_str().unwrap()],
        &challenges,
        tmp.path(),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("0.00 / 2 points"),
        "only the visible check runs: {out}"
    );
    assert!(out.contains("expected 0.6667, got 0.5000"), "{out}");

    std::fs::copy(
        challenges.join("segmentation/dice/reference/dice.rs"),
        dir.join("dice.rs"),
    )
    .unwrap();
    let o = petri(
        &["challenge", "check", dir.to_str().unwrap()],
        &challenges,
        tmp.path(),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("2.00 / 2 points") && out.contains("All visible checks pass"),
        "{out}"
    );
    let progress = std::fs::read_to_string(tmp.path().join("state/progress.json")).unwrap();
    assert!(
        progress.contains("03-segmentation") && progress.contains("segmentation/dice"),
        "{progress}"
    );

    let h1 = petri(
        &["challenge", "hint", dir.to_str().unwrap()],
        &challenges,
        tmp.path(),
    );
    let h2 = petri(
        &["challenge", "hint", dir.to_str().unwrap()],
        &challenges,
        tmp.path(),
    );
    assert!(String::from_utf8_lossy(&h1.stdout).starts_with("Hint 1 of 3"));
    assert!(String::from_utf8_lossy(&h2.stdout).starts_with("Hint 2 of 3"));
}

#[test]
fn grading_fails_only_when_the_grader_cannot_run() {
    let tmp = scratch();
    let o = petri(
        &[
            "grade",
            "--challenge",
            "no-such-challenge",
            tmp.path().to_str().unwrap(),
        ],
        &root().join("challenges"),
        tmp.path(),
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no challenge 'no-such-challenge'"));
    // An empty submission folder is graded (0, "missing"), not an error.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let results = grade("dice", &empty, &tmp.path().join("out"), tmp.path(), &[]);
    assert_eq!(results[0]["score"], 0.0);
    assert!(
        results[0]["checks"][0]["output"]
            .as_str()
            .unwrap()
            .contains("dice.rs is missing")
    );
}

#[test]
fn gradescope_bundle_carries_the_source_and_the_scripts() {
    let tmp = scratch();
    let zip_path = tmp.path().join("autograder.zip");
    let o = petri(
        &[
            "grade",
            "--challenge",
            "dice",
            "--gradescope-bundle",
            zip_path.to_str().unwrap(),
        ],
        &root().join("challenges"),
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok())
        .map(String::from)
        .collect();
    for needed in [
        "setup.sh",
        "run_autograder",
        "petri/Cargo.toml",
        "petri/Cargo.lock",
        "petri/challenges/segmentation/dice/challenge.toml",
        "petri/grader/src/lib.rs",
    ] {
        assert!(
            names.iter().any(|n| n == needed),
            "{needed} missing from the bundle"
        );
    }
    assert!(
        !names.iter().any(|n| n.contains("/target/")),
        "build outputs in the bundle"
    );
    let mut run = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("run_autograder").unwrap(), &mut run).unwrap();
    assert!(run.contains("--challenge segmentation/dice /autograder/submission --out /autograder/results --format gradescope"));
}
