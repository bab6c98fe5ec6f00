//! Each part's settings under a profile, before the user's overrides: what `Spec::build`
//! starts from. Kept apart from the runners so that the spec, which the runners take, does not
//! reach back into them.

use super::{Profile, Suite};
use crate::augment::Pipeline;
use crate::data::segmentation::Prepare;
use crate::train::{Optimizer, TrainingSettings};
use crate::{Error, Result};

/// An image classification part's settings (classification, augmentation).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImagePreset {
    pub dataset: &'static str,
    pub training: TrainingSettings,
    /// Training images used (a seeded random subset), `None` for all.
    pub train_limit: Option<usize>,
    pub val_limit: Option<usize>,
    pub augmentation: Pipeline,
}

pub fn image(part: Suite, profile: Profile) -> ImagePreset {
    let sgd = Optimizer::Sgd {
        lr: 0.001,
        momentum: 0.9,
    };
    match (part, profile) {
        (Suite::Classification, Profile::Paper) => ImagePreset {
            dataset: "pathmnist",
            training: TrainingSettings {
                optimizer: sgd,
                epochs: 5,
                batch_size: 128,
            },
            train_limit: None,
            val_limit: None,
            augmentation: Pipeline::default(),
        },
        (Suite::Classification, Profile::Quick) => ImagePreset {
            dataset: "pathmnist",
            training: TrainingSettings {
                optimizer: sgd,
                epochs: 5,
                batch_size: 32,
            },
            train_limit: Some(3000),
            val_limit: Some(1000),
            augmentation: Pipeline::default(),
        },
        // BreastMNIST is small enough that the quick profile keeps the original 10 epochs
        // (about 2 minutes a run on 2 cores): at 6 epochs the unmodified run's test accuracy
        // over seeds 0-3 was 0.776-0.827, at 10 it was 0.801-0.821.
        (_, _) => ImagePreset {
            dataset: "breastmnist",
            training: TrainingSettings {
                optimizer: sgd,
                epochs: 10,
                batch_size: 16,
            },
            train_limit: None,
            val_limit: None,
            augmentation: Pipeline::course_default(),
        },
    }
}

/// The segmentation part's settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SegmentationPreset {
    pub prepare: Prepare,
    pub training: TrainingSettings,
    pub depth: usize,
    pub base_channels: usize,
    /// Fractions for train / val / test when the folder has no split folders.
    pub split: [f64; 3],
    /// Per-class loss weights (`None`: unweighted).
    pub class_weights: Option<Vec<f32>>,
    pub loss: SegmentationLoss,
}

/// What the U-Net minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SegmentationLoss {
    /// Per-pixel cross-entropy, as in the original notebook.
    CrossEntropy,
    /// Cross-entropy plus soft Dice (1 - mean Dice over classes, from the softmax): a thin,
    /// rare class counts as much as the background, so it cannot be ignored.
    CrossEntropyDice,
}

impl SegmentationLoss {
    pub const ALL: [SegmentationLoss; 2] = [
        SegmentationLoss::CrossEntropy,
        SegmentationLoss::CrossEntropyDice,
    ];

    /// As typed: `ce`, `ce+dice`.
    pub fn name(self) -> &'static str {
        match self {
            SegmentationLoss::CrossEntropy => "ce",
            SegmentationLoss::CrossEntropyDice => "ce+dice",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "ce" | "cross-entropy" => Ok(SegmentationLoss::CrossEntropy),
            "ce+dice" | "ce-dice" | "cross-entropy-dice" => Ok(SegmentationLoss::CrossEntropyDice),
            other => Err(Error::invalid(format!(
                "segmentation loss '{other}': choose ce or ce+dice"
            ))),
        }
    }
}

pub fn segmentation(profile: Profile) -> SegmentationPreset {
    SegmentationPreset {
        prepare: match profile {
            Profile::Quick => Prepare::ResizeTile {
                resize: 256,
                tile: 128,
            },
            Profile::Paper => Prepare::Tile(256),
        },
        // Quick: 20 epochs of the small resized tiles (about 6 minutes on 2 cores for the
        // nuclei set); the nucleus classes' Dice was still rising at 12.
        training: TrainingSettings {
            optimizer: Optimizer::Adam { lr: 0.001 },
            epochs: if profile == Profile::Paper { 10 } else { 20 },
            batch_size: 8,
        },
        depth: 4,
        base_channels: 16,
        split: [0.7, 0.15, 0.15],
        class_weights: None,
        loss: SegmentationLoss::CrossEntropy,
    }
}

/// The regression part's settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RegressionPreset {
    pub splits: usize,
    pub test_fraction: f64,
    pub top_k: usize,
    pub nn_training: TrainingSettings,
    pub nn_deep_hidden: Vec<usize>,
    pub forest_trees: usize,
}

pub fn regression(profile: Profile) -> RegressionPreset {
    RegressionPreset {
        splits: if profile == Profile::Paper { 50 } else { 10 },
        test_fraction: 1.0 / 3.0,
        top_k: 5,
        nn_training: TrainingSettings {
            optimizer: Optimizer::Adam { lr: 0.003 },
            epochs: if profile == Profile::Paper { 400 } else { 200 },
            batch_size: 32,
        },
        nn_deep_hidden: vec![64, 32],
        forest_trees: 100,
    }
}
