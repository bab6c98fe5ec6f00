//! End-to-end grading through the `petri` binary: every challenge's reference scores full
//! marks and its starter under half; hostile submissions score 0 with a readable reason, within
//! their limits, without touching the rest of the batch; reports are what Gradescope, JUnit and
//! spreadsheets read; the same submission graded twice gets the same score.
//!
//! Code submissions link the challenge kit (petri-core, serde_json), built once into
//! `target/grade-kit` and shared by every test.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn kit_dir() -> PathBuf {
    // target/<profile>/petri -> target/grade-kit
    Path::new(env!("CARGO_BIN_EXE_petri"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("grade-kit")
}

/// The Python (with numpy) that Python answers are graded with: `PETRI_PYTHON`, else the venv
/// `scripts/python-env` makes in target/python-venv. CI makes it; elsewhere the Python tests
/// skip with a message when there is none.
fn python() -> Option<PathBuf> {
    let found = python_path();
    if found.is_none() {
        eprintln!("skipped: no Python with numpy (scripts/python-env makes target/python-venv)");
    }
    found
}

fn python_path() -> Option<PathBuf> {
    let venv = root().join("target/python-venv/bin/python");
    std::env::var_os("PETRI_PYTHON")
        .map(PathBuf::from)
        .or_else(|| venv.is_file().then_some(venv))
}

fn petri(args: &[&str], challenges: &Path, data_dir: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_petri"));
    if let Some(python) = python_path() {
        cmd.env("PETRI_PYTHON", python);
    }
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("PETRI_CHALLENGES", challenges)
        .env("PETRI_GRADE_KIT", kit_dir())
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

/// `petri grade --challenge CHALLENGE SUBS --out OUT EXTRA...` with the real challenges.
/// `grade --challenge CHALLENGE SUBS --out OUT`, how every grading command here starts.
fn grade_args<'a>(challenge: &'a str, subs: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "grade",
        "--challenge",
        challenge,
        subs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
}

fn grade_output(challenge: &str, subs: &Path, out: &Path, data: &Path, extra: &[&str]) -> Output {
    let mut args = grade_args(challenge, subs, out);
    args.extend_from_slice(extra);
    petri(&args, &root().join("challenges"), data)
}

/// Grades the submission folders under `subs`; returns results.jsonl by submission name.
fn grade(challenge: &str, subs: &Path, out: &Path, data: &Path, extra: &[&str]) -> Vec<Value> {
    let o = grade_output(challenge, subs, out, data, extra);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "grading failed: {err}\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
    read_results(out)
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

/// A submission copied from a reference or starter folder, answered in `language` ("rs" or
/// "py"): the other language's answer file is left behind, as a student would hand in one.
fn submit(from: &Path, to: &Path, language: &str) {
    std::fs::create_dir_all(to).unwrap();
    let other = if language == "py" { "rs" } else { "py" };
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let is_other = e.path().extension().is_some_and(|x| x == other);
        if e.path().is_file() && !is_other {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Dice submissions in `tmp/subs`: each student gets a copy of the challenge's `reference` or
/// `starter`. Returns the folder.
fn dice_class(tmp: &Path, students: &[(&str, &str)]) -> PathBuf {
    let subs = tmp.join("subs");
    let dice = root().join("challenges/segmentation/dice");
    for (name, which) in students {
        submit(&dice.join(which), &subs.join(name), "rs");
    }
    subs
}

/// A scratch folder the sandbox users can reach (tempdir's are private to root).
fn scratch() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// Reference and starter of `id`, answered in `language` ("rs" or "py"), graded in one batch.
fn reference_and_starter(id: &str, data: &Path, language: &str) {
    let tmp = scratch();
    let subs = tmp.path().join("subs");
    let ch = root().join("challenges").join(id);
    submit(&ch.join("reference"), &subs.join("reference"), language);
    submit(&ch.join("starter"), &subs.join("starter"), language);
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

/// Every code challenge, answered in either language.
const CODE_CHALLENGES: [&str; 6] = [
    "classification/confusion-matrix",
    "augmentation/flip-rotate",
    "augmentation/paired-crop",
    "segmentation/dice",
    "segmentation/class-weights",
    "regression/feature-selection",
];

#[test]
fn code_challenges_reference_full_marks_starter_under_half() {
    let tmp = scratch();
    for id in CODE_CHALLENGES {
        reference_and_starter(id, tmp.path(), "rs");
    }
}

#[test]
fn python_answers_reference_full_marks_starter_under_half() {
    if python().is_none() {
        return;
    }
    let tmp = scratch();
    for id in CODE_CHALLENGES {
        reference_and_starter(id, tmp.path(), "py");
    }
}

/// One class, both languages: each submission is graded in the language it answered in; one
/// holding both answers is graded in the language its marker names, or refused with why.
#[test]
fn a_class_mixes_rust_and_python_answers() {
    if python().is_none() {
        return;
    }
    let tmp = scratch();
    let subs = tmp.path().join("subs");
    let dice = root().join("challenges/segmentation/dice");
    submit(&dice.join("reference"), &subs.join("ada-rust"), "rs");
    submit(&dice.join("reference"), &subs.join("bob-python"), "py");
    submit(&dice.join("starter"), &subs.join("cy-python-starter"), "py");
    copy_dir(&dice.join("reference"), &subs.join("dee-both"));
    copy_dir(&dice.join("starter"), &subs.join("eve-both-marked"));
    std::fs::copy(
        dice.join("reference/dice.py"),
        subs.join("eve-both-marked/dice.py"),
    )
    .unwrap();
    std::fs::write(
        subs.join("eve-both-marked/.petri-challenge"),
        "segmentation/dice\npython\n",
    )
    .unwrap();
    let results = grade("dice", &subs, &tmp.path().join("out"), tmp.path(), &[]);
    let score = |n: &str| by_name(&results, n)["score"].as_f64().unwrap();
    assert_eq!(score("ada-rust"), 10.0);
    assert_eq!(score("bob-python"), 10.0);
    assert!(score("cy-python-starter") < 5.0);
    assert_eq!(score("eve-both-marked"), 10.0, "graded as its marker says");
    let dee = by_name(&results, "dee-both");
    assert_eq!(dee["score"], 0.0);
    let why = dee["checks"][0]["output"].as_str().unwrap();
    assert!(why.contains("keep only the one"), "{why}");
    assert_eq!(dee["checks"][0]["lost"], "not-submitted");
}

/// No Python, or one without numpy, is the grader's fault: Python answers are not graded
/// (exit 3, the reason named), Rust answers in the same class still are.
#[test]
fn a_grading_machine_without_python_or_numpy_grades_no_python_answer() {
    let tmp = scratch();
    let subs = tmp.path().join("subs");
    let dice = root().join("challenges/segmentation/dice");
    submit(&dice.join("reference"), &subs.join("ada-rust"), "rs");
    submit(&dice.join("reference"), &subs.join("bob-python"), "py");
    let no_numpy = Path::new("/usr/bin/python3");
    let missing = tmp.path().join("no-such-python");
    let mut cases = vec![(missing.as_path(), "cannot run")];
    // A system Python without numpy, where there is one.
    let has_numpy = Command::new(no_numpy)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if no_numpy.is_file() && !has_numpy {
        cases.push((no_numpy, "has no numpy"));
    }
    for (i, (python, why)) in cases.into_iter().enumerate() {
        let out = tmp.path().join(format!("out-{i}"));
        let o = petri_env(
            &grade_args("dice", &subs, &out),
            tmp.path(),
            &[("PETRI_PYTHON", python)],
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{stderr}");
        let results = read_results(&out);
        assert_eq!(by_name(&results, "ada-rust")["score"], 10.0);
        let bob = by_name(&results, "bob-python");
        assert!(bob["score"].is_null(), "{bob:#}");
        let error = bob["error"].as_str().unwrap();
        assert!(
            error.contains(why) && error.contains("PETRI_PYTHON"),
            "{error}"
        );
    }
}

#[test]
fn regression_config_reference_full_marks_starter_under_half() {
    let tmp = scratch();
    reference_and_starter("regression/network", tmp.path(), "rs");
}

#[test]
fn image_config_reference_full_marks_starter_under_half() {
    // Trains ResNet-18 on BreastMNIST twice (a minute or two on 2 cores).
    let Some(data) = shared_data() else { return };
    reference_and_starter("classification/imbalance", &data, "rs");
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
    quick_dice_within(tmp, 4)
}

/// The dice challenge limited to `seconds` per run and 256 MB.
fn quick_dice_within(tmp: &Path, seconds: u64) -> PathBuf {
    let challenges = tmp.join("challenges");
    let dice = challenges.join("segmentation/dice");
    let from = root().join("challenges/segmentation/dice");
    copy_dir(&from, &dice);
    copy_dir(&from.join("reference"), &dice.join("reference"));
    copy_dir(&from.join("starter"), &dice.join("starter"));
    let toml = std::fs::read_to_string(dice.join("challenge.toml"))
        .unwrap()
        .replace("time_limit_s = 20", &format!("time_limit_s = {seconds}"))
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

/// The hostile tests, one at a time: each counts the sandbox users' processes on the whole
/// machine at its end, where the other's fork bomb would be counted too.
static HOSTILE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Sandbox processes still alive after up to 5 s: other tests' submissions (which run for
/// moments) may be running when a hostile batch ends; what a hostile one left would stay.
fn sandbox_processes_after_a_while() -> usize {
    let started = std::time::Instant::now();
    loop {
        let n = sandbox_processes();
        if n == 0 || started.elapsed() > std::time::Duration::from_secs(5) {
            return n;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
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
    let _one_at_a_time = HOSTILE.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = scratch();
    let challenges = quick_dice(tmp.path());
    let subs = tmp.path().join("subs");
    let reference = root().join("challenges/segmentation/dice/reference");
    submit(&reference, &subs.join("00-good"), "rs");
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
    // The reason, and what the points were lost to (the gradebook's `lost` column).
    for (name, expected, lost) in [
        ("compile-error", "does not compile", "does-not-build"),
        ("panics", "panicked: boom", "crashed"),
        ("endless-loop", "did not finish within 4 s", "timed-out"),
        ("floods-output", "did not finish", "timed-out"),
        ("exhausts-memory", "memory", ""),
        ("fork-bomb", "", ""),
        ("writes-outside", "write outside", "crashed"),
        ("network", "network", "crashed"),
        (
            "reads-reference-at-runtime",
            "read the reference",
            "crashed",
        ),
        (
            "reads-reference-at-compile-time",
            "does not compile",
            "does-not-build",
        ),
        ("fake-report", "cases right", "wrong-answer"),
    ] {
        let why = reason(name);
        let r = by_name(&results, name);
        let got = r["checks"][0]["lost"].as_str().unwrap_or_default();
        eprintln!("{name}: {got}: {why}");
        assert!(
            why.contains(expected),
            "{name}: reason {why:?} lacks {expected:?}"
        );
        assert!(!got.is_empty(), "{name}: no reason for the lost points");
        assert!(got.contains(lost), "{name}: lost to {got:?}, not {lost:?}");
    }
    let gradebook = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let row = gradebook
        .lines()
        .find(|l| l.starts_with("endless-loop"))
        .unwrap();
    assert!(row.contains("points lost, timed out"), "{row}");
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
        sandbox_processes_after_a_while(),
        0,
        "sandboxed processes outlived grading"
    );
    // The flood was cut, not stored.
    let flood = by_name(&results, "floods-output");
    assert!(flood.to_string().len() < 100_000);
}

fn hostile_python(subs: &Path, name: &str, module: &str, body: &str) {
    let dir = subs.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let body: String = body.lines().map(|l| format!("    {l}\n")).collect();
    std::fs::write(
        dir.join("dice.py"),
        format!(
            "import os, sys, time\n{module}\n\ndef dice_per_class(pred, truth, classes):\n{body}"
        ),
    )
    .unwrap();
}

/// Python answers meet the sandbox Rust answers meet: Landlock reads limited to the
/// interpreter, no network, the limits, nothing left running, no credit unearned.
#[test]
fn hostile_python_answers_score_zero_with_a_reason_and_spare_the_batch() {
    let _one_at_a_time = HOSTILE.lock().unwrap_or_else(|e| e.into_inner());
    if python().is_none() {
        return;
    }
    let tmp = scratch();
    // Longer than the Rust test's 4 s: each run imports numpy first, which on a loaded
    // machine (the tests run in parallel) can take seconds.
    let challenges = quick_dice_within(tmp.path(), 10);
    let subs = tmp.path().join("subs");
    let reference = root().join("challenges/segmentation/dice/reference");
    submit(&reference, &subs.join("00-good"), "py");
    let canary = tmp.path().join("canary.txt");
    std::fs::write(&canary, "keep me").unwrap();
    let escape = tmp.path().join("escaped.txt");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let secret = reference.join("dice.py");
    let neighbour = subs.join("00-good/dice.py");
    let none = "";
    hostile_python(
        &subs,
        "syntax-error",
        none,
        "return [0.0 for c in range(classes)",
    );
    hostile_python(&subs, "raises", none, "raise ValueError('boom')");
    hostile_python(&subs, "fails-to-import", "undefined_name + 1", "return []");
    hostile_python(&subs, "endless-loop", none, "while True:\n    pass");
    hostile_python(
        &subs,
        "floods-output",
        none,
        "while True:\n    print('x' * 10000)",
    );
    hostile_python(
        &subs,
        "exhausts-memory",
        none,
        "hog = []\nwhile True:\n    hog.append(bytearray(64 << 20))",
    );
    hostile_python(
        &subs,
        "fork-bomb",
        none,
        "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    );
    hostile_python(
        &subs,
        "writes-outside",
        none,
        &format!("os.remove({canary:?})\nopen({escape:?}, 'w').write('x')\nreturn []"),
    );
    hostile_python(
        &subs,
        "network",
        "import socket",
        &format!("socket.create_connection(('127.0.0.1', {port}), timeout=2)\nreturn []"),
    );
    hostile_python(
        &subs,
        "reads-the-reference",
        none,
        &format!("return open({secret:?}).read()"),
    );
    hostile_python(
        &subs,
        "reads-a-neighbour",
        none,
        &format!("return open({neighbour:?}).read()"),
    );
    hostile_python(
        &subs,
        "leaves-a-daemon",
        "if os.fork() == 0:\n    os.setsid()\n    time.sleep(120)\n    os._exit(0)",
        "return [-1.0] * classes",
    );
    // Writes a full marks' worth of guesses as the answers and leaves before the harness can.
    hostile_python(
        &subs,
        "forges-the-answers",
        "import json\njson.dump({'answers': [{'dice': [1.0] * 5}] * 20, 'seconds': [0] * 20}, open('response.json', 'w'))\nos._exit(0)",
        "return []",
    );
    hostile_python(
        &subs,
        "os-system",
        none,
        &format!(
            "os.system('cp {} leaked.txt; echo x > {}')\nreturn open('leaked.txt').read()",
            secret.display(),
            escape.display()
        ),
    );
    hostile_python(
        &subs,
        "ctypes",
        "import ctypes",
        &format!(
            "libc = ctypes.CDLL(None)\nlibc.system(b'echo x > {}')\nreturn [1.0] * classes",
            escape.display()
        ),
    );

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
    let results = read_results(&out);
    assert_eq!(by_name(&results, "00-good")["score"], 10.0, "{results:#?}");
    let mut problems = Vec::new();
    for (name, expected, lost) in [
        ("syntax-error", "does not compile", "does-not-build"),
        ("raises", "raised ValueError", "crashed"),
        ("fails-to-import", "NameError", "crashed"),
        ("endless-loop", "did not finish within 10 s", "timed-out"),
        ("floods-output", "did not finish", "timed-out"),
        ("exhausts-memory", "memory", ""),
        ("fork-bomb", "", ""),
        ("writes-outside", "PermissionError", "crashed"),
        ("network", "Error", "crashed"),
        ("reads-the-reference", "PermissionError", "crashed"),
        ("reads-a-neighbour", "PermissionError", "crashed"),
        ("leaves-a-daemon", "cases right", "wrong-answer"),
        ("forges-the-answers", "cases right", "wrong-answer"),
        ("os-system", "FileNotFoundError", "crashed"),
        ("ctypes", "cases right", "wrong-answer"),
    ] {
        let r = by_name(&results, name);
        let why = r["checks"][0]["output"].as_str().unwrap();
        let got = r["checks"][0]["lost"].as_str().unwrap_or_default();
        eprintln!("{name}: {got}: {why}");
        if r["score"] != 0.0 {
            problems.push(format!("{name} scored: {r:#}"));
        }
        if !why.contains(expected) || got.is_empty() || !got.contains(lost) {
            problems.push(format!(
                "{name}: lost to {got:?} (want {lost:?}), reason {why:?} (want {expected:?})"
            ));
        }
    }
    // Every case is printed above before any fails.
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        canary.exists(),
        "a Python answer deleted a file outside its folder"
    );
    assert!(!escape.exists(), "a Python answer wrote outside its folder");
    assert!(
        listener.accept().is_err(),
        "a Python answer reached the network"
    );
    assert_eq!(
        sandbox_processes_after_a_while(),
        0,
        "sandboxed processes outlived grading"
    );
    assert!(by_name(&results, "floods-output").to_string().len() < 100_000);
}

#[test]
fn reports_are_what_gradescope_junit_and_spreadsheets_read() {
    let tmp = scratch();
    let subs = tmp.path().join("subs");
    let ch = root().join("challenges/regression/feature-selection");
    submit(&ch.join("reference"), &subs.join("ada"), "rs");
    submit(&ch.join("starter"), &subs.join("bob"), "rs");
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
        "submission,challenge,score,max_score,valid,ranking,rmse,leaderboard,lost,error"
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

/// `--lang python`: the Python starter, the statement and hints in Python, the choice
/// remembered for the next start, and `challenge check` grading the Python answer.
#[test]
fn a_student_answers_in_python() {
    if python().is_none() {
        return;
    }
    let tmp = scratch();
    let challenges = root().join("challenges");
    let dir = tmp.path().join("crop");
    let start = |id: &str, dir: &Path, extra: &[&str]| {
        let mut args = vec!["challenge", "start", id, "--dir", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = petri(&args, &challenges, tmp.path());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let said = start("paired-crop", &dir, &["--lang", "python"]);
    assert!(said.contains("crop.py (Python)"), "{said}");
    assert!(dir.join("crop.py").is_file() && !dir.join("crop.rs").exists());
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains("```python") && !readme.contains("```rust"),
        "{readme}"
    );
    assert!(readme.contains("In `crop.py`"), "{readme}");
    let o = petri(
        &["challenge", "hint", dir.to_str().unwrap()],
        &challenges,
        tmp.path(),
    );
    let hint = String::from_utf8_lossy(&o.stdout);
    assert!(hint.contains("rng.integers"), "a Python hint: {hint}");
    // The starter fails its visible check; the reference passes it.
    let check = || {
        petri(
            &["challenge", "check", dir.to_str().unwrap()],
            &challenges,
            tmp.path(),
        )
    };
    assert_eq!(check().status.code(), Some(1));
    std::fs::copy(
        challenges.join("augmentation/paired-crop/reference/crop.py"),
        dir.join("crop.py"),
    )
    .unwrap();
    let o = check();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    // Remembered: the next start is in Python without being told.
    let dice = tmp.path().join("dice");
    start("dice", &dice, &[]);
    assert!(dice.join("dice.py").is_file());
    let o = petri(&["challenge", "show", "dice"], &challenges, tmp.path());
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(
        shown.contains("def dice_per_class") && !shown.contains("pub fn"),
        "{shown}"
    );
    let o = petri(
        &["challenge", "start", "dice", "--lang", "cobol"],
        &challenges,
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("possible values: rust, python"));
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
    assert_eq!(
        o.status.code(),
        Some(1),
        "a visible check short of full marks exits 1: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("0.00 / 2 points"),
        "only the visible check runs: {out}"
    );
    assert!(out.contains("expected 0.6667, got 0.5000"), "{out}");
    assert!(
        out.contains("Not checked here: 8 points of hidden checks"),
        "says what waits for grading: {out}"
    );

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
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("2.00 / 2 points")
            && out.contains("Checked here: 1 of 1 visible check(s) at full marks, 2.00 of 2 of the challenge's 10 points"),
        "{out}"
    );
    assert!(!out.to_lowercase().contains("all pass"), "{out}");
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
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no challenge 'no-such-challenge';"), "{err}");
    assert!(!err.contains("challenges;"), "no internal path: {err}");
    // An empty submission folder is graded (0, "missing"), not an error.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let results = grade("dice", &empty, &tmp.path().join("out"), tmp.path(), &[]);
    assert_eq!(results[0]["score"], 0.0);
    assert!(
        results[0]["checks"][0]["output"]
            .as_str()
            .unwrap()
            .contains("dice.rs (Rust) or dice.py (Python) is missing")
    );
}

#[test]
fn gradescope_bundle_carries_the_source_and_the_scripts() {
    let tmp = scratch();
    let bundle = |name: &str, installed: bool| -> (PathBuf, String) {
        let zip_path = tmp.path().join(name);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_petri"));
        cmd.args(["grade", "--challenge", "dice", "--gradescope-bundle"])
            .arg(&zip_path)
            .arg("--data-dir")
            .arg(tmp.path())
            .env("PETRI_CHALLENGES", root().join("challenges"));
        if installed {
            // An installed binary: the checkout it was built from is not used.
            cmd.env("PETRI_NO_CHECKOUT", "1");
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (zip_path, String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let (zip_path, said) = bundle("autograder.zip", false);
    let (installed_zip, _) = bundle("installed.zip", true);
    assert_eq!(
        std::fs::read(&zip_path).unwrap(),
        std::fs::read(&installed_zip).unwrap(),
        "the bundle is the same from an installed binary"
    );
    let size = std::fs::metadata(&zip_path).unwrap().len();
    assert!(said.contains(" MB: Petri's source"), "{said}");
    assert!(size < 8_000_000, "{size} bytes: more than the source?");
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
        "petri/patches/burn-flex/Cargo.toml",
        "petri/challenges/segmentation/dice/challenge.toml",
        "petri/grader/src/lib.rs",
    ] {
        assert!(
            names.iter().any(|n| n == needed),
            "{needed} missing from the bundle"
        );
    }
    for unwanted in ["/target/", "/.venv/", "/reference/", "/.git/"] {
        assert!(
            !names.iter().any(|n| n.contains(unwanted)),
            "{unwanted} in the bundle"
        );
    }
    let mut run = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("run_autograder").unwrap(), &mut run).unwrap();
    assert!(run.contains("--challenge segmentation/dice \"$ROOT/submission\" --out \"$ROOT/results\" --format gradescope"), "{run}");

    // Unpacked as Gradescope does (into ROOT/source), set up with this petri, and run on a
    // submission: a valid results.json with full marks for the reference.
    let autograder = tmp.path().join("autograder");
    zip.extract(autograder.join("source")).unwrap();
    // setup.sh would make a venv with numpy from PyPI: the tests' Python stands in for it.
    let Some(python) = python() else { return };
    let script = |name: &str| {
        let o = Command::new("bash")
            .arg(autograder.join("source").join(name))
            .env("AUTOGRADER_ROOT", &autograder)
            .env("PETRI_PYTHON", &python)
            .env("PETRI_BIN", env!("CARGO_BIN_EXE_petri"))
            .env("PETRI_GRADE_KIT", kit_dir())
            .env("PETRI_NO_CHECKOUT", "1")
            .env_remove("PETRI_CHALLENGES")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    script("setup.sh");
    submit(
        &root().join("challenges/segmentation/dice/reference"),
        &autograder.join("submission"),
        "rs",
    );
    script("run_autograder");
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(autograder.join("results/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["score"], 10.0, "{results}");
    assert!(results["tests"].as_array().is_some_and(|t| !t.is_empty()));
    // A Python answer, through the same scripts.
    std::fs::remove_dir_all(autograder.join("submission")).unwrap();
    submit(
        &root().join("challenges/segmentation/dice/reference"),
        &autograder.join("submission"),
        "py",
    );
    script("run_autograder");
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(autograder.join("results/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["score"], 10.0, "Python: {results}");

    // The source in the bundle is a whole workspace (members, the patched burn-flex): cargo
    // resolves it from the lock file (`tree`, as `metadata` would download other platforms'
    // crates).
    match std::env::var_os("CARGO") {
        Some(cargo) => {
            let o = Command::new(cargo)
                .args([
                    "tree",
                    "--locked",
                    "--offline",
                    "-p",
                    "petri",
                    "--depth",
                    "1",
                ])
                .args(["-e", "normal"])
                .current_dir(autograder.join("source/petri"))
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "cargo cannot read the bundle's workspace: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        None => eprintln!("skipped the workspace check: $CARGO is not set"),
    }
}

fn read_results(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `petri grade` with extra environment; returns the output.
fn petri_env(args: &[&str], data_dir: &Path, env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_petri"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("PETRI_CHALLENGES", root().join("challenges"))
        .env("PETRI_GRADE_KIT", kit_dir())
        .env("PETRI_STATE", data_dir.join("state"))
        .env_remove("PETRI_DATA");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("petri runs")
}

/// The grader's faults leave a submission ungraded, reported as an error in every format and
/// exit status 3: never a 0 on the student's page, never a green CI.
#[test]
fn grader_faults_are_errors_never_zeros_and_exit_3() {
    let tmp = scratch();
    let subs = dice_class(tmp.path(), &[("ada", "reference"), ("bob", "starter")]);
    // No toolchain: no cargo in CARGO_HOME or on PATH, and no kit built yet.
    let out = tmp.path().join("no-toolchain");
    let o = petri_env(
        &grade_args("dice", &subs, &out),
        tmp.path(),
        &[
            ("CARGO_HOME", &tmp.path().join("no-cargo")),
            ("PATH", Path::new("/usr/bin:/bin")),
            ("PETRI_GRADE_KIT", &tmp.path().join("fresh-kit")),
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("2 submission(s) could not be graded"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("NOT GRADED ada: no Rust toolchain"),
        "{stdout}"
    );
    for r in read_results(&out) {
        assert_eq!(r["score"], Value::Null, "{r:#}");
        assert!(r["error"].as_str().unwrap().contains("no Rust toolchain"));
        assert!(
            r["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["score"].is_null())
        );
    }
    assert!(
        !out.join("gradescope/ada/results.json").exists(),
        "no Gradescope score for an ungraded submission"
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(
        junit.matches("<error type=\"grader\"").count(),
        6,
        "{junit}"
    );
    assert_eq!(junit.matches("<failure").count(), 0, "{junit}");
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("ada,segmentation/dice,,10,,,,,,\"no Rust toolchain"),
        "{csv}"
    );

    // A missing dataset (the image challenge grades on BreastMNIST).
    let img = tmp.path().join("img");
    copy_dir(
        &root().join("challenges/classification/imbalance/reference"),
        &img.join("ada"),
    );
    let out = tmp.path().join("no-data");
    let empty = tmp.path().join("empty-data");
    std::fs::create_dir_all(&empty).unwrap();
    let o = petri_env(&grade_args("imbalance", &img, &out), &empty, &[]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = &read_results(&out)[0];
    assert!(
        r["error"].as_str().unwrap().contains("BreastMNIST"),
        "{r:#}"
    );
    assert!(!out.join("results.json").exists());
}

/// A build stopped from outside (an operator, a cancelled CI runner) is the grader's fault; a
/// submission that makes the compiler spin is its own, and costs only itself.
#[test]
fn a_build_killed_from_outside_is_not_graded_and_a_spinning_one_costs_only_itself() {
    let tmp = scratch();
    let challenges = quick_dice(tmp.path());
    let toml = challenges.join("segmentation/dice/challenge.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace("hints = [", "build_time_limit_s = 8\nhints = ["),
    )
    .unwrap();
    let subs = dice_class(tmp.path(), &[("good", "reference")]);
    let spin = "#[allow(long_running_const_eval)]\nconst SPIN: u64 = { let mut i = 0u64; while i < u64::MAX { i += 1; } i };\n";
    for name in ["spins", "zz-killed"] {
        std::fs::create_dir_all(subs.join(name)).unwrap();
        std::fs::write(
            subs.join(name).join("dice.rs"),
            format!("{spin}{SIGNATURE} {{ let _ = (pred, truth, SPIN); vec![None; classes] }}\n"),
        )
        .unwrap();
    }
    let out = tmp.path().join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_petri"))
        .args(["grade", "--challenge", "dice", "--jobs", "3", "--out"])
        .arg(&out)
        .arg(&subs)
        .arg("--data-dir")
        .arg(tmp.path())
        .env("PETRI_CHALLENGES", &challenges)
        .env("PETRI_GRADE_KIT", kit_dir())
        .env("PETRI_STATE", tmp.path().join("state"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the compiler of `zz-killed` from outside as soon as it runs.
    let started = std::time::Instant::now();
    let mut killed = false;
    while !killed && started.elapsed() < std::time::Duration::from_secs(60) {
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            let cwd = std::fs::read_link(e.path().join("cwd")).unwrap_or_default();
            if cmdline.contains("--crate-name=harness")
                && cwd.to_string_lossy().contains("zz-killed")
            {
                let pid: i32 = e.file_name().to_string_lossy().parse().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(300));
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
                killed = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(killed, "never saw the submission's compiler run");
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let results = read_results(&out);
    assert_eq!(by_name(&results, "good")["score"], 10.0);
    let spins = by_name(&results, "spins");
    assert_eq!(spins["score"], 0.0, "{spins:#}");
    assert!(
        spins["checks"][0]["output"]
            .as_str()
            .unwrap()
            .contains("did not finish within 8 s")
    );
    let k = by_name(&results, "zz-killed");
    assert_eq!(k["score"], Value::Null, "{k:#}");
    assert!(
        k["error"]
            .as_str()
            .unwrap()
            .contains("stopped from outside"),
        "{k:#}"
    );
    // The good one did not wait for the spinning one.
    assert!(by_name(&results, "good")["seconds"].as_f64().unwrap() < 8.0);
}

/// Reports grow as submissions finish; an interrupted run resumes where it stopped; `--only`
/// regrades some into the reports already there.
#[test]
fn reports_grow_resume_after_a_crash_and_regrade_some() {
    let tmp = scratch();
    let dice = root().join("challenges/segmentation/dice");
    let subs = dice_class(
        tmp.path(),
        &[
            ("ada", "reference"),
            ("bob", "starter"),
            ("cy", "reference"),
        ],
    );
    let out = tmp.path().join("out");
    let run = |extra: &[&str]| grade_output("dice", &subs, &out, tmp.path(), extra);
    let o = run(&[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("[1/3]") && stderr.contains("[3/3]"),
        "{stderr}"
    );
    // A crash at the second submission: one line kept, one torn.
    let journal = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let first = journal.lines().next().unwrap();
    std::fs::write(
        out.join("results.jsonl"),
        format!("{first}\n{{\"submission\":\"b"),
    )
    .unwrap();
    // Bob fixed his file meanwhile.
    std::fs::copy(dice.join("reference/dice.rs"), subs.join("bob/dice.rs")).unwrap();
    let o = run(&["--resume"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("Grading 2 submission(s)") && stderr.contains("(1 already graded)"),
        "{stderr}"
    );
    let results = read_results(&out);
    assert_eq!(results.len(), 3);
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["submission"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ada", "bob", "cy"], "one line each, in name order");
    assert_eq!(by_name(&results, "bob")["score"], 10.0);
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");

    // Regrade one after bob breaks it again: the others stay as they were.
    std::fs::copy(dice.join("starter/dice.rs"), subs.join("bob/dice.rs")).unwrap();
    let before = by_name(&results, "ada").clone();
    let o = run(&["--only", "bob"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let results = read_results(&out);
    assert_eq!(results.len(), 3);
    assert!(by_name(&results, "bob")["score"].as_f64().unwrap() < 5.0);
    assert_eq!(by_name(&results, "ada"), &before);
    let o = run(&["--only", "nobody"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nobody"));
}

/// Shards graded apart and merged give the reports one machine writes (timings aside), and
/// a submission named like a formula is text in the gradebook.
#[test]
fn shards_merge_into_what_one_machine_writes() {
    let tmp = scratch();
    let subs = tmp.path().join("subs");
    let dice = root().join("challenges/segmentation/dice");
    for (i, name) in ["ada", "bob", "cy", "dee", "=HYPERLINK(\"http:x\",\"y\")"]
        .iter()
        .enumerate()
    {
        let from = if i % 2 == 0 { "reference" } else { "starter" };
        submit(&dice.join(from), &subs.join(name), "rs");
    }
    let grade_into = |out: &Path, extra: &[&str]| {
        grade("dice", &subs, out, tmp.path(), extra);
    };
    let whole = tmp.path().join("whole");
    grade_into(&whole, &["--jobs", "2"]);
    let (s1, s2) = (tmp.path().join("shard-1"), tmp.path().join("shard-2"));
    grade_into(&s1, &["--shard", "1/2"]);
    grade_into(&s2, &["--shard", "2/2"]);
    assert_eq!(read_results(&s1).len(), 3);
    assert_eq!(read_results(&s2).len(), 2);
    let merged = tmp.path().join("merged");
    let o = petri(
        &[
            "grade-merge",
            "--out",
            merged.to_str().unwrap(),
            s1.to_str().unwrap(),
            s2.to_str().unwrap(),
        ],
        &root().join("challenges"),
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let timeless = |v: Vec<Value>| -> Vec<Value> {
        v.into_iter()
            .map(|mut r| {
                r["seconds"] = Value::Null;
                r["graded_at"] = Value::Null;
                for c in r["checks"].as_array_mut().into_iter().flatten() {
                    c["seconds"] = Value::Null;
                }
                r
            })
            .collect()
    };
    assert_eq!(
        timeless(read_results(&merged)),
        timeless(read_results(&whole))
    );
    let csv = |d: &Path| std::fs::read_to_string(d.join("gradebook.csv")).unwrap();
    assert_eq!(csv(&merged), csv(&whole));
    assert!(
        csv(&whole).contains("\"'=HYPERLINK(\"\"http:x\"\",\"\"y\"\")\""),
        "{}",
        csv(&whole)
    );
    // Timings differ from run to run; everything else must not.
    let strip = |d: &Path| -> String {
        let mut x = std::fs::read_to_string(d.join("junit.xml")).unwrap();
        for attr in [" time=\"", " timestamp=\""] {
            while let Some(i) = x.find(attr) {
                let end = x[i + attr.len()..].find('"').unwrap() + i + attr.len() + 1;
                x.replace_range(i..end, "");
            }
        }
        x
    };
    assert_eq!(strip(&merged), strip(&whole));
    for name in ["ada", "bob", "cy", "dee"] {
        let gs = |d: &Path| -> Value {
            let mut v: Value = serde_json::from_str(
                &std::fs::read_to_string(d.join("gradescope").join(name).join("results.json"))
                    .unwrap(),
            )
            .unwrap();
            v["execution_time"] = Value::Null;
            v
        };
        assert_eq!(gs(&merged), gs(&whole));
    }
    // The same submission in two shards is refused.
    let o = petri(
        &[
            "grade-merge",
            "--out",
            tmp.path().join("twice").to_str().unwrap(),
            s1.to_str().unwrap(),
            s1.to_str().unwrap(),
        ],
        &root().join("challenges"),
        tmp.path(),
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("shard 1/2 is given twice"), "{err}");

    // Each shard says which share of which class it is.
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(s2.join("shard.json")).unwrap()).unwrap();
    assert_eq!(manifest["shard"]["index"], 2);
    assert_eq!(manifest["shard"]["count"], 2);
    assert_eq!(manifest["class_size"], 5);
    assert!(manifest["challenge"].as_str().unwrap().ends_with("dice"));

    // One of two shards missing: refused with exit 1, unless told --partial.
    let merge_one = |extra: &[&str]| {
        let out = tmp.path().join("one");
        let mut args = vec![
            "grade-merge",
            "--out",
            out.to_str().unwrap(),
            s1.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        (
            petri(&args, &root().join("challenges"), tmp.path()),
            tmp.path().join("one"),
        )
    };
    let (o, _) = merge_one(&[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("shard(s) 2/2 of this class are missing") && err.contains("--partial"),
        "{err}"
    );
    let (o, out) = merge_one(&["--partial"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("PARTIAL"));
    let merge: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("merge.json")).unwrap()).unwrap();
    assert_eq!(merge["partial"], true);
    assert!(
        merge["missing"][0].as_str().unwrap().contains("2/2"),
        "{merge}"
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("PARTIAL merge"), "{junit}");
    assert_eq!(read_results(&out).len(), 3);
}

/// Ctrl-C (or SIGTERM, SIGHUP) stops after the submissions in progress: what finished is in
/// the reports, the exit status is 130, and `--resume` grades only the rest.
#[test]
fn a_stopped_run_keeps_what_finished_and_resumes() {
    use std::io::{BufRead, BufReader};
    let tmp = scratch();
    let names: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
    let students: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "reference")).collect();
    let subs = dice_class(tmp.path(), &students);
    let out = tmp.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_petri"))
        .args(["grade", "--challenge", "dice", "--out"])
        .arg(&out)
        .arg(&subs)
        .arg("--data-dir")
        .arg(tmp.path())
        .env("PETRI_CHALLENGES", root().join("challenges"))
        .env("PETRI_GRADE_KIT", kit_dir())
        .env("PETRI_STATE", tmp.path().join("state"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().starts_with("[1/6]") {
            break;
        }
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let rest: Vec<String> = lines.map_while(|l| l.ok()).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    let kept = read_results(&out).len();
    assert!((1..6).contains(&kept), "{kept} kept: {rest:?}");
    let o = grade_output("dice", &subs, &out, tmp.path(), &["--resume"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("Grading {} submission(s)", 6 - kept)),
        "{stderr}"
    );
    assert_eq!(read_results(&out).len(), 6);
}

/// A student's check trains the network on a practice split: the starter, which scores 1 of
/// 10 when graded, fails it (exit 1) instead of "passing" on a file that merely parses.
#[test]
fn the_network_starter_fails_its_practice_check() {
    let tmp = scratch();
    let dir = tmp.path().join("work");
    let challenges = root().join("challenges");
    let o = petri(
        &[
            "challenge",
            "start",
            "regression/network",
            "--dir",
            dir.to_str().unwrap(),
        ],
        &challenges,
        tmp.path(),
    );
    assert!(o.status.success());
    let o = petri(
        &["challenge", "check", dir.to_str().unwrap()],
        &challenges,
        tmp.path(),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("[FAIL]  0.00/1    Held-out RMSE on a practice split"),
        "{out}"
    );
    assert!(
        out.contains("Not checked here: 8 points of hidden checks"),
        "{out}"
    );
}

/// A full disk under the grader's scratch space is the grader's fault, not the student's. Needs
/// root (it mounts a 256 KB tmpfs as TMPDIR); skipped with a message otherwise.
#[test]
fn a_full_disk_is_not_graded_as_the_students() {
    let tmp = scratch();
    let small = tmp.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs"])
        .arg(&small)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let subs = dice_class(tmp.path(), &[("ada", "reference")]);
    let out = tmp.path().join("out");
    let o = petri_env(
        &grade_args("dice", &subs, &out),
        tmp.path(),
        &[("TMPDIR", &small)],
    );
    let _ = Command::new("umount").arg(&small).status();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    let r = &read_results(&out)[0];
    assert_eq!(r["score"], Value::Null, "{r:#}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("free space and grade again"),
        "{r:#}"
    );
}

/// An installed binary works from anywhere: with the checkout out of reach it unpacks the
/// embedded challenges (never their references) and `petri-core` into the cache dir, and a
/// student's check builds the kit from them.
#[test]
fn an_installed_binary_checks_challenges_without_the_checkout() {
    let tmp = scratch();
    let bin = tmp.path().join("bin/petri");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_petri"), &bin).unwrap();
    let cache = tmp.path().join("cache");
    let run = |args: &[&str]| {
        Command::new(&bin)
            .args(args)
            .current_dir(tmp.path())
            .env("PETRI_NO_CHECKOUT", "1")
            .env("XDG_CACHE_HOME", &cache)
            .env("PETRI_STATE", tmp.path().join("state"))
            .env("PETRI_GRADE_KIT", tmp.path().join("kit"))
            .env_remove("PETRI_CHALLENGES")
            .output()
            .unwrap()
    };
    let o = run(&["challenge", "list"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("segmentation/dice"));
    let work = tmp.path().join("work");
    let o = run(&[
        "challenge",
        "start",
        "dice",
        "--dir",
        work.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["challenge", "check", work.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("0.00 / 2 points"), "{out}");
    let unpacked: Vec<PathBuf> = std::fs::read_dir(cache.join("petri"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        unpacked.iter().any(|p| p.join("src/rng.rs").is_file()),
        "{unpacked:?}"
    );
    let challenges = unpacked
        .iter()
        .find(|p| p.join("segmentation/dice/challenge.toml").is_file())
        .expect("challenges unpacked");
    assert!(!challenges.join("segmentation/dice/reference").exists());
}
