//! The CPU batch normalization (burn-flex, patched in `patches/burn-flex`: per-channel sums and
//! one pass for the output and one for the input gradient) against the definition in f64:
//! training statistics, output, and the gradients of input, gamma and beta; and inference with
//! given statistics. Shapes reach the serial and the parallel loops, 2-D to 5-D inputs, maps as
//! small as 1 position with many channels, a transposed (non-contiguous) input, and a mean far
//! from zero (where folding the mean into a shift would lose precision). And a burn behaviour
//! the course relies on: the running statistics converge to the data's mean and variance, so
//! evaluation mode normalises like training mode.

use burn::module::Module;
use burn::nn::BatchNormConfig;
use burn::tensor::module::{batch_norm, batch_norm_train};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use petri_engine::rng::Rng;

mod support;
use support::{assert_close, values};

const EPSILON: f64 = 1e-5;

struct Reference {
    output: Vec<f64>,
    mean: Vec<f64>,
    variance: Vec<f64>,
    x_grad: Vec<f64>,
    gamma_grad: Vec<f64>,
    beta_grad: Vec<f64>,
}

/// Batch norm of `x` (`[batch, channels, inner]` in memory) and the gradients of
/// `sum(output * r)`, in f64.
fn reference(dims: &[usize], x: &[f32], gamma: &[f32], beta: &[f32], r: &[f32]) -> Reference {
    let (batch, channels) = (dims[0], dims[1]);
    let inner: usize = dims[2..].iter().product();
    let count = (batch * inner) as f64;
    let at = |n: usize, c: usize, i: usize| (n * channels + c) * inner + i;
    let mut out = Reference {
        output: vec![0.0; x.len()],
        mean: vec![0.0; channels],
        variance: vec![0.0; channels],
        x_grad: vec![0.0; x.len()],
        gamma_grad: vec![0.0; channels],
        beta_grad: vec![0.0; channels],
    };
    for c in 0..channels {
        let each = || (0..batch).flat_map(move |n| (0..inner).map(move |i| at(n, c, i)));
        let mean = each().map(|j| x[j] as f64).sum::<f64>() / count;
        let var = each().map(|j| (x[j] as f64 - mean).powi(2)).sum::<f64>() / count;
        let inv_std = 1.0 / (var + EPSILON).sqrt();
        let xhat = |j: usize| (x[j] as f64 - mean) * inv_std;
        let sum_r = each().map(|j| r[j] as f64).sum::<f64>();
        let sum_r_xhat = each().map(|j| r[j] as f64 * xhat(j)).sum::<f64>();
        for j in each() {
            out.output[j] = xhat(j) * gamma[c] as f64 + beta[c] as f64;
            out.x_grad[j] = gamma[c] as f64
                * inv_std
                * (r[j] as f64 - sum_r / count - xhat(j) * sum_r_xhat / count);
        }
        out.mean[c] = mean;
        out.variance[c] = var;
        out.gamma_grad[c] = sum_r_xhat;
        out.beta_grad[c] = sum_r;
    }
    out
}

fn random(rng: &mut Rng, n: usize, centre: f64) -> Vec<f32> {
    (0..n)
        .map(|_| (centre + rng.uniform(-1.0, 1.0)) as f32)
        .collect()
}

/// Trains one batch norm of a rank-`D` input; `transposed` builds the input as the transpose of
/// its last two axes, so the kernel sees a non-contiguous layout.
fn check<const D: usize>(dims: [usize; D], centre: f64, transposed: bool, seed: u64) {
    let mut rng = Rng::new(seed);
    let n: usize = dims.iter().product();
    let x = random(&mut rng, n, centre);
    let gamma = random(&mut rng, dims[1], 1.0);
    let beta = random(&mut rng, dims[1], 0.0);
    let r = random(&mut rng, n, 0.0);
    let device = Device::flex().autodiff();
    let xt = if transposed {
        // Lay the same values out with the last two axes swapped, then swap them back as a view.
        let mut swapped_dims = dims;
        swapped_dims.swap(D - 1, D - 2);
        let (rows, cols) = (dims[D - 2], dims[D - 1]);
        let mut swapped = vec![0.0f32; n];
        for (block, out) in swapped.chunks_mut(rows * cols).enumerate() {
            for i in 0..rows {
                for j in 0..cols {
                    out[j * rows + i] = x[block * rows * cols + i * cols + j];
                }
            }
        }
        Tensor::<D>::from_data(TensorData::new(swapped, swapped_dims), &device)
            .swap_dims(D - 1, D - 2)
    } else {
        Tensor::<D>::from_data(TensorData::new(x.clone(), dims), &device)
    }
    .require_grad();
    let gt =
        Tensor::<1>::from_data(TensorData::new(gamma.clone(), [dims[1]]), &device).require_grad();
    let bt =
        Tensor::<1>::from_data(TensorData::new(beta.clone(), [dims[1]]), &device).require_grad();
    let rt = Tensor::<D>::from_data(TensorData::new(r.clone(), dims), &device);
    let result = batch_norm_train(xt.clone(), gt.clone(), bt.clone(), EPSILON);
    let grads = (result.output.clone() * rt).sum().backward();
    let want = reference(&dims, &x, &gamma, &beta, &r);
    let label = format!("{dims:?} centre {centre} transposed {transposed} (seed {seed})");
    assert_close(
        &format!("{label} output"),
        &values(result.output),
        &want.output,
    );
    assert_close(
        &format!("{label} mean"),
        &values(result.mean.clone()),
        &want.mean,
    );
    assert_close(
        &format!("{label} variance"),
        &values(result.variance.clone()),
        &want.variance,
    );
    assert_close(
        &format!("{label} input gradient"),
        &values(xt.grad(&grads).unwrap()),
        &want.x_grad,
    );
    assert_close(
        &format!("{label} gamma gradient"),
        &values(gt.grad(&grads).unwrap()),
        &want.gamma_grad,
    );
    assert_close(
        &format!("{label} beta gradient"),
        &values(bt.grad(&grads).unwrap()),
        &want.beta_grad,
    );

    // Inference with the batch's own statistics gives the training output.
    let device = Device::flex();
    let inference = batch_norm(
        Tensor::<D>::from_data(TensorData::new(x.clone(), dims), &device),
        Tensor::<1>::from_data(TensorData::new(gamma, [dims[1]]), &device),
        Tensor::<1>::from_data(TensorData::new(beta, [dims[1]]), &device),
        result.mean.inner(),
        result.variance.inner(),
        EPSILON,
    );
    assert_close(
        &format!("{label} inference"),
        &values(inference),
        &want.output,
    );
}

#[test]
fn batch_norm_and_its_gradients_match_the_definition() {
    // Serial (under 32 Ki values) and parallel loops, and maps from 64x64 down to one position.
    check([2, 3], 0.0, false, 1);
    check([64, 16], 0.0, false, 2);
    check([3, 5, 7], 0.0, false, 3);
    check([2, 4, 5, 6], 0.0, false, 4);
    check([16, 16, 64, 64], 0.0, false, 5);
    check([16, 256, 4, 4], 0.0, false, 6);
    check([8, 64, 1, 1], 0.0, false, 7);
    check([5, 3, 33, 17], 0.0, false, 8);
    check([2, 3, 4, 5, 6], 0.0, false, 9);
}

#[test]
fn a_transposed_input_and_a_large_mean_keep_their_precision() {
    check([4, 6, 9, 13], 0.0, true, 10);
    check([16, 8, 32, 32], 0.0, true, 11);
    check([4, 6, 20, 20], 100.0, false, 12);
    check([16, 8, 32, 32], 100.0, false, 13);
}

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
