//! End-to-end tests of the `petri` binary: real processes, real files, exit codes and output.
//! Tests that need `../shared/data` skip with a message when it is absent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn petri(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_petri"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("PETRI_DATA")
        .output()
        .expect("petri runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/data is absent");
        None
    }
}

/// The run record (JSON) a run wrote into `dir`.
fn run_record(dir: impl AsRef<Path>) -> serde_json::Value {
    let path = std::fs::read_dir(dir.as_ref())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a run record");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A failing run: non-zero exit, an error naming `needle`, and no panic.
fn assert_clean_failure(o: &Output, needles: &[&str]) {
    let (out, err) = text(o);
    assert!(!o.status.success(), "expected failure, got success: {out}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
}

#[test]
fn data_info_describes_breastmnist() {
    let Some(shared) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let o = petri(
        &[
            "data",
            "info",
            shared.join("medmnist/breastmnist.npz").to_str().unwrap(),
        ],
        tmp.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("train 546 / val 78 / test 156"), "{out}");
    // The shared copy's labels were re-saved: its splits are BreastMNIST's, its checksum not.
    assert!(
        out.contains("breastmnist's splits and shape, but not the official file"),
        "{out}"
    );
    assert!(out.contains("binary classification, 2 classes"), "{out}");
    assert!(out.contains("grey 28x28"), "{out}");
    assert!(
        out.contains("0 malignant") && out.contains("147 (26.9%)"),
        "{out}"
    );

    let o = petri(
        &[
            "data",
            "info",
            "--json",
            shared.join("medmnist/breastmnist.npz").to_str().unwrap(),
        ],
        tmp.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kind"], "medmnist");
    assert_eq!(v["splits"][0]["count"], 546);
}

#[test]
fn data_info_describes_tables_and_segmentation_folders() {
    let Some(shared) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let o = petri(
        &[
            "data",
            "info",
            shared.join("wdbc/breast_cancer.csv").to_str().unwrap(),
        ],
        tmp.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("rows: 569, columns: 31") && out.contains("Breast Cancer Wisconsin"),
        "{out}"
    );

    let o = petri(
        &[
            "data",
            "info",
            shared.join("segmentation/isbi2012-em").to_str().unwrap(),
        ],
        tmp.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("train: 30 pairs") && out.contains("binary"),
        "{out}"
    );
}

#[test]
fn data_list_and_verify_on_an_empty_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let o = petri(&["data", "list"], tmp.path());
    let (out, _) = text(&o);
    assert!(o.status.success());
    for name in [
        "pathmnist",
        "chestmnist",
        "breastmnist",
        "dermamnist",
        "bloodmnist",
        "pneumoniamnist",
        "organamnist",
    ] {
        assert!(out.contains(name), "{name} missing from {out}");
    }
    assert!(out.contains("embedded"));
    // The weights and the skin set are fetchable items too.
    assert!(
        out.contains("resnet18") && out.contains("skin-autofluorescence"),
        "{out}"
    );
    assert!(out.contains("missing") && !out.contains("~0 MB"), "{out}");
    let o = petri(&["data", "verify"], tmp.path());
    assert!(o.status.success());
    assert!(text(&o).0.contains("Nothing downloaded"));
}

#[test]
fn verify_flags_a_corrupted_download() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("medmnist")).unwrap();
    std::fs::write(
        tmp.path().join("medmnist/breastmnist.npz"),
        b"not the real file",
    )
    .unwrap();
    let o = petri(&["data", "verify"], tmp.path());
    assert_clean_failure(&o, &["not the official files"]);
    assert!(text(&o).0.contains("checksum differs"), "{}", text(&o).0);
}

/// `data list`, `data info`, `data verify` and `identify` agree on one file: the shared
/// BreastMNIST copy has the official splits and shape but re-saved bytes.
#[test]
fn the_data_commands_agree_on_whether_a_file_is_official() {
    let Some(shared) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("medmnist")).unwrap();
    let file = tmp.path().join("medmnist/breastmnist.npz");
    std::fs::copy(shared.join("medmnist/breastmnist.npz"), &file).unwrap();
    let path = file.to_str().unwrap();
    let list = text(&petri(&["data", "list"], tmp.path())).0;
    let line = list.lines().find(|l| l.starts_with("breastmnist")).unwrap();
    assert!(line.contains("unofficial"), "{list}");
    assert!(list.contains("not the official file"), "{list}");
    let verify = petri(&["data", "verify"], tmp.path());
    assert_clean_failure(&verify, &["not the official files"]);
    assert!(text(&verify).0.contains("checksum differs"));
    let info = text(&petri(&["data", "info", path], tmp.path())).0;
    assert!(info.contains("not the official file"), "{info}");
    let identify = text(&petri(&["identify", path], tmp.path())).0;
    assert!(
        identify.contains("breastmnist's splits and shape but is not the official file"),
        "{identify}"
    );
}

#[test]
fn fetch_rejects_unknown_names_and_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    assert_clean_failure(
        &petri(&["data", "fetch", "nosuchmnist"], tmp.path()),
        &["unknown dataset 'nosuchmnist'"],
    );
    let o = petri(&["data", "fetch", "breast", "--size", "32"], tmp.path());
    assert_clean_failure(&o, &["'32' is not a MedMNIST size: use 28, 64, 128 or 224"]);
    assert_eq!(o.status.code(), Some(2), "a bad value is a usage error");
}

/// Conventions of a command-line program: usage errors exit 2 with the choices, `--version`
/// names the commit and backends, completions and a man page, help with examples, and global
/// flags only where they do something.
#[test]
fn usage_errors_exit_2_and_the_program_describes_itself() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &["run", "nope"][..],
        &["run", "regression", "--device", "tpu"],
        &["run", "regression", "--profile", "slow"],
        &["run", "regression", "-e", "boosting"],
        &["grade", "--challenge", "dice", ".", "--format", "xml"],
    ] {
        let o = petri(args, tmp.path());
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("possible values"), "{args:?}: {err}");
    }
    // A flag that parses but does not fit the command is a usage error too.
    let o = petri(&["run", "regression", "--loss", "ce"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    let o = petri(&["run", "classification", "-e", "forest"], tmp.path());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--experiment forest: classification has no experiment 'forest'; choose from scratch, frozen, finetune"),
        "{err}"
    );
    let (out, _) = text(&petri(&["--version"], tmp.path()));
    assert!(
        out.starts_with("petri ") && out.contains("commit ") && out.contains("backends: cpu"),
        "{out}"
    );
    // Without a GPU backend in this binary, `auto` (the default) is the CPU, and doctor says so.
    let (out, _) = text(&petri(&["run", "--help"], tmp.path()));
    assert!(
        out.contains("auto") && out.contains("default: auto"),
        "{out}"
    );
    let (out, _) = text(&petri(&["doctor"], tmp.path()));
    assert!(out.contains("runs train on: cpu"), "{out}");
    let (out, _) = text(&petri(&["completions", "bash"], tmp.path()));
    assert!(out.contains("_petri()"), "{out}");
    let (out, _) = text(&petri(&["man"], tmp.path()));
    assert!(out.contains(".TH petri 1"), "{out}");
    for cmd in [
        "run",
        "data",
        "identify",
        "train",
        "challenge",
        "grade",
        "doctor",
    ] {
        let (out, _) = text(&petri(&[cmd, "--help"], tmp.path()));
        assert!(out.contains("Example"), "{cmd} --help has no examples");
        assert!(
            !out.contains("--mouse") && !out.contains("--ascii"),
            "{cmd}: {out}"
        );
    }
    let (out, _) = text(&petri(&["run", "--help"], tmp.path()));
    assert!(!out.contains("--lessons"), "{out}");
}

#[test]
fn without_a_terminal_petri_prints_an_overview() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_petri"))
        .arg("--data-dir")
        .arg(tmp.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(
        out.contains("Classification") && out.contains("petri data fetch"),
        "{out}"
    );
}

// ---- Bad input: one test each, all a clean error naming the file. ----

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

fn info(path: &Path) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    petri(&["data", "info", path.to_str().unwrap()], tmp.path())
}

#[test]
fn bad_npz_not_a_zip() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "fake.npz", b"this is text, not a zip archive");
    assert_clean_failure(&info(&p), &["fake.npz", "not a readable .npz"]);
}

#[test]
fn bad_npz_truncated() {
    let Some(shared) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(shared.join("medmnist/breastmnist.npz")).unwrap();
    let p = write(tmp.path(), "cut.npz", &bytes[..bytes.len() / 2]);
    assert_clean_failure(&info(&p), &["cut.npz"]);
}

fn npz_with(dir: &Path, name: &str, arrays: &[(&str, Vec<u8>)]) -> PathBuf {
    let p = dir.join(name);
    let f = std::fs::File::create(&p).unwrap();
    let mut zip = zip::ZipWriter::new(f);
    for (key, bytes) in arrays {
        zip.start_file(
            format!("{key}.npy"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    p
}

fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn split_arrays(images: Vec<u8>, labels: Vec<u8>) -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    for s in ["train", "val", "test"] {
        v.push((
            if s == "train" {
                "train_images"
            } else if s == "val" {
                "val_images"
            } else {
                "test_images"
            },
            images.clone(),
        ));
        v.push((
            if s == "train" {
                "train_labels"
            } else if s == "val" {
                "val_labels"
            } else {
                "test_labels"
            },
            labels.clone(),
        ));
    }
    v
}

#[test]
fn bad_npz_unsupported_dtype() {
    let tmp = tempfile::tempdir().unwrap();
    let images = npy("<c8", "(2, 2, 2)", &[0; 64]);
    let labels = npy("|u1", "(2, 1)", &[0, 1]);
    let p = npz_with(tmp.path(), "complex.npz", &split_arrays(images, labels));
    assert_clean_failure(&info(&p), &["complex.npz", "unsupported dtype '<c8'"]);
}

#[test]
fn bad_npz_image_label_count_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    let images = npy("|u1", "(3, 2, 2)", &[0; 12]);
    let labels = npy("|u1", "(2, 1)", &[0, 1]);
    let p = npz_with(tmp.path(), "mismatch.npz", &split_arrays(images, labels));
    assert_clean_failure(
        &info(&p),
        &["mismatch.npz", "image and label counts must match"],
    );
}

#[test]
fn custom_npz_loads_with_inferred_task() {
    let tmp = tempfile::tempdir().unwrap();
    let images = npy("|u1", "(3, 4, 4, 3)", &[7; 144]);
    let labels = npy(
        "<i8",
        "(3,)",
        &[
            0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        ],
    );
    let p = npz_with(tmp.path(), "mine.npz", &split_arrays(images, labels));
    let o = info(&p);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("custom dataset") && out.contains("multi-class classification, 3 classes"),
        "{out}"
    );
    assert!(out.contains("colour (RGB) 4x4"), "{out}");
}

#[test]
fn bad_csv_missing_and_non_numeric_values() {
    let tmp = tempfile::tempdir().unwrap();
    // A missing value is reported as `petri identify` and `petri train` treat it: the row is
    // left out (the same rule everywhere), not an error here and a warning there.
    let p = write(tmp.path(), "holes.csv", b"a,b,c\n1,2,3\n4,,6\n7,8,9\n");
    let o = info(&p);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("rows: 2, columns: 3") && out.contains("1 more row(s) have a missing value"),
        "{out}"
    );
    let p = write(tmp.path(), "words.csv", b"a,b,c\n1,2,3\n4,five,6\n");
    assert_clean_failure(
        &info(&p),
        &["words.csv", "non-numeric value 'five' at line 3"],
    );
}

fn grey_png(path: &Path, w: u32, h: u32, value: impl Fn(u32, u32) -> u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_fn(w, h, |x, y| image::Luma([value(x, y)]))
        .save(path)
        .unwrap();
}

#[test]
fn bad_mask_values_outside_the_label_map() {
    let tmp = tempfile::tempdir().unwrap();
    grey_png(&tmp.path().join("images/a.png"), 4, 4, |x, _| x as u8 * 40);
    grey_png(&tmp.path().join("masks/a.png"), 4, 4, |x, _| {
        if x < 2 { 0 } else { 255 }
    });
    grey_png(&tmp.path().join("images/b.png"), 4, 4, |x, _| x as u8 * 40);
    grey_png(&tmp.path().join("masks/b.png"), 4, 4, |x, _| {
        if x < 2 { 0 } else { 128 }
    });
    assert_clean_failure(
        &info(tmp.path()),
        &["b.png", "mask value 128 is outside the label map"],
    );
}

#[test]
fn bad_unreadable_tiff() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "images/x.tif", b"II*\x00garbage");
    write(tmp.path(), "masks/x.tif", b"II*\x00garbage");
    assert_clean_failure(&info(tmp.path()), &["x.tif", "cannot decode"]);
}

#[test]
fn bad_missing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let o = info(&tmp.path().join("no/such/folder"));
    assert_clean_failure(&o, &["no such file or folder"]);
}

// ---- Course content ----

fn lessons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons")
}

#[test]
fn content_check_passes_on_the_course_and_every_part_has_enough_questions() {
    let tmp = tempfile::tempdir().unwrap();
    let o = petri(
        &[
            "content",
            "check",
            "--lessons",
            lessons_dir().to_str().unwrap(),
        ],
        tmp.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("content ok: 5 lessons"), "{out}");
    // Our course's own bar: at least 8 questions per part, 40 in all.
    for part in [
        "00-protocol",
        "01-classification",
        "02-augmentation",
        "03-segmentation",
        "04-regression",
    ] {
        let text = std::fs::read_to_string(lessons_dir().join(part).join("check.toml")).unwrap();
        let n = text.matches("[[question]]").count();
        assert!(n >= 8, "{part} has {n} questions");
    }
}

#[test]
fn content_check_reports_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lessons/01-bad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lesson.md"),
        "+++\nid = \"01-bad\"\nname = \"bad\"\nshort_title = \"Bad\"\ntitle = \"Bad\"\n+++\n```sh\npetri fly\n```\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("check.toml"),
        "[[question]]\nid = \"x\"\nkind = \"single\"\nprompt = \"p\"\n",
    )
    .unwrap();
    let o = petri(
        &[
            "content",
            "check",
            "--lessons",
            tmp.path().join("lessons").to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_clean_failure(
        &o,
        &[
            "lesson.md:8",
            "petri fly",
            "check.toml:2",
            "needs at least two options",
        ],
    );
}

#[test]
fn quiz_on_a_plain_terminal_records_the_score() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lessons/01-tiny");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lesson.md"),
        "+++\nid = \"01-tiny\"\nname = \"tiny\"\nshort_title = \"Tiny\"\ntitle = \"Tiny\"\n+++\n# Tiny\nText.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("check.toml"),
        "[[question]]\nid = \"pick\"\nkind = \"single\"\nprompt = \"Which?\"\nexplanation = \"Because.\"\n\
         [[question.option]]\ntext = \"right\"\ncorrect = true\nfeedback = \"yes\"\n\
         [[question.option]]\ntext = \"wrong\"\nfeedback = \"no\"\n\
         [[question]]\nid = \"num\"\nkind = \"numeric\"\nprompt = \"How many?\"\nanswer = 4617\ntolerance = 0.5\n",
    )
    .unwrap();
    let state = tmp.path().join("state");
    // The student's attempt has seed 1: options appear in that attempt's order.
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("progress.json"),
        r#"{"parts":{"01-tiny":{"quiz":{"answers":{},"total":2,"seed":1}}}}"#,
    )
    .unwrap();
    let lesson = petri::content::load_lesson(&dir).unwrap();
    let order = lesson.check[0].shown_order(1);
    let right_at = order.iter().position(|&i| i == 0).unwrap() + 1;
    let quiz = |input: String, fresh: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_petri"));
        cmd.args(["quiz", "tiny", "--lessons"])
            .arg(tmp.path().join("lessons"))
            .env("PETRI_STATE", &state)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        if fresh {
            cmd.arg("--fresh");
        }
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let o = quiz(format!("7\n{right_at}\n4600\n"), false);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("  {right_at}. right")),
        "the shown numbering follows the attempt's order: {out}"
    );
    assert!(
        out.contains("try again")
            && out.contains("Correct.")
            && out.contains("The right answer: 4617"),
        "{out}"
    );
    assert!(out.contains("Score: 1 of 2"), "{out}");
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("progress.json")).unwrap())
            .unwrap();
    assert_eq!(
        progress["parts"]["01-tiny"]["quiz"]["answers"]["pick"],
        true
    );
    assert_eq!(
        progress["parts"]["01-tiny"]["quiz"]["answers"]["num"],
        false
    );
    assert_eq!(progress["parts"]["01-tiny"]["quiz"]["seed"], 1);
    // A fresh attempt draws a new seed and clears the answers.
    let o = quiz("\n".into(), true);
    assert!(o.status.success());
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("progress.json")).unwrap())
            .unwrap();
    assert_ne!(progress["parts"]["01-tiny"]["quiz"]["seed"], 1);
    assert_eq!(
        progress["parts"]["01-tiny"]["quiz"]["answers"],
        serde_json::json!({})
    );

    let o = Command::new(env!("CARGO_BIN_EXE_petri"))
        .args(["lesson", "1", "--lessons"])
        .arg(tmp.path().join("lessons"))
        .env("PETRI_STATE", &state)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("Text."));
}

fn write_class_folders(root: &Path, classes: usize, per_class: usize) {
    for k in 0..classes {
        let dir = root.join(format!("type{k}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..per_class {
            // Each class has its own brightness, so a network can learn something.
            let img = image::GrayImage::from_fn(28, 28, |x, y| {
                image::Luma([((k * 80) as u32 + (x * 7 + y * 13 + i as u32 * 5) % 40) as u8])
            });
            img.save(dir.join(format!("{i}.png"))).unwrap();
        }
    }
}

#[test]
fn identify_then_train_on_class_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cells");
    write_class_folders(&root, 3, 14);
    let plan = tmp.path().join("plan.toml");
    let o = petri(
        &[
            "identify",
            root.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("task: multi-class classification"), "{out}");
    assert!(out.contains("[few-examples]"), "{out}");
    // Edit the plan as a user would: one epoch.
    let edited = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("epochs = 10", "epochs = 1");
    std::fs::write(&plan, edited).unwrap();
    let runs = tmp.path().join("runs");
    let o = petri(
        &[
            "train",
            root.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "--out",
            runs.to_str().unwrap(),
            "--json",
        ],
        tmp.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let acc = v["runs"]["augmented"]["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc), "{out}");
    // The split it made is kept beside the record, so the run can be reproduced.
    let names: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("cells-28px-seed0") && n.ends_with(".npz")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("augmentation-") && n.ends_with(".json")),
        "{names:?}"
    );
}

#[test]
fn train_regresses_any_table_column_and_identify_needs_a_target() {
    let tmp = tempfile::tempdir().unwrap();
    let mut body = String::from("a,b,noise,y\n");
    for i in 0..120 {
        let (a, b) = (i as f64 * 0.1, (i % 7) as f64);
        let missing = if i == 5 {
            String::new()
        } else {
            format!("{}", (i * 31 % 17) as f64)
        };
        body.push_str(&format!("{a},{b},{missing},{}\n", 2.0 * a - b + 1.0));
    }
    let table = tmp.path().join("t.csv");
    std::fs::write(&table, body).unwrap();
    let o = petri(&["identify", table.to_str().unwrap()], tmp.path());
    assert_clean_failure(&o, &["--target", "a, b, noise, y"]);
    let o = petri(
        &[
            "train",
            table.to_str().unwrap(),
            "--target",
            "y",
            "--out",
            tmp.path().join("runs").to_str().unwrap(),
            "--json",
        ],
        tmp.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("[missing-values]"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let linear = v["runs"]["linear (all features)"]["rmse"]["mean"]
        .as_f64()
        .unwrap();
    assert!(linear < 0.01, "y is linear in a and b: {linear}");
}

#[test]
fn train_classifies_table_rows_with_a_text_target() {
    let tmp = tempfile::tempdir().unwrap();
    let mut body = String::from("size,texture,kind\n");
    for i in 0..150 {
        let size = (i % 30) as f64;
        let kind = if size > 14.0 { "large" } else { "small" };
        body.push_str(&format!("{size},{},{kind}\n", (i * 7 % 11) as f64));
    }
    let table = tmp.path().join("cells.csv");
    std::fs::write(&table, body).unwrap();
    let o = petri(
        &["identify", table.to_str().unwrap(), "--target", "kind"],
        tmp.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("task: binary classification"), "{out}");
    // The metric's reason speaks of classes, not of the target's units.
    assert!(
        out.contains("balanced accuracy") && !out.contains("target's own units"),
        "{out}"
    );
    let o = petri(
        &[
            "train",
            table.to_str().unwrap(),
            "--target",
            "kind",
            "--out",
            tmp.path().join("runs").to_str().unwrap(),
            "--json",
        ],
        tmp.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // The class is a threshold on one column: a tree finds it exactly.
    let tree = v["runs"]["tree"]["balanced_accuracy"]["mean"]
        .as_f64()
        .unwrap();
    assert!(tree > 0.95, "{out}");
    assert!(
        v["runs"]["logistic"]["accuracy"]["mean"].as_f64().unwrap() > 0.8,
        "{out}"
    );
}

#[test]
fn run_rejects_a_loss_it_cannot_use() {
    let tmp = tempfile::tempdir().unwrap();
    let o = petri(&["run", "regression", "--loss", "ce+dice"], tmp.path());
    assert_clean_failure(&o, &["--loss", "segmentation"]);
    let o = petri(
        &[
            "run",
            "segmentation",
            "--data",
            "nowhere",
            "--loss",
            "focal",
        ],
        tmp.path(),
    );
    assert_clean_failure(&o, &["focal", "ce+dice"]);
}

/// The ISBI 2012 layout labels train/ only (its test/ has no masks): `petri run segmentation`
/// splits train/ by source image, seeded, and says so in the record.
#[test]
fn segmentation_folder_with_only_a_labelled_train_split_gets_a_recorded_split() {
    let Some(shared) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    let o = petri(
        &[
            "run",
            "segmentation",
            "--data",
            shared.join("segmentation/isbi2012-em").to_str().unwrap(),
            "--epochs",
            "1",
            "--limit",
            "4",
            "--seed",
            "3",
            "--out",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let (stdout, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(stdout.contains("split off train/"), "{stdout}");
    let record = run_record(&out);
    let notes = record["notes"].to_string();
    assert!(
        notes.contains("seed 3") && notes.contains("validation or test"),
        "{notes}"
    );
}

#[test]
fn doctor_says_what_each_part_needs_and_fails_while_one_cannot_run() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_petri"))
        .args(["doctor", "--data-dir"])
        .arg(tmp.path())
        .env("PETRI_STATE", tmp.path().join("state"))
        .output()
        .unwrap();
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("2 Augmentation    cannot run"), "{out}");
    assert!(out.contains("`petri data fetch breastmnist`"), "{out}");
    assert!(out.contains("4 Regression      ready"), "{out}");
    assert!(
        out.contains("state dir: writable") && out.contains("cpu     opens"),
        "{out}"
    );
    assert!(out.contains("free space in the data dir"), "{out}");
    let Some(shared) = shared_data() else { return };
    std::fs::create_dir_all(tmp.path().join("medmnist")).unwrap();
    std::fs::copy(
        shared.join("medmnist/breastmnist.npz"),
        tmp.path().join("medmnist/breastmnist.npz"),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_petri"))
        .args(["doctor", "--data-dir"])
        .arg(tmp.path())
        .env("PETRI_STATE", tmp.path().join("state"))
        .output()
        .unwrap();
    assert!(
        text(&o).0.contains("2 Augmentation    ready"),
        "{}",
        text(&o).0
    );
}

/// Every field of a plan has its effect or is refused by name: a table regression plan with
/// its metric, batch size and split edited reports that metric and trains with those values;
/// fields the table runner cannot use are rejected before anything trains.
#[test]
fn plan_fields_take_effect_or_are_rejected_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let mut body = String::from("a,b,y\n");
    for i in 0..90 {
        let (a, b) = (i as f64 * 0.1, (i % 7) as f64);
        body.push_str(&format!("{a},{b},{}\n", 2.0 * a - b + 1.0));
    }
    let table = tmp.path().join("t.csv");
    std::fs::write(&table, body).unwrap();
    let plan = tmp.path().join("plan.toml");
    let o = petri(
        &[
            "identify",
            table.to_str().unwrap(),
            "--target",
            "y",
            "--plan",
            plan.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let base: toml::Table = toml::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let train = |edit: &dyn Fn(&mut toml::Table), out: &str| {
        let mut p = base.clone();
        edit(&mut p);
        std::fs::write(&plan, toml::to_string(&p).unwrap()).unwrap();
        petri(
            &[
                "train",
                table.to_str().unwrap(),
                "--plan",
                plan.to_str().unwrap(),
                "--out",
                tmp.path().join(out).to_str().unwrap(),
            ],
            tmp.path(),
        )
    };
    let o = train(
        &|p| {
            p.insert("metric".into(), "rmse".into());
            p.insert("batch_size".into(), 7.into());
            p.insert("epochs".into(), 20.into());
            p.insert(
                "split".into(),
                toml::Value::Array(vec![0.75.into(), 0.0.into(), 0.25.into()]),
            );
        },
        "runs",
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("the plan's metric, rmse"), "{out}");
    let record = run_record(tmp.path().join("runs"));
    assert_eq!(record["config"]["metric"], "rmse");
    assert_eq!(record["config"]["nn_train"]["batch_size"], 7);
    assert_eq!(record["config"]["nn_train"]["epochs"], 20);
    assert_eq!(record["config"]["test_fraction"], 0.25);
    for (field, value, needle) in [
        ("loss", toml::Value::from("cross-entropy"), "`loss`"),
        ("metric", "dice_mean".into(), "`metric`"),
        ("input_size", 64.into(), "`input_size`"),
        ("pretrained", true.into(), "`pretrained`"),
        ("class_weights", "balanced".into(), "`class_weights`"),
        (
            "split",
            toml::Value::Array(vec![0.6.into(), 0.2.into(), 0.2.into()]),
            "`split`",
        ),
    ] {
        let o = train(&|p| drop(p.insert(field.into(), value.clone())), "refused");
        assert_clean_failure(&o, &[needle, "the table regression runner"]);
        assert!(
            !tmp.path().join("refused").exists(),
            "{field}: nothing trained"
        );
    }
}

/// A segmentation plan's loss, split and metric reach the runner.
#[test]
fn a_segmentation_plan_trains_with_its_own_loss_and_split() {
    let Some(shared) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = shared.join("segmentation/isbi2012-em");
    let plan = tmp.path().join("plan.toml");
    let o = petri(
        &[
            "identify",
            data.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let mut p: toml::Table = toml::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    p.insert("loss".into(), "ce+dice".into());
    p.insert("metric".into(), "pixel_accuracy".into());
    p.insert("epochs".into(), 1.into());
    p.insert("input_size".into(), 64.into());
    p.insert(
        "split".into(),
        toml::Value::Array(vec![0.6.into(), 0.2.into(), 0.2.into()]),
    );
    std::fs::write(&plan, toml::to_string(&p).unwrap()).unwrap();
    let out = tmp.path().join("runs");
    let o = petri(
        &[
            "train",
            data.to_str().unwrap(),
            "--plan",
            plan.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let (stdout, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        stdout.contains("the plan's metric, pixel_accuracy"),
        "{stdout}"
    );
    assert!(stdout.contains("(60/20/20%"), "{stdout}");
    let record = run_record(&out);
    assert_eq!(
        record["config"]["preset"]["loss"], "cross-entropy-dice",
        "{}",
        record["config"]
    );
}

/// A sixth part is a lesson folder: the plain overview, `petri doctor`, `petri lesson` and the
/// content check pick it up from its front matter, with nothing else edited. (It trains
/// nothing, so it has no dataset: a part's dataset is its runner's, `Suite::dataset`.)
#[test]
fn a_new_lesson_folder_is_a_new_part_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let lessons = tmp.path().join("lessons");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons");
    for e in std::fs::read_dir(&root).unwrap().flatten() {
        if e.path().is_dir() {
            let to = lessons.join(e.file_name());
            std::fs::create_dir_all(&to).unwrap();
            for f in ["lesson.md", "check.toml"] {
                std::fs::copy(e.path().join(f), to.join(f)).unwrap();
            }
        }
    }
    let new = lessons.join("05-survival");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(
        new.join("lesson.md"),
        "+++\nid = \"05-survival\"\nname = \"survival\"\nshort_title = \"Survival\"\n\
         summary = \"Time to event from tabular data\"\n\
         title = \"Survival analysis\"\nminutes = 10\n+++\n# Survival analysis\n\nCensoring.\n",
    )
    .unwrap();
    std::fs::write(
        new.join("check.toml"),
        "[[question]]\nid = \"c\"\nkind = \"single\"\nprompt = \"Censored means?\"\nexplanation = \"Not yet observed.\"\n\
         [[question.option]]\ntext = \"not yet observed\"\ncorrect = true\nfeedback = \"yes\"\n\
         [[question.option]]\ntext = \"deleted\"\nfeedback = \"no\"\n",
    )
    .unwrap();
    let with = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--lessons", lessons.to_str().unwrap()]);
        petri(&a, tmp.path())
    };
    let (out, _) = text(&with(&[]));
    assert!(
        out.contains("5. Survival        Time to event from tabular data"),
        "{out}"
    );
    let (out, _) = text(&with(&["doctor"]));
    assert!(out.contains("5 Survival        ready"), "{out}");
    let (out, _) = text(&with(&["lesson", "survival"]));
    assert!(out.starts_with("Survival analysis"), "{out}");
    let o = with(&["content", "check"]);
    assert!(o.status.success(), "{:?}", text(&o));
    // A part named twice is refused by the check.
    let md = std::fs::read_to_string(new.join("lesson.md"))
        .unwrap()
        .replace("name = \"survival\"", "name = \"regression\"");
    std::fs::write(new.join("lesson.md"), md).unwrap();
    assert_clean_failure(
        &with(&["content", "check"]),
        &["name 'regression' is also the name of 04-regression"],
    );
}

/// ImageNet weights are looked for where people have them (torch hub's cache here), or named
/// with `--weights`; a named file that is not there, or the flag on another part, is refused.
#[test]
fn weights_are_found_in_torch_hubs_cache_or_named_with_a_flag() {
    let Some(shared) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = shared.join("medmnist/breastmnist.npz");
    let data = data.to_str().unwrap();
    let run = [
        "run",
        "classification",
        "-e",
        "frozen",
        "--data",
        data,
        "--epochs",
        "1",
    ];
    let mut args = run.to_vec();
    args.extend(["--limit", "16", "--weights", "/nope/r.pth"]);
    assert_clean_failure(
        &petri(&args, tmp.path()),
        &["--weights /nope/r.pth: no such file"],
    );
    assert_clean_failure(
        &petri(&["run", "segmentation", "--weights", "x.pth"], tmp.path()),
        &["--weights applies to the classification part only"],
    );
    let hub = tmp.path().join("torch/hub/checkpoints");
    std::fs::create_dir_all(&hub).unwrap();
    std::fs::write(hub.join("resnet18-f37072fd.pth"), b"not a checkpoint").unwrap();
    let runs = tmp.path().join("runs");
    let mut args = run.to_vec();
    args.extend(["--limit", "16", "--out", runs.to_str().unwrap()]);
    let o = Command::new(env!("CARGO_BIN_EXE_petri"))
        .args(&args)
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .env("TORCH_HOME", tmp.path().join("torch"))
        .env("HF_HUB_CACHE", tmp.path().join("no-hf"))
        .env_remove("PETRI_DATA")
        .output()
        .unwrap();
    // The broken file in the cache is the one it tried to load.
    assert_clean_failure(&o, &["resnet18-f37072fd.pth"]);
    let (_, err) = text(&o);
    assert!(err.contains(hub.to_str().unwrap()), "{err}");
}

/// Every command that prints, with what it needs in `dir`: (arguments, runs without a
/// terminal's stdout).
fn printing_commands(dir: &Path) -> Vec<Vec<String>> {
    let cells = dir.join("cells");
    write_class_folders(&cells, 3, 14);
    let cells = cells.to_str().unwrap().to_string();
    let rows: String = (0..30)
        .map(|i| format!("{i},{},{}\n", i * 3 % 7, i % 2))
        .collect();
    let table = write(dir, "table.csv", format!("a,b,label\n{rows}").as_bytes());
    let table = table.to_str().unwrap().to_string();
    let lessons = lessons_dir().to_str().unwrap().to_string();
    [
        vec![],
        vec!["--help"],
        vec!["lesson", "1"],
        vec!["challenge", "list"],
        vec!["challenge", "show", "dice"],
        vec!["data", "list"],
        vec!["data", "info", &table],
        vec!["data", "verify"],
        vec!["identify", &cells],
        vec!["doctor"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["content", "check", "--lessons", &lessons],
    ]
    .into_iter()
    .map(|a| a.into_iter().map(String::from).collect())
    .collect()
}

/// `petri ARGS` on `data_dir` with its own state dir, stdout to `stdout`, stderr captured.
fn petri_command(args: &[String], data_dir: &Path, stdout: std::process::Stdio) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_petri"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("PETRI_DATA")
        .env("PETRI_STATE", data_dir.join("state"))
        .stdout(stdout)
        .stderr(std::process::Stdio::piped());
    cmd
}

fn petri_to(args: &[String], data_dir: &Path, stdout: std::process::Stdio) -> Output {
    petri_command(args, data_dir, stdout)
        .output()
        .expect("petri runs")
}

#[test]
fn a_reader_that_closes_early_ends_the_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    for args in printing_commands(tmp.path()) {
        let normal = petri_to(&args, tmp.path(), std::process::Stdio::piped());
        // `| true`: the reading end is closed before petri writes anything.
        let mut child = petri_command(&args, tmp.path(), std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let closed = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&closed.stderr);
        assert!(!err.contains("panicked"), "petri {args:?} | true: {err}");
        assert_eq!(
            closed.status.code(),
            normal.status.code(),
            "petri {args:?} | true exits as it would on a terminal: {err}"
        );
        assert!(
            !err.contains("standard output"),
            "a closed pipe is not reported: {err}"
        );
    }
}

#[test]
fn a_full_disk_is_a_write_error_with_exit_1() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full here");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for args in printing_commands(tmp.path()) {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = petri_to(&args, tmp.path(), full.into());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !err.contains("panicked"),
            "petri {args:?} > /dev/full: {err}"
        );
        assert_eq!(
            o.status.code(),
            Some(1),
            "petri {args:?} > /dev/full: {err}"
        );
        assert!(
            err.contains("could not write to standard output"),
            "petri {args:?} > /dev/full: {err}"
        );
    }
}

#[test]
fn the_man_page_documents_every_command_and_refers_to_no_missing_page() {
    let tmp = tempfile::tempdir().unwrap();
    let o = petri(&["man"], tmp.path());
    let (page, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        !page.contains("petri-data(1)") && !page.contains("\\-data(1)"),
        "no petri-*(1) pages exist"
    );
    for section in [
        "PETRI DATA FETCH",
        "PETRI RUN",
        "PETRI CHALLENGE START",
        "PETRI GRADE-MERGE",
        "PETRI DOCTOR",
    ] {
        assert!(page.contains(&format!(".SH \"{section}\"")), "no {section}");
    }
    assert!(
        page.contains("\\-\\-partial"),
        "grade-merge's options are on the page"
    );
    assert!(!page.to_ascii_uppercase().contains("GRADE-WORKER"));
    assert_eq!(page.matches(".ds Aq").count(), 2, "one roff preamble");
}

#[test]
fn completions_offer_parts_challenges_and_datasets_and_hide_hidden_commands() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let o = petri(&["completions", shell], tmp.path());
        let (script, err) = text(&o);
        assert!(o.status.success(), "{err}");
        assert!(
            !script.contains("grade-worker"),
            "{shell} offers grade-worker"
        );
        assert!(
            !script.contains("--job ") && !script.contains("-l job "),
            "{shell}: --job"
        );
        for word in [
            "classification",
            "segmentation/dice",
            "breastmnist",
            "protocol",
        ] {
            assert!(script.contains(word), "{shell} does not offer {word}");
        }
    }
    let o = petri(&["completions", "fish"], tmp.path());
    let fish = text(&o).0;
    assert!(
        fish.contains(
            "-n \"__fish_petri_using_subcommand run\" -f -a \"classification augmentation segmentation regression\""
        ),
        "fish completes parts after `petri run`, not files"
    );
}

/// What training refuses, `identify` and `data info` refuse with the same message: ragged CSV
/// rows and masks of another size than their image.
#[test]
fn identify_refuses_what_training_would_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let ragged = write(
        tmp.path(),
        "ragged.csv",
        b"a,b,label\n1,2,0\n3,4,1\n5,6\n7,8,1\n9,10,0\n",
    );
    let ragged = ragged.to_str().unwrap();
    // Training reads tables with the same reader (`data info` shows its message).
    for args in [
        &["identify", ragged, "--target", "label"][..],
        &["data", "info", ragged][..],
    ] {
        assert_clean_failure(
            &petri(args, tmp.path()),
            &[
                "ragged.csv",
                "line 4 has 2 fields but the table has 3 columns",
            ],
        );
    }

    let seg = tmp.path().join("seg");
    grey_png(&seg.join("images/a.png"), 8, 8, |x, _| x as u8);
    grey_png(&seg.join("masks/a.png"), 16, 12, |x, _| (x % 2) as u8 * 255);
    let seg = seg.to_str().unwrap();
    for args in [&["identify", seg][..], &["data", "info", seg][..]] {
        assert_clean_failure(
            &petri(args, tmp.path()),
            &["mask is 16x12 but its image", "is 8x8"],
        );
    }
}

/// `scripts/gpu-check run` on a machine without an NVIDIA GPU stops at once and says why
/// (here `nvidia-smi` is a stand-in that finds no GPU, whatever the machine has).
#[test]
fn the_gpu_check_without_a_gpu_stops_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("nvidia-smi");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'No devices were found' >&2\nexit 9\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&fake).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake, perms).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/gpu-check");
    let path = format!(
        "{}:{}",
        tmp.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(&script)
        .arg("run")
        .env("PATH", path)
        .env("GPU_CHECK_DIR", tmp.path().join("kit"))
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no NVIDIA GPU here"), "{err}");
    assert!(
        !tmp.path().join("kit").exists(),
        "nothing is written without a GPU"
    );
}
