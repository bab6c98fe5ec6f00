//! Classification metrics with MedMNIST's evaluation rules: multi-class accuracy by argmax,
//! binary by P(last class) > 0.5, multi-label per label at 0.5 then averaged; AUC one-vs-rest,
//! averaged over classes.

/// Index of the largest value (first on ties).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// The predicted class of one row of probabilities under MedMNIST's rules.
pub fn predict(probs: &[f32]) -> usize {
    if probs.len() == 2 {
        usize::from(probs[1] > 0.5)
    } else {
        argmax(probs)
    }
}

pub fn accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    if truth.is_empty() {
        return f64::NAN;
    }
    pred.iter().zip(truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64
}

/// `m[t][p]`: how many of class `t` were predicted as `p`.
pub fn confusion_matrix(pred: &[usize], truth: &[usize], classes: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; classes]; classes];
    for (&p, &t) in pred.iter().zip(truth) {
        if p < classes && t < classes {
            m[t][p] += 1;
        }
    }
    m
}

/// Recall (sensitivity) per class; `None` for a class with no examples.
pub fn per_class_recall(confusion: &[Vec<u64>]) -> Vec<Option<f64>> {
    confusion
        .iter()
        .enumerate()
        .map(|(t, row)| {
            let total: u64 = row.iter().sum();
            (total > 0).then(|| row[t] as f64 / total as f64)
        })
        .collect()
}

/// Area under the ROC curve for scores of a positive class: the probability that a random
/// positive scores above a random negative (ties count half). `None` without both kinds.
pub fn auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let pos = positive.iter().filter(|&&p| p).count();
    let neg = positive.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average ranks over ties, then the Mann-Whitney U statistic.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if positive[k] {
                rank_sum_pos += avg_rank;
            }
        }
        i = j + 1;
    }
    let u = rank_sum_pos - (pos * (pos + 1)) as f64 / 2.0;
    Some(u / (pos * neg) as f64)
}

/// The ROC curve of scores for a positive class: (false positive rate, true positive rate) from
/// (0, 0) to (1, 1), one point per distinct score taken as the threshold (ties move together, so
/// the trapezoids under it add up to `auc`). `None` without both kinds.
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> Option<Vec<(f64, f64)>> {
    let pos = positive.iter().filter(|&&p| p).count() as f64;
    let neg = positive.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            if positive[order[j]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            j += 1;
        }
        points.push((fp / neg, tp / pos));
        i = j;
    }
    Some(points)
}

/// One-vs-rest AUC per class from rows of probabilities.
pub fn auc_per_class(probs: &[Vec<f32>], truth: &[usize]) -> Vec<Option<f64>> {
    let classes = probs.first().map_or(0, Vec::len);
    (0..classes)
        .map(|c| {
            let scores: Vec<f64> = probs.iter().map(|p| p[c] as f64).collect();
            let positive: Vec<bool> = truth.iter().map(|&t| t == c).collect();
            auc(&scores, &positive)
        })
        .collect()
}

/// MedMNIST's AUC: for two classes the AUC of the last class's score, else the one-vs-rest mean.
pub fn auc_macro(probs: &[Vec<f32>], truth: &[usize]) -> Option<f64> {
    let per = auc_per_class(probs, truth);
    if per.len() == 2 {
        return per[1];
    }
    super::mean_defined(&per)
}

/// Multi-label: accuracy per label at 0.5, averaged over labels.
pub fn multilabel_accuracy(probs: &[Vec<f32>], labels: &[Vec<u8>]) -> f64 {
    let width = labels.first().map_or(0, Vec::len);
    if width == 0 {
        return f64::NAN;
    }
    let per: Vec<f64> = (0..width)
        .map(|l| {
            let right = probs
                .iter()
                .zip(labels)
                .filter(|(p, t)| (p[l] > 0.5) == (t[l] == 1))
                .count();
            right as f64 / labels.len() as f64
        })
        .collect();
    per.iter().sum::<f64>() / width as f64
}

/// Multi-label: AUC of each label.
pub fn multilabel_auc(probs: &[Vec<f32>], labels: &[Vec<u8>]) -> Vec<Option<f64>> {
    let width = labels.first().map_or(0, Vec::len);
    (0..width)
        .map(|l| {
            let scores: Vec<f64> = probs.iter().map(|p| p[l] as f64).collect();
            let positive: Vec<bool> = labels.iter().map(|t| t[l] == 1).collect();
            auc(&scores, &positive)
        })
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_area_under_the_roc_curve_is_the_auc() {
        let scores = [0.9, 0.8, 0.8, 0.6, 0.55, 0.4, 0.3, 0.3, 0.1];
        let positive = [true, true, false, true, false, true, false, false, false];
        let curve = super::roc_curve(&scores, &positive).unwrap();
        assert_eq!(curve.first(), Some(&(0.0, 0.0)));
        assert_eq!(curve.last(), Some(&(1.0, 1.0)));
        let area: f64 = curve
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
            .sum();
        assert!((area - super::auc(&scores, &positive).unwrap()).abs() < 1e-12);
        assert!(super::roc_curve(&[0.5], &[true]).is_none());
    }
    use super::*;

    #[test]
    fn accuracy_confusion_and_recall_by_hand() {
        let truth = [0, 0, 1, 1, 2, 2];
        let pred = [0, 1, 1, 1, 2, 0];
        assert!((accuracy(&pred, &truth) - 4.0 / 6.0).abs() < 1e-12);
        let m = confusion_matrix(&pred, &truth, 3);
        assert_eq!(m, vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 1]]);
        assert_eq!(per_class_recall(&m), vec![Some(0.5), Some(1.0), Some(0.5)]);
    }

    #[test]
    fn auc_by_hand_with_ties() {
        // Positives 0.8, 0.4; negatives 0.4, 0.1: pairs (0.8>0.4) (0.8>0.1) (0.4=0.4 half) (0.4>0.1) = 3.5/4.
        let auc = auc(&[0.8, 0.4, 0.4, 0.1], &[true, true, false, false]).unwrap();
        assert!((auc - 0.875).abs() < 1e-12);
        assert_eq!(super::auc(&[0.1, 0.2], &[true, true]), None);
        let probs = vec![vec![0.9, 0.1], vec![0.3, 0.7], vec![0.6, 0.4]];
        assert_eq!(auc_macro(&probs, &[0, 1, 1]), Some(1.0));
        assert_eq!(
            predict(&[0.5, 0.5]),
            0,
            "binary needs P(last) strictly above 0.5"
        );
    }

    #[test]
    fn multilabel_by_hand() {
        let probs = vec![vec![0.9, 0.2], vec![0.1, 0.7]];
        let labels = vec![vec![1, 1], vec![0, 1]];
        assert!((multilabel_accuracy(&probs, &labels) - 0.75).abs() < 1e-12);
        assert_eq!(multilabel_auc(&probs, &labels), vec![Some(1.0), None]);
    }
}
