//! Training survives a dropped SSH connection: real `petri` processes on BreastMNIST, sent
//! SIGHUP (what a dropped session sends) or SIGKILL mid-run, then resumed; and a tutor run that
//! keeps training after its tutor is gone and shows in the next one. Each run is ResNet-18 on 64
//! training images, so a run takes seconds. Skips when `../shared/data` is absent.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EPOCHS: usize = 6;

fn breastmnist() -> Option<PathBuf> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/medmnist/breastmnist.npz");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

fn run_args(data: &Path, out: &Path) -> Vec<String> {
    [
        "run",
        "classification",
        "--experiment",
        "scratch",
        "--epochs",
        &EPOCHS.to_string(),
        "--limit",
        "64",
        "--seed",
        "5",
        "--json",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn petri(args: &[String], data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_petri"));
    c.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("PETRI_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Reads the child's stderr, sending `signal` once the line for `epoch` appears; returns all
/// of stderr.
fn signal_after_epoch(child: &mut Child, epoch: usize, signal: i32) -> String {
    let stderr = child.stderr.take().unwrap();
    let mut lines = Vec::new();
    let mut sent = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if !sent && line.trim_start().starts_with(&format!("epoch {epoch:>2} ")) {
            // SAFETY: a signal to our own child process.
            unsafe { libc::kill(child.id() as i32, signal) };
            sent = true;
        }
        lines.push(line);
    }
    assert!(sent, "no epoch {epoch} line: {lines:?}");
    lines.join("\n")
}

fn final_json(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    let start = text
        .find('{')
        .unwrap_or_else(|| panic!("no JSON in {text}"));
    serde_json::from_str(&text[start..]).unwrap()
}

fn records(dir: &Path) -> Vec<serde_json::Value> {
    let mut out: Vec<(PathBuf, serde_json::Value)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p, v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, v)| v).collect()
}

fn assert_same_metrics(a: &serde_json::Value, b: &serde_json::Value) {
    let (a, b) = (&a["runs"]["scratch"], &b["runs"]["scratch"]);
    let keys = a.as_object().expect("metrics").keys();
    assert!(keys.len() >= 2, "{a}");
    for k in keys {
        let (x, y) = (a[k].as_f64().unwrap(), b[k].as_f64().unwrap());
        assert!((x - y).abs() < 1e-5, "{k}: {x} vs {y} ({a} vs {b})");
    }
}

#[test]
fn interrupted_runs_resume_to_the_same_metrics() {
    let Some(data) = breastmnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");

    // The reference: one uninterrupted run.
    let straight = petri(&run_args(&data, &tmp.path().join("straight")), &data_dir)
        .output()
        .unwrap();
    assert!(
        straight.status.success(),
        "{}",
        String::from_utf8_lossy(&straight.stderr)
    );
    let reference = final_json(&straight.stdout);

    // A hang-up after epoch 2 stops at the next batch, saves what finished and exits 130.
    let out = tmp.path().join("hup");
    let mut child = petri(&run_args(&data, &out), &data_dir).spawn().unwrap();
    let err = signal_after_epoch(&mut child, 2, libc::SIGHUP);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("--resume"), "{err}");
    let stopped = records(&out);
    assert_eq!(stopped.len(), 1);
    let run = &stopped[0]["runs"][0];
    assert_eq!(run["outcome"], "stopped");
    let kept = run["epochs"].as_array().unwrap().len();
    assert!((2..EPOCHS).contains(&kept), "{kept} epochs kept");
    // Resumed, it ends with the uninterrupted run's metrics and says where it resumed.
    let mut args = run_args(&data, &out);
    args.push("--resume".into());
    let o = petri(&args, &data_dir).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same_metrics(&final_json(&o.stdout), &reference);
    let all = records(&out);
    let resumed = &all.last().unwrap()["runs"][0];
    assert_eq!(resumed["resumed_after"], kept);
    assert_eq!(resumed["epochs"].as_array().unwrap().len(), EPOCHS);
    assert!(
        !out.join("resume").read_dir().unwrap().any(|_| true),
        "state cleared at the end"
    );

    // SIGKILL after epoch 2: no record and no partial file, but the epochs are resumable.
    let out = tmp.path().join("kill");
    let mut child = petri(&run_args(&data, &out), &data_dir).spawn().unwrap();
    signal_after_epoch(&mut child, 2, libc::SIGKILL);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), None, "killed by a signal");
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") || n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // --resume continues from the last epoch whose state was complete when it died.
    let mut args = run_args(&data, &out);
    args.push("--resume".into());
    let o = petri(&args, &data_dir).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("resumed after epoch"), "{err}");
    assert_same_metrics(&final_json(&o.stdout), &reference);
}

/// The test accuracy of `scratch` over the seeds: (mean, std, n) from `--json`.
fn over_seeds(v: &serde_json::Value) -> (f64, f64, u64) {
    let a = &v["runs"]["scratch"]["accuracy"];
    (
        a["mean"].as_f64().unwrap_or_else(|| panic!("{v}")),
        a["std"].as_f64().unwrap(),
        a["n"].as_u64().unwrap(),
    )
}

#[test]
fn a_run_over_seeds_reports_the_spread_and_resumes_in_the_seed_it_was_in() {
    let Some(data) = breastmnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let args = |out: &Path| {
        let mut a = run_args(&data, out);
        let epochs = a.iter().position(|x| x == "--epochs").unwrap() + 1;
        a[epochs] = "2".into();
        a.extend(["--seeds".to_string(), "2".to_string()]);
        a
    };
    let straight = petri(&args(&tmp.path().join("straight")), &data_dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&straight.stderr);
    assert!(straight.status.success(), "{err}");
    assert!(err.contains("seed 6 (2 of 2)"), "{err}");
    let (mean, std, n) = over_seeds(&final_json(&straight.stdout));
    assert_eq!(n, 2);
    assert!((0.0..=1.0).contains(&mean) && std >= 0.0, "{mean} ± {std}");
    let record = &records(&tmp.path().join("straight"))[0];
    assert_eq!(record["seeds"], serde_json::json!([5, 6]));
    assert_eq!(record["runs"][0]["per_seed"].as_array().unwrap().len(), 2);

    // A hang-up in the second seed's training; --resume keeps the first seed's results and
    // continues the second from its last finished epoch.
    let out = tmp.path().join("hup");
    let mut child = petri(&args(&out), &data_dir).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut in_second = false;
    let mut sent = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        in_second |= line.contains("seed 6 (2 of 2)");
        if in_second && !sent && line.trim_start().starts_with("epoch  1 ") {
            // SAFETY: a signal to our own child process.
            unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
            sent = true;
        }
    }
    assert!(sent, "never reached the second seed's first epoch");
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130));
    let mut resume = args(&out);
    resume.push("--resume".into());
    let o = petri(&resume, &data_dir).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("seed 5 had finished before the interruption"),
        "{err}"
    );
    assert!(err.contains("resumed after epoch 1"), "{err}");
    let (m2, s2, n2) = over_seeds(&final_json(&o.stdout));
    assert_eq!(n2, 2);
    assert!(
        (m2 - mean).abs() < 1e-5 && (s2 - std).abs() < 1e-5,
        "{m2} ± {s2} vs {mean} ± {std}"
    );
}

#[test]
fn a_tutor_run_outlives_its_tutor_and_shows_in_the_next_one() {
    let Some(data) = breastmnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let data_dir = tmp.path().join("data");
    let options = || petri::app::Options {
        data_dir: data_dir.clone(),
        state_dir: state.clone(),
        ascii: false,
        mouse: false,
        petri: env!("CARGO_BIN_EXE_petri").into(),
    };
    let lessons = || {
        petri::content::load_all(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons"))
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    // The tutor's request: the same run as the command line's (`run` itself left out).
    let run = petri::run_spec::parse_args(&run_args(&data, &data_dir.join("runs"))[1..]).unwrap();
    let request = petri::jobs::JobRequest {
        data_dir: data_dir.clone(),
        work: petri::jobs::Work::Run(run),
    };
    let job = petri::jobs::spawn(
        env!("CARGO_BIN_EXE_petri").as_ref(),
        &state,
        petri_engine::experiment::Suite::Classification,
        "01-classification",
        request,
    )
    .unwrap();
    // The first tutor shows it, then goes away (the terminal closed): the run goes on.
    let first = petri::app::App::new(options(), lessons(), petri::theme::Theme::new(false, false));
    assert!(matches!(
        first.stack.last(),
        Some(petri::app::Screen::Experiment(_))
    ));
    drop(first);
    assert!(job.is_alive(), "the run outlives its tutor");
    // The next tutor follows it to the end and adds its record to progress.
    let mut next =
        petri::app::App::new(options(), lessons(), petri::theme::Theme::new(false, false));
    let started = Instant::now();
    loop {
        next.tick();
        let Some(petri::app::Screen::Experiment(v)) = next.stack.last() else {
            panic!("the run is not shown");
        };
        if !v.is_running() {
            assert!(v.state.error.is_none(), "{:?}", v.state.error);
            let record = v
                .state
                .record
                .as_ref()
                .expect("the finished record is shown");
            assert_eq!(record.runs[0].epochs.len(), EPOCHS);
            // Every epoch was seen live or replayed.
            assert_eq!(v.state.history.len(), EPOCHS);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the run did not finish"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let runs = &next.progress.parts["01-classification"].runs;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        petri::jobs::pending(&state).is_empty(),
        "the job is cleared once its record is taken"
    );
}

/// A tutor run that died (here: SIGKILL after its second epoch) is offered for resuming when the
/// student starts the same part on the same data again.
#[test]
fn the_tutor_offers_to_resume_an_interrupted_run() {
    let Some(data) = breastmnist() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(data_dir.join("medmnist")).unwrap();
    let file = data_dir.join("medmnist/breast_copy.npz");
    std::fs::copy(&data, &file).unwrap();
    let options = petri::app::Options {
        data_dir: data_dir.clone(),
        state_dir: tmp.path().join("state"),
        ascii: false,
        mouse: false,
        petri: env!("CARGO_BIN_EXE_petri").into(),
    };
    // The run the tutor would start on that file, killed after two epochs (the second's state
    // may not be saved yet when its line is printed; the first's is).
    let args = petri::app::course_run(petri_engine::experiment::Suite::Augmentation, Some(&file));
    let mut full = vec!["--data-dir".to_string(), data_dir.display().to_string()];
    full.extend(args.argv());
    let mut child = Command::new(env!("CARGO_BIN_EXE_petri"))
        .args(&full)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    signal_after_epoch(&mut child, 2, libc::SIGKILL);
    child.wait().unwrap();
    let done = petri::run_spec::interrupted(&args, &data_dir).expect("resumable state");
    assert!((1..=2).contains(&done), "{done}");

    let lessons =
        petri::content::load_all(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons"))
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let mut app = petri::app::App::new(options, lessons, petri::theme::Theme::new(false, false));
    let key = |app: &mut petri::app::App, code| {
        app.on_key(ratatui::crossterm::event::KeyEvent::new(
            code,
            ratatui::crossterm::event::KeyModifiers::NONE,
        ))
    };
    use ratatui::crossterm::event::KeyCode;
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('r'));
    // The course's breastmnist is missing, so the copy is the second line.
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    let Some(petri::app::Screen::DataChoice(v)) = app.stack.last() else {
        panic!("no question asked: {:?}", app.status);
    };
    assert!(
        v.message.as_deref().unwrap().contains("finished 1 epoch"),
        "{:?}",
        v.message
    );
    key(&mut app, KeyCode::Enter);
    let Some(petri::app::Screen::Experiment(_)) = app.stack.last() else {
        panic!("the run did not start: {:?}", app.status);
    };
    let job = petri::jobs::pending(&tmp.path().join("state")).remove(0);
    let request = job.meta.request.as_ref().expect("the job's request");
    assert!(request.course_run().unwrap().resume, "{request:?}");
    // Stop it and wait for the end, so no process outlives the test.
    key(&mut app, KeyCode::Char('s'));
    let started = Instant::now();
    while matches!(app.stack.last(), Some(petri::app::Screen::Experiment(v)) if v.is_running()) {
        app.tick();
        assert!(started.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A plan trained from "Your data" (Ctrl-T) is a background job like a course run: its request
/// is typed (`Work::Train`), the record is saved by the job with its predictions, and the tutor
/// adds it to progress and clears the job.
#[test]
fn a_plan_from_your_data_trains_as_a_background_job() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let tmp = tempfile::tempdir().unwrap();
    let mut body = String::from("size,texture,kind\n");
    for i in 0..150 {
        let size = (i % 30) as f64;
        let kind = if size > 14.0 { "large" } else { "small" };
        body.push_str(&format!("{size},{},{kind}\n", (i * 7 % 11) as f64));
    }
    let table = tmp.path().join("cells.csv");
    std::fs::write(&table, body).unwrap();
    let state = tmp.path().join("state");
    let options = petri::app::Options {
        data_dir: tmp.path().join("data"),
        state_dir: state.clone(),
        ascii: false,
        mouse: false,
        petri: env!("CARGO_BIN_EXE_petri").into(),
    };
    let lessons =
        petri::content::load_all(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons"))
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect::<Vec<_>>();
    let mut app = petri::app::App::new(options, lessons, petri::theme::Theme::new(false, false));
    let press = |app: &mut petri::app::App, code, modifiers| {
        app.on_key(KeyEvent::new(code, modifiers));
    };
    press(&mut app, KeyCode::Char('d'), KeyModifiers::NONE);
    for c in table.display().to_string().chars() {
        press(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    for c in "kind".chars() {
        press(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    let started = Instant::now();
    while !matches!(app.stack.last(), Some(petri::app::Screen::YourData(v)) if v.identified().is_some())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not identified"
        );
        app.tick();
        std::thread::sleep(Duration::from_millis(20));
    }
    press(&mut app, KeyCode::Char('t'), KeyModifiers::CONTROL);
    let Some(petri::app::Screen::Experiment(_)) = app.stack.last() else {
        panic!("the plan did not start: {:?}", app.status);
    };
    let jobs = petri::jobs::pending(&state);
    assert_eq!(jobs.len(), 1, "the plan runs as a job");
    let request = jobs[0].meta.request.as_ref().expect("the job's request");
    let petri::jobs::Work::Train(run) = &request.work else {
        panic!("not a plan: {request:?}");
    };
    assert_eq!(run.data, table);
    assert_eq!(run.plan.target.as_deref(), Some("kind"));
    let started = Instant::now();
    loop {
        app.tick();
        let Some(petri::app::Screen::Experiment(v)) = app.stack.last() else {
            panic!("the run is not shown");
        };
        if !v.is_running() {
            assert!(v.state.error.is_none(), "{:?}", v.state.error);
            let record = v.state.record.as_ref().expect("the record is shown");
            assert!(
                record.runs.iter().any(|r| r.predictions.is_some()),
                "the job wrote the predictions: {:?}",
                record.runs
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the plan did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(app.progress.parts["your-data"].runs.len(), 1);
    assert!(
        petri::jobs::pending(&state).is_empty(),
        "the job is cleared"
    );
}
