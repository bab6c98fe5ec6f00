//! The CPU max pooling (burn-flex) against the definition: the output and the gradient, which
//! goes to each window's first largest input (PyTorch's rule: ties after a ReLU are common), with
//! padding, strides, dilation, ceil mode and windows of two shapes, and ResNet-18's 3x3
//! stride-2 pooling of a 14x14 map; NaN wins (its last one in the window) and a window of -inf
//! reports its first tap. A guard for changes to the pooling kernel.

use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor, TensorData};
use petri_engine::rng::Rng;

mod support;
use support::{assert_close, values};

/// Max pooling of `x` (`[b, c, h, w]`) and the gradient of `sum(out * g)` with `g` drawn from
/// `rng`: (output, input gradient, g, output size).
fn pool_and_gradient(
    x: &[f32],
    [b, c, h, w]: [usize; 4],
    options: MaxPoolOptions<2>,
    rng: &mut Rng,
) -> (Vec<f32>, Vec<f32>, Vec<f32>, [usize; 2]) {
    let device = Device::flex().autodiff();
    let xt =
        Tensor::<4>::from_data(TensorData::new(x.to_vec(), [b, c, h, w]), &device).require_grad();
    let out = max_pool2d(xt.clone(), options);
    let [_, _, oh, ow] = out.dims();
    let g: Vec<f32> = (0..b * c * oh * ow)
        .map(|_| rng.uniform(-1.0, 1.0) as f32)
        .collect();
    let gt = Tensor::<4>::from_data(TensorData::new(g.clone(), [b, c, oh, ow]), &device);
    let grads = (out.clone() * gt).sum().backward();
    let dx = values(xt.grad(&grads).unwrap());
    (values(out), dx, g, [oh, ow])
}

/// The definition: for each window, the tap it reports (the first largest; NaN always wins,
/// so the last NaN) and its value, planes in order.
#[allow(clippy::too_many_arguments)]
fn definition(
    x: &[f32],
    planes: usize,
    [h, w]: [usize; 2],
    [oh, ow]: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    pad: [usize; 2],
    dil: usize,
) -> Vec<(f32, usize)> {
    let mut picks = Vec::new();
    for plane in 0..planes {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best: Option<(f32, usize)> = None;
                for ky in 0..kernel[0] {
                    for kx in 0..kernel[1] {
                        let iy = (oy * stride[0] + ky * dil) as isize - pad[0] as isize;
                        let ix = (ox * stride[1] + kx * dil) as isize - pad[1] as isize;
                        if !(0..h as isize).contains(&iy) || !(0..w as isize).contains(&ix) {
                            continue;
                        }
                        let at = plane * h * w + iy as usize * w + ix as usize;
                        if best.is_none_or(|(v, _)| x[at] > v || x[at].is_nan()) {
                            best = Some((x[at], at));
                        }
                    }
                }
                picks.push(best.expect("every window sees the input"));
            }
        }
    }
    picks
}

#[test]
fn max_pooling_and_its_gradient_match_the_definition() {
    let mut rng = Rng::new(7);
    // (height, width, kernel, stride, padding, dilation, ceil mode)
    let cases = [
        (14, 14, [3, 3], [2, 2], [1, 1], 1, false),
        (7, 9, [3, 3], [2, 2], [1, 1], 1, true),
        (5, 6, [2, 2], [2, 2], [0, 0], 1, false),
        (8, 8, [3, 3], [1, 1], [1, 1], 2, false),
        (1, 3, [3, 3], [2, 2], [1, 1], 1, true),
        (9, 11, [2, 3], [1, 2], [1, 0], 1, false),
    ];
    for (h, w, kernel, stride, pad, dil, ceil) in cases {
        // Distinct values, and a ReLU of a few levels: most windows then hold ties (zeros),
        // where the gradient must go to the first.
        for ties in [false, true] {
            let (b, c) = (3, 4);
            let label =
                format!("{h}x{w} k{kernel:?} s{stride:?} p{pad:?} d{dil} ceil {ceil} ties {ties}");
            let x: Vec<f32> = (0..b * c * h * w)
                .map(|_| {
                    let v = rng.uniform(-1.0, 1.0) as f32;
                    if ties {
                        (v * 2.0).round().max(0.0) / 2.0
                    } else {
                        v
                    }
                })
                .collect();
            let options = MaxPoolOptions::new(kernel)
                .with_stride(stride)
                .with_padding(pad)
                .with_dilation([dil; 2])
                .with_ceil_mode(ceil);
            let (out, dx, g, [oh, ow]) = pool_and_gradient(&x, [b, c, h, w], options, &mut rng);
            let picks = definition(&x, b * c, [h, w], [oh, ow], kernel, stride, pad, dil);
            let want: Vec<f64> = picks.iter().map(|&(v, _)| v as f64).collect();
            let mut want_dx = vec![0f64; x.len()];
            for (&(_, at), &g) in picks.iter().zip(&g) {
                want_dx[at] += g as f64;
            }
            assert_close(&format!("{label} output"), &out, &want);
            assert_close(&format!("{label} input gradient"), &dx, &want_dx);
        }
    }
}

#[test]
fn nan_wins_max_pooling_and_a_window_of_minus_infinity_reports_its_first_tap() {
    let mut rng = Rng::new(11);
    let (h, w) = (6, 6);
    let mut x: Vec<f32> = (0..2 * h * w)
        .map(|_| rng.uniform(-1.0, 1.0) as f32)
        .collect();
    // Two NaNs in the first windows of plane 0, a plane of -inf but for one value.
    x[0] = f32::NAN;
    x[7] = f32::NAN;
    for v in &mut x[h * w..] {
        *v = f32::NEG_INFINITY;
    }
    x[h * w + 20] = 0.5;
    let options = MaxPoolOptions::new([3, 3])
        .with_stride([2, 2])
        .with_padding([1, 1]);
    let (out, dx, g, [oh, ow]) = pool_and_gradient(&x, [1, 2, h, w], options, &mut rng);
    let picks = definition(&x, 2, [h, w], [oh, ow], [3, 3], [2, 2], [1, 1], 1);
    for (i, (&got, &(want, _))) in out.iter().zip(&picks).enumerate() {
        assert!(
            got == want || (got.is_nan() && want.is_nan()),
            "output[{i}]: {got} vs {want}"
        );
    }
    assert!(out[0].is_nan(), "a window holding NaN gives NaN");
    let mut want_dx = vec![0f64; x.len()];
    for (&(_, at), &g) in picks.iter().zip(&g) {
        want_dx[at] += g as f64;
    }
    assert_close("NaN and -inf input gradient", &dx, &want_dx);
}
