//! `identify` on every kind of data, generated here in the real formats (and on ../shared/data
//! when present): the right task, the warnings the data deserves, and a sensible plan.

use petri_engine::data::medmnist::{ImageSplit, write_npz};
use petri_engine::data::registry::Task;
use petri_engine::identify::{Identification, Plan, identify};
use petri_engine::rng::Rng;
use std::path::{Path, PathBuf};

fn codes(id: &Identification) -> Vec<&'static str> {
    id.warnings.iter().map(|w| w.code).collect()
}

fn noise(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.below(256) as u8).collect()
}

fn split(rng: &mut Rng, n: usize, side: usize, label: impl Fn(usize) -> Vec<u8>) -> ImageSplit {
    let pixels = noise(rng, n * side * side);
    ImageSplit::new(side, side, 1, pixels, (0..n).map(label).collect())
}

#[test]
fn npz_multilabel_is_multilabel_with_a_per_label_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(1);
    let lab = |i: usize| {
        vec![
            (i % 2) as u8,
            i.is_multiple_of(3) as u8,
            i.is_multiple_of(5) as u8,
        ]
    };
    let (tr, va, te) = (
        split(&mut rng, 60, 28, lab),
        split(&mut rng, 20, 28, lab),
        split(&mut rng, 20, 28, lab),
    );
    let path = tmp.path().join("chest.npz");
    write_npz(&path, [("train", &tr), ("val", &va), ("test", &te)]).unwrap();
    let id = identify(&path, None).unwrap();
    assert_eq!(id.task, Task::MultiLabel);
    assert!(id.evidence[0].contains("3 labels"), "{:?}", id.evidence);
    assert_eq!(id.plan.loss, "binary-cross-entropy");
    assert_eq!(id.plan.metric, "auc");
    assert!(codes(&id).contains(&"tiny-images"));
}

#[test]
fn npz_with_imbalance_and_copies_across_splits_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(2);
    let lab = |i: usize| vec![u8::from(i.is_multiple_of(5))];
    let tr = split(&mut rng, 100, 32, lab);
    let va = split(&mut rng, 20, 32, lab);
    // The test split repeats three training images.
    let mut te_pixels = noise(&mut rng, 17 * 32 * 32);
    for i in 0..3 {
        te_pixels.extend_from_slice(tr.pixels(i));
    }
    let te = ImageSplit::new(32, 32, 1, te_pixels, (0..20).map(lab).collect());
    let path = tmp.path().join("bin.npz");
    write_npz(&path, [("train", &tr), ("val", &va), ("test", &te)]).unwrap();
    let id = identify(&path, None).unwrap();
    assert_eq!(id.task, Task::Binary);
    let c = codes(&id);
    assert!(
        c.contains(&"imbalance") && c.contains(&"near-duplicates"),
        "{c:?}"
    );
    let dup = id
        .warnings
        .iter()
        .find(|w| w.code == "near-duplicates")
        .unwrap();
    assert!(
        dup.message
            .contains("3 test image(s) look like train images"),
        "{}",
        dup.message
    );
    assert_eq!(id.plan.class_weights.as_deref(), Some("balanced"));
    assert_eq!(id.plan.metric, "balanced_accuracy");
}

fn write_png(path: &Path, side: u32, seed: u64) {
    let mut rng = Rng::new(seed);
    let img = image::RgbImage::from_fn(side, side, |_, _| {
        image::Rgb([
            rng.below(256) as u8,
            rng.below(256) as u8,
            rng.below(256) as u8,
        ])
    });
    img.save(path).unwrap();
}

fn class_folders(root: &Path, per_class: &[usize], side: u32) {
    for (k, &n) in per_class.iter().enumerate() {
        let dir = root.join(format!("class{k}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..n {
            write_png(&dir.join(format!("{i}.png")), side, (k * 1000 + i) as u64);
        }
    }
}

#[test]
fn class_folders_are_multiclass_with_a_split_and_an_input_size() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cells");
    class_folders(&root, &[12, 10, 11], 70);
    let id = identify(&root, None).unwrap();
    assert_eq!(id.task, Task::MultiClass);
    assert!(id.data_kind.contains("class folders"));
    assert_eq!(id.plan.input_size, Some(64));
    assert!(codes(&id).contains(&"few-examples"));
    assert!(
        id.reasons.iter().any(|r| r.item == "split"),
        "no splits: the plan says how it splits"
    );
    // Two classes are binary.
    let two = tmp.path().join("two");
    class_folders(&two, &[5, 5], 20);
    let id = identify(&two, None).unwrap();
    assert_eq!(id.task, Task::Binary);
    assert!(codes(&id).contains(&"tiny-images"));
}

#[test]
fn masks_with_255_are_segmentation_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("seg");
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::create_dir_all(root.join("masks")).unwrap();
    for i in 0..4 {
        write_png(&root.join(format!("images/{i}.png")), 32, i);
        let mask = image::GrayImage::from_fn(32, 32, |x, y| {
            image::Luma([if x < 16 && y < 16 + i as u32 { 255 } else { 0 }])
        });
        mask.save(root.join(format!("masks/{i}.png"))).unwrap();
    }
    let id = identify(&root, None).unwrap();
    assert_eq!(id.task, Task::Segmentation);
    assert_eq!(id.plan.network, "unet");
    let c = codes(&id);
    assert!(
        c.contains(&"mask-255") && c.contains(&"few-examples"),
        "{c:?}"
    );
    assert_eq!(id.plan.metric, "dice_mean");
}

fn csv(tmp: &Path, name: &str, body: &str) -> PathBuf {
    let p = tmp.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn tables_regression_integer_targets_and_missing_values() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(3);
    let mut body = String::from("age,dose,grade,response\n");
    for i in 0..200 {
        let miss = if i % 40 == 0 {
            String::new()
        } else {
            format!("{:.2}", rng.f64() * 10.0)
        };
        body.push_str(&format!(
            "{},{miss},{},{:.3}\n",
            20 + i % 50,
            i % 3,
            rng.f64() * 5.0
        ));
    }
    let path = csv(tmp.path(), "trial.csv", &body);
    let id = identify(&path, Some("response")).unwrap();
    assert_eq!(id.task, Task::Regression);
    assert_eq!(id.plan.target.as_deref(), Some("response"));
    assert_eq!(id.plan.loss, "mse");
    let c = codes(&id);
    assert!(
        c.contains(&"missing-values") && c.contains(&"small-table"),
        "{c:?}"
    );
    let id = identify(&path, Some("grade")).unwrap();
    assert_eq!(id.task, Task::MultiClass);
    assert!(codes(&id).contains(&"integer-target"));
    // No target: the error lists the columns.
    let err = identify(&path, None).unwrap_err().to_string();
    assert!(
        err.contains("--target") && err.contains("age, dose, grade, response"),
        "{err}"
    );
    let err = identify(&path, Some("outcome")).unwrap_err().to_string();
    assert!(err.contains("no column 'outcome'"), "{err}");
}

#[test]
fn the_plan_file_round_trips_and_carries_its_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cells");
    class_folders(&root, &[6, 6, 6], 30);
    let id = identify(&root, None).unwrap();
    let text = id.plan.to_toml(&id.reasons);
    assert!(text.contains("# images with one label"), "{text}");
    assert!(text.contains("(lesson: augmentation)"));
    let back: Plan = toml::from_str(&text).unwrap();
    assert_eq!(back, id.plan);
    back.validate().unwrap();
}

#[test]
fn real_data_breastmnist_and_nuclei() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if !shared.is_dir() {
        eprintln!("skipped: ../shared/data is absent");
        return;
    }
    let id = identify(&shared.join("medmnist/breastmnist.npz"), None).unwrap();
    assert_eq!(id.task, Task::Binary);
    assert!(codes(&id).contains(&"imbalance"));
    assert!(codes(&id).contains(&"tiny-images"));
    let id = identify(&shared.join("segmentation/nuclei-fluorescence"), None).unwrap();
    assert_eq!(id.task, Task::Segmentation);
    assert!(
        id.warnings
            .iter()
            .any(|w| w.code == "imbalance" && w.message.contains("boundary"))
    );
    let id = identify(&shared.join("wdbc/breast_cancer.csv"), Some("feature_0")).unwrap();
    assert_eq!(id.task, Task::Regression);
}
