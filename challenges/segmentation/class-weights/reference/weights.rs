//! Median-frequency class weights (reference solution).

pub fn median_frequency_weights(masks: &[Vec<u8>], classes: usize) -> Vec<f32> {
    let mut counts = vec![0u64; classes];
    for mask in masks {
        for &v in mask {
            if let Some(c) = counts.get_mut(v as usize) {
                *c += 1;
            }
        }
    }
    let total = counts.iter().sum::<u64>().max(1) as f64;
    let mut present: Vec<f64> = counts.iter().filter(|&&c| c > 0).map(|&c| c as f64 / total).collect();
    present.sort_by(f64::total_cmp);
    let median = present.get(present.len() / 2).copied().unwrap_or(1.0);
    counts
        .iter()
        .map(|&c| if c == 0 { 0.0 } else { (median / (c as f64 / total)) as f32 })
        .collect()
}
