//! The CPU convolution (burn-flex, patched in `patches/burn-flex`: batch-wide gemm tiles)
//! against the definition: a direct f64 convolution, its input gradient and its weight
//! gradient, on random shapes (batch, channels, sizes, kernel, stride, padding, dilation).
//! Shapes are drawn to reach each path: the generic im2col + gemm forward (more than 4 input
//! channels), the batched input gradient (at most 256 positions per image) and the per-image
//! one (more), tiles that span images, grouped convolutions, asymmetric padding, and the
//! weight gradient's own tiles of positions (512 per gemm, accumulated).

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use petri_engine::rng::Rng;

mod support;
use support::{assert_close, values};

struct Shape {
    batch: usize,
    c_in: usize,
    c_out: usize,
    h: usize,
    w: usize,
    k: usize,
    stride: usize,
    pad: usize,
    /// Padding after the image (`pad` is before it): asymmetric when they differ.
    pad_end: usize,
    dilation: usize,
    groups: usize,
}

impl Shape {
    fn out(&self, size: usize) -> usize {
        (size + self.pad + self.pad_end - self.dilation * (self.k - 1) - 1) / self.stride + 1
    }
}

fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0) as f32).collect()
}

/// The input position a kernel tap reads for an output position, if inside the image.
fn tap(s: &Shape, out: usize, k: usize, size: usize) -> Option<usize> {
    let i = (out * s.stride + k * s.dilation) as isize - s.pad as isize;
    (0..size as isize).contains(&i).then_some(i as usize)
}

/// Forward output, input gradient and weight gradient of `sum(conv(x, w) * g)`, in f64.
fn reference(s: &Shape, x: &[f32], w: &[f32], g: &[f32]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (oh, ow) = (s.out(s.h), s.out(s.w));
    let mut out = vec![0.0; s.batch * s.c_out * oh * ow];
    let mut dx = vec![0.0; x.len()];
    let mut dw = vec![0.0; w.len()];
    let (cpg, ocpg) = (s.c_in / s.groups, s.c_out / s.groups);
    for b in 0..s.batch {
        for o in 0..s.c_out {
            for y in 0..oh {
                for xo in 0..ow {
                    let oi = ((b * s.c_out + o) * oh + y) * ow + xo;
                    for c in 0..cpg {
                        let ci = o / ocpg * cpg + c;
                        for ky in 0..s.k {
                            let Some(iy) = tap(s, y, ky, s.h) else {
                                continue;
                            };
                            for kx in 0..s.k {
                                let Some(ix) = tap(s, xo, kx, s.w) else {
                                    continue;
                                };
                                let xi = ((b * s.c_in + ci) * s.h + iy) * s.w + ix;
                                let wi = ((o * cpg + c) * s.k + ky) * s.k + kx;
                                out[oi] += x[xi] as f64 * w[wi] as f64;
                                dx[xi] += g[oi] as f64 * w[wi] as f64;
                                dw[wi] += g[oi] as f64 * x[xi] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    (out, dx, dw)
}

fn check(s: &Shape, seed: u64) {
    let mut rng = Rng::new(seed);
    let x = random(&mut rng, s.batch * s.c_in * s.h * s.w);
    let w = random(&mut rng, s.c_out * s.c_in / s.groups * s.k * s.k);
    let (oh, ow) = (s.out(s.h), s.out(s.w));
    let g = random(&mut rng, s.batch * s.c_out * oh * ow);
    let device = Device::flex().autodiff();
    let xt = Tensor::<4>::from_data(
        TensorData::new(x.clone(), [s.batch, s.c_in, s.h, s.w]),
        &device,
    )
    .require_grad();
    let wt = Tensor::<4>::from_data(
        TensorData::new(w.clone(), [s.c_out, s.c_in / s.groups, s.k, s.k]),
        &device,
    )
    .require_grad();
    let gt = Tensor::<4>::from_data(
        TensorData::new(g.clone(), [s.batch, s.c_out, oh, ow]),
        &device,
    );
    let options = ConvOptions::new_with_padding(
        [s.stride; 2],
        [(s.pad, s.pad_end); 2],
        [s.dilation; 2],
        s.groups,
    );
    let out = conv2d(xt.clone(), wt.clone(), None, options);
    let grads = (out.clone() * gt).sum().backward();
    let (want_out, want_dx, want_dw) = reference(s, &x, &w, &g);
    let label = format!(
        "b{} c{}->{} {}x{} k{} s{} p{},{} d{} g{} (seed {seed})",
        s.batch, s.c_in, s.c_out, s.h, s.w, s.k, s.stride, s.pad, s.pad_end, s.dilation, s.groups
    );
    assert_close(&format!("{label} forward"), &values(out), &want_out);
    assert_close(
        &format!("{label} input gradient"),
        &values(xt.grad(&grads).unwrap()),
        &want_dx,
    );
    assert_close(
        &format!("{label} weight gradient"),
        &values(wt.grad(&grads).unwrap()),
        &want_dw,
    );
}

#[test]
fn convolution_and_its_gradients_match_the_definition_on_random_shapes() {
    let mut rng = Rng::new(2026);
    let pick = |rng: &mut Rng, v: &[usize]| v[rng.below(v.len())];
    for case in 0..60 {
        let k = pick(&mut rng, &[1, 2, 3, 3, 5]);
        let dilation = if k > 1 { pick(&mut rng, &[1, 1, 2]) } else { 1 };
        let reach = dilation * (k - 1) + 1;
        let pad = pick(&mut rng, &[0, 1, 2]).min(k / 2 + 1);
        let h = reach.max(pick(&mut rng, &[1, 3, 7, 9, 14, 20]));
        let w = reach.max(pick(&mut rng, &[1, 2, 7, 12, 17]));
        let c_in = pick(&mut rng, &[1, 3, 6, 9, 17]);
        let c_out = pick(&mut rng, &[1, 4, 8, 13]);
        // Groups where both channel counts allow it: 3 -> {1, 3}, 6 -> {1, 2}, ...
        let groups = *[3, 2, 1]
            .iter()
            .find(|&&g| c_in % g == 0 && c_out % g == 0 && rng.below(2) == 0)
            .unwrap_or(&1);
        let s = Shape {
            batch: pick(&mut rng, &[1, 2, 3, 5, 8]),
            c_in,
            c_out,
            h,
            w,
            k,
            stride: pick(&mut rng, &[1, 1, 2, 3]),
            pad,
            // One case in four pads the end differently (TensorFlow's "same" does).
            pad_end: if rng.below(4) == 0 {
                pick(&mut rng, &[0, 1, 2]).min(k / 2 + 1)
            } else {
                pad
            },
            dilation,
            groups,
        };
        check(&s, case);
    }
}

#[test]
fn resnet_shaped_convolutions_match_the_definition() {
    // The shapes the batched paths were made for: small maps, many channels, a batch. Maps of
    // 4x4 and less (and 7 -> 4 at stride 2) are mostly padding: their forward pass and both
    // gradients are split into unpadded pieces (`patches/burn-flex/src/ops/conv_valid_taps.rs`).
    for (i, (c_in, c_out, size, stride)) in [
        (16, 16, 7, 1),
        (16, 32, 7, 2),
        (24, 16, 4, 1),
        (16, 24, 3, 2),
        (32, 32, 2, 1),
        (32, 64, 1, 1),
    ]
    .into_iter()
    .enumerate()
    {
        let s = Shape {
            batch: 12,
            c_in,
            c_out,
            h: size,
            w: size,
            k: 3,
            stride,
            pad: 1,
            pad_end: 1,
            dilation: 1,
            groups: 1,
        };
        check(&s, 100 + i as u64);
    }
}

#[test]
fn unet_shaped_convolutions_match_the_definition() {
    // Large maps: weight-gradient tiles (512 positions) inside one image and across two,
    // and an odd size whose last tile is short. The last two have 64 Ki input values or more,
    // so the NCHW -> NHWC copy runs in parallel blocks of 64 positions (a short last one at
    // 23x23).
    for (i, (batch, c_in, c_out, size)) in [
        (2, 8, 16, 32),
        (3, 16, 8, 23),
        (8, 16, 8, 23),
        (4, 16, 8, 64),
    ]
    .into_iter()
    .enumerate()
    {
        let s = Shape {
            batch,
            c_in,
            c_out,
            h: size,
            w: size,
            k: 3,
            stride: 1,
            pad: 1,
            pad_end: 1,
            dilation: 1,
            groups: 1,
        };
        check(&s, 200 + i as u64);
    }
}

#[test]
fn wide_row_convolutions_match_the_definition() {
    // Output rows of 16 or more with width stride 1 take the NCHW-order columns
    // (`patches/burn-flex/src/ops/conv_rows.rs`): a "same" convolution copies each tap's rows
    // as one run of the plane and zeroes the wrapped columns (3x3 and 5x5; rows wholly in the
    // padding at 2 px high; 16 px maps whose tiles hold two images; one input channel), other
    // ones copy row by row (no padding: 18 of 20 columns; asymmetric padding). Weight
    // gradients with at most 64 column rows (`c_in * taps`) come from the same columns: the
    // first, fourth and fifth cases and a 1x1 convolution (a U-Net's head).
    for (i, (batch, c_in, c_out, h, w, k, pad, pad_end)) in [
        (3, 5, 7, 16, 16, 3, 1, 1),
        (2, 16, 4, 16, 16, 1, 0, 0),
        (2, 3, 4, 9, 20, 5, 2, 2),
        (2, 4, 6, 2, 18, 5, 2, 2),
        (4, 1, 16, 20, 20, 3, 1, 1),
        (2, 3, 5, 12, 20, 3, 0, 0),
        (2, 3, 5, 10, 24, 3, 1, 0),
    ]
    .into_iter()
    .enumerate()
    {
        let s = Shape {
            batch,
            c_in,
            c_out,
            h,
            w,
            k,
            stride: 1,
            pad,
            pad_end,
            dilation: 1,
            groups: 1,
        };
        check(&s, 300 + i as u64);
    }
}

#[test]
fn split_convolutions_see_their_weights_change_between_calls() {
    // The split keeps each weight's piece columns between calls while it holds the weight's
    // storage (`cached_piece_weights` in conv_valid_taps.rs). A training step (forward, both
    // gradients, an update written in place) and inference with two weights in turn must each
    // use the values the weight has at the call.
    let s = Shape {
        batch: 3,
        c_in: 8,
        c_out: 8,
        h: 2,
        w: 2,
        k: 3,
        stride: 1,
        pad: 1,
        pad_end: 1,
        dilation: 1,
        groups: 1,
    };
    let mut rng = Rng::new(404);
    let x = random(&mut rng, s.batch * s.c_in * s.h * s.w);
    let w = random(&mut rng, s.c_out * s.c_in * s.k * s.k);
    let g = random(&mut rng, s.batch * s.c_out * s.h * s.w);
    let options = || ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let device = Device::flex().autodiff();
    let tensor = |v: &[f32], shape: [usize; 4], device: &Device| {
        Tensor::<4>::from_data(TensorData::new(v.to_vec(), shape), device)
    };
    let x_shape = [s.batch, s.c_in, s.h, s.w];
    let w_shape = [s.c_out, s.c_in, s.k, s.k];
    let y_shape = [s.batch, s.c_out, s.h, s.w];
    let mut w_now = w.clone();
    let mut wt = tensor(&w, w_shape, &device).require_grad();
    for step in 0..3 {
        let xt = tensor(&x, x_shape, &device).require_grad();
        let out = conv2d(xt.clone(), wt.clone(), None, options());
        let grads = (out.clone() * tensor(&g, y_shape, &device))
            .sum()
            .backward();
        let (want_out, want_dx, want_dw) = reference(&s, &x, &w_now, &g);
        assert_close(&format!("step {step} forward"), &values(out), &want_out);
        let dx = values(xt.grad(&grads).unwrap());
        assert_close(&format!("step {step} input gradient"), &dx, &want_dx);
        let dw = wt.grad(&grads).unwrap();
        assert_close(
            &format!("step {step} weight gradient"),
            &values(dw.clone()),
            &want_dw,
        );
        // w <- w - 0.5 dw, in place when the weight's storage is no longer shared.
        drop(grads);
        let updated = wt.inner() - dw * 0.5;
        w_now = values(updated.clone());
        wt = Tensor::from_inner(updated).require_grad();
    }

    let plain = Device::flex();
    let xt = tensor(&x, x_shape, &plain);
    let w1 = tensor(&w, w_shape, &plain);
    let w2 = w1.clone() * 2.0;
    for round in 0..2 {
        for (name, wt, wv) in [
            ("w", &w1, &w),
            ("2w", &w2, &w.iter().map(|v| v * 2.0).collect()),
        ] {
            let (want, _, _) = reference(&s, &x, wv, &g);
            let out = conv2d(xt.clone(), wt.clone(), None, options());
            assert_close(
                &format!("inference {round} with {name}"),
                &values(out),
                &want,
            );
        }
    }
}
