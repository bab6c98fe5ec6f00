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
    model: L::Model,
    config: &TrainConfig,
    device: &Device,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
    checkpoint: Option<&Checkpointing>,
) -> Result<Fitted<L::Model>> {
    let n = check_trainable(learner, config, device)?;
    seed_device(device, config.seed);
    let mut run = Run::start(learner, model, config, checkpoint)?;
    let (drop_last, batches_per_epoch) = batching(n, config.settings.batch_size);
    run.announce(config, n, batches_per_epoch, events);
    let epochs = Epochs {
        learner,
        config,
        device,
        events,
        stop,
        checkpoint,
        n,
        drop_last,
    };
    let first_epoch = run.records.len() + 1;
    let mut progress = Progress::new(batches_per_epoch, config.settings.epochs, first_epoch);
    for epoch in first_epoch..=config.settings.epochs {
        let epoch_start = Instant::now();
        // What a diverged run hands back (parameters are shared, so this costs one copy of
        // the weights at most, and only once the optimiser has replaced them).
        let epoch_start_model = run.model.clone();
        let (model, end) = epochs.train(run.model, &mut run.optim, epoch, &mut progress);
        run.model = model;
        match end {
            EpochEnd::Trained { train_loss } => {
                epochs.finish(&mut run, epoch, train_loss, epoch_start)?;
            }
            EpochEnd::Stopped { batch } => {
                events(Event::Stopped { epoch, batch });
                return Ok(run.fitted(Outcome::Stopped));
            }
            EpochEnd::Diverged(d) => {
                run.note(d, events);
                run.model = epoch_start_model;
                return Ok(run.fitted(Outcome::Diverged));
            }
        }
    }
    for d in run.coach.finish(&run.records) {
        run.note(d, events);
    }
    Ok(run.fitted(Outcome::Finished))
}

/// Refuses what cannot train (no autodiff device, no examples, batch size or epochs of 0);
/// returns the number of training examples.
fn check_trainable<L: Learner>(
    learner: &L,
    config: &TrainConfig,
    device: &Device,
) -> Result<usize> {
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
    Ok(n)
}

/// Seeds the device's global generator with the run's seed.
fn seed_device(device: &Device, seed: u64) {
    // Reseeding the global generator while another thread initialises a model would
    // change that model's weights: take the same lock as `model::init_seeded`.
    let _guard = crate::model::RNG.lock().unwrap_or_else(|e| e.into_inner());
    device.seed(seed);
}

/// Whether an epoch drops its last, incomplete batch, and how many batches it trains on.
fn batching(n: usize, batch_size: usize) -> (bool, usize) {
    // The last, incomplete batch is dropped when there is more than one batch: batch norm's
    // statistics over a handful of examples are noise, and on BreastMNIST (546 = 34 x 16 + 2) a
    // 2-image batch each epoch was enough to stop ResNet-18 learning at all. Shuffling changes
    // which examples wait for the next epoch.
    let drop_last = n > batch_size && !n.is_multiple_of(batch_size);
    let batches_per_epoch = if drop_last {
        n / batch_size
    } else {
        n.div_ceil(batch_size)
    };
    (drop_last, batches_per_epoch)
}

/// What the loop carries from epoch to epoch, and hands back in `Fitted`.
struct Run<M> {
    model: M,
    optim: ModuleOptimizer,
    records: Vec<EpochRecord>,
    coach: coach::Coach,
    diagnoses: Vec<coach::Diagnosis>,
    resumed_after: Option<usize>,
}

impl<M: Module + Clone> Run<M> {
    /// A fresh run of `model`, or the newest saved state when `checkpoint` says to resume.
    fn start<L: Learner<Model = M>>(
        learner: &L,
        model: M,
        config: &TrainConfig,
        checkpoint: Option<&Checkpointing>,
    ) -> Result<Run<M>> {
        let mut run = Run {
            model,
            optim: config.settings.optimizer.build(),
            records: Vec::new(),
            coach: coach::Coach::new(learner.classes()),
            diagnoses: Vec::new(),
            resumed_after: None,
        };
        if let Some(c) = checkpoint
            && let Some(r) = c.load(run.model.clone(), config)?
        {
            run.resumed_after = Some(r.epochs.len());
            run.model = r.model;
            run.optim = r.optimizer;
            run.records = r.epochs;
        }
        Ok(run)
    }

    /// The `Started` event; for a resumed run, a note and the epochs it already has.
    fn announce(
        &self,
        config: &TrainConfig,
        examples: usize,
        batches_per_epoch: usize,
        events: &dyn Fn(Event),
    ) {
        events(Event::Started {
            epochs: config.settings.epochs,
            batches_per_epoch,
            examples,
            trainable_params: crate::model::trainable_params(&self.model),
        });
        if let Some(k) = self.resumed_after {
            events(Event::Note(format!(
                "resumed after epoch {k} of {}",
                config.settings.epochs
            )));
            for r in &self.records {
                events(Event::Epoch(r.clone()));
            }
        }
    }

    /// Sends a diagnosis as a note and keeps it for `Fitted`.
    fn note(&mut self, d: coach::Diagnosis, events: &dyn Fn(Event)) {
        events(Event::Note(d.to_string()));
        self.diagnoses.push(d);
    }

    fn fitted(self, outcome: Outcome) -> Fitted<M> {
        Fitted {
            model: self.model,
            epochs: self.records,
            outcome,
            resumed_after: self.resumed_after,
            diagnoses: self.diagnoses,
        }
    }
}

/// How an epoch's pass over the batches ended.
enum EpochEnd {
    /// Every batch trained: the mean training loss over the examples.
    Trained { train_loss: f64 },
    /// A stop was requested before batch `batch` (0-based).
    Stopped { batch: usize },
    /// A loss was NaN or infinite.
    Diverged(coach::Diagnosis),
}

/// The training loss of an epoch so far: each batch's mean loss times its examples, summed.
#[derive(Default)]
struct EpochLoss {
    sum: f64,
    seen: usize,
}

/// Batches done over the whole run and the time since training started, for the `Batch`
/// events' time left.
struct Progress {
    started: Instant,
    batches_per_epoch: usize,
    done_batches: usize,
    remaining_batches: usize,
}

impl Progress {
    fn new(batches_per_epoch: usize, epochs: usize, first_epoch: usize) -> Progress {
        Progress {
            started: Instant::now(),
            batches_per_epoch,
            done_batches: 0,
            remaining_batches: batches_per_epoch * (epochs + 1).saturating_sub(first_epoch),
        }
    }

    /// Adds a read loss to `loss` and reports it as a `Batch` event; a NaN or infinite one is
    /// instead the diagnosis that ends the run.
    fn account(
        &mut self,
        r: late_loss::ReadLoss,
        epoch: usize,
        config: &TrainConfig,
        loss: &mut EpochLoss,
        events: &dyn Fn(Event),
    ) -> Option<coach::Diagnosis> {
        if !r.value.is_finite() {
            let lr = config.settings.optimizer.lr();
            return Some(coach::non_finite(r.value, epoch, r.batch, lr));
        }
        loss.sum += r.value as f64 * r.examples as f64;
        loss.seen += r.examples;
        self.done_batches += 1;
        let elapsed = self.started.elapsed().as_secs_f64();
        events(Event::Batch {
            epoch,
            batch: r.batch,
            batches: self.batches_per_epoch,
            loss: r.value,
            examples_per_sec: r.examples as f64 / r.seconds.max(1e-9),
            eta_secs: elapsed / self.done_batches as f64
                * self.remaining_batches.saturating_sub(self.done_batches) as f64,
        });
        None
    }
}

/// What every epoch of one `fit_with` call shares.
struct Epochs<'a, L: Learner> {
    learner: &'a L,
    config: &'a TrainConfig,
    device: &'a Device,
    events: &'a dyn Fn(Event),
    stop: &'a AtomicBool,
    checkpoint: Option<&'a Checkpointing>,
    /// Training examples.
    n: usize,
    /// Whether each epoch drops its last, incomplete batch (`batching`).
    drop_last: bool,
}

impl<L: Learner> Epochs<'_, L> {
    /// One pass over the shuffled batches of `epoch`, one optimiser step each, until the end,
    /// a stop request or a non-finite loss. Returns the model as trained so far.
    fn train(
        &self,
        mut model: L::Model,
        optim: &mut ModuleOptimizer,
        epoch: usize,
        progress: &mut Progress,
    ) -> (L::Model, EpochEnd) {
        let config = self.config;
        let mut batches = crate::data::split::batches(
            self.n,
            config.settings.batch_size,
            Some((config.seed, epoch)),
        );
        if self.drop_last {
            batches.pop();
        }
        let mut aug_rng = Rng::derive(config.seed, &format!("augment-epoch-{epoch}"));
        // Each loss is read after the next step is queued (`late_loss.rs`): summed, reported,
        // and checked for NaN one step late. A NaN or infinite one ends the run with the model
        // of the epoch's start (the record and the experiment's other models are kept).
        let mut late = late_loss::LateLoss::new();
        let mut loss = EpochLoss::default();
        let mut account = |r| progress.account(r, epoch, config, &mut loss, self.events);
        for (b, idx) in batches.iter().enumerate() {
            if self.stop.load(Ordering::Relaxed) {
                // The step queued last finished: it is reported before stopping.
                let end = match late.flush().and_then(&mut account) {
                    Some(d) => EpochEnd::Diverged(d),
                    None => EpochEnd::Stopped { batch: b },
                };
                return (model, end);
            }
            let batch_loss = self
                .learner
                .batch_loss(&model, idx, &mut aug_rng, self.device);
            let queued = batch_loss.clone();
            let grads = GradientsParams::from_grads(batch_loss.backward(), &model);
            model = optim.step(config.settings.optimizer.lr(), model, grads);
            if let Some(d) = late.push(queued, b + 1, idx.len()).and_then(&mut account) {
                return (model, EpochEnd::Diverged(d));
            }
        }
        if let Some(d) = late.flush().and_then(&mut account) {
            return (model, EpochEnd::Diverged(d));
        }
        let train_loss = loss.sum / loss.seen.max(1) as f64;
        (model, EpochEnd::Trained { train_loss })
    }

    /// Ends a trained epoch: validates, records it, passes on what the coach sees, and saves
    /// the resumable state.
    fn finish(
        &self,
        run: &mut Run<L::Model>,
        epoch: usize,
        train_loss: f64,
        epoch_start: Instant,
    ) -> Result<()> {
        let val = self
            .learner
            .validate(&run.model.valid(), &self.device.clone().without_autodiff());
        let record = EpochRecord {
            epoch,
            train_loss,
            val,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        (self.events)(Event::Epoch(record.clone()));
        run.records.push(record);
        for d in run.coach.epoch(&run.records) {
            run.note(d, self.events);
        }
        if let Some(c) = self.checkpoint {
            c.save(&run.model, &run.optim, self.config, &run.records)?;
        }
        Ok(())
    }
}
