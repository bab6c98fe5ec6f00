//! Batch normalization for the Flex backend.
//!
//! burn-backend's default computes the batch statistics by swapping the batch and channel axes
//! (a transposing copy of the whole activation, twice per direction) and records about a dozen
//! broadcast element-wise operations, each a pass over the activation and a new buffer. Here
//! the statistics are per-channel sums over the `[batch, channels, inner]` view as it lies in
//! memory, and the output and the input gradient are one pass each, with per-channel
//! constants.

use crate::ops::module::{cast_from_f32, cast_to_f32};
use crate::{FlexTensor, Layout};
use alloc::vec::Vec;
use burn_backend::{DType, Element, TensorMetadata};
use burn_std::{Bytes, Shape};
use num_traits::Float;

/// Below this many elements the loops stay on the calling thread: rayon's hand-off costs more
/// than a pass over 128 KiB.
#[cfg(feature = "rayon")]
const PARALLEL_ELEMENTS: usize = 1 << 15;

/// The activation seen as `[batch, channels, inner]`, `inner` being the spatial positions.
#[derive(Clone, Copy)]
struct Geometry {
    channels: usize,
    inner: usize,
    /// Values per channel: `batch * inner`.
    per_channel: usize,
    total: usize,
}

impl Geometry {
    fn of(shape: &Shape) -> Self {
        assert!(
            shape.num_dims() >= 2,
            "batch_norm: the input needs a batch and a channel axis, got {shape:?}"
        );
        let total = shape.num_elements();
        let channels = shape[1];
        let inner = (2..shape.num_dims()).map(|i| shape[i]).product::<usize>();
        Geometry {
            channels,
            inner,
            per_channel: total / channels.max(1),
            total,
        }
    }

    /// The `inner` values of channel `c` in image `n`, for every image.
    fn slices<'a, T>(&self, data: &'a [T], c: usize) -> impl Iterator<Item = &'a [T]> + 'a {
        let (inner, channels) = (self.inner, self.channels);
        data.chunks_exact(inner.max(1))
            .skip(c)
            .step_by(channels.max(1))
    }
}

/// Widens half precision to f32 for the computation, like the convolutions do.
macro_rules! by_dtype {
    ($name:literal, $x:expr, |$w:ident, $n:ident| $f32:expr, $f64:expr) => {
        match $x {
            DType::F32 => {
                let $w = |t: FlexTensor| t;
                let $n = |t: FlexTensor| t;
                $f32
            }
            DType::F64 => $f64,
            DType::F16 => {
                let $w = |t: FlexTensor| cast_to_f32(t, half::f16::to_f32);
                let $n = |t: FlexTensor| cast_from_f32(t, half::f16::from_f32);
                $f32
            }
            DType::BF16 => {
                let $w = |t: FlexTensor| cast_to_f32(t, half::bf16::to_f32);
                let $n = |t: FlexTensor| cast_from_f32(t, half::bf16::from_f32);
                $f32
            }
            dtype => panic!("{}: unsupported dtype {:?}", $name, dtype),
        }
    };
}

/// Batch statistics: `[normalized output, mean, biased variance]`, the last two `[channels]`.
pub(crate) fn batch_norm_train(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> [FlexTensor; 3] {
    by_dtype!(
        "batch_norm_train",
        x.dtype(),
        |w, n| train_typed::<f32>(w(x), w(gamma), w(beta), epsilon).map(n),
        train_typed::<f64>(x, gamma, beta, epsilon)
    )
}

/// Normalization with given statistics (inference, or a training path's own).
pub(crate) fn batch_norm(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    by_dtype!(
        "batch_norm",
        x.dtype(),
        |w, n| n(apply_typed::<f32>(
            w(x),
            w(gamma),
            w(beta),
            w(mean),
            w(variance),
            epsilon
        )),
        apply_typed::<f64>(x, gamma, beta, mean, variance, epsilon)
    )
}

/// Gradients of [`batch_norm_train`]: `[input, gamma, beta]`.
pub(crate) fn batch_norm_train_backward(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
) -> [FlexTensor; 3] {
    by_dtype!(
        "batch_norm_train_backward",
        x.dtype(),
        |w, n| backward_typed::<f32>(
            w(x),
            w(gamma),
            w(mean),
            w(variance),
            epsilon,
            w(output_grad)
        )
        .map(n),
        backward_typed::<f64>(x, gamma, mean, variance, epsilon, output_grad)
    )
}

/// An element type the loops run in.
trait Real: Float + Element + bytemuck::Pod + Send + Sync {}
impl Real for f32 {}
impl Real for f64 {}

/// The values of a small tensor (gamma, beta, statistics: one per channel), in order.
fn values<T: Real>(t: &FlexTensor) -> Vec<T> {
    let t = t.to_contiguous();
    t.as_slice::<T>()
        .expect("a contiguous tensor has a slice")
        .to_vec()
}

fn tensor<T: Real>(data: Vec<T>, shape: Shape) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(shape),
        T::dtype(),
    )
}

/// One value per channel, from a function of the channel index, in parallel when the
/// activation is large.
fn per_channel<R: Send>(g: Geometry, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    #[cfg(feature = "rayon")]
    if g.total >= PARALLEL_ELEMENTS && g.channels > 1 {
        use rayon::prelude::*;
        return (0..g.channels).into_par_iter().map(f).collect();
    }
    (0..g.channels).map(f).collect()
}

/// Fills `out` one `(image, channel)` slice at a time: `f(channel, offset, slice)`.
fn per_slice<T: Real>(g: Geometry, out: &mut [T], f: impl Fn(usize, usize, &mut [T]) + Sync) {
    let inner = g.inner.max(1);
    #[cfg(feature = "rayon")]
    if g.total >= PARALLEL_ELEMENTS {
        use rayon::prelude::*;
        // Slices of at least 4 Ki values per task: a 4x4 map's channels are 16 values each.
        let min = (4096 / inner).max(1);
        out.par_chunks_mut(inner)
            .with_min_len(min)
            .enumerate()
            .for_each(|(i, s)| f(i % g.channels, i * inner, s));
        return;
    }
    for (i, s) in out.chunks_mut(inner).enumerate() {
        f(i % g.channels, i * inner, s);
    }
}

/// `sum f(a_i, b_i)` with eight running sums, which the compiler vectorizes; each slice's sum
/// is added up in f64.
fn lane_sum<T: Real>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> f64 {
    let mut lanes = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (a, b) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] = lanes[i] + f(a[i], b[i]);
        }
    }
    let mut sum: f64 = lanes.iter().map(|&v| wide(v)).sum();
    for (&a, &b) in ra.iter().zip(rb) {
        sum += wide(f(a, b));
    }
    sum
}

fn cast<T: Real>(v: f64) -> T {
    <T as num_traits::NumCast>::from(v).unwrap_or_else(T::nan)
}

fn wide<T: Real>(v: T) -> f64 {
    num_traits::ToPrimitive::to_f64(&v).unwrap_or(f64::NAN)
}

fn train_typed<T: Real>(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> [FlexTensor; 3] {
    let shape = x.shape();
    let g = Geometry::of(&shape);
    let x = x.to_contiguous();
    let xs: &[T] = x.as_slice().expect("contiguous");
    let count = g.per_channel as f64;
    // Two passes (mean, then the centred squares) as the default does: one pass of sums and
    // squares loses the variance to cancellation when the mean is large.
    let stats = per_channel(g, |c| {
        let mean = g
            .slices(xs, c)
            .map(|s| lane_sum(s, s, |v, _| v))
            .sum::<f64>()
            / count;
        let m = cast::<T>(mean);
        let var = g
            .slices(xs, c)
            .map(|s| lane_sum(s, s, |v, _| (v - m) * (v - m)))
            .sum::<f64>()
            / count;
        (mean, var)
    });
    let mean: Vec<T> = stats.iter().map(|s| cast(s.0)).collect();
    let variance: Vec<T> = stats.iter().map(|s| cast(s.1)).collect();
    let output = normalize::<T>(g, xs, &values(&gamma), &values(&beta), &stats, epsilon);
    let channels = Shape::new([g.channels]);
    [
        tensor(output, shape),
        tensor(mean, channels.clone()),
        tensor(variance, channels),
    ]
}

fn apply_typed<T: Real>(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    let shape = x.shape();
    let g = Geometry::of(&shape);
    let x = x.to_contiguous();
    let xs: &[T] = x.as_slice().expect("contiguous");
    let stats: Vec<(f64, f64)> = values::<T>(&mean)
        .into_iter()
        .zip(values::<T>(&variance))
        .map(|(m, v)| (wide(m), wide(v)))
        .collect();
    let output = normalize::<T>(g, xs, &values(&gamma), &values(&beta), &stats, epsilon);
    tensor(output, shape)
}

/// `y = (x - mean) * scale + beta` with `scale = gamma / sqrt(var + eps)` per channel. `x - mean`
/// is kept apart (not folded into a shift) so a large mean does not cost precision.
fn normalize<T: Real>(
    g: Geometry,
    xs: &[T],
    gamma: &[T],
    beta: &[T],
    stats: &[(f64, f64)],
    epsilon: f64,
) -> Vec<T> {
    let affine: Vec<(T, T, T)> = stats
        .iter()
        .enumerate()
        .map(|(c, &(mean, var))| {
            let scale = wide(gamma[c]) / (var + epsilon).sqrt();
            (cast(mean), cast(scale), beta[c])
        })
        .collect();
    let mut out = alloc::vec![T::zero(); g.total];
    per_slice(g, &mut out, |c, at, out| {
        let (mean, scale, beta) = affine[c];
        let xs = &xs[at..at + out.len()];
        for (y, &x) in out.iter_mut().zip(xs) {
            *y = (x - mean) * scale + beta;
        }
    });
    out
}

fn backward_typed<T: Real>(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
) -> [FlexTensor; 3] {
    let shape = x.shape();
    let g = Geometry::of(&shape);
    let (x, dy) = (x.to_contiguous(), output_grad.to_contiguous());
    let xs: &[T] = x.as_slice().expect("contiguous");
    let dys: &[T] = dy.as_slice().expect("contiguous");
    let (gamma, mean, variance) = (
        values::<T>(&gamma),
        values::<T>(&mean),
        values::<T>(&variance),
    );
    let count = g.per_channel as f64;
    // Per channel: sum dy and sum dy * (x - mean).
    let sums = per_channel(g, |c| {
        let m = mean[c];
        g.slices(dys, c)
            .zip(g.slices(xs, c))
            .fold((0.0f64, 0.0f64), |(sd, sdx), (dy, x)| {
                (
                    sd + lane_sum(dy, dy, |d, _| d),
                    sdx + lane_sum(dy, x, |d, x| d * (x - m)),
                )
            })
    });
    let mut gamma_grad = Vec::with_capacity(g.channels);
    let mut beta_grad = Vec::with_capacity(g.channels);
    // dx = gamma / std * (dy - mean(dy) - xhat * mean(dy * xhat)) = a dy + b (x - mean) + d.
    let coefficients: Vec<(T, T, T, T)> = (0..g.channels)
        .map(|c| {
            let (sum_dy, sum_dy_xc) = sums[c];
            let inv_std = 1.0 / (wide(variance[c]) + epsilon).sqrt();
            let m = wide(mean[c]);
            beta_grad.push(cast::<T>(sum_dy));
            gamma_grad.push(cast::<T>(sum_dy_xc * inv_std));
            let a = wide(gamma[c]) * inv_std;
            let b = -a * inv_std * inv_std * sum_dy_xc / count;
            let d = -a * sum_dy / count;
            (cast(a), cast(b), cast(d), cast(m))
        })
        .collect();
    let mut dx = alloc::vec![T::zero(); g.total];
    per_slice(g, &mut dx, |c, at, out| {
        let (a, b, d, mean) = coefficients[c];
        let len = out.len();
        let (dy, x) = (&dys[at..at + len], &xs[at..at + len]);
        for ((o, &dy), &x) in out.iter_mut().zip(dy).zip(x) {
            *o = a * dy + b * (x - mean) + d;
        }
    });
    let channels = Shape::new([g.channels]);
    [
        tensor(dx, shape),
        tensor(gamma_grad, channels.clone()),
        tensor(beta_grad, channels),
    ]
}
