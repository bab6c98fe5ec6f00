//! What each runner is given: a typed spec holding only what that runner uses, built here and
//! nowhere else from a suite's preset and the user's settings (`RunOptions`, which the command
//! line, the tutor and `petri train`'s plans fill). A setting the runner cannot use is refused
//! with its name and the runner's, never dropped.

use super::inputs;
use super::presets::{self, ImagePreset, RegressionPreset, SegmentationPreset};
use super::record::{DataRef, ExperimentRecord, ModelRun};
use super::runner::Runner;
use super::{ClassWeights, DeviceChoice, Experiment, Profile, ResumeState, RunOptions, Suite};
use crate::augment::Pipeline;
use crate::data::segmentation::Prepare;
use crate::train::{Checkpointing, Event, TrainingSettings};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// What every runner shares: the suite its record is filed under, the seed, the device, and
/// where finished models and resumable state go.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub suite: Suite,
    pub profile: Profile,
    pub seed: u64,
    pub device: DeviceChoice,
    /// For messages that say where data or weights belong.
    pub data_dir: PathBuf,
    /// The experiments to run, checked against the suite's.
    pub experiments: Vec<Experiment>,
    /// The user named them: one that cannot run is then an error, not a skip with a note.
    pub named: bool,
    /// Where trained models are saved as safetensors (`None`: not saved).
    pub checkpoints: Option<PathBuf>,
    /// Where test predictions are written (`None`: not written), see `predictions_file`.
    pub predictions: Option<PathBuf>,
    pub resume: Option<ResumeState>,
}

/// The image classifier (classification and augmentation suites; plans on images).
#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub run: RunContext,
    pub data: PathBuf,
    /// The preset with the user's settings applied.
    pub preset: ImagePreset,
    pub class_weights: Option<ClassWeights>,
    /// ImageNet weights for frozen/finetune, when one of them is selected and a file was found.
    pub imagenet_weights: Option<PathBuf>,
}

/// The U-Net on image/mask pairs.
#[derive(Debug, Clone)]
pub struct SegmentationSpec {
    pub run: RunContext,
    pub data: PathBuf,
    pub preset: SegmentationPreset,
    pub class_weights: Option<ClassWeights>,
    /// Training augmentation; `None`: the runner's paired flips.
    pub augmentation: Option<Pipeline>,
    pub train_limit: Option<usize>,
}

/// Linear, tree, forest and network baselines over repeated splits of a table.
#[derive(Debug, Clone)]
pub struct RegressionSpec {
    pub run: RunContext,
    /// `None`: the embedded Breast Cancer Wisconsin copy.
    pub data: Option<PathBuf>,
    /// Column to predict; `None`: Breast Cancer Wisconsin's mean radius.
    pub target: Option<String>,
    /// Hidden layers of the `nn` model (none: linear in the network's terms).
    pub nn_hidden: Vec<usize>,
    pub preset: RegressionPreset,
}

/// Logistic, tree, forest and network over repeated splits of a table with a class target.
#[derive(Debug, Clone)]
pub struct TableClassSpec {
    pub run: RunContext,
    pub data: PathBuf,
    pub target: String,
    pub nn_hidden: Vec<usize>,
    pub training: TrainingSettings,
    pub splits: usize,
    pub test_fraction: f64,
}

/// A course suite's runner with its spec.
#[derive(Debug, Clone)]
pub enum Spec {
    Images(ImageSpec),
    Segmentation(SegmentationSpec),
    Regression(RegressionSpec),
}

/// The preset's training settings with the user's: a plan's whole set, then `--epochs`.
fn training(preset: TrainingSettings, options: &RunOptions) -> TrainingSettings {
    let mut t = options.overrides.training.unwrap_or(preset);
    if let Some(e) = options.epochs {
        t.epochs = e;
    }
    t
}

impl RunContext {
    fn new(options: &RunOptions) -> Result<RunContext> {
        Ok(RunContext {
            suite: options.part,
            profile: options.profile,
            seed: options.seed,
            device: options.device.resolve(),
            data_dir: options.data_dir.clone(),
            experiments: options.selected()?,
            named: !options.experiments.is_empty(),
            checkpoints: options.checkpoints.clone(),
            predictions: options.predictions.clone(),
            resume: options.resume_state(),
        })
    }

    /// An empty record of this run, for `data`, with the runner's settings as `config`.
    pub fn record(&self, data: DataRef, config: serde_json::Value) -> ExperimentRecord {
        ExperimentRecord::new(
            self.suite,
            self.profile,
            self.seed,
            self.device.name(),
            data,
            config,
        )
    }

    /// Where model `name` saves its per-epoch state, if anywhere.
    pub fn training_checkpoint(&self, name: &str) -> Option<Checkpointing> {
        self.resume.as_ref().map(|s| s.training(name))
    }

    /// A model that finished before an interruption, replayed to `events` as if it had just
    /// trained, when resuming.
    pub fn already_finished(&self, name: &str, events: &dyn Fn(Event)) -> Result<Option<ModelRun>> {
        let Some(done) = self
            .resume
            .as_ref()
            .map(|s| s.finished(name))
            .transpose()?
            .flatten()
        else {
            return Ok(None);
        };
        events(Event::RunStarted {
            name: name.to_string(),
        });
        events(Event::Note(format!(
            "{name} had finished before the interruption: its results are kept"
        )));
        for e in &done.epochs {
            events(Event::Epoch(e.clone()));
        }
        Ok(Some(done))
    }

    /// Keeps a finished model's results for a later `--resume`, and notes a resumed one in the
    /// record.
    pub fn finish_model(&self, record: &mut ExperimentRecord, run: &ModelRun) -> Result<()> {
        if let Some(k) = run.resumed_after {
            record
                .notes
                .push(format!("{} resumed after epoch {k}", run.name));
        }
        // A diverged model would diverge again: it is as done as a finished one.
        if run.outcome != crate::train::Outcome::Stopped
            && let Some(s) = &self.resume
        {
            s.save_finished(run)?;
        }
        Ok(())
    }

    /// Writes test predictions with `write` to a new file `name` (`name-2`, ... when taken) in
    /// this record's folder of the predictions dir, `SUITE-UNIXTIME-seedSEED/`, and returns its
    /// path for the record; `None` when no predictions dir was given.
    pub fn write_predictions(
        &self,
        record: &ExperimentRecord,
        name: &str,
        write: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<Option<String>> {
        let Some(dir) = &self.predictions else {
            return Ok(None);
        };
        let folder = dir.join(format!(
            "{}-{}-seed{}",
            self.suite.name(),
            record.started_unix,
            self.seed
        ));
        let path = crate::atomic::reserve_new_path(&folder.join(name))?;
        write(&path)?;
        Ok(Some(path.display().to_string()))
    }

    /// Saves a trained model into `checkpoints` as `SUITE-NAME-UNIXTIME-seedSEED.safetensors`
    /// (never over another run's weights: each record points to its own file), with the run's
    /// config in its metadata; returns the path written.
    pub fn save_model<M: burn::module::Module>(
        &self,
        name: &str,
        model: &M,
        record: &ExperimentRecord,
    ) -> Result<Option<String>> {
        let Some(dir) = &self.checkpoints else {
            return Ok(None);
        };
        let path = crate::atomic::reserve_new_path(&dir.join(format!(
            "{}-{name}-{}-seed{}.safetensors",
            self.suite.name(),
            record.started_unix,
            self.seed
        )))?;
        crate::model::weights::save_checkpoint(model, &path, &record.config)?;
        Ok(Some(path.display().to_string()))
    }
}

impl Spec {
    /// The runner of `options.part` with its spec; fails on missing data and on settings the
    /// runner cannot use, before anything trains.
    pub fn build(options: &RunOptions) -> Result<Spec> {
        Ok(match options.part {
            Suite::Classification | Suite::Augmentation => Spec::Images(ImageSpec::build(options)?),
            Suite::Segmentation => Spec::Segmentation(SegmentationSpec::build(options)?),
            Suite::Regression => Spec::Regression(RegressionSpec::build(options)?),
        })
    }
}

impl ImageSpec {
    pub fn build(options: &RunOptions) -> Result<ImageSpec> {
        Runner::Images.refuse_unused(options)?;
        let run = RunContext::new(options)?;
        let mut preset = presets::image(options.part, options.profile);
        preset.training = training(preset.training, options);
        if let Some(p) = &options.overrides.augmentation {
            preset.augmentation = p.clone();
        }
        preset.augmentation.validate().map_err(Error::invalid)?;
        if let Some(l) = options.limit {
            preset.train_limit = Some(l);
        }
        let data =
            inputs::resolve_data(options.data.as_deref(), &options.data_dir, preset.dataset)?;
        let pretrained = run.experiments.iter().any(|e| e.pretrained());
        let imagenet_weights = if pretrained {
            inputs::weights_for(options.weights.as_deref(), &options.data_dir)?
        } else {
            None
        };
        Ok(ImageSpec {
            run,
            data,
            preset,
            class_weights: options.class_weights.clone(),
            imagenet_weights,
        })
    }
}

impl SegmentationSpec {
    pub fn build(options: &RunOptions) -> Result<SegmentationSpec> {
        Runner::Segmentation.refuse_unused(options)?;
        let run = RunContext::new(options)?;
        let mut preset = presets::segmentation(options.profile);
        preset.training = training(preset.training, options);
        let o = &options.overrides;
        preset.loss = o.segmentation_loss.unwrap_or(preset.loss);
        preset.split = o.split.unwrap_or(preset.split);
        if let Some(s) = o.input_size {
            preset.prepare = Prepare::Resize(s);
        }
        if let Some(p) = &o.augmentation {
            p.validate().map_err(Error::invalid)?;
        }
        let data = match &options.data {
            Some(p) => p.clone(),
            None => {
                let skin = crate::data::layout::skin_dir(&options.data_dir);
                if !skin.is_dir() {
                    return Err(Error::invalid(format!(
                        "the skin autofluorescence set is not at {}: run `petri data fetch skin-autofluorescence`, \
                         or pass --data FOLDER with images/ and masks/ (another segmentation set)",
                        skin.display()
                    )));
                }
                skin
            }
        };
        Ok(SegmentationSpec {
            run,
            data,
            preset,
            class_weights: options.class_weights.clone(),
            augmentation: o.augmentation.clone(),
            train_limit: options.limit,
        })
    }
}

impl RegressionSpec {
    pub fn build(options: &RunOptions) -> Result<RegressionSpec> {
        Runner::TableRegression.refuse_unused(options)?;
        let run = RunContext::new(options)?;
        let mut preset = presets::regression(options.profile);
        preset.nn_training = training(preset.nn_training, options);
        if let Some([_, _, test]) = options.overrides.split {
            preset.test_fraction = test;
        }
        if let Some(n) = options.limit {
            preset.splits = n.max(1);
        }
        if options.overrides.target.is_some() && options.data.is_none() {
            return Err(Error::invalid(
                "target names a column of a table: give the table with --data",
            ));
        }
        Ok(RegressionSpec {
            run,
            data: options.data.clone(),
            target: options.overrides.target.clone(),
            nn_hidden: options.overrides.nn_hidden.clone().unwrap_or_default(),
            preset,
        })
    }
}

impl TableClassSpec {
    pub fn build(options: &RunOptions) -> Result<TableClassSpec> {
        Runner::TableClasses.refuse_unused(options)?;
        let run = RunContext::new(options)?;
        let (Some(data), Some(target)) = (&options.data, &options.overrides.target) else {
            return Err(Error::invalid(
                "classes from a table need the table and its target column",
            ));
        };
        // The regression part's network settings: the same small MLP on table rows.
        let preset = presets::regression(Profile::Quick);
        Ok(TableClassSpec {
            run,
            data: data.clone(),
            target: target.clone(),
            nn_hidden: options.overrides.nn_hidden.clone().unwrap_or_default(),
            training: training(preset.nn_training, options),
            splits: options.limit.unwrap_or(preset.splits).max(1),
            test_fraction: options
                .overrides
                .split
                .map_or(preset.test_fraction, |s| s[2]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Optimizer;

    fn refusal(options: &RunOptions) -> String {
        Spec::build(options).unwrap_err().to_string()
    }

    #[test]
    fn a_setting_the_runner_cannot_use_is_refused_by_name() {
        let dir = std::env::temp_dir();
        let mut o = RunOptions::new(Suite::Regression, dir.clone());
        o.class_weights = Some(ClassWeights::Balanced);
        let e = refusal(&o);
        assert!(
            e.contains("class_weights (--class-weights)")
                && e.contains("the table regression runner"),
            "{e}"
        );

        let mut o = RunOptions::new(Suite::Classification, dir.clone());
        o.overrides.input_size = Some(64);
        let e = refusal(&o);
        assert!(
            e.contains("input_size") && e.contains("image classifier"),
            "{e}"
        );

        let mut o = RunOptions::new(Suite::Segmentation, dir.clone());
        o.weights = Some("w.pth".into());
        let e = refusal(&o);
        assert!(
            e.contains("--weights") && e.contains("segmentation runner"),
            "{e}"
        );

        let mut o = RunOptions::new(Suite::Augmentation, dir);
        o.overrides.nn_hidden = Some(vec![8]);
        assert!(refusal(&o).contains("hidden"));
    }

    #[test]
    fn training_settings_come_from_the_preset_then_the_plan_then_epochs() {
        let mut o = RunOptions::new(Suite::Regression, std::env::temp_dir());
        let Spec::Regression(spec) = Spec::build(&o).unwrap() else {
            panic!("regression spec expected")
        };
        assert_eq!(
            spec.preset.nn_training,
            presets::regression(Profile::Quick).nn_training
        );

        let plan = TrainingSettings::new(
            Optimizer::Sgd {
                lr: 0.05,
                momentum: 0.5,
            },
            7,
            4,
        )
        .unwrap();
        o.overrides.training = Some(plan);
        o.overrides.split = Some([0.8, 0.0, 0.2]);
        o.limit = Some(3);
        let Spec::Regression(spec) = Spec::build(&o).unwrap() else {
            panic!("regression spec expected")
        };
        assert_eq!(spec.preset.nn_training, plan);
        assert_eq!((spec.preset.test_fraction, spec.preset.splits), (0.2, 3));

        o.epochs = Some(2);
        let Spec::Regression(spec) = Spec::build(&o).unwrap() else {
            panic!("regression spec expected")
        };
        assert_eq!(spec.preset.nn_training.epochs, 2);
        assert_eq!(spec.preset.nn_training.batch_size, 4);
    }

    #[test]
    fn missing_course_data_is_found_before_anything_trains() {
        let empty = std::env::temp_dir().join(format!("petri-spec-{}", std::process::id()));
        let e = refusal(&RunOptions::new(Suite::Segmentation, empty.clone()));
        assert!(e.contains("petri data fetch skin-autofluorescence"), "{e}");
        let e = refusal(&RunOptions::new(Suite::Augmentation, empty));
        assert!(
            e.contains("breastmnist") && e.contains("petri data fetch"),
            "{e}"
        );
    }
}
