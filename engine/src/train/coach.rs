//! The coach: watches a run's curves epoch by epoch and says, when it happens, what it sees and
//! which lesson section explains it. Every diagnosis goes to the event stream (the tutor's log,
//! the headless progress) and into the run record. Each kind is said once per run.

use super::EpochRecord;
use crate::metrics::Metric;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Finding {
    /// Validation loss rising for several epochs while the training loss falls.
    Overfitting,
    /// The training loss grew several-fold: the learning rate is too high.
    Diverging,
    /// The training loss stays at chance (ln of the number of classes).
    Stuck,
    /// The training loss barely moves: the learning rate is too low.
    Crawling,
    /// Accuracy looks fine while balanced accuracy is at chance: one class for everything.
    MajorityClass,
    /// The validation metric was still improving at the last epoch: train longer.
    StillImproving,
}

/// What the coach saw, at which epoch, and where the course explains it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub finding: Finding,
    pub epoch: usize,
    pub message: String,
    /// `part: section heading` of the lesson that explains it.
    pub lesson: String,
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "coach: {} (lesson {})", self.message, self.lesson)
    }
}

/// The lesson sections the coach cites, as (part name, heading): `petri content check`
/// verifies that each exists.
pub const SECTIONS_CITED: [(&str, &str); 2] = [
    ("protocol", "Step 4: train, and watch the validation curve"),
    ("protocol", "Step 5: choose a metric that fits the question"),
];

fn cite(i: usize) -> String {
    let (part, heading) = SECTIONS_CITED[i];
    format!("{part}: '{heading}'")
}

/// Epochs of rising validation loss that make over-fitting (noise makes one or two).
const RISING_EPOCHS: usize = 3;

pub struct Coach {
    /// Classes of a single-label classifier (chance loss is ln of it), if the task has them.
    classes: Option<usize>,
    said: Vec<Finding>,
}

impl Coach {
    pub fn new(classes: Option<usize>) -> Coach {
        Coach {
            classes: classes.filter(|&k| k >= 2),
            said: Vec::new(),
        }
    }

    /// The new diagnoses after the newest epoch of `history`.
    pub fn epoch(&mut self, history: &[EpochRecord]) -> Vec<Diagnosis> {
        let found: Vec<Diagnosis> = [
            overfitting(history),
            diverging(history),
            self.stuck(history),
            crawling(history, self.classes),
            majority_class(history, self.classes),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.once(found)
    }

    /// The diagnoses only the end of a run can give (still improving at the last epoch).
    pub fn finish(&mut self, history: &[EpochRecord]) -> Vec<Diagnosis> {
        self.once(still_improving(history).into_iter().collect())
    }

    fn once(&mut self, found: Vec<Diagnosis>) -> Vec<Diagnosis> {
        found
            .into_iter()
            .filter(|d| {
                let new = !self.said.contains(&d.finding);
                self.said.push(d.finding);
                new
            })
            .collect()
    }

    fn stuck(&self, h: &[EpochRecord]) -> Option<Diagnosis> {
        let k = self.classes?;
        let chance = (k as f64).ln();
        let last = h.len().checked_sub(3).map(|i| &h[i..])?;
        let near = last
            .iter()
            .all(|e| (e.train_loss - chance).abs() <= 0.05 * chance);
        near.then(|| Diagnosis {
            finding: Finding::Stuck,
            epoch: h[h.len() - 1].epoch,
            message: format!(
                "the training loss has stayed at {:.3} for 3 epochs, chance for {k} classes (ln {k} = {chance:.3}): the network is not learning; try a larger learning rate, and check that the labels match the inputs",
                last[2].train_loss
            ),
            lesson: cite(0),
        })
    }
}

/// What the coach saw in a model trained once per repeated split: each finding once, with
/// the first split that showed it and how many did.
#[derive(Debug, Default)]
pub struct OverSplits {
    found: std::collections::BTreeMap<Finding, (usize, Diagnosis, usize)>,
}

impl OverSplits {
    /// The diagnoses of split `split` (counted from 1).
    pub fn add(&mut self, split: usize, diagnoses: Vec<Diagnosis>) {
        for d in diagnoses {
            self.found.entry(d.finding).or_insert((split, d, 0)).2 += 1;
        }
    }

    /// One diagnosis per finding, saying in how many of `splits` it was seen.
    pub fn diagnoses(&self, splits: usize) -> Vec<Diagnosis> {
        self.found
            .values()
            .map(|(first, d, n)| Diagnosis {
                message: format!(
                    "in {n} of {splits} splits (first in split {first}): {}",
                    d.message
                ),
                ..d.clone()
            })
            .collect()
    }
}

fn val_loss(e: &EpochRecord) -> Option<f64> {
    e.val_metric(Metric::Loss).filter(|v| v.is_finite())
}

fn overfitting(h: &[EpochRecord]) -> Option<Diagnosis> {
    let w = h.len().checked_sub(RISING_EPOCHS + 1).map(|i| &h[i..])?;
    let losses: Vec<f64> = w.iter().map(val_loss).collect::<Option<_>>()?;
    let rising = losses.windows(2).all(|p| p[1] > p[0]);
    let falling = w[w.len() - 1].train_loss < w[0].train_loss;
    (rising && falling).then(|| Diagnosis {
        finding: Finding::Overfitting,
        epoch: w[w.len() - 1].epoch,
        message: format!(
            "over-fitting: the validation loss rose for {RISING_EPOCHS} epochs ({:.3} -> {:.3}) while the training loss fell ({:.3} -> {:.3}); the model of epoch {} generalised best. Stop earlier, or give it more (augmented) data",
            losses[0],
            losses[losses.len() - 1],
            w[0].train_loss,
            w[w.len() - 1].train_loss,
            w[0].epoch
        ),
        lesson: cite(0),
    })
}

fn diverging(h: &[EpochRecord]) -> Option<Diagnosis> {
    let first = h.first()?.train_loss;
    let last = h.last()?;
    (h.len() >= 2 && first > 0.0 && last.train_loss > 3.0 * first).then(|| Diagnosis {
        finding: Finding::Diverging,
        epoch: last.epoch,
        message: format!(
            "the training loss grew from {first:.3} to {:.3}: training is diverging; lower the learning rate (by 10x)",
            last.train_loss
        ),
        lesson: cite(0),
    })
}

/// The loss became NaN or infinite at `batch` of `epoch`: the run ends there.
pub fn non_finite(loss: f32, epoch: usize, batch: usize, lr: f64) -> Diagnosis {
    let kept = match epoch - 1 {
        0 => "the untrained one".to_string(),
        e => format!("the one after epoch {e}"),
    };
    Diagnosis {
        finding: Finding::Diverging,
        epoch,
        message: format!(
            "the training loss became {loss} at epoch {epoch}, batch {batch}: training diverged and stopped there; the model kept is {kept}. Lower the learning rate (now {lr}) by 10x"
        ),
        lesson: cite(0),
    }
}

fn crawling(h: &[EpochRecord], classes: Option<usize>) -> Option<Diagnosis> {
    if h.len() < 4 {
        return None;
    }
    let (first, last) = (h[0].train_loss, h[h.len() - 1].train_loss);
    // At chance it is `stuck`, which says more.
    let at_chance =
        classes.is_some_and(|k| (last - (k as f64).ln()).abs() <= 0.05 * (k as f64).ln());
    let drop = (first - last) / first.abs().max(1e-12);
    (first > 0.0 && (0.0..0.02).contains(&drop) && !at_chance).then(|| Diagnosis {
        finding: Finding::Crawling,
        epoch: h[h.len() - 1].epoch,
        message: format!(
            "the training loss fell only {:.1}% in {} epochs ({first:.3} -> {last:.3}): the learning rate is probably too low; try 10x larger",
            100.0 * drop,
            h.len()
        ),
        lesson: cite(0),
    })
}

fn majority_class(h: &[EpochRecord], classes: Option<usize>) -> Option<Diagnosis> {
    let k = classes?;
    let e = h.last()?;
    let acc = e.val_metric(Metric::Accuracy)?;
    let balanced = e.val_metric(Metric::BalancedAccuracy)?;
    let chance = 1.0 / k as f64;
    (h.len() >= 2 && balanced <= chance + 0.05 && acc >= balanced + 0.15).then(|| Diagnosis {
        finding: Finding::MajorityClass,
        epoch: e.epoch,
        message: format!(
            "validation accuracy {acc:.3} looks fine but balanced accuracy is {balanced:.3}, chance for {k} classes: the model answers the majority class for everything; weight the classes (--class-weights balanced) and judge it by balanced accuracy or AUC"
        ),
        lesson: cite(1),
    })
}

fn still_improving(h: &[EpochRecord]) -> Option<Diagnosis> {
    let w = h.len().checked_sub(3).map(|i| &h[i..])?;
    let losses: Vec<f64> = w.iter().map(val_loss).collect::<Option<_>>()?;
    let falling = losses.windows(2).all(|p| p[1] < p[0]);
    let meaningful = (losses[0] - losses[2]) > 0.01 * losses[0].abs();
    (falling && meaningful).then(|| Diagnosis {
        finding: Finding::StillImproving,
        epoch: w[2].epoch,
        message: format!(
            "the validation loss was still falling at the last epoch ({:.3} -> {:.3} over the last 2): train longer (more --epochs)",
            losses[0], losses[2]
        ),
        lesson: cite(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(train: &[f64], val_loss: &[f64]) -> Vec<EpochRecord> {
        train
            .iter()
            .zip(val_loss)
            .enumerate()
            .map(|(i, (&t, &v))| EpochRecord {
                epoch: i + 1,
                train_loss: t,
                val: [("loss".to_string(), v)].into(),
                seconds: 1.0,
            })
            .collect()
    }

    /// Runs the coach over the curve as the loop does: after each epoch, then at the end.
    fn watch(h: &[EpochRecord], classes: Option<usize>) -> Vec<Finding> {
        let mut c = Coach::new(classes);
        let mut found: Vec<Finding> = (1..=h.len())
            .flat_map(|n| c.epoch(&h[..n]))
            .map(|d| d.finding)
            .collect();
        found.extend(c.finish(h).into_iter().map(|d| d.finding));
        found
    }

    #[test]
    fn a_healthy_run_raises_no_alarm() {
        let h = curve(
            &[0.69, 0.55, 0.45, 0.40, 0.38, 0.37],
            &[0.62, 0.52, 0.47, 0.45, 0.45, 0.46],
        );
        assert_eq!(watch(&h, Some(2)), []);
    }

    #[test]
    fn over_fitting_is_seen_when_it_starts_and_said_once() {
        let h = curve(
            &[0.60, 0.45, 0.35, 0.25, 0.18, 0.12, 0.08],
            &[0.55, 0.48, 0.50, 0.53, 0.57, 0.60, 0.66],
        );
        let mut c = Coach::new(Some(2));
        let first = (1..=h.len()).find_map(|n| c.epoch(&h[..n]).into_iter().next());
        let d = first.expect("a diagnosis");
        assert_eq!((d.finding, d.epoch), (Finding::Overfitting, 5));
        assert!(
            d.message.contains("epoch 2 generalised best"),
            "{}",
            d.message
        );
        assert_eq!(watch(&h, Some(2)), [Finding::Overfitting]);
    }

    #[test]
    fn divergence_stuck_and_crawling_runs() {
        let exploding = curve(&[0.7, 0.9, 2.5, 8.0], &[0.7, 1.0, 3.0, 9.0]);
        assert!(watch(&exploding, Some(2)).contains(&Finding::Diverging));
        let ln9 = 9f64.ln();
        let stuck = curve(&[ln9 + 0.01, ln9, ln9 - 0.01, ln9], &[ln9; 4]);
        assert_eq!(watch(&stuck, Some(9)), [Finding::Stuck]);
        let crawling = curve(&[0.500, 0.498, 0.496, 0.495], &[0.5, 0.499, 0.498, 0.498]);
        assert!(watch(&crawling, Some(2)).contains(&Finding::Crawling));
    }

    #[test]
    fn majority_class_collapse_and_a_run_cut_short() {
        let mut h = curve(&[0.6, 0.58], &[0.6, 0.59]);
        for e in &mut h {
            e.val.insert("accuracy".into(), 0.73);
            e.val.insert("balanced_accuracy".into(), 0.50);
        }
        assert!(watch(&h, Some(2)).contains(&Finding::MajorityClass));
        let short = curve(&[0.7, 0.6, 0.5, 0.4], &[0.72, 0.63, 0.55, 0.47]);
        assert_eq!(watch(&short, Some(2)), [Finding::StillImproving]);
    }
}
