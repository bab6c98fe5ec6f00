//! Metrics computed from predictions, never taken from a model's own report. Each task has its
//! own file; all of them are plain functions over slices so the grader can use them directly.

pub mod classification;
pub mod regression;
pub mod segmentation;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A metric a run reports (on the test data, over repeated splits or seeds, or on the
/// validation data per epoch). Records keep their metrics as maps keyed by [`Metric::name`]
/// (their JSON is unchanged); code reads and writes those maps through this type
/// ([`MetricMap`], `ModelRun::test_metric`, ...), never by spelling the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    Accuracy,
    BalancedAccuracy,
    Auc,
    /// The loss on the validation or test data (cross-entropy for classification).
    Loss,
    DiceMean,
    IouMean,
    PixelAccuracy,
    /// Dice of the foreground (class 1) of binary segmentation.
    DiceForeground,
    Mae,
    Mse,
    Rmse,
    R2,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::Accuracy,
        Metric::BalancedAccuracy,
        Metric::Auc,
        Metric::Loss,
        Metric::DiceMean,
        Metric::IouMean,
        Metric::PixelAccuracy,
        Metric::DiceForeground,
        Metric::Mae,
        Metric::Mse,
        Metric::Rmse,
        Metric::R2,
    ];

    /// The key records, plans and events use.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::Auc => "auc",
            Metric::Loss => "loss",
            Metric::DiceMean => "dice_mean",
            Metric::IouMean => "iou_mean",
            Metric::PixelAccuracy => "pixel_accuracy",
            Metric::DiceForeground => "dice_foreground",
            Metric::Mae => "mae",
            Metric::Mse => "mse",
            Metric::Rmse => "rmse",
            Metric::R2 => "r2",
        }
    }

    /// The name in words, as sentences show it (`balanced accuracy`, `dice mean`).
    pub fn label(self) -> &'static str {
        match self {
            Metric::BalancedAccuracy => "balanced accuracy",
            Metric::DiceMean => "dice mean",
            Metric::IouMean => "iou mean",
            Metric::PixelAccuracy => "pixel accuracy",
            Metric::DiceForeground => "dice foreground",
            m => m.name(),
        }
    }

    /// The metric `name` names (as [`Metric::name`] spells it).
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Errors and losses: a smaller value is a better model.
    pub fn lower_is_better(self) -> bool {
        matches!(
            self,
            Metric::Loss | Metric::Mae | Metric::Mse | Metric::Rmse
        )
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// A record's map of metrics by name (`test`, `val`, `repeated`), read and written by
/// [`Metric`].
pub trait MetricMap<V: Copy> {
    /// The value of `metric`, when the map has it.
    fn metric(&self, metric: Metric) -> Option<V>;
    /// Sets `metric` to `value`.
    fn set_metric(&mut self, metric: Metric, value: V);
}

impl<V: Copy> MetricMap<V> for BTreeMap<String, V> {
    fn metric(&self, metric: Metric) -> Option<V> {
        self.get(metric.name()).copied()
    }

    fn set_metric(&mut self, metric: Metric, value: V) {
        self.insert(metric.name().to_string(), value);
    }
}

/// Mean and sample standard deviation (n - 1) of repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

impl MeanStd {
    pub fn of(values: &[f64]) -> MeanStd {
        let n = values.len();
        if n == 0 {
            return MeanStd {
                mean: f64::NAN,
                std: f64::NAN,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = if n > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        MeanStd { mean, std, n }
    }
}

impl std::fmt::Display for MeanStd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = f.precision().unwrap_or(4);
        write!(f, "{:.p$} ± {:.p$}", self.mean, self.std)
    }
}

/// Mean of the defined values (classes absent from both prediction and truth are `None`).
pub fn mean_defined(values: &[Option<f64>]) -> Option<f64> {
    let v: Vec<f64> = values.iter().flatten().copied().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_are_the_records_keys() {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(
            names,
            [
                "accuracy",
                "balanced_accuracy",
                "auc",
                "loss",
                "dice_mean",
                "iou_mean",
                "pixel_accuracy",
                "dice_foreground",
                "mae",
                "mse",
                "rmse",
                "r2"
            ]
        );
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
            assert_eq!(m.label(), m.name().replace('_', " "));
        }
        assert_eq!(Metric::from_name("dice"), None);
        assert!(Metric::Rmse.lower_is_better() && !Metric::Accuracy.lower_is_better());
        let mut map = BTreeMap::new();
        map.set_metric(Metric::BalancedAccuracy, 0.5);
        assert_eq!(map["balanced_accuracy"], 0.5);
        assert_eq!(map.metric(Metric::BalancedAccuracy), Some(0.5));
        assert!(map.metric(Metric::Accuracy).is_none());
    }

    #[test]
    fn mean_std_by_hand() {
        let m = MeanStd::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m.mean, 5.0);
        assert!((m.std - 2.138_089_935).abs() < 1e-8);
        assert_eq!(format!("{:.2}", m), "5.00 ± 2.14");
        assert_eq!(mean_defined(&[Some(1.0), None, Some(0.5)]), Some(0.75));
    }
}
