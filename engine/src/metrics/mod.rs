//! Metrics computed from predictions, never taken from a model's own report. Each task has its
//! own file; all of them are plain functions over slices so the grader can use them directly.

pub mod classification;
pub mod regression;
pub mod segmentation;

use serde::{Deserialize, Serialize};

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
    fn mean_std_by_hand() {
        let m = MeanStd::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m.mean, 5.0);
        assert!((m.std - 2.138_089_935).abs() < 1e-8);
        assert_eq!(format!("{:.2}", m), "5.00 ± 2.14");
        assert_eq!(mean_defined(&[Some(1.0), None, Some(0.5)]), Some(0.75));
    }
}
