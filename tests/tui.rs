//! The tutor driven by key events and drawn into ratatui's `TestBackend`, with insta snapshots
//! of every screen at 80x24 and 120x40. The training view is fed a scripted event sequence.

use petri::app::{App, ExperimentView, Options, Screen};
use petri::content;
use petri::theme::Theme;
use petri_engine::experiment::Suite;
use petri_engine::train::{EpochRecord, Event};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;

fn app(state: &Path) -> App {
    let lessons_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons");
    let lessons = content::load_all(&lessons_dir)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let options = Options {
        data_dir: state.join("data"),
        state_dir: state.join("state"),
        ascii: false,
        mouse: false,
        petri: env!("CARGO_BIN_EXE_petri").into(),
    };
    App::new(options, lessons, Theme::new(false, false))
}

fn key(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.draw(f)).unwrap();
    format!("{}", t.backend())
}

fn both_sizes(name: &str, app: &App) {
    insta::assert_snapshot!(format!("{name}_80x24"), screen(app, 80, 24));
    insta::assert_snapshot!(format!("{name}_120x40"), screen(app, 120, 40));
}

#[test]
fn home_lesson_and_help() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = app(tmp.path());
    both_sizes("home", &app);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    both_sizes("lesson_classification", &app);
    for _ in 0..30 {
        key(&mut app, KeyCode::Char('j'));
    }
    insta::assert_snapshot!("lesson_classification_scrolled_80x24", screen(&app, 80, 24));
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help_80x24", screen(&app, 80, 24));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Esc);
    assert!(app.stack.is_empty());
    // Reading the lesson was saved.
    let saved = std::fs::read_to_string(tmp.path().join("state/progress.json")).unwrap();
    assert!(saved.contains("\"lesson_read\": true"), "{saved}");
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn knowledge_check_gives_feedback_and_saves_each_answer() {
    let tmp = tempfile::tempdir().unwrap();
    // This student's attempt has seed 3: the snapshot shows that attempt's option order.
    std::fs::create_dir_all(tmp.path().join("state")).unwrap();
    std::fs::write(
        tmp.path().join("state/progress.json"),
        r#"{"parts":{"01-classification":{"quiz":{"answers":{},"total":0,"seed":3}}}}"#,
    )
    .unwrap();
    let mut app = app(tmp.path());
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('c'));
    both_sizes("quiz_question", &app);
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Enter);
    both_sizes("quiz_feedback", &app);
    let saved = std::fs::read_to_string(tmp.path().join("state/progress.json")).unwrap();
    assert!(saved.contains("01-classification"), "{saved}");
    // A fresh app (a reconnect) shows the saved answer on the home screen.
    let again = app_with_same_state(tmp.path());
    let home = screen(&again, 80, 24);
    assert!(home.contains("Knowledge check:"), "{home}");
}

/// A check opened again continues at its first unanswered question, and Enter with nothing
/// chosen answers nothing (it used to submit the option under the cursor).
#[test]
fn a_check_reopens_where_it_was_left_and_enter_alone_answers_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("state")).unwrap();
    let progress = tmp.path().join("state/progress.json");
    std::fs::write(
        &progress,
        r#"{"parts":{"01-classification":{"quiz":{"answers":{"pathmnist-task":true},"total":7,"seed":3}}}}"#,
    )
    .unwrap();
    let answers = || -> usize {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&progress).unwrap()).unwrap();
        v["parts"]["01-classification"]["quiz"]["answers"]
            .as_object()
            .map_or(0, |a| a.len())
    };
    let mut app = app(tmp.path());
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('c'));
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("Question 2 of"), "{shown}");
    // Question 2 asks for a number: Enter with nothing typed answers nothing, and `?` and `q`
    // are the tutor's keys, not part of a number.
    key(&mut app, KeyCode::Enter);
    assert_eq!(answers(), 1, "Enter alone saved nothing");
    key(&mut app, KeyCode::Char('?'));
    assert!(screen(&app, 80, 24).contains("Keys"), "? opens the help");
    key(&mut app, KeyCode::Esc);
    // Questions 2-4 take numbers.
    for n in 2..=4 {
        key(&mut app, KeyCode::Char('9'));
        key(&mut app, KeyCode::Enter);
        assert_eq!(answers(), n);
        key(&mut app, KeyCode::Enter);
    }
    // Question 5 has options: Enter alone says how to choose, and saves nothing.
    key(&mut app, KeyCode::Enter);
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("Choose an answer first"), "{shown}");
    assert_eq!(answers(), 4);
    // An option's number chooses it; Enter then answers.
    key(&mut app, KeyCode::Char('1'));
    key(&mut app, KeyCode::Enter);
    assert_eq!(answers(), 5);
    assert!(screen(&app, 80, 24).contains("Enter next question"));
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quit, "q quits from a check");
}

fn app_with_same_state(state: &Path) -> App {
    app(state)
}

fn epoch(n: usize, train: f64, val: f64, acc: f64) -> Event {
    Event::Epoch(EpochRecord {
        epoch: n,
        train_loss: train,
        val: [("loss".to_string(), val), ("accuracy".to_string(), acc)]
            .into_iter()
            .collect(),
        seconds: 10.0,
    })
}

#[test]
fn training_view_draws_a_scripted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = app(tmp.path());
    let mut view = ExperimentView::scripted(Suite::Augmentation, "02-augmentation");
    let mut events = vec![
        Event::RunStarted {
            name: "unmodified".into(),
        },
        Event::Started {
            epochs: 4,
            batches_per_epoch: 10,
            examples: 546,
            trainable_params: 11_171_266,
        },
    ];
    for e in 1..=3 {
        for b in 1..=10 {
            let loss = 0.7 - 0.1 * e as f32 - 0.005 * b as f32;
            events.push(Event::Batch {
                epoch: e,
                batch: b,
                batches: 10,
                loss,
                examples_per_sec: 40.0 + b as f64,
                eta_secs: 30.0,
            });
        }
        events.push(epoch(
            e,
            0.7 - 0.12 * e as f64,
            0.75 - 0.08 * e as f64,
            0.7 + 0.05 * e as f64,
        ));
    }
    for e in events {
        view.state.apply(e);
    }
    app.stack.push(Screen::Experiment(Box::new(view)));
    both_sizes("training", &app);
}

#[test]
fn resizing_to_tiny_and_back_never_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = app(tmp.path());
    key(&mut app, KeyCode::Enter);
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    for (w, h) in [(120, 40), (20, 5), (1, 1), (80, 24), (120, 40)] {
        t.backend_mut().resize(w, h);
        t.autoresize().unwrap();
        t.draw(|f| app.draw(f)).unwrap();
    }
    let mut small = Terminal::new(TestBackend::new(20, 5)).unwrap();
    small.draw(|f| app.draw(f)).unwrap();
    insta::assert_snapshot!("too_small_20x5", format!("{}", small.backend()));
}

/// The screen with the random part of the test's temp folder replaced (same length, so
/// wrapping is unchanged).
fn screen_in(app: &App, w: u16, h: u16, tmp: &Path) -> String {
    let path = tmp.display().to_string();
    let fixed = format!("{}{}", &path[..path.len() - 6], "XXXXXX");
    screen(app, w, h).replace(&path, &fixed)
}

#[test]
fn challenges_start_reveal_hints_and_show_a_check() {
    let tmp = tempfile::Builder::new()
        .prefix("petri")
        .rand_bytes(6)
        .tempdir()
        .unwrap();
    let mut app = app(tmp.path());
    for _ in 0..3 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Char('x'));
    assert!(matches!(app.stack.last(), Some(Screen::Challenges(_))));
    insta::assert_snapshot!("challenges_80x24", screen_in(&app, 80, 24, tmp.path()));
    // A hint needs a copy to live with; start makes one from the starter.
    key(&mut app, KeyCode::Char('h'));
    assert!(screen(&app, 80, 24).contains("press s to start"));
    // The first start asks for the language, once; the choice is remembered.
    key(&mut app, KeyCode::Char('s'));
    assert!(screen(&app, 80, 24).contains("r Rust, p Python"));
    key(&mut app, KeyCode::Char('p'));
    let copy = tmp
        .path()
        .join("state/challenges/segmentation/class-weights");
    assert!(copy.join("weights.py").is_file());
    assert!(!copy.join("weights.rs").exists());
    assert!(
        !std::fs::read_to_string(copy.join("weights.py"))
            .unwrap()
            .contains("median /"),
        "the reference leaked"
    );
    let progress =
        petri::progress::Progress::load(&petri::paths::progress_file(&tmp.path().join("state")))
            .unwrap();
    assert_eq!(progress.language, Some(petri_grader::Language::Python));
    key(&mut app, KeyCode::Char('h'));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Up);
    insta::assert_snapshot!(
        "challenges_started_120x40",
        screen_in(&app, 120, 40, tmp.path())
    );
    // Tab moves to the statement, where arrows scroll instead of choosing (drawn at the size
    // the keys are pressed at, as a terminal would).
    screen_in(&app, 80, 24, tmp.path());
    key(&mut app, KeyCode::Tab);
    for _ in 0..5 {
        key(&mut app, KeyCode::Down);
    }
    insta::assert_snapshot!(
        "challenges_statement_scrolled_80x24",
        screen_in(&app, 80, 24, tmp.path())
    );
    // A finished check, as the background thread delivers it.
    let Some(Screen::Challenges(view)) = app.stack.last_mut() else {
        unreachable!()
    };
    view.show_result(petri_grader::SubmissionResult {
        submission: "class-weights".into(),
        challenge: "segmentation/class-weights".into(),
        score: Some(0.0),
        max_score: 2.0,
        checks: vec![petri_grader::CheckResult {
            id: "example".into(),
            name: "The statement's example".into(),
            score: Some(0.0),
            max_score: 2.0,
            visible: true,
            output: "0 of 1 cases right; first wrong case: value 0: expected 0.4000, got 1.0000"
                .into(),
            lost: Some(petri_grader::result::Lost::WrongAnswer),
            seconds: Some(0.01),
        }],
        leaderboard: None,
        notes: vec![],
        seconds: 1.0,
        graded_at: 0,
        error: None,
        digest: String::new(),
    });
    both_sizes_in("challenges_checked", &app, tmp.path());
    key(&mut app, KeyCode::Esc);
    assert!(app.stack.is_empty());
}

fn both_sizes_in(name: &str, app: &App, tmp: &Path) {
    insta::assert_snapshot!(format!("{name}_80x24"), screen_in(app, 80, 24, tmp));
    insta::assert_snapshot!(format!("{name}_120x40"), screen_in(app, 120, 40, tmp));
}

#[test]
fn your_data_identifies_a_folder_typed_in() {
    let tmp = tempfile::Builder::new()
        .prefix("petri")
        .rand_bytes(6)
        .tempdir()
        .unwrap();
    let root = tmp.path().join("cells");
    for k in 0..2 {
        let dir = root.join(format!("kind{k}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..8u32 {
            let img = image::GrayImage::from_fn(24, 24, |x, y| {
                image::Luma([(k * 100 + (x * 3 + y * 5 + i * 7) % 50) as u8])
            });
            img.save(dir.join(format!("{i}.png"))).unwrap();
        }
    }
    let mut app = app(tmp.path());
    key(&mut app, KeyCode::Char('d'));
    insta::assert_snapshot!("your_data_80x24", screen_in(&app, 80, 24, tmp.path()));
    // Letters are typed, not taken as keys (q does not quit here).
    for c in root.display().to_string().chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert!(!app.quit);
    key(&mut app, KeyCode::Enter);
    let started = std::time::Instant::now();
    while !screen(&app, 120, 40).contains("task:") {
        assert!(
            started.elapsed().as_secs() < 30,
            "identification did not finish"
        );
        app.tick();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    both_sizes_in("your_data_identified", &app, tmp.path());
    key(&mut app, KeyCode::Esc);
    assert!(app.stack.is_empty());
}

fn sample(truth: &str, predicted: &str, shade: u8) -> petri_engine::train::Sample {
    petri_engine::train::Sample {
        height: 8,
        width: 8,
        channels: 1,
        pixels: (0..64).map(|i| shade.wrapping_add((i * 4) as u8)).collect(),
        truth: truth.into(),
        predicted: predicted.into(),
        truth_mask: None,
        predicted_mask: None,
    }
}

fn finished_record(part: Suite) -> petri_engine::experiment::ExperimentRecord {
    use petri_engine::experiment::record::{DataRef, ExperimentRecord};
    let mut r = ExperimentRecord::new(
        part,
        petri_engine::experiment::Profile::Quick,
        0,
        "cpu",
        DataRef {
            path: "breastmnist.npz".into(),
            sha256: None,
            description: String::new(),
        },
        serde_json::json!({ "target": "mean radius" }),
    );
    r.class_names = vec!["malignant".into(), "benign".into()];
    r
}

/// A run stopped with `s` in epoch 3 is headed "stopped", not "finished", and says how many
/// epochs it finished; what the run skipped (no ImageNet weights) is in the results.
#[test]
fn a_stopped_run_says_so_and_what_was_skipped_is_shown() {
    use petri_engine::experiment::record::ModelRun;
    let tmp = tempfile::tempdir().unwrap();
    let mut app = app(tmp.path());
    let mut view = ExperimentView::scripted(Suite::Classification, "01-classification");
    view.state.apply(Event::Started {
        epochs: 10,
        batches_per_epoch: 4,
        examples: 100,
        trainable_params: 1000,
    });
    let mut record = finished_record(Suite::Classification);
    let mut run = ModelRun::new("scratch");
    run.outcome = petri_engine::train::Outcome::Stopped;
    run.test.insert("accuracy".into(), 0.7);
    for epoch in 1..=2 {
        run.epochs.push(EpochRecord {
            epoch,
            train_loss: 0.5,
            val: Default::default(),
            seconds: 1.0,
        });
    }
    record.runs.push(run);
    record.notes.push(
        "skipped 'frozen': it needs ImageNet ResNet-18 weights; `petri data fetch resnet18` gets them"
            .into(),
    );
    view.state.record = Some(record);
    app.stack.push(Screen::Experiment(Box::new(view)));
    let text = screen(&app, 100, 30);
    assert!(
        text.contains("stopped: scratch after 2 of 10 epochs") && !text.contains("finished"),
        "{text}"
    );
    key(&mut app, KeyCode::Tab);
    let text = screen(&app, 100, 30);
    assert!(text.contains("scratch: stopped after 2 epoch(s)"), "{text}");
    assert!(text.contains("skipped 'frozen'"), "{text}");
}

#[test]
fn finished_runs_show_results_side_by_side_and_test_samples() {
    use petri_engine::experiment::record::ModelRun;
    use petri_engine::metrics::MeanStd;
    let tmp = tempfile::tempdir().unwrap();
    let mut app = app(tmp.path());
    // Classification: two runs compared, a confusion heatmap, samples with labels.
    let mut view = ExperimentView::scripted(Suite::Augmentation, "02-augmentation");
    let mut record = finished_record(Suite::Augmentation);
    for (name, acc, auc) in [("unmodified", 0.821, 0.813), ("combined", 0.821, 0.856)] {
        let mut run = ModelRun::new(name);
        run.test.insert("accuracy".into(), acc);
        run.test.insert("auc".into(), auc);
        run.confusion = Some(vec![vec![20, 22], vec![6, 108]]);
        run.per_class.insert(
            "recall".into(),
            vec![Some(20.0 / 42.0), Some(108.0 / 114.0)],
        );
        run.test.insert("balanced_accuracy".into(), 0.71);
        for epoch in 1..=5 {
            let mut val = std::collections::BTreeMap::new();
            val.insert("accuracy".into(), acc - 0.3 / epoch as f64);
            run.epochs.push(petri_engine::train::EpochRecord {
                epoch,
                train_loss: 0.5,
                val,
                seconds: 1.0,
            });
        }
        record.runs.push(run);
    }
    // Runs appear as each finishes, before the record is saved.
    let mut partial = ExperimentView::scripted(Suite::Augmentation, "02-augmentation");
    partial.state.apply(Event::RunFinished {
        run: Box::new(record.runs[0].clone()),
        class_names: record.class_names.clone(),
    });
    partial.pane = petri::app::Pane::Results;
    app.stack.push(Screen::Experiment(Box::new(partial)));
    let text = screen(&app, 120, 40);
    assert!(text.contains("1 run(s) finished so far"), "{text}");
    assert!(
        text.contains("unmodified") && text.contains("0.821"),
        "{text}"
    );
    key(&mut app, KeyCode::Esc);
    record.expected = petri_engine::experiment::expected::check(&record);
    view.state.apply(Event::Samples(vec![
        sample("malignant", "malignant", 10),
        sample("malignant", "benign", 60),
        sample("benign", "benign", 120),
        sample("benign", "benign", 200),
    ]));
    let mut earlier = finished_record(Suite::Augmentation);
    let mut old = ModelRun::new("unmodified");
    old.test.insert("accuracy".into(), 0.79);
    old.test.insert("auc".into(), 0.80);
    earlier.runs.push(old);
    view.earlier = vec![earlier];
    view.state.record = Some(record);
    view.pane = petri::app::Pane::Results;
    // `w` saves the record's figures beside it.
    let saved = tmp.path().join("augmentation-1-seed0.json");
    view.saved = Some(saved.display().to_string());
    app.stack.push(Screen::Experiment(Box::new(view)));
    key(&mut app, KeyCode::Char('w'));
    let figures = tmp.path().join("augmentation-1-seed0-figures");
    assert!(
        app.status
            .as_deref()
            .unwrap_or("")
            .contains("figures written to"),
        "{:?}",
        app.status
    );
    for f in ["curves.png", "curves.csv", "bars.svg", "confusion.png"] {
        assert!(figures.join(f).is_file(), "{f}");
    }
    app.status = None;
    both_sizes("results_classification", &app);
    key(&mut app, KeyCode::Tab);
    both_sizes("samples_classification", &app);
    key(&mut app, KeyCode::Tab);
    assert!(screen(&app, 80, 24).contains("loss per epoch"));
    key(&mut app, KeyCode::Esc);

    // Regression: a table and bar chart of errors per model.
    let mut view = ExperimentView::scripted(Suite::Regression, "04-regression");
    let mut record = finished_record(Suite::Regression);
    for (name, mae, rmse) in [
        ("linear (all features)", 0.045, 0.068),
        ("tree (all features)", 0.164, 0.352),
        ("nn (all features)", 0.277, 0.394),
    ] {
        let mut run = ModelRun::new(name);
        run.repeated.insert(
            "mae".into(),
            MeanStd {
                mean: mae,
                std: 0.002,
                n: 10,
            },
        );
        run.repeated.insert(
            "rmse".into(),
            MeanStd {
                mean: rmse,
                std: 0.004,
                n: 10,
            },
        );
        record.runs.push(run);
    }
    view.state.record = Some(record);
    view.pane = petri::app::Pane::Results;
    app.stack.push(Screen::Experiment(Box::new(view)));
    both_sizes("results_regression", &app);
}

#[test]
fn augmentation_shows_each_transform_before_training() {
    use petri_engine::data::medmnist::{ImageSplit, write_npz};
    let tmp = tempfile::tempdir().unwrap();
    // Two 28x28 grey images with structure (a bright corner), so flips and turns show.
    let pixels: Vec<u8> = (0..2 * 28 * 28)
        .map(|i| {
            let (y, x) = ((i % 784) / 28, i % 28);
            if y < 10 && x < 14 { 230 } else { (x * 4) as u8 }
        })
        .collect();
    let split = ImageSplit::new(28, 28, 1, pixels, vec![vec![0], vec![1]]);
    let path = tmp.path().join("tiny.npz");
    write_npz(
        &path,
        [("train", &split), ("val", &split), ("test", &split)],
    )
    .unwrap();
    let preview = petri::app::augmentation_preview(&path, 0);
    assert_eq!(preview.len(), 12, "original + 5 transforms, for 2 images");
    assert_eq!(preview[1].truth, "horizontal flip");
    let mut app = app(tmp.path());
    let mut view = ExperimentView::scripted(Suite::Augmentation, "02-augmentation");
    view.state.samples = preview;
    view.pane = petri::app::Pane::Samples;
    app.stack.push(Screen::Experiment(Box::new(view)));
    both_sizes("augmentation_preview", &app);
}

#[test]
fn fetch_on_home_says_what_it_can_do() {
    let tmp = tempfile::tempdir().unwrap();
    // Part 2's dataset is already in place (a copy placed by hand is usable too).
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/medmnist/breastmnist.npz");
    let have_breast = shared.is_file();
    if have_breast {
        std::fs::create_dir_all(tmp.path().join("data/medmnist")).unwrap();
        std::fs::copy(&shared, tmp.path().join("data/medmnist/breastmnist.npz")).unwrap();
    }
    let mut app = app(tmp.path());
    key(&mut app, KeyCode::Char('f'));
    assert_eq!(
        app.status.as_deref(),
        Some("this part needs nothing to download")
    );
    for _ in 0..4 {
        key(&mut app, KeyCode::Down);
    }
    // Regression: Breast Cancer Wisconsin is embedded.
    key(&mut app, KeyCode::Char('f'));
    assert_eq!(
        app.status.as_deref(),
        Some("this part needs nothing to download")
    );
    if have_breast {
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Up);
        key(&mut app, KeyCode::Char('f'));
        assert!(
            app.status.as_deref().unwrap().contains("nothing to fetch"),
            "{:?}",
            app.status
        );
    }
}

/// `r` asks which data the run uses: the course's dataset, another file in the data dir, or a
/// typed path; the choice starts a background run and is offered first next time.
#[test]
fn a_run_asks_for_its_data_and_remembers_the_choice() {
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/medmnist/breastmnist.npz");
    if !shared.is_file() {
        eprintln!("skipped: {} is absent", shared.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let medmnist = tmp.path().join("data/medmnist");
    std::fs::create_dir_all(&medmnist).unwrap();
    let copy = medmnist.join("breastmnist_small.npz");
    std::fs::copy(&shared, &copy).unwrap();
    let mut app = app(tmp.path());
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('r'));
    assert!(matches!(app.stack.last(), Some(Screen::DataChoice(_))));
    let shown = screen(&app, 80, 24);
    assert!(
        shown.contains("breastmnist (the course's dataset, not"),
        "{shown}"
    );
    assert!(shown.contains("breastmnist_small.npz"), "{shown}");
    // The course's file is missing: choosing it says how to get it, and no flag is mentioned.
    key(&mut app, KeyCode::Enter);
    let shown = screen(&app, 120, 40);
    assert!(
        shown.contains("f on the home screen") && !shown.contains("--data"),
        "{shown}"
    );
    // The popup grows to its wrapped message: the key line stays at its bottom.
    both_sizes_in("data_choice_missing_course_file", &app, tmp.path());
    // A typed path that does not exist.
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Enter);
    for c in "/no/such/file.npz".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app, 120, 40).contains("does not exist"));
    key(&mut app, KeyCode::Esc);
    // The other file: a background run starts on it; stop it at once.
    key(&mut app, KeyCode::Char('r'));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    assert!(
        matches!(app.stack.last(), Some(Screen::Experiment(_))),
        "{:?}",
        app.status
    );
    key(&mut app, KeyCode::Char('s'));
    let started = std::time::Instant::now();
    while matches!(app.stack.last(), Some(Screen::Experiment(v)) if v.is_running()) {
        app.tick();
        assert!(
            started.elapsed().as_secs() < 120,
            "the stopped run did not end"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let saved = std::fs::read_to_string(tmp.path().join("state/progress.json")).unwrap();
    assert!(saved.contains("breastmnist_small.npz"), "{saved}");
    // Next time, the remembered file comes first.
    let mut again = app_with_same_state(tmp.path());
    again.stack.clear();
    key(&mut again, KeyCode::Down);
    key(&mut again, KeyCode::Down);
    key(&mut again, KeyCode::Char('r'));
    let Some(Screen::DataChoice(v)) = again.stack.last() else {
        panic!("no data choice");
    };
    assert_eq!(
        v.options.first(),
        Some(&petri::app::DataOption::Path(copy.clone()))
    );
}

/// `--ascii` (and TERM=linux/dumb): every cell of every screen is ASCII, borders, charts and
/// gauges included.
#[test]
fn ascii_mode_draws_only_ascii() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = app(tmp.path());
    app.theme = Theme::new(false, true);
    let all_ascii = |app: &App| {
        let s = screen(app, 100, 30);
        let bad: Vec<char> = s.chars().filter(|c| !c.is_ascii()).collect();
        assert!(bad.is_empty(), "non-ASCII {bad:?} in\n{s}");
    };
    all_ascii(&app);
    let mut view = ExperimentView::scripted(Suite::Augmentation, "02-augmentation");
    view.state.apply(Event::Started {
        epochs: 2,
        batches_per_epoch: 4,
        examples: 100,
        trainable_params: 1000,
    });
    for b in 1..=4 {
        view.state.apply(Event::Batch {
            epoch: 1,
            batch: b,
            batches: 4,
            loss: 1.0 / b as f32,
            examples_per_sec: 10.0,
            eta_secs: 3.0,
        });
    }
    app.stack.push(Screen::Experiment(Box::new(view)));
    all_ascii(&app);
    key(&mut app, KeyCode::Char('?'));
    all_ascii(&app);
}

/// At the smallest size the tutor draws (60x16) the `?` help scrolls to its last key.
#[test]
fn help_scrolls_at_the_minimum_size() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = app(tmp.path());
    key(&mut app, KeyCode::Char('?'));
    let first = screen(&app, 60, 16);
    assert!(first.contains("arrows scroll"), "{first}");
    assert!(!first.contains("identify the data"), "{first}");
    for _ in 0..30 {
        key(&mut app, KeyCode::Down);
    }
    let last = screen(&app, 60, 16);
    assert!(last.contains("identify the data"), "{last}");
    key(&mut app, KeyCode::Esc);
    assert!(!app.show_help);
}

/// A long message on the status line (a data error, say) wraps between words at 80 columns
/// instead of being cut mid-word.
#[test]
fn a_long_status_is_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = app(tmp.path());
    let message = "breastmnist is not at /home/student/.local/share/petri/data/medmnist/breastmnist.npz: \
                   run `petri data fetch breastmnist` (~1 MB), or pass --data FILE.npz";
    app.status = Some(message.into());
    let text = screen(&app, 80, 24);
    let bottom: Vec<&str> = text.lines().rev().take(3).collect();
    let shown: String = bottom
        .iter()
        .rev()
        .map(|l| l.trim_matches('"').trim_end())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        shown.split_whitespace().eq(message.split_whitespace()),
        "{text}"
    );
}

#[test]
fn results_over_seeds_show_the_spread_and_which_differences_exceed_it() {
    use petri_engine::experiment::record::ModelRun;
    use petri_engine::experiment::seeds;
    let tmp = tempfile::tempdir().unwrap();
    let mut app = app(tmp.path());
    let per_seed: Vec<_> = [(0, 0.80, 0.79), (1, 0.84, 0.80), (2, 0.82, 0.81)]
        .into_iter()
        .map(|(seed, scratch, finetune)| {
            let mut r = finished_record(Suite::Classification);
            r.seed = seed;
            for (name, acc) in [
                ("scratch", scratch),
                ("frozen", 0.6 + 0.01 * seed as f64),
                ("finetune", finetune),
            ] {
                let mut run = ModelRun::new(name);
                run.test.insert("accuracy".into(), acc);
                run.test.insert("balanced_accuracy".into(), acc - 0.1);
                run.test.insert("auc".into(), acc + 0.05);
                run.confusion = Some(vec![vec![20, 22], vec![6, 108]]);
                run.per_class
                    .insert("recall".into(), vec![Some(0.48), Some(0.95)]);
                r.runs.push(run);
            }
            r
        })
        .collect();
    let mut record = seeds::combine(per_seed, 3);
    record.expected = petri_engine::experiment::expected::check(&record);
    record.comparisons = seeds::compare(&record);
    let mut view = ExperimentView::scripted(Suite::Classification, "01-classification");
    view.state.record = Some(record);
    view.pane = petri::app::Pane::Results;
    app.stack.push(Screen::Experiment(Box::new(view)));
    let text = screen(&app, 80, 24);
    assert!(text.contains("0.820±.020"), "{text}");
    assert!(text.contains("seeds 0, 1, 2"), "{text}");
    assert!(text.contains("larger than the spread"), "{text}");
    assert!(text.contains("not told apart"), "{text}");
    both_sizes("results_over_seeds", &app);
    // At 80x24 the rest is a page down: the bars, recall and confusion matrix.
    let text = screen(&app, 80, 24);
    assert!(text.contains("rows 1-14 of"), "{text}");
    key(&mut app, KeyCode::PageDown);
    let scrolled = screen(&app, 80, 24);
    assert!(scrolled.contains("rows 14-27 of"), "{scrolled}");
    assert!(scrolled.contains("test accuracy"), "{scrolled}");
    insta::assert_snapshot!("results_over_seeds_scrolled_80x24", scrolled);
}
