//! What a training run reports while it runs. The tutor's dashboard, the headless progress
//! printer and the grader all consume the same events.

use super::Metrics;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    /// Validation metrics (including `loss` where the task defines one).
    pub val: Metrics,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
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
}
