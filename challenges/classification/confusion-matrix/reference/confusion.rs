//! Confusion matrix and per-class recall (reference solution).

/// m[t][p] = how many examples of true class t were predicted as class p.
pub fn confusion_matrix(truth: &[usize], pred: &[usize], classes: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0; classes]; classes];
    for (&t, &p) in truth.iter().zip(pred) {
        if t < classes && p < classes {
            m[t][p] += 1;
        }
    }
    m
}

/// Recall of each class; None for a class with no examples.
pub fn per_class_recall(confusion: &[Vec<u64>]) -> Vec<Option<f64>> {
    confusion
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let total: u64 = row.iter().sum();
            (total > 0).then(|| row[c] as f64 / total as f64)
        })
        .collect()
}
