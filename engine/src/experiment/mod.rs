//! The course's experiments as presets: the original module's settings with its mistakes fixed.
//! Each part has a `quick` profile (minutes on a 2-core CPU) and a `paper` profile (the
//! original's epochs and data). Running one returns an `ExperimentRecord` with every number a
//! student sees, computed from predictions, plus the seed and data checksum that reproduce it.

pub mod classify;
pub mod custom;
pub mod device;
pub mod expected;
pub mod findings;
pub mod gpu_cache;
pub mod images;
pub mod inputs;
pub mod predictions;
pub mod presets;
pub mod record;
pub mod regression;
pub mod request;
pub mod runner;
pub mod seeds;
pub mod segment;
pub mod spec;
pub mod table_classify;

pub use device::DeviceChoice;
pub use record::{ExperimentRecord, ModelRun};
pub use spec::Spec;

use crate::train::{Event, Outcome};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// The experiment suite of a course part (`petri run classification`): what trains, in parts
/// 1-4. A lesson's front matter names the suites its part uses (`experiments =
/// ["classification"]`); the course part itself is the tutor's `content::Part`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Suite {
    Classification,
    Augmentation,
    Segmentation,
    Regression,
}

impl Suite {
    pub const ALL: [Suite; 4] = [
        Suite::Classification,
        Suite::Augmentation,
        Suite::Segmentation,
        Suite::Regression,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Suite::Classification => "classification",
            Suite::Augmentation => "augmentation",
            Suite::Segmentation => "segmentation",
            Suite::Regression => "regression",
        }
    }

    pub fn parse(s: &str) -> Result<Suite> {
        Suite::ALL.into_iter().find(|p| p.name() == s.to_ascii_lowercase()).ok_or_else(|| {
            Error::invalid(format!("unknown part '{s}': choose classification, augmentation, segmentation or regression"))
        })
    }

    /// The registry name of the data this suite trains on unless `--data` replaces it (the
    /// image parts' from their presets).
    pub fn dataset(self) -> &'static str {
        match self {
            Suite::Classification | Suite::Augmentation => {
                presets::image(self, Profile::Quick).dataset
            }
            Suite::Segmentation => "skin-autofluorescence",
            Suite::Regression => "breast-cancer-wisconsin",
        }
    }

    /// Whether its transfer-learning runs need ImageNet ResNet-18 weights.
    pub fn needs_imagenet_weights(self) -> bool {
        self == Suite::Classification
    }

    /// The experiments of this part, in the order they run by default.
    pub fn experiments(self) -> &'static [Experiment] {
        use Experiment::*;
        match self {
            Suite::Classification => &[Scratch, Frozen, Finetune],
            Suite::Augmentation => &[Unmodified, Augmented, Combined],
            Suite::Segmentation => &[Unet],
            Suite::Regression => &[Linear, Tree, Forest, Nn, NnDeep],
        }
    }
}

/// One experiment of a part (`--experiment`): what trains on which data. A run is recorded
/// under its name (regression adds the feature set: "forest (top-5 features)").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Experiment {
    /// ResNet-18 from random weights.
    Scratch,
    /// ImageNet ResNet-18 with its backbone frozen: only the last layer trains.
    Frozen,
    /// ImageNet ResNet-18, every layer trains.
    Finetune,
    /// The training images as they are.
    Unmodified,
    /// Only augmented copies of the training images.
    Augmented,
    /// The training images and their augmented copies.
    Combined,
    /// The 4-level U-Net.
    Unet,
    /// Linear least squares.
    Linear,
    /// One decision tree.
    Tree,
    /// A random forest.
    Forest,
    /// A network with one hidden layer.
    Nn,
    /// A network with two hidden layers.
    NnDeep,
}

impl Experiment {
    pub const ALL: [Experiment; 12] = [
        Experiment::Scratch,
        Experiment::Frozen,
        Experiment::Finetune,
        Experiment::Unmodified,
        Experiment::Augmented,
        Experiment::Combined,
        Experiment::Unet,
        Experiment::Linear,
        Experiment::Tree,
        Experiment::Forest,
        Experiment::Nn,
        Experiment::NnDeep,
    ];

    /// As typed and recorded: `scratch`, `nn-deep`, ...
    pub fn name(self) -> &'static str {
        match self {
            Experiment::Scratch => "scratch",
            Experiment::Frozen => "frozen",
            Experiment::Finetune => "finetune",
            Experiment::Unmodified => "unmodified",
            Experiment::Augmented => "augmented",
            Experiment::Combined => "combined",
            Experiment::Unet => "unet",
            Experiment::Linear => "linear",
            Experiment::Tree => "tree",
            Experiment::Forest => "forest",
            Experiment::Nn => "nn",
            Experiment::NnDeep => "nn-deep",
        }
    }

    /// The part this experiment belongs to.
    pub fn suite(self) -> Suite {
        *Suite::ALL
            .iter()
            .find(|s| s.experiments().contains(&self))
            .expect("every experiment belongs to a part")
    }

    /// Whether it starts from ImageNet weights.
    pub fn pretrained(self) -> bool {
        matches!(self, Experiment::Frozen | Experiment::Finetune)
    }
}

impl std::fmt::Display for Experiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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
    pub const ALL: [Profile; 2] = [Profile::Quick, Profile::Paper];

    /// As typed and recorded: `quick`, `paper`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Paper => "paper",
        }
    }

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    pub part: Suite,
    /// Run only these experiments (default: all of the part's).
    pub experiments: Vec<Experiment>,
    pub data: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub profile: Profile,
    pub epochs: Option<usize>,
    /// Use at most this many training images (rows for regression: splits).
    pub limit: Option<usize>,
    pub device: DeviceChoice,
    pub seed: u64,
    /// Run every experiment this many times, with seeds `seed`, `seed + 1`, ... (`seeds.rs`).
    #[serde(default = "one_seed", skip_serializing_if = "is_one_seed")]
    pub seeds: usize,
    /// Where trained models are saved as safetensors (`None`: not saved).
    pub checkpoints: Option<PathBuf>,
    /// Where each model's test predictions are written (`None`: not written), in a folder per
    /// record (`predictions.rs`). Where files go changes no result: not in the resume key.
    #[serde(skip)]
    pub predictions: Option<PathBuf>,
    /// Loss weights per class, classification or segmentation (`None`: unweighted).
    pub class_weights: Option<ClassWeights>,
    /// ImageNet weights for the classification part's frozen and finetune runs (`None`: found
    /// in the data dir or the usual caches).
    #[serde(default)]
    pub weights: Option<PathBuf>,
    /// Settings that replace the preset's (`petri train` runs a user's plan through these).
    pub overrides: Overrides,
    /// Where interrupted runs keep their per-epoch state (`None`: not saved). Each set of
    /// options gets its own folder inside, so `--resume` continues the same experiment only.
    #[serde(skip)]
    pub resume_dir: Option<PathBuf>,
    /// Continue an interrupted run of these options from its last finished epoch.
    #[serde(skip)]
    pub resume: bool,
}

fn one_seed() -> usize {
    1
}

// A single seed stays out of the resume key, as it was before seeds could repeat.
fn is_one_seed(n: &usize) -> bool {
    *n == 1
}

/// Preset settings a caller can replace; `None` keeps the preset's. `spec::Spec::build` turns
/// them into each runner's spec and refuses the ones a runner cannot use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Overrides {
    /// Optimiser, learning rate, momentum, epochs, batch size (a plan's); `RunOptions::epochs`
    /// still replaces the epochs.
    pub training: Option<crate::train::TrainingSettings>,
    /// Training augmentation of the image parts.
    pub augmentation: Option<crate::augment::Pipeline>,
    /// Hidden layers of the regression part's `nn` model.
    pub nn_hidden: Option<Vec<usize>>,
    /// Regression on any table: the column to predict (Breast Cancer Wisconsin otherwise).
    pub target: Option<String>,
    /// Square size images are resized to (segmentation).
    pub input_size: Option<usize>,
    pub segmentation_loss: Option<presets::SegmentationLoss>,
    /// Train / validation / test fractions where the runner splits the data itself
    /// (segmentation folders without splits; tables: train and test of each repeated split).
    pub split: Option<[f64; 3]>,
}

/// Per-class loss weights against class imbalance: `--class-weights`, a plan's
/// `class_weights`, a challenge's `experiment.toml`. Stored as `"balanced"` or
/// `{"given": [...]}`; read from those, from a list of numbers (`[2.0, 1.0]` in TOML) or from
/// the typed form (`"1,1,5"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassWeights {
    /// Weights from the training labels' counts: for image classes scikit-learn's rule,
    /// n / (classes x count) (`classify::balanced_class_weights`); for segmentation
    /// median-frequency balancing, median class share / class share, from the training masks.
    Balanced,
    /// One non-negative weight per class.
    Given(Vec<f32>),
}

impl<'de> Deserialize<'de> for ClassWeights {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Typed(String),
            List(Vec<f32>),
            Tagged { given: Vec<f32> },
        }
        let weights = match Stored::deserialize(d)? {
            Stored::Typed(s) => ClassWeights::parse(&s),
            Stored::List(w) | Stored::Tagged { given: w } => ClassWeights::given(w),
        };
        weights.map_err(serde::de::Error::custom)
    }
}

impl ClassWeights {
    /// As typed: `balanced`, or the weights (`1,1,5`); `parse` reads it back.
    pub fn name(&self) -> String {
        match self {
            ClassWeights::Balanced => "balanced".into(),
            ClassWeights::Given(w) => w.iter().map(f32::to_string).collect::<Vec<_>>().join(","),
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        if s == "balanced" {
            return Ok(ClassWeights::Balanced);
        }
        let w: std::result::Result<Vec<f32>, _> =
            s.split(',').map(|v| v.trim().parse::<f32>()).collect();
        w.ok()
            .and_then(|w| ClassWeights::given(w).ok())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "class weights '{s}': give `balanced` or one non-negative number per class, e.g. 1,1,5"
                ))
            })
    }

    /// Given weights, checked: at least one, each finite and non-negative.
    pub fn given(w: Vec<f32>) -> Result<Self> {
        if !w.is_empty() && w.iter().all(|v| v.is_finite() && *v >= 0.0) {
            Ok(ClassWeights::Given(w))
        } else {
            Err(Error::invalid(format!(
                "class weights {w:?}: give `balanced` or one non-negative number per class, e.g. [1, 1, 5]"
            )))
        }
    }

    /// The weight of each image class, from the training set's count of each (`Balanced`:
    /// scikit-learn's rule); an error says how many weights the data needs.
    pub fn for_classes(&self, counts: &[usize]) -> std::result::Result<Vec<f32>, String> {
        match self {
            ClassWeights::Balanced => Ok(classify::balanced_class_weights(counts)),
            ClassWeights::Given(w) if w.len() == counts.len() => Ok(w.clone()),
            ClassWeights::Given(w) => Err(format!(
                "{} class weights given; this data has {} classes",
                w.len(),
                counts.len()
            )),
        }
    }
}

impl RunOptions {
    pub fn new(part: Suite, data_dir: PathBuf) -> Self {
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
            seeds: 1,
            checkpoints: None,
            predictions: None,
            class_weights: None,
            weights: None,
            overrides: Overrides::default(),
            resume_dir: None,
            resume: false,
        }
    }

    /// The resumable state of a run with these options, where options ask for one.
    pub fn resume_state(&self) -> Option<ResumeState> {
        let base = self.resume_dir.as_ref()?;
        // Every setting that changes the result is in the key; `resume` itself is not.
        let key = serde_json::to_string(self).unwrap_or_default();
        let digest: String =
            sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(key))
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
        Some(ResumeState {
            dir: base.join(format!(
                "{}-seed{}-{}",
                self.part.name(),
                self.seed,
                &digest[..12]
            )),
            resume: self.resume,
        })
    }

    /// Trained weights and test predictions go into `out_dir` (the folder records are saved
    /// in): `checkpoints/` and `predictions/`.
    pub fn outputs_in(&mut self, out_dir: &Path) {
        self.checkpoints = Some(out_dir.join("checkpoints"));
        self.predictions = Some(out_dir.join("predictions"));
    }

    /// These options with their paths made absolute, so a record's request runs from any
    /// folder.
    pub fn absolute(&self) -> RunOptions {
        let abs = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
        let mut o = self.clone();
        o.data = o.data.as_ref().map(abs);
        o.data_dir = abs(&o.data_dir);
        o.weights = o.weights.as_ref().map(abs);
        o.checkpoints = o.checkpoints.as_ref().map(abs);
        o
    }

    /// The experiments to run, checked against the part's list.
    pub fn selected(&self) -> Result<Vec<Experiment>> {
        let known = self.part.experiments();
        if self.experiments.is_empty() {
            return Ok(known.to_vec());
        }
        for e in &self.experiments {
            if !known.contains(e) {
                let names: Vec<&str> = known.iter().map(|k| k.name()).collect();
                return Err(Error::invalid(format!(
                    "{} has no experiment '{e}'; choose from {}",
                    self.part.name(),
                    names.join(", ")
                )));
            }
        }
        Ok(self.experiments.clone())
    }
}

/// An experiment's resumable state: the models that finished (`<name>.done.json`) and, for the
/// one in training, its per-epoch state (`<name>/`, see `train::checkpoint`). Removed when the
/// experiment finishes; kept after a stop, a hang-up or a kill, for `--resume`.
#[derive(Debug, Clone)]
pub struct ResumeState {
    pub dir: PathBuf,
    pub resume: bool,
}

impl ResumeState {
    pub fn training(&self, name: &str) -> crate::train::Checkpointing {
        crate::train::Checkpointing {
            dir: self.dir.join(name),
            resume: self.resume,
        }
    }

    /// A model that finished before the interruption, when resuming.
    pub fn finished(&self, name: &str) -> Result<Option<ModelRun>> {
        let path = self.dir.join(format!("{name}.done.json"));
        if !self.resume || !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::format(&path, format!("damaged resume state: {e}")))
    }

    pub fn save_finished(&self, run: &ModelRun) -> Result<()> {
        crate::atomic::write_json_atomic(&self.dir.join(format!("{}.done.json", run.name)), run)
    }

    /// Whether an interrupted run left state here.
    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    pub fn clear(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs a part's experiments, reporting progress through `events`, once per seed when
/// `options.seeds` asks for more than one. A stop request ends the current training at its next
/// batch; what finished is still in the record.
pub fn run(
    options: &RunOptions,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<ExperimentRecord> {
    seeds::validate(options)?;
    let mut record = if options.seeds > 1 {
        // Every setting is checked, and the data found, before the first seed starts.
        Spec::build(options)?;
        let state = resume_state(options, events)?;
        let record = seeds::run(options, state.as_ref(), events, stop, &run_one)?;
        if let Some(s) = &state
            && record.seeds.len() == options.seeds
            && record.runs.iter().all(|r| r.outcome != Outcome::Stopped)
        {
            s.clear();
        }
        record
    } else {
        run_one(options, events, stop)?
    };
    record.request = Some(request::RunRequest::Part {
        options: options.absolute(),
    });
    record.expected = expected::check(&record);
    record.comparisons = seeds::compare(&record);
    for e in &record.expected {
        events(Event::Note(e.sentence()));
    }
    for c in &record.comparisons {
        events(Event::Note(c.sentence()));
    }
    Ok(record)
}

/// Runs what a record asked for again (`petri rerun`), its outputs (checkpoints, predictions, a
/// plan's converted data) going to `out_dir`, and returns the new record.
pub fn rerun(
    request: &request::RunRequest,
    out_dir: &Path,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<ExperimentRecord> {
    let with_outputs = |o: &RunOptions| {
        let mut o = o.clone();
        o.outputs_in(out_dir);
        o.resume_dir = None;
        o.resume = false;
        o
    };
    match request {
        request::RunRequest::Part { options } => run(&with_outputs(options), events, stop),
        request::RunRequest::Plan {
            data,
            plan,
            options,
        } => {
            if !data.exists() {
                return Err(Error::invalid(format!(
                    "the record's data {} is not there any more: put it back to rerun the plan",
                    data.display()
                )));
            }
            custom::train(data, plan, &with_outputs(options), out_dir, events, stop)
        }
    }
}

/// The resumable state of `options`, checked: `--resume` needs one, and a fresh run clears an
/// old one (saying so).
fn resume_state(options: &RunOptions, events: &dyn Fn(Event)) -> Result<Option<ResumeState>> {
    if options.resume && options.part == Suite::Regression {
        return Err(Error::invalid(
            "--resume: regression runs take seconds and keep no per-epoch state; run them again",
        ));
    }
    let state = options.resume_state();
    if options.resume && !state.as_ref().is_some_and(ResumeState::exists) {
        return Err(Error::invalid(format!(
            "--resume: no interrupted {} run with these settings (seed {}, same data and options) to continue",
            options.part.name(),
            options.seed
        )));
    }
    if !options.resume
        && let Some(s) = state.as_ref().filter(|s| s.exists())
    {
        events(Event::Note(format!(
            "an interrupted run with these settings was found in {}; starting afresh (--resume continues it)",
            s.dir.display()
        )));
        s.clear();
    }
    Ok(state)
}

/// One seed of `options`' experiments.
fn run_one(
    options: &RunOptions,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<ExperimentRecord> {
    // Every setting is checked, and the data found, before any state is touched.
    let spec = Spec::build(options)?;
    let state = resume_state(options, events)?;
    let record = match spec {
        Spec::Images(spec) => images::run(&spec, events, stop),
        Spec::Segmentation(spec) => segment::run(&spec, events, stop),
        Spec::Regression(spec) => regression::run(&spec, events, stop),
    }?;
    if let Some(s) = &state
        && record.runs.iter().all(|r| r.outcome != Outcome::Stopped)
    {
        s.clear();
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_suite_s_dataset_can_be_fetched_or_is_embedded() {
        for suite in Suite::ALL {
            let d = suite.dataset();
            assert!(
                d == "breast-cancer-wisconsin"
                    || crate::data::fetchable::Fetchable::named(d, 28).is_ok(),
                "{suite:?}: {d}"
            );
        }
        assert_eq!(Suite::Classification.dataset(), "pathmnist");
        assert_eq!(Suite::Augmentation.dataset(), "breastmnist");
    }

    #[test]
    fn class_weights_read_every_form_they_are_written_in_and_refuse_bad_ones() {
        let read = |json: &str| serde_json::from_str::<ClassWeights>(json);
        let given = ClassWeights::Given(vec![2.0, 1.0]);
        assert_eq!(read(r#""balanced""#).unwrap(), ClassWeights::Balanced);
        assert_eq!(read("[2.0, 1.0]").unwrap(), given);
        assert_eq!(read(r#"{"given": [2.0, 1.0]}"#).unwrap(), given);
        assert_eq!(read(r#""2,1""#).unwrap(), given);
        // Stored as before (records and job requests written by older Petri read back).
        assert_eq!(
            serde_json::to_string(&given).unwrap(),
            r#"{"given":[2.0,1.0]}"#
        );
        for bad in [r#""heavy""#, "[-1.0, 1.0]", "[]"] {
            let e = read(bad).unwrap_err().to_string();
            assert!(e.contains("non-negative number per class"), "{bad}: {e}");
        }
        assert_eq!(given.for_classes(&[10, 30]).unwrap(), vec![2.0, 1.0]);
        assert_eq!(
            ClassWeights::Balanced.for_classes(&[10, 30]).unwrap(),
            vec![2.0, 2.0 / 3.0]
        );
        let e = given.for_classes(&[1, 1, 1]).unwrap_err();
        assert_eq!(e, "2 class weights given; this data has 3 classes");
    }
}
