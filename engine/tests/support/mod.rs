//! Helpers shared by the kernel tests (`convolution.rs`, `batch_norm.rs`): read a tensor back
//! and compare it with an f64 reference.

use burn::tensor::Tensor;

pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// Every value within 1e-4 of the reference, relative to the reference's largest magnitude
/// (or 1, when all are smaller).
pub fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (*g as f64 - w).abs() / scale;
        assert!(
            err <= 1e-4,
            "{what}[{i}]: {g} vs {w} (relative error {err:.2e})"
        );
    }
}
