//! Top-k feature selection on the training rows (reference solution).

pub fn select_features(x_train: &[Vec<f64>], y_train: &[f64], k: usize) -> Vec<usize> {
    let n = y_train.len() as f64;
    let my = y_train.iter().sum::<f64>() / n;
    let cols = x_train.first().map_or(0, Vec::len);
    let scores: Vec<f64> = (0..cols)
        .map(|j| {
            let mx = x_train.iter().map(|r| r[j]).sum::<f64>() / n;
            let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
            for (r, &t) in x_train.iter().zip(y_train) {
                let (dx, dy) = (r[j] - mx, t - my);
                sxy += dx * dy;
                sxx += dx * dx;
                syy += dy * dy;
            }
            let r2 = if sxx == 0.0 || syy == 0.0 { 0.0 } else { sxy * sxy / (sxx * syy) };
            r2 / (1.0 - r2).max(1e-12) * (n - 2.0)
        })
        .collect();
    let mut idx: Vec<usize> = (0..cols).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx.sort_unstable();
    idx
}
