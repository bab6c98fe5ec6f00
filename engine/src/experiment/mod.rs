//! The course's experiments as presets: the original module's settings with its mistakes fixed.
//! Each part has a `quick` profile (minutes on a 2-core CPU) and a `paper` profile (the
//! original's epochs and data). Running one returns an `ExperimentRecord` with every number a
//! student sees, computed from predictions, plus the seed and data checksum that reproduce it.

pub mod classify;
pub mod custom;
pub mod device;
pub mod images;
pub mod record;
pub mod regression;
pub mod segment;
pub mod table_classify;

pub use device::DeviceChoice;
pub use record::{ExperimentRecord, ModelRun};

use crate::train::Event;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    Classification,
    Augmentation,
    Segmentation,
    Regression,
}

impl Part {
    pub const ALL: [Part; 4] = [
        Part::Classification,
        Part::Augmentation,
        Part::Segmentation,
        Part::Regression,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Part::Classification => "classification",
            Part::Augmentation => "augmentation",
            Part::Segmentation => "segmentation",
            Part::Regression => "regression",
        }
    }

    pub fn parse(s: &str) -> Result<Part> {
        Part::ALL.into_iter().find(|p| p.name() == s.to_ascii_lowercase()).ok_or_else(|| {
            Error::invalid(format!("unknown part '{s}': choose classification, augmentation, segmentation or regression"))
        })
    }

    /// The experiments of this part, in the order they run by default.
    pub fn experiments(self) -> &'static [&'static str] {
        match self {
            Part::Classification => &["scratch", "frozen", "finetune"],
            Part::Augmentation => &["unmodified", "augmented", "combined"],
            Part::Segmentation => &["unet"],
            Part::Regression => &["linear", "tree", "forest", "nn", "nn-deep"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Small enough for minutes on a 2-core CPU.
    #[default]
    Quick,
    /// The original module's epochs and data.
    Paper,
}

impl Profile {
    pub fn parse(s: &str) -> Result<Profile> {
        match s {
            "quick" => Ok(Profile::Quick),
            "paper" => Ok(Profile::Paper),
            _ => Err(Error::invalid(format!(
                "unknown profile '{s}': choose quick or paper"
            ))),
        }
    }
}

/// Everything a user can set for a run; `None` means the preset's value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunOptions {
    pub part: Part,
    /// Run only these experiments (default: all of the part's).
    pub experiments: Vec<String>,
    pub data: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub profile: Profile,
    pub epochs: Option<usize>,
    /// Use at most this many training images (rows for regression: splits).
    pub limit: Option<usize>,
    pub device: DeviceChoice,
    pub seed: u64,
    /// Where trained models are saved as safetensors (`None`: not saved).
    pub checkpoints: Option<PathBuf>,
    /// Loss weights per class, classification or segmentation (`None`: unweighted).
    pub class_weights: Option<ClassWeights>,
    /// Settings that replace the preset's (`petri train` runs a user's plan through these).
    pub overrides: Overrides,
}

/// Preset settings a caller can replace; `None` keeps the preset's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Overrides {
    pub batch_size: Option<usize>,
    pub optimizer: Option<crate::train::Optimizer>,
    /// Training augmentation of the image parts.
    pub augmentation: Option<crate::augment::Pipeline>,
    /// Hidden layers of the regression part's `nn` model.
    pub nn_hidden: Option<Vec<usize>>,
    /// Regression on any table: the column to predict (Breast Cancer Wisconsin otherwise).
    pub target: Option<String>,
    /// Square size images are resized to (segmentation).
    pub input_size: Option<usize>,
    pub segmentation_loss: Option<segment::SegmentationLoss>,
}

/// Per-class weights for the segmentation loss, against class imbalance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassWeights {
    /// Median-frequency balancing: weight = median class share / class share, from the
    /// training masks only.
    Balanced,
    Given(Vec<f32>),
}

impl ClassWeights {
    pub fn parse(s: &str) -> Result<Self> {
        if s == "balanced" {
            return Ok(ClassWeights::Balanced);
        }
        let w: std::result::Result<Vec<f32>, _> =
            s.split(',').map(|v| v.trim().parse::<f32>()).collect();
        match w {
            Ok(w) if !w.is_empty() && w.iter().all(|v| v.is_finite() && *v >= 0.0) => {
                Ok(ClassWeights::Given(w))
            }
            _ => Err(Error::invalid(format!(
                "class weights '{s}': give `balanced` or one non-negative number per class, e.g. 1,1,5"
            ))),
        }
    }
}

impl RunOptions {
    pub fn new(part: Part, data_dir: PathBuf) -> Self {
        RunOptions {
            part,
            experiments: Vec::new(),
            data: None,
            data_dir,
            profile: Profile::Quick,
            epochs: None,
            limit: None,
            device: DeviceChoice::Cpu,
            seed: 0,
            checkpoints: None,
            class_weights: None,
            overrides: Overrides::default(),
        }
    }

    /// The experiments to run, checked against the part's list.
    pub fn selected(&self) -> Result<Vec<String>> {
        let known = self.part.experiments();
        if self.experiments.is_empty() {
            return Ok(known.iter().map(|s| s.to_string()).collect());
        }
        for e in &self.experiments {
            if !known.contains(&e.as_str()) {
                return Err(Error::invalid(format!(
                    "{} has no experiment '{e}'; choose from {}",
                    self.part.name(),
                    known.join(", ")
                )));
            }
        }
        Ok(self.experiments.clone())
    }
}

/// Saves a trained model into `options.checkpoints` as `PART-NAME-seedSEED.safetensors`, with the
/// run's config in its metadata; returns the path written.
fn save_model_checkpoint<M: burn::module::Module>(
    options: &RunOptions,
    name: &str,
    model: &M,
    config: &serde_json::Value,
) -> Result<Option<String>> {
    let Some(dir) = &options.checkpoints else {
        return Ok(None);
    };
    let path = dir.join(format!(
        "{}-{name}-seed{}.safetensors",
        options.part.name(),
        options.seed
    ));
    crate::model::weights::save_checkpoint(model, &path, config)?;
    Ok(Some(path.display().to_string()))
}

/// Runs a part's experiments, reporting progress through `events`. A stop request ends the
/// current training at its next batch; what finished is still in the record.
pub fn run(
    options: &RunOptions,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<ExperimentRecord> {
    match options.part {
        Part::Classification | Part::Augmentation => images::run(options, events, stop),
        Part::Segmentation => segment::run(options, events, stop),
        Part::Regression => regression::run(options, events, stop),
    }
}
