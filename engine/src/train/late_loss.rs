//! Losses read one step late. Reading a loss waits for the device to finish that step, so the
//! loop reads batch b's loss only once batch b+1 is queued: on a GPU the host prepares the next
//! batch while the device works (issue 39), instead of a full synchronisation every batch. The
//! values read, their sums and the events are those of reading each loss at once.

use burn::tensor::Tensor;
use std::time::Instant;

/// The step whose loss has not been read yet.
pub(super) struct LateLoss {
    queued: Option<Queued>,
    last_read: Instant,
}

struct Queued {
    /// Detached: holding it keeps only the value, not the step's autodiff graph.
    loss: Tensor<1>,
    batch: usize,
    examples: usize,
}

/// A step's loss, read.
pub(super) struct ReadLoss {
    pub value: f32,
    /// 1-based, within the epoch.
    pub batch: usize,
    pub examples: usize,
    /// Since the previous read: one step's time once the loop runs steadily.
    pub seconds: f64,
}

impl LateLoss {
    pub fn new() -> Self {
        LateLoss {
            queued: None,
            last_read: Instant::now(),
        }
    }

    /// Queues this step's loss and returns the previous step's, read now.
    pub fn push(&mut self, loss: Tensor<1>, batch: usize, examples: usize) -> Option<ReadLoss> {
        let previous = self.flush();
        self.queued = Some(Queued {
            loss: loss.detach(),
            batch,
            examples,
        });
        previous
    }

    /// The queued step's loss, read now (the end of an epoch, a stop).
    pub fn flush(&mut self) -> Option<ReadLoss> {
        let q = self.queued.take()?;
        let value = q.loss.into_scalar::<f32>();
        let now = Instant::now();
        let seconds = now.duration_since(self.last_read).as_secs_f64();
        self.last_read = now;
        Some(ReadLoss {
            value,
            batch: q.batch,
            examples: q.examples,
            seconds,
        })
    }
}
