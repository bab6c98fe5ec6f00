//! The CPU max pooling (burn-flex) against the definition: the output and the gradient, which
//! goes to each window's largest input, with padding, strides, dilation and ceil mode, and
//! ResNet-18's 3x3 stride-2 pooling of a 14x14 map. A guard for changes to the pooling kernel.

use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor, TensorData};
use petri_engine::rng::Rng;

mod support;
use support::{assert_close, values};

#[test]
fn max_pooling_and_its_gradient_match_the_definition() {
    let mut rng = Rng::new(7);
    // (height, width, kernel, stride, padding, dilation, ceil mode)
    let cases = [
        (14, 14, 3, 2, 1, 1, false),
        (7, 9, 3, 2, 1, 1, true),
        (5, 6, 2, 2, 0, 1, false),
        (8, 8, 3, 1, 1, 2, false),
        (1, 3, 3, 2, 1, 1, true),
    ];
    for (h, w, k, stride, pad, dil, ceil) in cases {
        let (b, c) = (3, 4);
        let label = format!("{h}x{w} k{k} s{stride} p{pad} d{dil} ceil {ceil}");
        let x: Vec<f32> = (0..b * c * h * w)
            .map(|_| rng.uniform(-1.0, 1.0) as f32)
            .collect();
        let options = MaxPoolOptions::new([k, k])
            .with_stride([stride; 2])
            .with_padding([pad; 2])
            .with_dilation([dil; 2])
            .with_ceil_mode(ceil);
        let device = Device::flex().autodiff();
        let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), [b, c, h, w]), &device)
            .require_grad();
        let out = max_pool2d(xt.clone(), options);
        let [_, _, oh, ow] = out.dims();
        let g: Vec<f32> = (0..b * c * oh * ow)
            .map(|_| rng.uniform(-1.0, 1.0) as f32)
            .collect();
        let gt = Tensor::<4>::from_data(TensorData::new(g.clone(), [b, c, oh, ow]), &device);
        let grads = (out.clone() * gt).sum().backward();

        let mut want = Vec::new();
        let mut want_dx = vec![0f64; x.len()];
        for plane in 0..b * c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut best: Option<(f32, usize)> = None;
                    for ky in 0..k {
                        for kx in 0..k {
                            let iy = (oy * stride + ky * dil) as isize - pad as isize;
                            let ix = (ox * stride + kx * dil) as isize - pad as isize;
                            if !(0..h as isize).contains(&iy) || !(0..w as isize).contains(&ix) {
                                continue;
                            }
                            let at = plane * h * w + iy as usize * w + ix as usize;
                            if best.is_none_or(|(v, _)| x[at] > v) {
                                best = Some((x[at], at));
                            }
                        }
                    }
                    let (v, at) = best.expect("every window sees the input");
                    want.push(v as f64);
                    want_dx[at] += g[(plane * oh + oy) * ow + ox] as f64;
                }
            }
        }
        assert_close(&format!("{label} output"), &values(out), &want);
        assert_close(
            &format!("{label} input gradient"),
            &values(xt.grad(&grads).unwrap()),
            &want_dx,
        );
    }
}
