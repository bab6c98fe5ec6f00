//! Dice per class. Fix it; keep the signature.

pub fn dice_per_class(pred: &[u8], truth: &[u8], classes: usize) -> Vec<Option<f64>> {
    (0..classes)
        .map(|c| {
            let c = c as u8;
            let tp = pred.iter().zip(truth).filter(|&(&p, &t)| p == c && t == c).count();
            let fp = pred.iter().zip(truth).filter(|&(&p, &t)| p == c && t != c).count();
            let fn_ = pred.iter().zip(truth).filter(|&(&p, &t)| p != c && t == c).count();
            let union = tp + fp + fn_;
            // This is IoU, not Dice.
            (union > 0).then(|| tp as f64 / union as f64)
        })
        .collect()
}
