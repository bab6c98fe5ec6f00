//! The training loop, shared by every experiment. A `Learner` says how to compute a batch's
//! loss and how to evaluate; `fit` runs epochs, sends `Event`s, honours a stop request at the
//! next batch, and keeps every random choice tied to the run's seed.

pub mod checkpoint;
pub mod coach;
pub mod contiguous;
pub mod events;
mod late_loss;
pub mod settings;
pub mod sgd;

pub use checkpoint::Checkpointing;
pub use events::{EpochRecord, Event, ModelRun, Sample, SeedRun};
pub use settings::TrainingSettings;

use crate::rng::Rng;
use crate::{Error, Result};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The optimisers the course uses. SGD's dampening is 0, as in PyTorch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Optimizer {
    Sgd { lr: f64, momentum: f64 },
    Adam { lr: f64 },
}

impl Optimizer {
    /// The optimiser as experiment files and plans name it: `sgd` (with momentum) or `adam`.
    pub fn named(name: &str, lr: f64, momentum: f64) -> Result<Optimizer, String> {
        match name {
            "sgd" => Ok(Optimizer::Sgd { lr, momentum }),
            "adam" => Ok(Optimizer::Adam { lr }),
            other => Err(format!("optimizer '{other}' is not one of: sgd, adam")),
        }
    }

    /// As files name it (`Optimizer::named`).
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd { .. } => "sgd",
            Optimizer::Adam { .. } => "adam",
        }
    }

    pub fn lr(&self) -> f64 {
        match self {
            Optimizer::Sgd { lr, .. } | Optimizer::Adam { lr } => *lr,
        }
    }

    /// A fresh optimiser state (momentum or moment buffers) for one training run.
    pub fn build(&self) -> ModuleOptimizer {
        match self {
            Optimizer::Sgd { momentum, .. } if *momentum > 0.0 => {
                ModuleOptimizer::from(sgd::SgdMomentum {
                    momentum: *momentum,
                })
            }
            Optimizer::Sgd { .. } => {
                ModuleOptimizer::from(contiguous::ContiguousGrads(SgdConfig::new().build()))
            }
            Optimizer::Adam { .. } => {
                ModuleOptimizer::from(contiguous::ContiguousGrads(AdamConfig::new().build()))
            }
        }
    }
}

/// One training run: its settings and the seed of its random choices (initialisation aside,
/// which the caller seeds: batch order and augmentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    #[serde(flatten)]
    pub settings: TrainingSettings,
    pub seed: u64,
}

/// Metrics of one evaluation, by name (`accuracy`, `auc`, `loss`, `dice_mean`, ...).
pub type Metrics = BTreeMap<String, f64>;

/// What a task supplies to the loop.
pub trait Learner {
    type Model: Module + Clone;

    /// Number of training examples (after any duplication for combined augmentation).
    fn train_len(&self) -> usize;

    /// The mean loss of the examples `indices` (on an autodiff device). `rng` drives any
    /// augmentation of this batch.
    fn batch_loss(
        &self,
        model: &Self::Model,
        indices: &[usize],
        rng: &mut Rng,
        device: &Device,
    ) -> Tensor<1>;

    /// Metrics on the validation split, computed from the model's predictions.
    fn validate(&self, model: &Self::Model, device: &Device) -> Metrics;

    /// Classes of a single-label classification (its chance loss is ln of it), for the coach.
    fn classes(&self) -> Option<usize> {
        None
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Finished,
    Stopped,
    /// The loss became NaN or infinite; the model is the one of the last finished epoch.
    Diverged,
}

pub struct Fitted<M> {
    pub model: M,
    pub epochs: Vec<EpochRecord>,
    pub outcome: Outcome,
    /// The epoch this process continued after, when it resumed a saved state.
    pub resumed_after: Option<usize>,
    /// What the coach saw in the curves (also sent as notes while training).
    pub diagnoses: Vec<coach::Diagnosis>,
}

/// Trains `model` on `learner`'s data. `device` must be an autodiff device.
pub fn fit<L: Learner>(
    learner: &L,
    model: L::Model,
    config: &TrainConfig,
    device: &Device,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<Fitted<L::Model>> {
    fit_with(learner, model, config, device, events, stop, None)
}

/// `fit`, saving a resumable state after every epoch into `checkpoint` (and continuing from the
/// newest one when it says to resume).
pub fn fit_with<L: Learner>(
    learner: &L,
    mut model: L::Model,
    config: &TrainConfig,
    device: &Device,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
    checkpoint: Option<&Checkpointing>,
) -> Result<Fitted<L::Model>> {
    if !device.is_autodiff() {
        return Err(Error::invalid("training needs an autodiff device"));
    }
    let n = learner.train_len();
    if n == 0 || config.settings.batch_size == 0 || config.settings.epochs == 0 {
        return Err(Error::invalid(format!(
            "nothing to train: {n} examples, batch size {}, {} epochs",
            config.settings.batch_size, config.settings.epochs
        )));
    }
    {
        // Reseeding the global generator while another thread initialises a model would
        // change that model's weights: take the same lock as `model::init_seeded`.
        let _guard = crate::model::RNG.lock().unwrap_or_else(|e| e.into_inner());
        device.seed(config.seed);
    }
    let mut optim = config.settings.optimizer.build();
    let mut records = Vec::new();
    let mut coach = coach::Coach::new(learner.classes());
    let mut diagnoses = Vec::new();
    let mut resumed_after = None;
    if let Some(c) = checkpoint
        && let Some(r) = c.load(model.clone(), config)?
    {
        resumed_after = Some(r.epochs.len());
        model = r.model;
        optim = r.optimizer;
        records = r.epochs;
    }
    // The last, incomplete batch is dropped when there is more than one batch: batch norm's
    // statistics over a handful of examples are noise, and on BreastMNIST (546 = 34 x 16 + 2) a
    // 2-image batch each epoch was enough to stop ResNet-18 learning at all. Shuffling changes
    // which examples wait for the next epoch.
    let drop_last = n > config.settings.batch_size && !n.is_multiple_of(config.settings.batch_size);
    let batches_per_epoch = if drop_last {
        n / config.settings.batch_size
    } else {
        n.div_ceil(config.settings.batch_size)
    };
    events(Event::Started {
        epochs: config.settings.epochs,
        batches_per_epoch,
        examples: n,
        trainable_params: crate::model::trainable_params(&model),
    });
    if let Some(k) = resumed_after {
        events(Event::Note(format!(
            "resumed after epoch {k} of {}",
            config.settings.epochs
        )));
        for r in &records {
            events(Event::Epoch(r.clone()));
        }
    }

    let started = Instant::now();
    let first_epoch = records.len() + 1;
    let mut done_batches = 0usize;
    let remaining_batches =
        batches_per_epoch * (config.settings.epochs + 1).saturating_sub(first_epoch);
    for epoch in first_epoch..=config.settings.epochs {
        let epoch_start = Instant::now();
        // What a diverged run hands back (parameters are shared, so this costs one copy of
        // the weights at most, and only once the optimiser has replaced them).
        let epoch_start_model = model.clone();
        let mut loss_sum = 0.0;
        let mut seen = 0usize;
        let mut batches =
            crate::data::split::batches(n, config.settings.batch_size, Some((config.seed, epoch)));
        if drop_last {
            batches.pop();
        }
        let mut aug_rng = Rng::derive(config.seed, &format!("augment-epoch-{epoch}"));
        // Each loss is read after the next step is queued (`late_loss.rs`): summed, reported,
        // and checked for NaN one step late. A NaN or infinite one ends the run with the model
        // of the epoch's start (the record and the experiment's other models are kept).
        let mut late = late_loss::LateLoss::new();
        let mut account = |r: late_loss::ReadLoss| -> Option<coach::Diagnosis> {
            if !r.value.is_finite() {
                let lr = config.settings.optimizer.lr();
                return Some(coach::non_finite(r.value, epoch, r.batch, lr));
            }
            loss_sum += r.value as f64 * r.examples as f64;
            seen += r.examples;
            done_batches += 1;
            let elapsed = started.elapsed().as_secs_f64();
            events(Event::Batch {
                epoch,
                batch: r.batch,
                batches: batches_per_epoch,
                loss: r.value,
                examples_per_sec: r.examples as f64 / r.seconds.max(1e-9),
                eta_secs: elapsed / done_batches as f64
                    * remaining_batches.saturating_sub(done_batches) as f64,
            });
            None
        };
        let mut diverged = None;
        for (b, idx) in batches.iter().enumerate() {
            if stop.load(Ordering::Relaxed) {
                // The step queued last finished: it is reported before stopping.
                diverged = late.flush().and_then(&mut account);
                if diverged.is_none() {
                    events(Event::Stopped { epoch, batch: b });
                    return Ok(Fitted {
                        model,
                        epochs: records,
                        outcome: Outcome::Stopped,
                        resumed_after,
                        diagnoses,
                    });
                }
                break;
            }
            let loss = learner.batch_loss(&model, idx, &mut aug_rng, device);
            let queued = loss.clone();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.settings.optimizer.lr(), model, grads);
            diverged = late.push(queued, b + 1, idx.len()).and_then(&mut account);
            if diverged.is_some() {
                break;
            }
        }
        if diverged.is_none() {
            diverged = late.flush().and_then(&mut account);
        }
        if let Some(d) = diverged {
            events(Event::Note(d.to_string()));
            diagnoses.push(d);
            return Ok(Fitted {
                model: epoch_start_model,
                epochs: records,
                outcome: Outcome::Diverged,
                resumed_after,
                diagnoses,
            });
        }
        let train_loss = loss_sum / seen.max(1) as f64;
        let val = learner.validate(&model.valid(), &device.clone().without_autodiff());
        let record = EpochRecord {
            epoch,
            train_loss,
            val,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        events(Event::Epoch(record.clone()));
        records.push(record);
        for d in coach.epoch(&records) {
            events(Event::Note(d.to_string()));
            diagnoses.push(d);
        }
        if let Some(c) = checkpoint {
            c.save(&model, &optim, config, &records)?;
        }
    }
    for d in coach.finish(&records) {
        events(Event::Note(d.to_string()));
        diagnoses.push(d);
    }
    Ok(Fitted {
        model,
        epochs: records,
        outcome: Outcome::Finished,
        resumed_after,
        diagnoses,
    })
}
