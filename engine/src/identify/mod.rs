//! `petri identify`: the protocol's first steps as a tool. Reads a dataset (MedMNIST-style
//! `.npz`, class-named image folders, an images + masks folder, or a CSV with a target),
//! decides the task from evidence in the data, warns about what would mislead training, and
//! proposes a plan (network, loss, optimiser, augmentation, transfer, metric) with the lesson
//! behind each choice.

mod plan;

pub use plan::{Plan, Reason};

use crate::augment::Transform;
use crate::data::class_folders::{self, ClassFolders};
use crate::data::image::Image;
use crate::data::medmnist::{self, ImageSplit};
use crate::data::registry::Task;
use crate::data::segmentation;
use crate::train::{Optimizer, TrainingSettings};
use crate::{Error, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Something in the data that would mislead training or evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    /// Stable key for scripts: `few-examples`, `imbalance`, `tiny-images`, `near-duplicates`,
    /// `missing-values`, `integer-target`, `mask-255`, `small-table`.
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Identification {
    pub path: PathBuf,
    /// What the input is, in words.
    pub data_kind: String,
    pub task: Task,
    /// Why this task: what in the data says so.
    pub evidence: Vec<String>,
    /// Sizes, channels, splits, class balance.
    pub facts: Vec<String>,
    pub warnings: Vec<Warning>,
    pub plan: Plan,
    pub reasons: Vec<Reason>,
}

// Lessons a reason cites, by their part's name (`petri lesson classification`). `petri
// content check` verifies each names a lesson.
const L_PROTOCOL: &str = "protocol";
const L_CLASSIFY: &str = "classification";
const L_AUGMENT: &str = "augmentation";
const L_SEGMENT: &str = "segmentation";
const L_REGRESS: &str = "regression";
/// Every lesson a reason may cite, by part name.
pub const LESSONS_CITED: [&str; 5] = [L_PROTOCOL, L_CLASSIFY, L_AUGMENT, L_SEGMENT, L_REGRESS];

/// Reads `path` and identifies its task; `target` names the target column of a table.
pub fn identify(path: &Path, target: Option<&str>) -> Result<Identification> {
    if !path.exists() {
        return Err(Error::invalid(format!(
            "{}: no such file or folder",
            path.display()
        )));
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if path.is_dir() {
        if class_folders::looks_like(path) {
            from_class_folders(&class_folders::find(path)?)
        } else {
            from_segmentation(path)
        }
    } else if ext == "npz" {
        from_npz(path)
    } else if matches!(ext.as_str(), "csv" | "tsv" | "txt") {
        let Some(target) = target else {
            let cols = raw_table(path)?.0;
            return Err(Error::invalid(format!(
                "{} is a table: say which column to predict with --target COLUMN (columns: {})",
                path.display(),
                cols.join(", ")
            )));
        };
        from_table(path, target)
    } else {
        Err(Error::format(
            path,
            "is not a kind Petri reads: give a MedMNIST-style .npz, a folder of class folders, a folder of images and masks, or a .csv with --target",
        ))
    }
}

/// A small grey copy of an image and its 64-bit average hash, for finding near-copies.
#[derive(Clone)]
struct Thumb {
    hash: u64,
    pixels: Vec<f32>,
}

fn thumb(img: &Image) -> Thumb {
    let grey = segmentation::to_grey(img);
    let small = grey.resize(8, 8);
    let mean = small.data.iter().sum::<f32>() / 64.0;
    let hash = small
        .data
        .iter()
        .enumerate()
        .fold(0u64, |h, (i, &v)| if v > mean { h | (1 << i) } else { h });
    Thumb {
        hash,
        pixels: grey.resize(16, 16).data,
    }
}

/// Near-copies: the same average hash and a mean pixel difference under 1.5% of the range.
fn near(a: &Thumb, b: &Thumb) -> bool {
    a.hash == b.hash
        && a.pixels
            .iter()
            .zip(&b.pixels)
            .map(|(x, y)| (x - y).abs())
            .sum::<f32>()
            / (a.pixels.len() as f32)
            < 0.015
}

/// Images of later splits that nearly copy one of an earlier split (train vs val/test).
fn cross_split_duplicates(splits: &[(&str, Vec<Thumb>)]) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for i in 0..splits.len() {
        let mut by_hash: HashMap<u64, Vec<&Thumb>> = HashMap::new();
        for t in &splits[i].1 {
            by_hash.entry(t.hash).or_default().push(t);
        }
        for later in &splits[i + 1..] {
            let n = later
                .1
                .iter()
                .filter(|t| {
                    by_hash
                        .get(&t.hash)
                        .is_some_and(|c| c.iter().any(|o| near(o, t)))
                })
                .count();
            if n > 0 {
                out.push((splits[i].0.to_string(), later.0.to_string(), n));
            }
        }
    }
    out
}

fn thumbs(split: &ImageSplit) -> Vec<Thumb> {
    // Plain images (all one value) look alike without being copies: leave them out.
    (0..split.len())
        .filter(|&i| split.pixels(i).iter().any(|&p| p != split.pixels(i)[0]))
        .map(|i| thumb(&split.image(i)))
        .collect()
}

fn duplicate_warning(dups: &[(String, String, usize)]) -> Option<Warning> {
    if dups.is_empty() {
        return None;
    }
    let list: Vec<String> = dups
        .iter()
        .map(|(a, b, n)| format!("{n} {b} image(s) look like {a} images"))
        .collect();
    Some(Warning {
        code: "near-duplicates",
        message: format!(
            "{}: a test image that is a copy of a training image measures memory, not generalisation; remove them or split by patient",
            list.join("; ")
        ),
    })
}

/// Class balance warnings shared by image and table classification.
fn balance_warnings(counts: &[usize], names: &[String], warnings: &mut Vec<Warning>) -> bool {
    let present: Vec<usize> = counts.iter().copied().filter(|&c| c > 0).collect();
    let (min, max) = (
        present.iter().min().copied().unwrap_or(0),
        present.iter().max().copied().unwrap_or(0),
    );
    if let Some((i, &c)) = counts.iter().enumerate().min_by_key(|(_, c)| **c)
        && c < 50
    {
        warnings.push(Warning {
            code: "few-examples",
            message: format!(
                "class '{}' has only {c} training examples: expect noisy results; augmentation and transfer learning help most here",
                names.get(i).cloned().unwrap_or_default()
            ),
        });
    }
    let imbalanced = min > 0 && max >= 2 * min;
    if imbalanced {
        warnings.push(Warning {
            code: "imbalance",
            message: format!(
                "classes are imbalanced ({max} vs {min} training examples): accuracy rewards predicting the majority; weight the loss and report AUC or balanced accuracy"
            ),
        });
    }
    imbalanced
}

fn image_plan(
    task: Task,
    n_train: usize,
    side: usize,
    imbalanced: bool,
    input_size: Option<usize>,
    has_splits: bool,
) -> (Plan, Vec<Reason>) {
    let small = n_train < 5000;
    let multilabel = task == Task::MultiLabel;
    let plan = Plan {
        task,
        network: "resnet18".into(),
        input_size,
        pretrained: false,
        loss: if multilabel {
            "binary-cross-entropy".into()
        } else {
            "cross-entropy".into()
        },
        class_weights: (imbalanced && !multilabel).then(|| "balanced".into()),
        training: TrainingSettings {
            optimizer: Optimizer::Adam { lr: 0.0005 },
            epochs: if small { 10 } else { 5 },
            batch_size: if n_train < 1000 { 16 } else { 64 },
        },
        hidden: vec![],
        augmentation: vec![
            Transform::RandomHorizontalFlip { p: 0.5 },
            Transform::RandomResizedCrop {
                scale: (0.8, 1.0),
                ratio: (0.9, 1.1),
                size: None,
            },
        ],
        metric: match task {
            Task::MultiLabel => "auc".into(),
            _ if imbalanced => "balanced_accuracy".into(),
            Task::Binary => "auc".into(),
            _ => "accuracy".into(),
        },
        target: None,
        split: [0.7, 0.15, 0.15],
        seed: 0,
    };
    let mut r = vec![
        Reason { item: "network", choice: "resnet18".into(), why: "images with one label (or a few) per image: a convolutional classifier; ResNet-18 is small enough for a CPU and has ImageNet weights".into(), lesson: L_CLASSIFY },
        Reason { item: "pretrained", choice: "false".into(), why: format!("set true when ImageNet weights are in the data dir: fine-tuning beats random weights{}", if small { ", most of all with few images like these" } else { "" }), lesson: L_CLASSIFY },
        Reason { item: "loss", choice: plan.loss.clone(), why: if multilabel { "several independent yes/no labels: a sigmoid and binary cross-entropy per label, not a softmax".into() } else { "one class per image: softmax cross-entropy".into() }, lesson: L_PROTOCOL },
        Reason { item: "optimizer", choice: "adam, lr 0.0005".into(), why: "Adam with a small learning rate trains a ResNet from scratch without tuning; SGD 0.001 with momentum 0.9 is the course's setting".into(), lesson: L_CLASSIFY },
        Reason { item: "epochs", choice: plan.training.epochs.to_string(), why: "watch the validation loss per epoch: stop when it rises".into(), lesson: L_CLASSIFY },
        Reason { item: "transform", choice: "flip + mild crop".into(), why: "label-preserving changes only: a mirrored or slightly cropped tissue patch is the same class; strong crops can cut out what defines it".into(), lesson: L_AUGMENT },
        Reason { item: "metric", choice: plan.metric.clone(), why: if imbalanced { "with imbalanced classes, accuracy is high for a model that ignores the minority".into() } else { "accuracy is meaningful when classes are balanced; AUC does not depend on a threshold".into() }, lesson: L_PROTOCOL },
    ];
    if let Some(s) = input_size {
        r.push(Reason {
            item: "input_size",
            choice: s.to_string(),
            why: format!("images are resized to {s} px squares (most are about {side} px)"),
            lesson: L_PROTOCOL,
        });
    }
    if plan.class_weights.is_some() {
        r.push(Reason {
            item: "class_weights",
            choice: "balanced".into(),
            why: "weights n / (classes x count) make each class count equally in the loss".into(),
            lesson: L_CLASSIFY,
        });
    }
    if !has_splits {
        r.push(Reason { item: "split", choice: "0.7 / 0.15 / 0.15".into(), why: "the data has no splits: a seeded random split, recorded with the run; evaluate once on the test part".into(), lesson: L_PROTOCOL });
    }
    (plan, r)
}

fn from_npz(path: &Path) -> Result<Identification> {
    let d = medmnist::load(path)?;
    let n = d.num_classes();
    let mut evidence = Vec::new();
    let width = d.train.labels.first().map_or(1, Vec::len);
    match d.task {
        Task::MultiLabel => evidence.push(format!("each image has {width} labels of 0/1 (train_labels is N x {width}): several findings can be present at once")),
        Task::Binary => evidence.push("each image has one label with two values (0/1)".into()),
        _ => evidence.push(format!("each image has one label with {n} values")),
    }
    evidence.push(format!(
        "images are {}x{} with {} channel(s), not masks",
        d.train.height, d.train.width, d.train.channels
    ));
    if let Some(info) = d.flag.as_deref().and_then(crate::data::registry::medmnist) {
        use crate::data::registry::Provenance;
        let flag = info.flag;
        evidence.push(match info.provenance(path, d.train.height as u32) {
            Provenance::Official => {
                format!("the file is the official {flag} (its checksum matches)")
            }
            Provenance::NotOfficial { why } => format!(
                "the file has {flag}'s splits and shape but is not the official file: {why}"
            ),
            Provenance::Unknown => format!(
                "the file has {flag}'s splits and shape (Petri knows no official checksum for \
                 its image size)"
            ),
        });
    }
    let counts = d.train.class_counts(n);
    let mut facts = vec![
        format!(
            "splits: train {} / val {} / test {}",
            d.train.len(),
            d.val.len(),
            d.test.len()
        ),
        format!(
            "images: {}x{}, {} channel(s)",
            d.train.height, d.train.width, d.train.channels
        ),
    ];
    let names = d.class_names.clone();
    facts.push(format!(
        "training {} per class: {}",
        if d.task == Task::MultiLabel {
            "positives"
        } else {
            "images"
        },
        counts
            .iter()
            .zip(&names)
            .map(|(c, n)| format!("{n}: {c}"))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    let mut warnings = Vec::new();
    let imbalanced = balance_warnings(&counts, &names, &mut warnings);
    let side = d.train.height.min(d.train.width);
    if side < 32 {
        warnings.push(Warning {
            code: "tiny-images",
            message: format!("images are {side} px: fine detail is gone, and ImageNet features were learned at 224 px; use the 64/128/224 px version of the data if you can"),
        });
    }
    let dups = cross_split_duplicates(&[
        ("train", thumbs(&d.train)),
        ("val", thumbs(&d.val)),
        ("test", thumbs(&d.test)),
    ]);
    warnings.extend(duplicate_warning(&dups));
    let (plan, reasons) = image_plan(d.task, d.train.len(), side, imbalanced, None, true);
    Ok(Identification {
        path: path.to_path_buf(),
        data_kind: "MedMNIST-style .npz (images and labels per split)".into(),
        task: d.task,
        evidence,
        facts,
        warnings,
        plan,
        reasons,
    })
}

fn from_class_folders(cf: &ClassFolders) -> Result<Identification> {
    let n = cf.class_names.len();
    let task = if n == 2 {
        Task::Binary
    } else {
        Task::MultiClass
    };
    let mut sides = Vec::new();
    let mut channels = 1;
    for (i, (p, _)) in cf.splits.values().flatten().enumerate().take(200) {
        let (w, h) = image::image_dimensions(p)
            .map_err(|e| Error::format(p, format!("cannot read the image: {e}")))?;
        sides.push(w.min(h) as usize);
        if i == 0 {
            channels = segmentation::read_image(p)?.channels;
        }
    }
    sides.sort_unstable();
    let side = sides.get(sides.len() / 2).copied().unwrap_or(28);
    let size = if side >= 128 {
        128
    } else if side >= 64 {
        64
    } else {
        28
    };
    let counts = cf.class_counts();
    let evidence = vec![
        format!(
            "{n} folders of images, one per class: {}",
            cf.class_names.join(", ")
        ),
        "each image sits in exactly one class folder: one label per image".into(),
    ];
    let mut facts = vec![format!(
        "{} images: {}",
        cf.total(),
        cf.splits
            .iter()
            .map(|(s, v)| format!("{s} {}", v.len()))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    facts.push(format!(
        "median shorter side {side} px; {channels} channel(s) (first image)"
    ));
    facts.push(format!(
        "images per class: {}",
        counts
            .iter()
            .zip(&cf.class_names)
            .map(|(c, n)| format!("{n}: {c}"))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    let mut warnings = Vec::new();
    let imbalanced = balance_warnings(&counts, &cf.class_names, &mut warnings);
    if side < 32 {
        warnings.push(Warning { code: "tiny-images", message: format!("images are about {side} px: fine detail is gone, and ImageNet features were learned at 224 px") });
    }
    // Duplicates: within the data when it has no splits (a random split would put copies on
    // both sides), across splits otherwise.
    let mut by_split: Vec<(&str, Vec<Thumb>)> = Vec::new();
    for (s, files) in &cf.splits {
        let mut h = Vec::new();
        for (p, _) in files.iter().take(5000) {
            h.push(thumb(&segmentation::read_image(p)?));
        }
        by_split.push((s.as_str(), h));
    }
    if cf.splits.len() == 1 {
        let all = &by_split[0].1;
        let mut by_hash: HashMap<u64, Vec<&Thumb>> = HashMap::new();
        let mut copies = 0;
        for t in all {
            let bucket = by_hash.entry(t.hash).or_default();
            if bucket.iter().any(|o| near(o, t)) {
                copies += 1;
            }
            bucket.push(t);
        }
        if copies > 0 {
            warnings.push(Warning { code: "near-duplicates", message: format!("{copies} image(s) look like another image of the set: a random split would put copies in training and test; remove them or split by patient") });
        }
    } else {
        warnings.extend(duplicate_warning(&cross_split_duplicates(&by_split)));
    }
    let n_train = cf.splits.get("train").map_or(cf.total() * 7 / 10, Vec::len);
    let has_splits = cf.splits.contains_key("test");
    let (plan, reasons) = image_plan(task, n_train, side, imbalanced, Some(size), has_splits);
    Ok(Identification {
        path: cf.root.clone(),
        data_kind: "class folders (one folder of images per class)".into(),
        task,
        evidence,
        facts,
        warnings,
        plan,
        reasons,
    })
}

fn from_segmentation(root: &Path) -> Result<Identification> {
    let layout = segmentation::find_pairs(root)?;
    if layout.total() == 0 {
        return Err(Error::invalid(format!(
            "{}: no image/mask pairs and no class folders found; give images/ + masks/ with matching file names, or one folder of images per class",
            root.display()
        )));
    }
    let first = layout.splits.values().flatten().next().expect("a pair");
    let raw = segmentation::read_mask(&first.mask)?;
    let distinct = raw.distinct();
    let map = segmentation::LabelMap::detect(&raw);
    let summary = crate::data::summary::describe(root)?;
    let crate::data::summary::Summary::Segmentation {
        class_names,
        image_sizes,
        channels,
        splits,
        unpaired,
        ..
    } = summary
    else {
        return Err(Error::invalid("expected a segmentation folder"));
    };
    let pixels = pixels_per_class(&splits, class_names.len());
    let evidence = segmentation_evidence(layout.total(), &distinct, &map);
    let facts = segmentation_facts(&splits, &image_sizes, channels, &pixels, &class_names);
    let rare = rare_classes(&pixels, &class_names);
    let warnings = segmentation_warnings(&distinct, &rare, layout.total(), unpaired.len());
    let (plan, reasons) = segmentation_plan(!rare.is_empty());
    Ok(Identification {
        path: root.to_path_buf(),
        data_kind: "images + masks folder".into(),
        task: Task::Segmentation,
        evidence,
        facts,
        warnings,
        plan,
        reasons,
    })
}

/// Pixels of each class over every split's masks (`classes` long; counts beyond it ignored).
fn pixels_per_class(splits: &[crate::data::summary::SplitSummary], classes: usize) -> Vec<u64> {
    let mut pixels = vec![0u64; classes];
    for s in splits {
        for (i, c) in s.class_counts.iter().enumerate() {
            if let Some(p) = pixels.get_mut(i) {
                *p += c;
            }
        }
    }
    pixels
}

/// All pixels of all classes (at least 1, to divide by).
fn pixel_total(pixels: &[u64]) -> f64 {
    pixels.iter().sum::<u64>().max(1) as f64
}

/// Classes under 5% of the pixels: pixel accuracy hides them.
fn rare_classes(pixels: &[u64], class_names: &[String]) -> Vec<String> {
    let total = pixel_total(pixels);
    pixels
        .iter()
        .zip(class_names)
        .filter(|(p, _)| (**p as f64) / total < 0.05)
        .map(|(_, n)| n.clone())
        .collect()
}

/// Pairs per split, image sizes and channels, and each class's share of the pixels.
fn segmentation_facts(
    splits: &[crate::data::summary::SplitSummary],
    image_sizes: &[String],
    channels: usize,
    pixels: &[u64],
    class_names: &[String],
) -> Vec<String> {
    let total = pixel_total(pixels);
    vec![
        format!(
            "pairs: {}",
            splits
                .iter()
                .map(|s| format!("{} {}", s.name, s.count))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "image sizes: {}; {channels} channel(s)",
            image_sizes.join(", ")
        ),
        format!(
            "pixels per class: {}",
            pixels
                .iter()
                .zip(class_names)
                .map(|(p, n)| format!("{n} {:.1}%", 100.0 * *p as f64 / total))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ]
}

/// Why a folder of images and masks is segmentation: pairs, and masks of a few values.
fn segmentation_evidence(
    pairs: usize,
    distinct: &[u16],
    map: &segmentation::LabelMap,
) -> Vec<String> {
    let shown: Vec<String> = distinct.iter().take(8).map(|v| v.to_string()).collect();
    vec![
        format!("{pairs} images each have a mask of the same name"),
        format!(
            "masks hold {} distinct values ({}{}): a class per pixel",
            distinct.len(),
            shown.join(", "),
            if distinct.len() > 8 { ", ..." } else { "" }
        ),
        format!("read as {}", map.name()),
    ]
}

/// What would mislead segmentation: 0/255 masks, classes under 5% of the pixels (`rare`), few
/// images, images without a mask.
fn segmentation_warnings(
    distinct: &[u16],
    rare: &[String],
    pairs: usize,
    unpaired: usize,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if distinct.contains(&255) && distinct.iter().all(|&v| v == 0 || v == 255) {
        warnings.push(Warning {
            code: "mask-255",
            message: "masks use 255 for foreground: Petri maps it to class 1, but code that uses mask values as class indices (PyTorch's CrossEntropyLoss) fails or ignores them".into(),
        });
    }
    if !rare.is_empty() {
        warnings.push(Warning {
            code: "imbalance",
            message: format!("class(es) {} cover under 5% of the pixels: pixel accuracy hides them; weight the loss and report Dice per class", rare.join(", ")),
        });
    }
    if pairs < 30 {
        warnings.push(Warning {
            code: "few-examples",
            message: format!("only {pairs} images: cut them into tiles, augment image and mask together, and split by image so tiles of one image stay on one side"),
        });
    }
    if unpaired > 0 {
        warnings.push(Warning {
            code: "unpaired",
            message: format!("{unpaired} image(s) have no mask of the same name and are left out"),
        });
    }
    warnings
}

/// The segmentation plan (a U-Net, paired flips, Dice) and the reason for each choice;
/// `rare_classes` adds balanced class weights.
fn segmentation_plan(rare_classes: bool) -> (Plan, Vec<Reason>) {
    let plan = Plan {
        task: Task::Segmentation,
        network: "unet".into(),
        input_size: Some(128),
        pretrained: false,
        loss: "cross-entropy".into(),
        class_weights: rare_classes.then(|| "balanced".into()),
        training: TrainingSettings {
            optimizer: Optimizer::Adam { lr: 0.001 },
            epochs: 20,
            batch_size: 8,
        },
        hidden: vec![],
        augmentation: vec![
            Transform::RandomHorizontalFlip { p: 0.5 },
            Transform::RandomVerticalFlip { p: 0.5 },
        ],
        metric: "dice_mean".into(),
        target: None,
        split: [0.7, 0.15, 0.15],
        seed: 0,
    };
    let mut reasons = vec![
        Reason { item: "network", choice: "unet".into(), why: "a label for every pixel: an encoder-decoder with skip connections (U-Net, 4 levels) keeps fine detail".into(), lesson: L_SEGMENT },
        Reason { item: "loss", choice: plan.loss.clone(), why: "each pixel is a classification".into(), lesson: L_SEGMENT },
        Reason { item: "transform", choice: "paired flips".into(), why: "geometric changes applied to image and mask together keep labels on their pixels".into(), lesson: L_AUGMENT },
        Reason { item: "metric", choice: plan.metric.clone(), why: "Dice per class shows the rare classes that pixel accuracy hides".into(), lesson: L_SEGMENT },
        Reason { item: "split", choice: "by image".into(), why: "tiles of one image must not be on both sides of the split".into(), lesson: L_SEGMENT },
    ];
    if plan.class_weights.is_some() {
        reasons.push(Reason {
            item: "class_weights",
            choice: "balanced".into(),
            why: "median-frequency weights from the training masks".into(),
            lesson: L_SEGMENT,
        });
    }
    (plan, reasons)
}

/// The table as text: column names and rows of cells (missing values kept as they are).
fn raw_table(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let (mut rows, _) = crate::data::tabular::records(path)?;
    if rows.len() < 2 {
        return Err(Error::format(path, "has fewer than two rows"));
    }
    // Petri's CSV reader knows the layouts (header, scikit-learn's size line); use its column
    // names and skip what it skipped, keeping the raw cells so missing values can be counted.
    // What it refuses (ragged rows), training refuses too: identify says so with its message.
    let (t, _) = crate::data::tabular::read_csv_dropping_missing(path)?;
    let skip = usize::from(t.sklearn_preamble.is_some()) + usize::from(t.had_header);
    Ok((t.columns, rows.split_off(skip.min(rows.len()))))
}

fn is_missing(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "na" | "nan" | "null" | "?"
    )
}

fn from_table(path: &Path, target: &str) -> Result<Identification> {
    let (cols, rows) = raw_table(path)?;
    let t = target_column(path, &cols, target)?;
    let values = TargetValues::read(&rows, t);
    let mut warnings = Vec::new();
    let (task, evidence) = table_task(&cols[t], &values, &mut warnings);
    warnings.extend(missing_warning(&cols, &rows));
    if rows.len() < 1000 {
        warnings.push(Warning {
            code: "small-table",
            message: format!("{} rows: a single split is noisy; compare models over repeated random splits and report mean ± std, and try linear and tree baselines first", rows.len()),
        });
    }
    if task != Task::Regression {
        balance_warnings(&values.class_counts(), &values.distinct, &mut warnings);
    }
    let facts = vec![
        format!(
            "{} rows, {} columns; target '{}'",
            rows.len(),
            cols.len(),
            cols[t]
        ),
        format!(
            "features: {}",
            cols.iter()
                .enumerate()
                .filter(|(i, _)| *i != t)
                .map(|(_, c)| c.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    let (plan, reasons) = table_plan(task, &cols[t]);
    Ok(Identification {
        path: path.to_path_buf(),
        data_kind: "table (CSV)".into(),
        task,
        evidence: vec![evidence],
        facts,
        warnings,
        plan,
        reasons,
    })
}

/// A row's cell in column `i`, empty where the row is short.
fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map_or("", String::as_str)
}

/// The index of the target column: by name (case-insensitive), else by zero-based index.
fn target_column(path: &Path, cols: &[String], target: &str) -> Result<usize> {
    cols.iter()
        .position(|c| c.eq_ignore_ascii_case(target))
        .or_else(|| target.parse::<usize>().ok().filter(|&i| i < cols.len()))
        .ok_or_else(|| {
            Error::invalid(format!(
                "{} has no column '{target}'; columns are: {}",
                path.display(),
                cols.join(", ")
            ))
        })
}

/// The target column's values, missing ones left out, and what kind of values they are.
struct TargetValues {
    values: Vec<String>,
    /// The distinct values, sorted.
    distinct: Vec<String>,
    /// Every value parses as a number.
    numeric: bool,
    /// Every value is a whole number.
    integers: bool,
}

impl TargetValues {
    fn read(rows: &[Vec<String>], t: usize) -> TargetValues {
        let values: Vec<String> = rows
            .iter()
            .map(|r| cell(r, t).to_string())
            .filter(|v| !is_missing(v))
            .collect();
        let numbers: Vec<f64> = values
            .iter()
            .filter_map(|v| v.parse::<f64>().ok())
            .collect();
        let numeric = numbers.len() == values.len();
        let mut distinct: Vec<String> = values.clone();
        distinct.sort();
        distinct.dedup();
        let integers = numeric && numbers.iter().all(|v| v.fract() == 0.0);
        TargetValues {
            values,
            distinct,
            numeric,
            integers,
        }
    }

    /// Rows per distinct value, in `distinct`'s order.
    fn class_counts(&self) -> Vec<usize> {
        self.distinct
            .iter()
            .map(|d| self.values.iter().filter(|v| *v == d).count())
            .collect()
    }

    /// Binary for two classes, multi-class otherwise.
    fn classes(&self) -> Task {
        if self.distinct.len() == 2 {
            Task::Binary
        } else {
            Task::MultiClass
        }
    }
}

/// The task the target column `name` asks for, with the evidence; a small set of integers
/// is classes, with a warning that it may be a scale.
fn table_task(name: &str, target: &TargetValues, warnings: &mut Vec<Warning>) -> (Task, String) {
    let distinct = &target.distinct;
    if !target.numeric {
        let evidence = format!(
            "'{name}' holds text with {} values ({})",
            distinct.len(),
            distinct
                .iter()
                .take(6)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        (target.classes(), evidence)
    } else if target.integers && distinct.len() <= 10 {
        let evidence = format!(
            "'{name}' holds only {} distinct whole numbers ({}): categories, not a measurement",
            distinct.len(),
            distinct.join(", ")
        );
        warnings.push(Warning {
            code: "integer-target",
            message: format!("the target looks numeric but is a small set of integers ({}): treated as classes; if the numbers are a real scale (a grade, a count), regression may be right after all", distinct.join(", ")),
        });
        (target.classes(), evidence)
    } else {
        let evidence = format!(
            "'{name}' is a number with {} distinct values over {} rows: a continuous measurement",
            distinct.len(),
            target.values.len()
        );
        (Task::Regression, evidence)
    }
}

/// Missing values per column (the first five named), when there are any.
fn missing_warning(cols: &[String], rows: &[Vec<String>]) -> Option<Warning> {
    let missing: Vec<(String, usize)> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                c.clone(),
                rows.iter().filter(|r| is_missing(cell(r, i))).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let total: usize = missing.iter().map(|m| m.1).sum();
    Some(Warning {
        code: "missing-values",
        message: format!(
            "{total} missing value(s) in {}: drop those rows or fill them from the training rows only (`petri train` drops them)",
            missing
                .iter()
                .take(5)
                .map(|(c, n)| format!("{c} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// The table plan (a small MLP against baselines, repeated 2/3 : 1/3 splits) for predicting
/// `target`, and the reason for each choice.
fn table_plan(task: Task, target: &str) -> (Plan, Vec<Reason>) {
    let regression = task == Task::Regression;
    let plan = Plan {
        task,
        network: "mlp".into(),
        input_size: None,
        pretrained: false,
        loss: if regression {
            "mse".into()
        } else {
            "cross-entropy".into()
        },
        class_weights: None,
        training: TrainingSettings {
            optimizer: Optimizer::Adam { lr: 0.003 },
            epochs: 300,
            batch_size: 32,
        },
        hidden: vec![],
        augmentation: vec![],
        metric: if regression {
            "mae".into()
        } else {
            "balanced_accuracy".into()
        },
        target: Some(target.to_string()),
        split: [2.0 / 3.0, 0.0, 1.0 / 3.0],
        seed: 0,
    };
    let reasons = vec![
        Reason { item: "network", choice: "mlp".into(), why: "one row of numbers per sample: no images, so no convolutions; a small network against linear and tree baselines".into(), lesson: L_REGRESS },
        Reason { item: "hidden", choice: "[] (one linear layer)".into(), why: "with hundreds of rows, deeper networks overfit: start linear, add layers only if they lower the held-out error".into(), lesson: L_REGRESS },
        Reason { item: "loss", choice: plan.loss.clone(), why: if regression { "a continuous target: mean squared error (targets standardised for training, errors reported in target units)".into() } else { "classes: cross-entropy".into() }, lesson: L_PROTOCOL },
        Reason { item: "metric", choice: plan.metric.clone(), why: if regression { "errors in the target's own units say what a user can expect; the spread over splits says how much to trust one number".into() } else { "balanced accuracy (the mean recall over classes) is not fooled by a model that ignores a rare class; the spread over splits says how much to trust one number".into() }, lesson: if regression { L_REGRESS } else { L_PROTOCOL } },
        Reason { item: "split", choice: "2/3 train, 1/3 test, repeated".into(), why: "feature scaling and selection are fitted on the training rows only".into(), lesson: L_REGRESS },
    ];
    (plan, reasons)
}

impl Identification {
    /// The plain-text report `petri identify` prints and the tutor shows.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let id = self;
        let mut s = String::new();
        let _ = writeln!(s, "{}", id.path.display());
        let _ = writeln!(s, "  data: {}", id.data_kind);
        let _ = writeln!(s, "  task: {}", id.task);
        let _ = writeln!(s, "  because:");
        for e in &id.evidence {
            let _ = writeln!(s, "    - {e}");
        }
        for f in &id.facts {
            let _ = writeln!(s, "  {f}");
        }
        if id.warnings.is_empty() {
            let _ = writeln!(s, "  warnings: none");
        } else {
            let _ = writeln!(s, "  warnings:");
            for w in &id.warnings {
                let _ = writeln!(s, "    ! [{}] {}", w.code, w.message);
            }
        }
        let _ = writeln!(s, "  plan:");
        for r in &id.reasons {
            let _ = writeln!(s, "    {:<14} {}", r.item, r.choice);
            let _ = writeln!(s, "    {:<14} {} (lesson: {})", "", r.why, r.lesson);
        }
        let p = &id.plan;
        let _ = writeln!(
            s,
            "    {:<14} {} lr {}, {} epochs, batch {}",
            "training",
            p.training.optimizer.name(),
            p.training.optimizer.lr(),
            p.training.epochs,
            p.training.batch_size
        );
        s
    }
}
