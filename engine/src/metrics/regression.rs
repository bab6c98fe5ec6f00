//! Regression errors, in the target's own units (never in scaled units).

pub fn mae(pred: &[f64], truth: &[f64]) -> f64 {
    pred.iter()
        .zip(truth)
        .map(|(p, t)| (p - t).abs())
        .sum::<f64>()
        / truth.len() as f64
}

pub fn mse(pred: &[f64], truth: &[f64]) -> f64 {
    pred.iter()
        .zip(truth)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / truth.len() as f64
}

pub fn rmse(pred: &[f64], truth: &[f64]) -> f64 {
    mse(pred, truth).sqrt()
}

/// Coefficient of determination: 1 - SS_res / SS_tot.
pub fn r2(pred: &[f64], truth: &[f64]) -> f64 {
    let mean = truth.iter().sum::<f64>() / truth.len() as f64;
    let ss_tot: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let ss_res: f64 = pred.iter().zip(truth).map(|(p, t)| (p - t).powi(2)).sum();
    1.0 - ss_res / ss_tot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_by_hand() {
        let truth = [1.0, 2.0, 3.0, 4.0];
        let pred = [1.5, 2.0, 2.0, 4.0];
        assert_eq!(mae(&pred, &truth), 0.375);
        assert_eq!(mse(&pred, &truth), 0.3125);
        assert!((rmse(&pred, &truth) - 0.3125f64.sqrt()).abs() < 1e-12);
        assert!((r2(&pred, &truth) - (1.0 - 1.25 / 5.0)).abs() < 1e-12);
    }
}
