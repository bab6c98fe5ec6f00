//! Weight gradient of a convolution as matrix products over tiles of output positions.
//!
//! For output positions `p` (image and place, across the batch) and the forward pass's im2col
//! rows `col[p, (tap, c_in)]`:
//!
//! `dW[c_out, (tap, c_in)] = sum over p of dY[c_out, p] * col[p, (tap, c_in)]`
//!
//! one gemm per tile of positions, accumulated in place. burn's default instead convolves the
//! input with batch and channels swapped, taking the output gradient as the kernel: both
//! tensors are transposed and copied first, the "kernel" (a whole image per channel) is
//! re-laid out, and each gemm is as narrow as a few kernel taps while repacking the whole
//! output gradient. On the U-Net at 64 px (16 channels, batch 16) that took 15% of a training
//! step in the transposing copies alone (perf, bench/README.md).

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_backend::ops::conv::calculate_conv_output_size;
use burn_std::{Bytes, Shape, bf16, f16};

use super::conv::{channels_last, im2col_3d_tile};
use super::module::{cast_from_f32, cast_to_f32};
use crate::{FlexTensor, Layout};

/// Positions per gemm: the reduction length of each product.
const TILE_POSITIONS: usize = 512;
/// Largest im2col buffer per tile (as in the forward pass).
const COL_TILE_BYTES: usize = 8 * 1024 * 1024;
/// Threads accumulate partial gradients of their own up to this much memory in all; beyond it
/// fewer partials are kept and each gemm is split across threads instead.
#[cfg(feature = "rayon")]
const PARTIALS_BYTES: usize = 64 * 1024 * 1024;

/// The gradient of `conv(x, weight)` with respect to `weight`, for N = 1, 2 or 3 spatial
/// dimensions, given the gradient of its output. Padding must be symmetric (the caller pads
/// the input first otherwise, as the forward pass does).
pub fn conv_weight_backward<const N: usize>(
    x: FlexTensor,
    weight_shape: &Shape,
    output_grad: FlexTensor,
    options: &ConvOptions<N>,
) -> FlexTensor {
    match x.dtype() {
        DType::F32 => typed::<f32, N>(x, weight_shape, output_grad, options, DType::F32),
        DType::F64 => typed::<f64, N>(x, weight_shape, output_grad, options, DType::F64),
        DType::F16 => {
            let grad = typed::<f32, N>(
                cast_to_f32(x, f16::to_f32),
                weight_shape,
                cast_to_f32(output_grad, f16::to_f32),
                options,
                DType::F32,
            );
            cast_from_f32(grad, f16::from_f32)
        }
        DType::BF16 => {
            let grad = typed::<f32, N>(
                cast_to_f32(x, bf16::to_f32),
                weight_shape,
                cast_to_f32(output_grad, bf16::to_f32),
                options,
                DType::F32,
            );
            cast_from_f32(grad, bf16::from_f32)
        }
        dtype => panic!("conv weight backward: unsupported dtype {:?}", dtype),
    }
}

/// `dims` (N spatial sizes) as three, the missing leading ones 1.
fn spatial3<const N: usize>(dims: &[usize]) -> [usize; 3] {
    let mut out = [1; 3];
    out[3 - N..].copy_from_slice(&dims[dims.len() - N..]);
    out
}

fn options3<const N: usize>(v: [usize; N], fill: usize) -> [usize; 3] {
    let mut out = [fill; 3];
    out[3 - N..].copy_from_slice(&v);
    out
}

fn typed<T, const N: usize>(
    x: FlexTensor,
    weight_shape: &Shape,
    output_grad: FlexTensor,
    options: &ConvOptions<N>,
    dtype: DType,
) -> FlexTensor
where
    T: burn_backend::Element + bytemuck::Pod + Send + Sync + num_traits::Zero + num_traits::One,
{
    let x = x.to_contiguous();
    let dy = output_grad.to_contiguous();
    let xs = x.layout().shape();
    let ys = dy.layout().shape();
    let (batch, c_in, c_out) = (xs[0], xs[1], weight_shape[0]);
    let cpg = weight_shape[1];
    let groups = options.groups;
    let ocpg = c_out / groups;
    let in_size = spatial3::<N>(xs);
    let kernel = spatial3::<N>(weight_shape);
    let stride = options3(options.stride, 1);
    let pad = options3(options.padding_begin(), 0);
    let dilation = options3(options.dilation, 1);
    let out_size: [usize; 3] = core::array::from_fn(|i| {
        calculate_conv_output_size(kernel[i], stride[i], pad[i], dilation[i], in_size[i])
    });
    // The output gradient can be larger than the convolution's output when the input was
    // cropped (asymmetric padding); it never is here, but check rather than read wrongly.
    assert_eq!(
        spatial3::<N>(ys),
        out_size,
        "conv weight backward: output gradient shape does not match the convolution"
    );
    let taps = kernel.iter().product::<usize>();
    let col_len = cpg * taps;
    let spatial_in: usize = in_size.iter().product();
    let spatial_out: usize = out_size.iter().product();
    let positions = batch * spatial_out;
    let zero = T::zero();

    // Short column rows on wide maps: columns in the input's own order, no NHWC copy
    // (`conv_rows.rs`, change 19).
    #[cfg(feature = "rayon")]
    if let Some(grad) = super::conv_rows::weight_grad_rows(
        x.storage::<T>(),
        dy.storage::<T>(),
        batch,
        c_in,
        c_out,
        in_size,
        kernel,
        &ConvOptions::new(stride, pad, dilation, groups),
        zero,
        T::one(),
    ) {
        return FlexTensor::new(
            Bytes::from_elems(grad),
            Layout::contiguous(weight_shape.clone()),
            dtype,
        );
    }
    let x_nhwc = channels_last(x.storage::<T>(), batch, c_in, spatial_in);
    let nhwc_stride = (
        spatial_in * c_in,
        in_size[1] * in_size[2] * c_in,
        in_size[2] * c_in,
        c_in,
        1,
    );
    let dy_data: &[T] = dy.storage();
    let fits = (COL_TILE_BYTES / (col_len.max(1) * core::mem::size_of::<T>())).max(1);
    let tile = TILE_POSITIONS.min(fits).min(positions).max(1);
    let num_tiles = positions.div_ceil(tile);
    let grad_len = c_out * col_len;

    // Accumulates the tiles in `tiles` into `acc` ([c_out, (tap, c_in of the group)]).
    let accumulate = |tiles: core::ops::Range<usize>, acc: &mut [T], parallelism: gemm::Parallelism| {
        let mut col = vec![zero; tile * col_len];
        let mut dy_tile = vec![zero; ocpg * tile];
        for t in tiles {
            let start = t * tile;
            let end = (start + tile).min(positions);
            let n = end - start;
            for g in 0..groups {
                let mut p = start;
                while p < end {
                    let b = p / spatial_out;
                    let s_start = p % spatial_out;
                    let run = (spatial_out - s_start).min(end - p);
                    let row = p - start;
                    im2col_3d_tile(
                        &mut col[row * col_len..(row + run) * col_len],
                        &x_nhwc,
                        s_start,
                        s_start + run,
                        out_size[1],
                        out_size[2],
                        kernel[0],
                        kernel[1],
                        kernel[2],
                        stride[0],
                        stride[1],
                        stride[2],
                        dilation[0],
                        dilation[1],
                        dilation[2],
                        pad[0],
                        pad[1],
                        pad[2],
                        in_size[0],
                        in_size[1],
                        in_size[2],
                        cpg,
                        col_len,
                        b,
                        g * cpg,
                        nhwc_stride,
                    );
                    for o in 0..ocpg {
                        let src = (b * c_out + g * ocpg + o) * spatial_out + s_start;
                        dy_tile[o * n + row..o * n + row + run]
                            .copy_from_slice(&dy_data[src..src + run]);
                    }
                    p += run;
                }
                let acc_g = &mut acc[g * ocpg * col_len..(g + 1) * ocpg * col_len];
                // acc_g[ocpg, col_len] += dy_tile[ocpg, n] @ col[n, col_len]
                unsafe {
                    gemm::gemm(
                        ocpg,
                        col_len,
                        n,
                        acc_g.as_mut_ptr(),
                        1,
                        col_len as isize,
                        true,
                        dy_tile.as_ptr(),
                        1,
                        n as isize,
                        col.as_ptr(),
                        1,
                        col_len as isize,
                        T::one(),
                        T::one(),
                        false,
                        false,
                        false,
                        parallelism,
                    );
                }
            }
        }
    };

    let mut grad = vec![zero; grad_len];
    // Small padded maps: the padded taps are skipped (`conv_valid_taps.rs`, change 7), and the
    // gradient comes in the weight's layout.
    let split = groups == 1
        && options.dilation.iter().all(|&d| d == 1)
        && !options.is_asymmetric()
        && super::conv_valid_taps::weight_grad_by_pieces(
            &x_nhwc,
            dy_data,
            batch,
            c_in,
            c_out,
            in_size,
            kernel,
            &ConvOptions::new(stride, pad, [1, 1, 1], 1),
            &mut grad,
            zero,
            T::one(),
        );
    if split {
        return FlexTensor::new(
            Bytes::from_elems(grad),
            Layout::contiguous(weight_shape.clone()),
            dtype,
        );
    }
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        let threads = rayon::current_num_threads().max(1);
        let affordable = (PARTIALS_BYTES / (grad_len.max(1) * core::mem::size_of::<T>())).max(1);
        let chunks = threads.min(num_tiles).min(affordable);
        // Fewer partials than threads: let each gemm use the rest.
        let inner = if chunks < threads {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        if chunks <= 1 {
            accumulate(0..num_tiles, &mut grad, inner);
        } else {
            let per = num_tiles.div_ceil(chunks);
            let mut partials = vec![zero; (chunks - 1) * grad_len];
            let mut accs: Vec<&mut [T]> = core::iter::once(&mut grad[..])
                .chain(partials.chunks_mut(grad_len))
                .collect();
            accs.par_iter_mut().enumerate().for_each(|(i, acc)| {
                let tiles = (i * per).min(num_tiles)..((i + 1) * per).min(num_tiles);
                accumulate(tiles, &mut acc[..], inner);
            });
            for partial in partials.chunks(grad_len) {
                for (g, &v) in grad.iter_mut().zip(partial) {
                    *g = *g + v;
                }
            }
        }
    }
    #[cfg(not(feature = "rayon"))]
    {
        accumulate(0..num_tiles, &mut grad, gemm::Parallelism::None);
    }

    // [c_out, tap, c_in] -> [c_out, c_in, tap], the weight's layout.
    let mut out = vec![zero; grad_len];
    for o in 0..c_out {
        let src = &grad[o * col_len..(o + 1) * col_len];
        let dst = &mut out[o * col_len..(o + 1) * col_len];
        for t in 0..taps {
            for c in 0..cpg {
                dst[c * taps + t] = src[t * cpg + c];
            }
        }
    }
    FlexTensor::new(
        Bytes::from_elems(out),
        Layout::contiguous(weight_shape.clone()),
        dtype,
    )
}
