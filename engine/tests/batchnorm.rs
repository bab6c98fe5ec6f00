//! Guards a burn behaviour the course relies on: BatchNorm's running statistics converge to the
//! data's mean and variance, so evaluation mode normalises like training mode.

use burn::module::Module;
use burn::nn::BatchNormConfig;
use burn::tensor::{Device, Distribution, Tensor};

#[test]
fn running_statistics_track_the_data() {
    let device = Device::flex().autodiff();
    let bn = BatchNormConfig::new(2).init(&device);
    for _ in 0..100 {
        let x = Tensor::<4>::random([16, 2, 4, 4], Distribution::Normal(3.0, 2.0), &device);
        let _ = bn.forward(x);
    }
    let mean = bn
        .running_mean
        .value()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let var = bn
        .running_var
        .value()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert!(
        mean.iter().all(|m| (m - 3.0).abs() < 0.3),
        "running mean {mean:?}"
    );
    assert!(
        var.iter().all(|v| (v - 4.0).abs() < 0.6),
        "running var {var:?}"
    );
    // Evaluation output of fresh data is then roughly standardised.
    let eval = bn.valid();
    let x = Tensor::<4>::random(
        [64, 2, 4, 4],
        Distribution::Normal(3.0, 2.0),
        &device.clone().without_autodiff(),
    );
    let y = eval.forward(x).into_data().try_to_vec::<f32>().unwrap();
    let m = y.iter().sum::<f32>() / y.len() as f32;
    let v = y.iter().map(|a| (a - m) * (a - m)).sum::<f32>() / y.len() as f32;
    assert!(
        m.abs() < 0.2 && (v - 1.0).abs() < 0.3,
        "eval output mean {m} var {v}"
    );
}
