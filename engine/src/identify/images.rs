//! Image classification data: a MedMNIST-style `.npz` or a folder of class folders. The task
//! from the labels, facts, warnings (balance, tiny images, near-copies) and the image plan.

use super::duplicates::{self, Thumb, cross_split_duplicates, duplicate_warning, thumb, thumbs};
use super::{
    Identification, L_AUGMENT, L_CLASSIFY, L_PROTOCOL, Plan, Reason, Warning, balance_warnings,
};
use crate::augment::Transform;
use crate::data::class_folders::ClassFolders;
use crate::data::medmnist;
use crate::data::registry::Task;
use crate::data::segmentation;
use crate::metrics::Metric;
use crate::train::{Optimizer, TrainingSettings};
use crate::{Error, Result};
use std::path::Path;

/// The image classification plan (ResNet-18, flips and a mild crop, a metric that fits the
/// balance) and the reason for each choice.
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
            Task::MultiLabel => Metric::Auc.name().into(),
            _ if imbalanced => Metric::BalancedAccuracy.name().into(),
            Task::Binary => Metric::Auc.name().into(),
            _ => Metric::Accuracy.name().into(),
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

/// An `.npz` of images and labels per split (MedMNIST's layout).
pub(super) fn from_npz(path: &Path) -> Result<Identification> {
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

/// A folder of class folders, with or without train/val/test splits above them.
pub(super) fn from_class_folders(cf: &ClassFolders) -> Result<Identification> {
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
        let copies = duplicates::copies_within(&by_split[0].1);
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
