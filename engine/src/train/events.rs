//! What a training run reports while it runs. The tutor's dashboard, the headless progress
//! printer and the grader all consume the same events.

use super::{Metrics, Outcome};
use crate::metrics::{MeanStd, Metric, MetricMap};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One trained (or fitted) model of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRun {
    pub name: String,
    pub outcome: Outcome,
    /// What the model is, in words ("ResNet-18 ...", "MLP 30 -> 64 -> 1 ...").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    pub trainable_params: Option<usize>,
    pub epochs: Vec<EpochRecord>,
    /// Metrics on the held-out test data.
    pub test: Metrics,
    /// `confusion[t][p]` on the test split (classification).
    pub confusion: Option<Vec<Vec<u64>>>,
    /// Per-class metrics on the test split (`recall`, `dice`, `iou`), by class index.
    pub per_class: BTreeMap<String, Vec<Option<f64>>>,
    /// Metrics over repeated splits (regression): mean and standard deviation.
    pub repeated: BTreeMap<String, MeanStd>,
    /// The trained weights (safetensors), when checkpoints were asked for.
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// The model's test predictions (CSV, see `experiment::predictions`), when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions: Option<String>,
    /// The epoch after which training continued from saved state (`--resume`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_after: Option<usize>,
    /// What the coach saw in the curves (over-fitting, divergence, ...).
    #[serde(default)]
    pub diagnoses: Vec<super::coach::Diagnosis>,
    /// Each seed's result, when the run was repeated over seeds (`--seeds`); `test` and
    /// `repeated` are then their mean and spread.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_seed: Vec<SeedRun>,
    pub seconds: f64,
}

/// One seed's result of a model run repeated over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedRun {
    pub seed: u64,
    pub outcome: Outcome,
    pub test: Metrics,
    pub checkpoint: Option<String>,
    /// This seed's test predictions (CSV), when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions: Option<String>,
}

impl ModelRun {
    pub fn new(name: impl Into<String>) -> Self {
        ModelRun {
            name: name.into(),
            outcome: Outcome::Finished,
            architecture: None,
            trainable_params: None,
            epochs: Vec::new(),
            test: Metrics::new(),
            confusion: None,
            per_class: BTreeMap::new(),
            repeated: BTreeMap::new(),
            checkpoint: None,
            predictions: None,
            resumed_after: None,
            diagnoses: Vec::new(),
            per_seed: Vec::new(),
            seconds: 0.0,
        }
    }

    /// `metric` on the test data.
    pub fn test_metric(&self, metric: Metric) -> Option<f64> {
        self.test.metric(metric)
    }

    /// Sets `metric` on the test data.
    pub fn set_test(&mut self, metric: Metric, value: f64) {
        self.test.set_metric(metric, value);
    }

    /// `metric`'s mean and spread over repeated splits or seeds.
    pub fn repeated_metric(&self, metric: Metric) -> Option<MeanStd> {
        self.repeated.metric(metric)
    }

    /// Sets `metric`'s mean and spread over repeated splits or seeds.
    pub fn set_repeated(&mut self, metric: Metric, value: MeanStd) {
        self.repeated.set_metric(metric, value);
    }

    /// Why this model's metrics are not those of a finished run, in one sentence (`None` when
    /// it finished): the command line and the tutor say it the same way.
    pub fn unfinished(&self) -> Option<String> {
        let n = self.epochs.len();
        match self.outcome {
            Outcome::Finished => None,
            Outcome::Stopped => Some(format!(
                "stopped after {n} epoch(s); its metrics are of the model as it was then"
            )),
            Outcome::Diverged => Some(format!(
                "diverged (the loss became NaN or infinite); its metrics are of the model after epoch {n}"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    /// Validation metrics (including `loss` where the task defines one).
    pub val: Metrics,
    pub seconds: f64,
}

impl EpochRecord {
    /// `metric` on the validation data after this epoch.
    pub fn val_metric(&self, metric: Metric) -> Option<f64> {
        self.val.metric(metric)
    }
}

/// Serialised (a job's `events.jsonl`) as `{"event": "epoch", "data": {...}}`: adjacent tags,
/// because `Note` and `Samples` carry a string and a list, which an internal tag cannot hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "kebab-case")]
pub enum Event {
    /// A run (one model of an experiment) begins.
    RunStarted {
        name: String,
    },
    Started {
        epochs: usize,
        batches_per_epoch: usize,
        examples: usize,
        trainable_params: usize,
    },
    Batch {
        epoch: usize,
        batch: usize,
        batches: usize,
        loss: f32,
        examples_per_sec: f64,
        eta_secs: f64,
    },
    Epoch(EpochRecord),
    /// Free text for the log (e.g. "split 3 of 20").
    Note(String),
    Stopped {
        epoch: usize,
        batch: usize,
    },
    /// A few test examples with the trained model's answers, for the dashboard's grid.
    Samples(Vec<Sample>),
    /// A model of the experiment is done (trained and tested, or stopped): its results, so
    /// they can be shown before the whole experiment ends. `class_names` label `per_class`.
    RunFinished {
        run: Box<ModelRun>,
        class_names: Vec<String>,
    },
}

/// One test example: the image as stored (HWC `u8`), its true and predicted label, and for
/// segmentation the true and predicted masks (class per pixel, row by row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub pixels: Vec<u8>,
    pub truth: String,
    pub predicted: String,
    #[serde(default)]
    pub truth_mask: Option<Vec<u8>>,
    #[serde(default)]
    pub predicted_mask: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_through_json() {
        let sample = Sample {
            height: 1,
            width: 1,
            channels: 1,
            pixels: vec![7],
            truth: "a".into(),
            predicted: "b".into(),
            truth_mask: None,
            predicted_mask: Some(vec![1]),
        };
        let events = [
            Event::RunStarted { name: "x".into() },
            Event::Note("hello".into()),
            Event::Samples(vec![sample]),
            Event::Stopped { epoch: 1, batch: 2 },
            Event::Epoch(EpochRecord {
                epoch: 1,
                train_loss: 0.5,
                val: [("accuracy".to_string(), 0.75)].into_iter().collect(),
                seconds: 1.0,
            }),
        ];
        let mut run = ModelRun::new("scratch (seed 1)");
        run.outcome = Outcome::Stopped;
        run.architecture = Some("ResNet-18".into());
        run.trainable_params = Some(11_000_000);
        run.test.insert("accuracy".into(), 0.8125);
        run.confusion = Some(vec![vec![3, 1], vec![0, 4]]);
        run.per_class
            .insert("recall".into(), vec![Some(0.75), None]);
        run.repeated.insert(
            "accuracy".into(),
            MeanStd {
                mean: 0.8125,
                std: 0.01,
                n: 2,
            },
        );
        run.checkpoint = Some("w.safetensors".into());
        run.predictions = Some("p.csv".into());
        run.resumed_after = Some(1);
        run.diagnoses.push(super::super::coach::Diagnosis {
            finding: super::super::coach::Finding::Overfitting,
            epoch: 2,
            message: "m".into(),
            lesson: "l".into(),
        });
        run.per_seed.push(SeedRun {
            seed: 1,
            outcome: Outcome::Diverged,
            test: run.test.clone(),
            checkpoint: None,
            predictions: Some("q.csv".into()),
        });
        run.seconds = 2.5;
        let events = events.into_iter().chain([
            Event::Started {
                epochs: 3,
                batches_per_epoch: 4,
                examples: 64,
                trainable_params: 100,
            },
            Event::Batch {
                epoch: 1,
                batch: 2,
                batches: 4,
                loss: 0.25,
                examples_per_sec: 120.5,
                eta_secs: 3.0,
            },
            // The one the tutor reads back from a job's events.jsonl.
            Event::RunFinished {
                run: Box::new(run),
                class_names: vec!["malignant".into(), "normal, benign".into()],
            },
        ]);
        let mut seen = std::collections::BTreeSet::new();
        for e in events {
            // Adding a variant fails to compile here until the test covers it.
            seen.insert(match &e {
                Event::RunStarted { .. } => "run-started",
                Event::Started { .. } => "started",
                Event::Batch { .. } => "batch",
                Event::Epoch(_) => "epoch",
                Event::Note(_) => "note",
                Event::Stopped { .. } => "stopped",
                Event::Samples(_) => "samples",
                Event::RunFinished { .. } => "run-finished",
            });
            let line = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), e, "{line}");
        }
        assert_eq!(seen.len(), 8, "every variant round-trips: {seen:?}");
    }
}
