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
        for e in events {
            let line = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), e, "{line}");
        }
    }
}
