//! The fold of a training run's event stream (`petri_engine::train::Event`) into what is shown
//! of it: the current model, epoch and batch, the loss and throughput so far, the epochs'
//! history, a short log, the finished models, and the test samples for figures. One type for
//! the tutor and the headless printer, so both count the same way.

use petri_engine::experiment::ExperimentRecord;
use petri_engine::metrics::Metric;
use petri_engine::train::{EpochRecord, Event};

/// What a run's events add up to: the one fold of the stream. The tutor's experiment screen
/// draws it, and the headless printer (`petri run`, jobs) prints beside it; tests script it.
#[derive(Default)]
pub struct RunState {
    pub run: String,
    pub epochs: usize,
    pub batches_per_epoch: usize,
    pub epoch: usize,
    pub batch: usize,
    pub losses: Vec<f32>,
    pub throughput: Vec<f64>,
    pub eta_secs: f64,
    pub history: Vec<(String, EpochRecord)>,
    pub log: Vec<String>,
    pub record: Option<ExperimentRecord>,
    pub error: Option<String>,
    pub stopping: bool,
    /// Test examples with the trained model's answers.
    pub samples: Vec<petri_engine::train::Sample>,
    /// Models that finished, shown in the results pane before the whole experiment ends.
    pub finished: Vec<petri_engine::train::ModelRun>,
    pub class_names: Vec<String>,
    /// Every run's test samples, for the sample figure (`w`).
    pub sheet: petri_engine::experiment::record::SampleSheet,
}

impl RunState {
    pub fn apply(&mut self, event: Event) {
        self.sheet.see(&event);
        match event {
            Event::RunStarted { name } => {
                self.run = name.clone();
                self.losses.clear();
                self.throughput.clear();
                self.log.push(format!("started {name}"));
            }
            Event::Started {
                epochs,
                batches_per_epoch,
                examples,
                trainable_params,
            } => {
                self.epochs = epochs;
                self.batches_per_epoch = batches_per_epoch;
                self.epoch = 0;
                self.batch = 0;
                self.log.push(format!(
                    "{examples} examples, {trainable_params} trainable parameters"
                ));
            }
            Event::Batch {
                epoch,
                batch,
                loss,
                examples_per_sec,
                eta_secs,
                ..
            } => {
                self.epoch = epoch;
                self.batch = batch;
                self.losses.push(loss);
                self.throughput.push(examples_per_sec);
                self.eta_secs = eta_secs;
            }
            Event::Epoch(r) => {
                let acc = r
                    .val_metric(Metric::Accuracy)
                    .or(r.val_metric(Metric::PixelAccuracy));
                self.log.push(format!(
                    "epoch {} train loss {:.3}{}",
                    r.epoch,
                    r.train_loss,
                    acc.map(|a| format!(", val accuracy {a:.3}"))
                        .unwrap_or_default()
                ));
                self.history.push((self.run.clone(), r));
            }
            Event::Note(n) => self.log.push(n),
            Event::Stopped { epoch, batch } => self
                .log
                .push(format!("stopped in epoch {epoch}, batch {batch}")),
            Event::Samples(s) => self.samples = s,
            Event::RunFinished { run, class_names } => {
                self.log.push(format!("{} done", run.name));
                self.finished.retain(|r| r.name != run.name);
                self.finished.push(*run);
                self.class_names = class_names;
            }
        }
    }

    /// The run failed: the header says so, and the log holds the whole reason (a header is one
    /// row; a reason with the command that recovers the run is longer).
    pub fn fail(&mut self, reason: String) {
        self.log.push(format!("failed: {reason}"));
        self.error = Some(reason);
    }

    /// The share of the current model's batches done, 0 to 1.
    pub fn progress(&self) -> f64 {
        let total = (self.epochs * self.batches_per_epoch).max(1);
        let done = (self.epoch.saturating_sub(1)) * self.batches_per_epoch + self.batch;
        (done as f64 / total as f64).clamp(0.0, 1.0)
    }
}
