//! Convolutions of wide feature maps by im2col in the input's own NCHW order.
//!
//! `conv3d_impl` copies the input to NHWC, builds im2col rows of `[position, (tap, c_in)]` and
//! lets gemm write a fresh `[c_out, positions]` buffer that is then copied into the output.
//! gemm wants the positions contiguous, so it repacked every im2col tile, and the copies and
//! zeroed buffers around it were a third of a U-Net step (`perf`, 64 px, 16 channels). Here a
//! tile's columns are `[(c_in, tap), position]`: for a tap, a run of an output row reads a run
//! of one input row, so the NCHW input is read as it lies (no NHWC copy), the weight is used as
//! stored (`[c_out, (c_in, tap)]`), gemm reads the positions without packing them, and writes
//! each image's rows straight into the output. It pays where output rows are long: a short
//! row is a short copy per tap and channel, which the NHWC rows (one run of taps and channels
//! per position) do better.
//!
//! The same columns serve two more entry points: `conv_transpose3d_rows` (the input gradient
//! of a stride-1 convolution, as a forward one with the kernel flipped) and `weight_grad_rows`
//! (the weight gradient where a position's NHWC row would be only a few values long).

use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_backend::ops::conv::calculate_conv_output_size;
use burn_std::{Bytes, Shape};
use core::mem::MaybeUninit;

use crate::{FlexTensor, Layout};

/// Output rows shorter than this keep the NHWC path: measured on the U-Net's maps
/// (patches/README.md, 15).
const MIN_ROW: usize = 8;

/// The transposed convolutions (input gradients) taken as forward ones need wider rows and
/// some output channels: measured on the U-Net's (patches/README.md, 17).
const TRANSPOSED_MIN_ROW: usize = 16;
const TRANSPOSED_MIN_CHANNELS: usize = 8;

/// The weight gradient's rows path: rows this long, at most this many column rows
/// (`c_in * taps`). Both of its gemm operands are position-major, so gemm repacks the columns;
/// that costs less than the NHWC path's rows of one position each only where those rows are
/// short (a first convolution's 9 taps of one channel, a 1x1 head). Measured on the U-Nets'
/// convolutions (patches/README.md, 19): 8-32 px maps with 64-512 output channels went either
/// way or lost.
const WEIGHT_GRAD_MIN_ROW: usize = 8;
const WEIGHT_GRAD_MAX_COLS: usize = 64;

/// Output positions per tile, as in `conv3d_impl`; tiles are whole output rows.
const TILE_POSITIONS: usize = 512;

/// A tile's columns are held to this, as in `conv3d_impl`.
const COL_TILE_BYTES: usize = 8 * 1024 * 1024;

/// The convolution of `x` by `weight`, or `None` when it does not fit this path: groups,
/// width stride or dilation other than 1, output rows shorter than `MIN_ROW`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv3d_rows<T>(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &Option<FlexTensor>,
    options: &ConvOptions<3>,
    dtype: DType,
    zero: T,
    one: T,
) -> Option<FlexTensor>
where
    T: bytemuck::Pod + Copy + Send + Sync + burn_backend::Element + burn_backend::ElementAdd,
{
    use rayon::prelude::*;

    if options.groups != 1 {
        return None;
    }
    let [batch, c_in, in_d, in_h, in_w]: [usize; 5] =
        x.layout().shape().to_vec().try_into().ok()?;
    let w_shape = weight.layout().shape();
    let (c_out, [kernel_d, kernel_h, kernel_w]) =
        (w_shape[0], [w_shape[2], w_shape[3], w_shape[4]]);
    let [stride_d, stride_h, stride_w] = options.stride;
    let [dil_d, dil_h, dil_w] = options.dilation;
    let [pad_d, pad_h, pad_w] = options.padding_begin();
    let out_d = calculate_conv_output_size(kernel_d, stride_d, pad_d, dil_d, in_d);
    let out_h = calculate_conv_output_size(kernel_h, stride_h, pad_h, dil_h, in_h);
    let out_w = calculate_conv_output_size(kernel_w, stride_w, pad_w, dil_w, in_w);
    if stride_w != 1 || dil_w != 1 || out_w < MIN_ROW || batch * c_out * out_d * out_h == 0 {
        return None;
    }
    let x = x.to_contiguous();
    let weight = weight.to_contiguous();
    let x_data: &[T] = x.storage();
    let w_data: &[T] = weight.storage();
    let taps = kernel_d * kernel_h * kernel_w;
    let col_len = c_in * taps;
    let spatial = out_d * out_h * out_w;
    let image_rows = out_d * out_h;
    let rows = batch * image_rows;
    let total = batch * c_out * spatial;

    let tile_rows = rows_per_tile::<T>(rows, out_w, col_len);
    let num_tiles = rows.div_ceil(tile_rows);
    let geometry = Geometry::new([in_d, in_h, in_w], [out_d, out_h, out_w], options);
    let mut out: Vec<T> = Vec::with_capacity(total);
    let dst = crate::ops::SendMutPtr::new(out.as_mut_ptr());
    (0..num_tiles).into_par_iter().for_each_init(
        || (Vec::new(), Vec::new()),
        |(col, scratch), tile| {
            let row_start = tile * tile_rows;
            let row_end = (row_start + tile_rows).min(rows);
            let width = (row_end - row_start) * out_w;
            // Not initialised: `tap_row` writes every value the product reads. Filling the
            // buffer first (rayon makes one per job, not per thread) was 18% of the 32 px
            // forward pass (`perf`).
            col.resize(col_len * width, MaybeUninit::uninit());
            // The tile's runs of rows, one per image: (image, its first row, row count).
            let mut segments = Vec::new();
            let mut r = row_start;
            while r < row_end {
                let (b, first) = (r / image_rows, r % image_rows);
                let n = (image_rows - first).min(row_end - r);
                segments.push((b, first, n));
                r += n;
            }
            let g = &geometry;
            for ci in 0..c_in {
                for kd in 0..kernel_d {
                    for kh in 0..kernel_h {
                        for kw in 0..kernel_w {
                            let kk = ((ci * kernel_d + kd) * kernel_h + kh) * kernel_w + kw;
                            let col_row = &mut col[kk * width..(kk + 1) * width];
                            let mut at = 0;
                            for &(b, first, n) in &segments {
                                let image = &x_data[(b * c_in + ci) * g.plane..][..g.plane];
                                let dst = &mut col_row[at..at + n * out_w];
                                g.tap_row(dst, image, first, [kd, kh, kw], zero);
                                at += n * out_w;
                            }
                        }
                    }
                }
            }
            // out[b, :, rows] = weight[c_out, col_len] @ col[col_len, positions]: straight into
            // the output when the tile is one image's rows, else once for the whole tile and
            // then copied out image by image (a gemm per image repacked the weight for each:
            // 8x8 maps at 384 -> 128 channels 6.0 -> ... ms).
            let product = |dst: *mut T, dst_rs: usize, positions: usize, col_at: usize| {
                let parallelism = if c_out * positions * col_len >= 192 * 192 * 192 {
                    gemm::Parallelism::Rayon(0)
                } else {
                    gemm::Parallelism::None
                };
                // SAFETY (the callers'): `dst` holds `c_out` rows of `positions` values at
                // stride `dst_rs` that no other thread writes; gemm does not read them
                // (`read_dst` false). `weight` is `[c_out, col_len]`, and the columns from
                // `col_at` are `col_len` rows of `width`, `positions` of them used.
                unsafe {
                    gemm::gemm(
                        c_out,
                        positions,
                        col_len,
                        dst,
                        1,
                        dst_rs as isize,
                        false,
                        w_data.as_ptr(),
                        1,
                        col_len as isize,
                        col.as_ptr().add(col_at).cast::<T>(),
                        1,
                        width as isize,
                        zero,
                        one,
                        false,
                        false,
                        false,
                        parallelism,
                    );
                }
            };
            if let [(b, first, _)] = segments[..] {
                // SAFETY: this image's rows `first..` of every output channel (row stride
                // `spatial`) are inside `out`'s capacity and only this tile writes them.
                product(
                    unsafe { dst.ptr_add(b * c_out * spatial + first * out_w) },
                    spatial,
                    width,
                    0,
                );
                return;
            }
            scratch.resize(c_out * width, MaybeUninit::uninit());
            product(scratch.as_mut_ptr().cast::<T>(), width, width, 0);
            let mut at = 0;
            for &(b, first, n) in &segments {
                let len = n * out_w;
                for c in 0..c_out {
                    let src: &[MaybeUninit<T>] = &scratch[c * width + at..][..len];
                    let src = src.as_ptr().cast::<T>();
                    let to = b * c_out * spatial + c * spatial + first * out_w;
                    // SAFETY: as above: this tile's rows of image `b`, channel `c`.
                    unsafe {
                        core::ptr::copy_nonoverlapping(src, dst.ptr_add(to), len);
                    }
                }
                at += len;
            }
        },
    );
    // SAFETY: the tiles cover every output row of every image and every channel, written
    // by gemm above.
    unsafe { out.set_len(total) };
    if let Some(bias) = bias {
        let bias = bias.to_contiguous();
        super::conv_common::add_bias(&mut out, bias.storage::<T>(), batch, c_out, spatial);
    }
    let shape = Shape::from(alloc::vec![batch, c_out, out_d, out_h, out_w]);
    Some(FlexTensor::new(
        Bytes::from_elems(out),
        Layout::contiguous(shape),
        dtype,
    ))
}

/// One image's side of a convolution, for building its columns.
struct Geometry {
    /// Input depth, height, width.
    input: [usize; 3],
    /// Values per input channel of one image.
    plane: usize,
    /// Output depth, height, width.
    out: [usize; 3],
    stride: [usize; 3],
    dilation: [usize; 3],
    padding: [usize; 3],
}

/// Output rows per tile (tiles of whole rows across the batch): every thread gets one when
/// there are few, at most `TILE_POSITIONS` positions, and the tile's columns (`col_len` rows)
/// within `COL_TILE_BYTES`.
fn rows_per_tile<T>(rows: usize, out_w: usize, col_len: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let fits = COL_TILE_BYTES / (col_len * out_w * core::mem::size_of::<T>()).max(1);
    rows.div_ceil(threads)
        .min((TILE_POSITIONS / out_w).max(1))
        .min(fits.max(1))
}

impl Geometry {
    fn new(input: [usize; 3], out: [usize; 3], options: &ConvOptions<3>) -> Self {
        Self {
            input,
            plane: input.iter().product(),
            out,
            stride: options.stride,
            dilation: options.dilation,
            padding: options.padding_begin(),
        }
    }

    /// Fills `dst` with what tap `k` reads from one channel's `plane` for the output rows from
    /// `first` (a row is `(od, oh)`; `dst.len()` is a whole number of rows), zero where it
    /// reads padding.
    fn tap_row<T: Copy>(
        &self,
        dst: &mut [MaybeUninit<T>],
        plane: &[T],
        first: usize,
        k: [usize; 3],
        zero: T,
    ) {
        let [in_d, in_h, in_w] = self.input;
        let [_, out_h, out_w] = self.out;
        let rows = dst.len() / out_w;
        // The input column of output column `ow` is `ow + shift`; inside for `lo..hi`.
        let shift = k[2] as isize - self.padding[2] as isize;
        let lo = (-shift).clamp(0, out_w as isize) as usize;
        let hi = (in_w as isize - shift).clamp(lo as isize, out_w as isize) as usize;
        let input_row = |row: usize| {
            let (od, oh) = (row / out_h, row % out_h);
            let id =
                (od * self.stride[0] + k[0] * self.dilation[0]) as isize - self.padding[0] as isize;
            let ih =
                (oh * self.stride[1] + k[1] * self.dilation[1]) as isize - self.padding[1] as isize;
            (id >= 0 && id < in_d as isize && ih >= 0 && ih < in_h as isize)
                .then(|| (id as usize * in_h + ih as usize) * in_w)
        };
        if in_d == 1 && self.out[0] == 1 && self.stride[1] == 1 && out_w == in_w {
            // Consecutive output rows read consecutive input rows: the rows inside the input
            // are one run of the plane, shifted by `shift`, copied at once; the columns that
            // wrapped to the neighbouring row are then zeroed. The copies per row below were a
            // third of the U-Net's 32 px forward pass (`perf`: 128-byte runs).
            // Output row `oh` reads input row `oh + k_h * dilation - padding`: rows `a..z` of
            // this stretch are inside.
            let offset = (k[1] * self.dilation[1]) as isize - self.padding[1] as isize;
            let a = (-offset - first as isize).clamp(0, rows as isize) as usize;
            let z =
                (in_h as isize - offset - first as isize).clamp(a as isize, rows as isize) as usize;
            if a == z {
                fill(dst, zero);
                return;
            }
            let start = (first + a) as isize + offset;
            let start = start * in_w as isize + shift;
            // Positions `a * out_w .. z * out_w` read `start ..`; those before the plane or
            // after it are zero.
            let (p0, p1) = (a * out_w, z * out_w);
            let skip = (-start).max(0) as usize;
            let end = ((plane.len() as isize - start) as usize).min(p1 - p0);
            fill(&mut dst[..p0 + skip], zero);
            let from = (start + skip as isize) as usize;
            dst[p0 + skip..p0 + end].copy_from_slice(uninit(&plane[from..from + end - skip]));
            fill(&mut dst[p0 + end..], zero);
            if lo > 0 || hi < out_w {
                for row in dst[p0..p1].chunks_exact_mut(out_w) {
                    for v in &mut row[..lo] {
                        v.write(zero);
                    }
                    for v in &mut row[hi..] {
                        v.write(zero);
                    }
                }
            }
            return;
        }
        for (r, out_row) in dst.chunks_exact_mut(out_w).enumerate() {
            let Some(src) = input_row(first + r) else {
                fill(out_row, zero);
                continue;
            };
            let from = (src as isize + lo as isize + shift) as usize;
            fill(&mut out_row[..lo], zero);
            out_row[lo..hi].copy_from_slice(uninit(&plane[from..from + hi - lo]));
            fill(&mut out_row[hi..], zero);
        }
    }
}

fn fill<T: Copy>(dst: &mut [MaybeUninit<T>], value: T) {
    for v in dst {
        v.write(value);
    }
}

/// `values` as a source for uninitialised memory.
fn uninit<T>(values: &[T]) -> &[MaybeUninit<T>] {
    // SAFETY: `MaybeUninit<T>` has `T`'s layout, and an initialised value is a valid one.
    unsafe { &*(values as *const [T] as *const [MaybeUninit<T>]) }
}

/// A transposed convolution with stride and dilation 1 (the input gradient of such a
/// convolution, which burn computes as `conv_transpose(dY, W)`) as the forward convolution it
/// equals: `dY` convolved with the kernel flipped and its channel axes swapped, with padding
/// `k - 1 - p`, through `conv3d_rows`. col2im added each product into the input's positions,
/// a scattered pass the rows path does not have. `None` when it does not fit (groups, stride,
/// dilation, output padding, rows shorter than `TRANSPOSED_MIN_ROW`, fewer output channels
/// than `TRANSPOSED_MIN_CHANNELS`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_transpose3d_rows<T>(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &Option<FlexTensor>,
    options: &burn_backend::ops::ConvTransposeOptions<3>,
    dtype: DType,
    zero: T,
    one: T,
) -> Option<FlexTensor>
where
    T: bytemuck::Pod + Copy + Send + Sync + burn_backend::Element + burn_backend::ElementAdd,
{
    let w_shape = weight.layout().shape();
    let x_shape = x.layout().shape();
    if options.groups != 1
        || options.stride != [1, 1, 1]
        || options.dilation != [1, 1, 1]
        || options.padding_out != [0, 0, 0]
        || w_shape.len() != 5
        || x_shape.len() != 5
        || (0..3).any(|a| options.padding[a] >= w_shape[2 + a])
    {
        return None;
    }
    // The output is as wide as the input plus `k - 1 - 2p`. col2im stays ahead on 8 px rows
    // and for one or a few output channels (patches/README.md, 17).
    let out_w = (x_shape[4] + w_shape[4] - 1).checked_sub(2 * options.padding[2])?;
    let (c_in, c_out) = (w_shape[0], w_shape[1]);
    if out_w < TRANSPOSED_MIN_ROW || c_out < TRANSPOSED_MIN_CHANNELS {
        return None;
    }
    let taps = w_shape[2] * w_shape[3] * w_shape[4];
    // flipped[c_out, c_in, taps - 1 - t] = weight[c_in, c_out, t]
    let weight = weight.to_contiguous();
    let w: &[T] = weight.storage();
    let mut flipped: Vec<T> = Vec::with_capacity(w.len());
    for o in 0..c_out {
        for i in 0..c_in {
            let src = &w[(i * c_out + o) * taps..][..taps];
            flipped.extend(src.iter().rev());
        }
    }
    let flipped = FlexTensor::new(
        Bytes::from_elems(flipped),
        Layout::contiguous(Shape::from(alloc::vec![
            c_out, c_in, w_shape[2], w_shape[3], w_shape[4]
        ])),
        dtype,
    );
    let padding = core::array::from_fn(|a| w_shape[2 + a] - 1 - options.padding[a]);
    let forward = ConvOptions::new([1, 1, 1], padding, [1, 1, 1], 1);
    conv3d_rows(x, &flipped, bias, &forward, dtype, zero, one)
}

/// The weight gradient of a convolution with wide output rows and few column rows (`c_in *
/// taps`, a first convolution's or a 1x1 head's), from columns in the input's own order:
/// `dW[c_out, (c_in, tap)] += dY[c_out, positions] @ col[(c_in, tap), positions]^T` per run of
/// one image's rows, accumulated straight into the weight's layout. The NHWC path
/// (`conv_weight_grad.rs`) copies the input to NHWC and builds a row of `c_in * taps` values
/// per position, which is most of its time when that row is 9 or 16 values long. `None` when
/// it does not fit: groups, width stride or dilation other than 1, asymmetric padding, rows
/// shorter than `WEIGHT_GRAD_MIN_ROW`, more than `WEIGHT_GRAD_MAX_COLS` column rows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn weight_grad_rows<T>(
    x: &[T],
    dy: &[T],
    batch: usize,
    c_in: usize,
    c_out: usize,
    input: [usize; 3],
    kernel: [usize; 3],
    options: &ConvOptions<3>,
    zero: T,
    one: T,
) -> Option<alloc::vec::Vec<T>>
where
    T: bytemuck::Pod + Send + Sync + burn_backend::Element + num_traits::Zero,
{
    use rayon::prelude::*;

    let [in_d, in_h, in_w] = input;
    let [kernel_d, kernel_h, kernel_w] = kernel;
    let [stride_d, stride_h, stride_w] = options.stride;
    let [dil_d, dil_h, dil_w] = options.dilation;
    let [pad_d, pad_h, pad_w] = options.padding_begin();
    let out_d = calculate_conv_output_size(kernel_d, stride_d, pad_d, dil_d, in_d);
    let out_h = calculate_conv_output_size(kernel_h, stride_h, pad_h, dil_h, in_h);
    let out_w = calculate_conv_output_size(kernel_w, stride_w, pad_w, dil_w, in_w);
    if options.groups != 1
        || options.is_asymmetric()
        || stride_w != 1
        || dil_w != 1
        || out_w < WEIGHT_GRAD_MIN_ROW
        || c_in * kernel_d * kernel_h * kernel_w > WEIGHT_GRAD_MAX_COLS
        || batch * c_out * c_in * out_d * out_h == 0
    {
        return None;
    }
    let taps = kernel_d * kernel_h * kernel_w;
    let col_len = c_in * taps;
    let spatial = out_d * out_h * out_w;
    let image_rows = out_d * out_h;
    let rows = batch * image_rows;
    let grad_len = c_out * col_len;
    let tile_rows = rows_per_tile::<T>(rows, out_w, col_len);
    let num_tiles = rows.div_ceil(tile_rows);
    let geometry = Geometry::new(input, [out_d, out_h, out_w], options);
    // Each thread sums its tiles into a gradient of its own (`grad_len` is the weight's size).
    let chunks = rayon::current_num_threads().max(1).min(num_tiles);
    let per = num_tiles.div_ceil(chunks);
    let partials: Vec<Vec<T>> = (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let mut acc = alloc::vec![zero; grad_len];
            let mut col: Vec<MaybeUninit<T>> = Vec::new();
            for tile in (chunk * per).min(num_tiles)..((chunk + 1) * per).min(num_tiles) {
                let row_start = tile * tile_rows;
                let row_end = (row_start + tile_rows).min(rows);
                let mut r = row_start;
                while r < row_end {
                    // One image's rows at a time: its output gradient rows are contiguous.
                    let (b, first) = (r / image_rows, r % image_rows);
                    let n = (image_rows - first).min(row_end - r);
                    let width = n * out_w;
                    // Not initialised: `tap_row` writes every value of every row.
                    col.resize(col_len * width, MaybeUninit::uninit());
                    for ci in 0..c_in {
                        let image = &x[(b * c_in + ci) * geometry.plane..][..geometry.plane];
                        for t in 0..taps {
                            let tap = [
                                t / (kernel_h * kernel_w),
                                t / kernel_w % kernel_h,
                                t % kernel_w,
                            ];
                            let kk = ci * taps + t;
                            geometry.tap_row(
                                &mut col[kk * width..][..width],
                                image,
                                first,
                                tap,
                                zero,
                            );
                        }
                    }
                    let dy_rows = &dy[b * c_out * spatial + first * out_w..];
                    // acc[c_out, col_len] += dy_rows[c_out, width] @ col[col_len, width]^T
                    // SAFETY: `dy_rows` holds `c_out` rows of `width` at stride `spatial`, the
                    // columns `col_len` rows of `width`, all initialised; `acc` is
                    // `[c_out, col_len]`.
                    unsafe {
                        gemm::gemm(
                            c_out,
                            col_len,
                            width,
                            acc.as_mut_ptr(),
                            1,
                            col_len as isize,
                            true,
                            dy_rows.as_ptr(),
                            1,
                            spatial as isize,
                            col.as_ptr().cast::<T>(),
                            width as isize,
                            1,
                            one,
                            one,
                            false,
                            false,
                            false,
                            gemm::Parallelism::None,
                        );
                    }
                    r += n;
                }
            }
            acc
        })
        .collect();
    let mut partials = partials.into_iter();
    let mut grad = partials.next()?;
    for partial in partials {
        for (g, v) in grad.iter_mut().zip(partial) {
            *g = *g + v;
        }
    }
    Some(grad)
}
