//! What a researcher takes away from a run: every model's test predictions beside the record,
//! provenance complete enough that `petri rerun RECORD` reproduces the metrics, and figures
//! drawn from them. One tiny run of each kind (image classes, labels, masks, tables).
//!
//! With `PETRI_KEEP_RECORDS=DIR` the runs are kept in `DIR/<test>/` (CI then recomputes every
//! metric of them with scikit-learn: `scripts/recheck-metrics`); otherwise in temporary folders.

use serde_json::Value;
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

fn ok(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    err
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

/// Where a test's runs go: `$PETRI_KEEP_RECORDS/<name>` (emptied first) or a temporary folder.
struct Out {
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

fn out_dir(name: &str) -> Out {
    match std::env::var_os("PETRI_KEEP_RECORDS") {
        Some(keep) => {
            let dir = std::path::absolute(PathBuf::from(keep).join(name)).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Out { dir, _tmp: None }
        }
        None => {
            let tmp = tempfile::tempdir().unwrap();
            Out {
                dir: tmp.path().to_path_buf(),
                _tmp: Some(tmp),
            }
        }
    }
}

/// The one run record in `dir`, with its path.
fn record_in(dir: &Path) -> (PathBuf, Value) {
    let paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(paths.len(), 1, "{paths:?}");
    let v = serde_json::from_str(&std::fs::read_to_string(&paths[0]).unwrap()).unwrap();
    (paths[0].clone(), v)
}

/// A CSV as lines of fields (the files here quote nothing).
fn csv(path: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// The provenance every record carries.
fn assert_provenance(record: &Value) {
    assert!(
        record["data"]["sha256"]
            .as_str()
            .is_some_and(|s| s.len() == 64),
        "{}",
        record["data"]
    );
    assert!(
        record["rustc_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("rustc ")),
        "{}",
        record["rustc_version"]
    );
    assert!(record["os"].as_str().is_some_and(|v| !v.is_empty()));
    assert!(
        record["request"]["options"].is_object(),
        "{}",
        record["request"]
    );
    for run in record["runs"].as_array().unwrap() {
        assert!(run["architecture"].as_str().is_some(), "{run}");
    }
}

#[test]
fn an_image_classifier_writes_every_test_prediction_and_reruns_to_the_same_metrics() {
    let Some(shared) = shared_data() else { return };
    let out = out_dir("classification");
    let data = shared.join("medmnist/breastmnist.npz");
    let runs = out.dir.join("runs");
    ok(&petri(
        &[
            "run",
            "classification",
            "--experiment",
            "scratch",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--limit",
            "48",
            "--seed",
            "2",
            "--out",
            runs.to_str().unwrap(),
        ],
        &out.dir,
    ));
    let (path, record) = record_in(&runs);
    assert_provenance(&record);
    // The preset is part 1's; the data was BreastMNIST, and the record says so.
    assert_eq!(record["config"]["preset"]["dataset"], "breastmnist");
    assert_eq!(
        record["config"]["splits"]["train_subset"]["indices"]
            .as_array()
            .unwrap()
            .len(),
        48
    );
    let run = &record["runs"][0];
    assert!(
        run["architecture"]
            .as_str()
            .unwrap()
            .starts_with("ResNet-18"),
        "{run}"
    );
    let rows = csv(run["predictions"].as_str().unwrap());
    assert_eq!(rows[0], ["index", "true", "predicted", "p_0", "p_1"]);
    assert_eq!(rows.len(), 1 + 156, "one row per test image");
    // The accuracy in the record is the one these rows give.
    let right = rows[1..].iter().filter(|r| r[1] == r[2]).count() as f64 / 156.0;
    assert!((right - run["test"]["accuracy"].as_f64().unwrap()).abs() < 1e-12);

    // The record alone runs again, to the same metrics.
    let again = out.dir.join("again");
    let err = ok(&petri(
        &[
            "rerun",
            path.to_str().unwrap(),
            "--check",
            "--out",
            again.to_str().unwrap(),
        ],
        &out.dir,
    ));
    assert!(err.contains("reproduced: all"), "{err}");
    let (_, second) = record_in(&again);
    assert_eq!(second["runs"][0]["test"], run["test"]);

    // Figures: a one-epoch curve is drawn (as a point) and the ROC comes from the predictions.
    let figures = out.dir.join("figures");
    let listed = String::from_utf8(ok_out(&petri(
        &[
            "figures",
            path.to_str().unwrap(),
            "--out",
            figures.to_str().unwrap(),
        ],
        &out.dir,
    )))
    .unwrap();
    for f in ["curves.png", "bars.png", "roc.png", "roc.svg"] {
        assert!(listed.contains(f), "{f} not drawn: {listed}");
    }
    let svg = std::fs::read_to_string(figures.join("curves.svg")).unwrap();
    assert!(
        svg.contains("one epoch: a point per run"),
        "the caption says why there is no line"
    );
    let roc = std::fs::read_to_string(figures.join("roc.svg")).unwrap();
    assert!(
        roc.contains("scratch (AUC "),
        "each curve is labelled with its run"
    );
}

fn ok_out(o: &Output) -> Vec<u8> {
    ok(o);
    o.stdout.clone()
}

#[test]
fn a_run_over_seeds_keeps_each_seeds_predictions() {
    let Some(shared) = shared_data() else { return };
    let out = out_dir("seeds");
    let data = shared.join("medmnist/breastmnist.npz");
    ok(&petri(
        &[
            "run",
            "augmentation",
            "--experiment",
            "unmodified",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--limit",
            "32",
            "--seeds",
            "2",
            "--out",
            out.dir.to_str().unwrap(),
        ],
        &out.dir,
    ));
    let (_, record) = record_in(&out.dir);
    let seeds = record["runs"][0]["per_seed"].as_array().unwrap();
    assert_eq!(seeds.len(), 2);
    for s in seeds {
        let rows = csv(s["predictions"].as_str().unwrap());
        assert_eq!(rows.len(), 157);
    }
    assert_ne!(seeds[0]["predictions"], seeds[1]["predictions"]);
    assert_eq!(record["request"]["options"]["seeds"], 2);
}

/// A small multi-label file in MedMNIST's format: 3 labels, each image brighter per label set.
fn multi_label_npz(path: &Path) {
    use petri_engine::data::npy::NpyArray;
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (split, n) in [("train", 24usize), ("val", 8), ("test", 12)] {
        let labels: Vec<u8> = (0..n * 3)
            .map(|i| u8::from((i * 7 + i / 3) % 3 == 0))
            .collect();
        let images: Vec<u8> = (0..n)
            .flat_map(|i| {
                let level = 40 + 60 * labels[i * 3..i * 3 + 3].iter().sum::<u8>();
                (0..28 * 28).map(move |p| level.wrapping_add((p % 13) as u8))
            })
            .collect();
        for (key, array) in [
            (
                format!("{split}_images"),
                NpyArray::from_u8(vec![n, 28, 28], images),
            ),
            (
                format!("{split}_labels"),
                NpyArray::from_u8(vec![n, 3], labels),
            ),
        ] {
            zip.start_file(
                format!("{key}.npy"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            zip.write_all(&array.to_npy_bytes()).unwrap();
        }
    }
    zip.finish().unwrap();
}

#[test]
fn a_multi_label_run_writes_a_column_per_label_and_a_roc_per_label() {
    let out = out_dir("multi-label");
    let data = out.dir.join("labels.npz");
    multi_label_npz(&data);
    let runs = out.dir.join("runs");
    ok(&petri(
        &[
            "run",
            "augmentation",
            "--experiment",
            "unmodified",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--out",
            runs.to_str().unwrap(),
        ],
        &out.dir,
    ));
    let (path, record) = record_in(&runs);
    assert_provenance(&record);
    let rows = csv(record["runs"][0]["predictions"].as_str().unwrap());
    assert_eq!(
        rows[0],
        [
            "index",
            "true_0",
            "true_1",
            "true_2",
            "predicted_0",
            "predicted_1",
            "predicted_2",
            "p_0",
            "p_1",
            "p_2"
        ]
    );
    assert_eq!(rows.len(), 13);
    let figures = out.dir.join("figures");
    let listed = String::from_utf8(ok_out(&petri(
        &[
            "figures",
            path.to_str().unwrap(),
            "--out",
            figures.to_str().unwrap(),
        ],
        &out.dir,
    )))
    .unwrap();
    assert!(listed.contains("roc-unmodified.png"), "{listed}");
}

#[test]
fn a_segmentation_run_writes_every_mask_and_each_images_scores() {
    let Some(shared) = shared_data() else { return };
    let out = out_dir("segmentation");
    ok(&petri(
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
            out.dir.to_str().unwrap(),
        ],
        &out.dir,
    ));
    let (_, record) = record_in(&out.dir);
    assert_provenance(&record);
    let test_sources = record["config"]["splits"]["test"].as_array().unwrap();
    assert!(!test_sources.is_empty());
    let file = record["runs"][0]["predictions"].as_str().unwrap();
    let rows = csv(file);
    assert_eq!(
        &rows[0][..5],
        [
            "item",
            "source",
            "truth_mask",
            "predicted_mask",
            "pixel_accuracy"
        ]
    );
    assert!(rows.len() > 1);
    let folder = Path::new(file).parent().unwrap();
    for r in &rows[1..] {
        assert!(
            test_sources.iter().any(|s| s == r[1].as_str()),
            "{} is not a test image",
            r[1]
        );
        let truth = image::open(folder.join(&r[2])).unwrap().to_luma8();
        let predicted = image::open(folder.join(&r[3])).unwrap().to_luma8();
        assert_eq!(truth.dimensions(), predicted.dimensions());
        assert!(
            truth
                .pixels()
                .all(|p| (p.0[0] as usize) < record["class_names"].as_array().unwrap().len())
        );
    }
}

#[test]
fn a_table_run_writes_each_splits_predictions_for_every_model_and_reruns() {
    let out = out_dir("regression");
    let runs = out.dir.join("runs");
    ok(&petri(
        &[
            "run",
            "regression",
            "--limit",
            "2",
            "--experiment",
            "linear",
            "--experiment",
            "nn",
            "--epochs",
            "5",
            "--out",
            runs.to_str().unwrap(),
        ],
        &out.dir,
    ));
    let (path, record) = record_in(&runs);
    assert_provenance(&record);
    // The embedded table's checksum is that of scikit-learn's file, which it equals.
    if let Some(shared) = shared_data() {
        let bytes = std::fs::read(shared.join("wdbc/breast_cancer.csv")).unwrap();
        let sha: String =
            sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes))
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
        assert_eq!(record["data"]["sha256"], sha.as_str());
    }
    assert_eq!(record["config"]["split_seeds"], serde_json::json!([0, 1]));
    let nn = record["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "nn (all features)")
        .unwrap();
    assert_eq!(nn["architecture"], "MLP 30 -> 1 (one linear layer)");
    assert_eq!(nn["trainable_params"], 31);
    let rows = csv(nn["predictions"].as_str().unwrap());
    assert_eq!(
        rows[0],
        [
            "split",
            "seed",
            "index",
            "true",
            "linear (all features)",
            "nn (all features)",
            "linear (top-5 features)",
            "nn (top-5 features)"
        ]
    );
    // 569 rows, a third of them tested in each of 2 splits.
    assert_eq!(rows.len() - 1, 2 * 190);
    let err = ok(&petri(
        &[
            "rerun",
            path.to_str().unwrap(),
            "--check",
            "--out",
            out.dir.join("again").to_str().unwrap(),
        ],
        &out.dir,
    ));
    assert!(err.contains("reproduced: all"), "{err}");
}

#[test]
fn a_plan_on_table_classes_writes_predictions_and_its_record_reruns_the_plan() {
    let out = out_dir("table-classes");
    let mut body = String::from("size,texture,kind\n");
    for i in 0..90 {
        let size = (i % 30) as f64;
        let kind = if size > 14.0 { "large" } else { "small" };
        body.push_str(&format!("{size},{},{kind}\n", (i * 7 % 11) as f64));
    }
    let table = out.dir.join("cells.csv");
    std::fs::write(&table, body).unwrap();
    let runs = out.dir.join("runs");
    ok(&petri(
        &[
            "train",
            table.to_str().unwrap(),
            "--target",
            "kind",
            "--out",
            runs.to_str().unwrap(),
        ],
        &out.dir,
    ));
    let (path, record) = record_in(&runs);
    assert_provenance(&record);
    assert_eq!(record["request"]["kind"], "plan");
    let rows = csv(record["runs"][0]["predictions"].as_str().unwrap());
    assert_eq!(&rows[0][..4], ["split", "seed", "index", "true"]);
    assert!(rows[0].iter().any(|c| c == "forest"));
    let err = ok(&petri(
        &[
            "rerun",
            path.to_str().unwrap(),
            "--check",
            "--out",
            out.dir.join("again").to_str().unwrap(),
        ],
        &out.dir,
    ));
    assert!(err.contains("reproduced: all"), "{err}");
}
