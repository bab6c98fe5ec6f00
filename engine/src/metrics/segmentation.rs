//! Segmentation metrics over pixels: accuracy, and Dice and IoU per class and their mean.

/// Fraction of pixels whose predicted class is right.
pub fn pixel_accuracy(pred: &[u8], truth: &[u8]) -> f64 {
    if truth.is_empty() {
        return f64::NAN;
    }
    pred.iter().zip(truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64
}

/// Per class: (true positives, false positives, false negatives).
fn counts(pred: &[u8], truth: &[u8], classes: usize) -> Vec<(u64, u64, u64)> {
    let mut c = vec![(0, 0, 0); classes];
    for (&p, &t) in pred.iter().zip(truth) {
        let (p, t) = (p as usize, t as usize);
        if p == t {
            if t < classes {
                c[t].0 += 1;
            }
        } else {
            if p < classes {
                c[p].1 += 1;
            }
            if t < classes {
                c[t].2 += 1;
            }
        }
    }
    c
}

/// Dice = 2TP / (2TP + FP + FN) per class; `None` where the class is in neither mask.
pub fn dice_per_class(pred: &[u8], truth: &[u8], classes: usize) -> Vec<Option<f64>> {
    counts(pred, truth, classes)
        .into_iter()
        .map(|(tp, fp, fn_)| {
            let d = 2 * tp + fp + fn_;
            (d > 0).then(|| 2.0 * tp as f64 / d as f64)
        })
        .collect()
}

/// IoU = TP / (TP + FP + FN) per class; `None` where the class is in neither mask.
pub fn iou_per_class(pred: &[u8], truth: &[u8], classes: usize) -> Vec<Option<f64>> {
    counts(pred, truth, classes)
        .into_iter()
        .map(|(tp, fp, fn_)| {
            let d = tp + fp + fn_;
            (d > 0).then(|| tp as f64 / d as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_and_iou_by_hand() {
        let truth = [0, 0, 1, 1, 1, 2];
        let pred = [0, 1, 1, 1, 0, 2];
        assert!((pixel_accuracy(&pred, &truth) - 4.0 / 6.0).abs() < 1e-12);
        // class 0: tp 1, fp 1, fn 1 -> dice 2/4, iou 1/3. class 1: tp 2 fp 1 fn 1 -> 4/6, 2/4.
        let d = dice_per_class(&pred, &truth, 4);
        assert_eq!(d[0], Some(0.5));
        assert!((d[1].unwrap() - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(d[2], Some(1.0));
        assert_eq!(d[3], None);
        let i = iou_per_class(&pred, &truth, 3);
        assert!((i[0].unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(i[1], Some(0.5));
    }
}
