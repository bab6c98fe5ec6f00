//! Median-frequency class weights. Replace the body; keep the signature.

pub fn median_frequency_weights(masks: &[Vec<u8>], classes: usize) -> Vec<f32> {
    let _ = masks;
    // Every class the same: this is the unweighted loss.
    vec![1.0; classes]
}
