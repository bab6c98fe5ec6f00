//! Segmentation data: a folder of images with masks of the same name. Evidence from the masks'
//! values, pixels per class, warnings (0/255 masks, rare classes, few images) and the U-Net plan.

use super::{Identification, L_AUGMENT, L_SEGMENT, Plan, Reason, Warning};
use crate::augment::Transform;
use crate::data::registry::Task;
use crate::data::segmentation;
use crate::metrics::Metric;
use crate::train::{Optimizer, TrainingSettings};
use crate::{Error, Result};
use std::path::Path;

/// A folder of images and masks of the same name (with or without splits).
pub(super) fn from_segmentation(root: &Path) -> Result<Identification> {
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
        metric: Metric::DiceMean.name().into(),
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
