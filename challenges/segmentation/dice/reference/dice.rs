//! Dice per class (reference solution).

pub fn dice_per_class(pred: &[u8], truth: &[u8], classes: usize) -> Vec<Option<f64>> {
    let mut counts = vec![(0u64, 0u64, 0u64); classes];
    for (&p, &t) in pred.iter().zip(truth) {
        let (p, t) = (p as usize, t as usize);
        if p == t {
            if p < classes {
                counts[p].0 += 1;
            }
        } else {
            if p < classes {
                counts[p].1 += 1;
            }
            if t < classes {
                counts[t].2 += 1;
            }
        }
    }
    counts
        .into_iter()
        .map(|(tp, fp, fn_)| {
            let d = 2 * tp + fp + fn_;
            (d > 0).then(|| 2.0 * tp as f64 / d as f64)
        })
        .collect()
}
