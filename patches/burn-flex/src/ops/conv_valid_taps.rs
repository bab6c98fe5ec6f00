//! Convolutions whose zero padding is a large share of the work, split into unpadded pieces.
//!
//! With im2col, a padded convolution multiplies every kernel tap, padding included: on
//! ResNet-18's small maps at 28 px (7x7 down to 1x1, 3x3 kernels, padding 1) most taps of the
//! 2x2 and 1x1 maps land in the padding, so the matrix products do about twice the useful
//! work. Along each axis the output coordinates fall into a few runs whose taps are all
//! inside the input (the first and last rows see fewer taps); each combination of runs is an
//! unpadded convolution of an input window with the kernel cut to those taps. This computes
//! those pieces with the ordinary convolution and writes each into its block of the output.
//! The sums hold the same products, less the zero ones.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::conv::{calculate_conv_output_size, calculate_conv_transpose_output_size};
use burn_backend::ops::{ConvOptions, ConvTransposeOptions};
use burn_std::{Bytes, Shape};

use crate::{FlexTensor, Layout};

/// Below this share of useful multiplications the padded convolution is split: measured on
/// ResNet-18 at 28 px (patches/README.md).
const USEFUL_SHARE: f64 = 0.75;

/// A run of output coordinates along one axis whose taps `k0..k1` are all inside the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    out_start: usize,
    out_end: usize,
    k0: usize,
    k1: usize,
}

impl Run {
    fn len(&self) -> usize {
        self.out_end - self.out_start
    }
}

/// The runs of one axis; `None` when some output coordinate sees no input at all.
fn runs(input: usize, kernel: usize, stride: usize, pad: usize, out: usize) -> Option<Vec<Run>> {
    let mut v: Vec<Run> = Vec::new();
    for o in 0..out {
        let base = o * stride;
        let k0 = pad.saturating_sub(base);
        let k1 = kernel.min((input + pad).saturating_sub(base));
        if k1 <= k0 {
            return None;
        }
        match v.last_mut() {
            Some(r) if r.k0 == k0 && r.k1 == k1 => r.out_end = o + 1,
            _ => v.push(Run {
                out_start: o,
                out_end: o + 1,
                k0,
                k1,
            }),
        }
    }
    Some(v)
}

/// The share of the padded convolution's multiplications that touch the input.
fn useful_share(axes: &[Vec<Run>; 3], kernel: [usize; 3], out: [usize; 3]) -> f64 {
    (0..3)
        .map(|a| {
            let useful: usize = axes[a].iter().map(|r| r.len() * (r.k1 - r.k0)).sum();
            useful as f64 / (out[a] * kernel[a]) as f64
        })
        .product()
}

/// How a padded convolution splits: its output size, the runs of each axis, its padding.
struct Plan {
    out: [usize; 3],
    axes: [Vec<Run>; 3],
    pad: [usize; 3],
}

/// One piece: the block of output positions whose taps are all inside the input, with those
/// taps (an unpadded convolution of an input window with the kernel cut to them).
struct Piece {
    out_start: [usize; 3],
    out_len: [usize; 3],
    tap_start: [usize; 3],
    taps: [usize; 3],
}

impl Piece {
    /// The indices (in the kernel's `[kd, kh, kw]` order) of the taps this piece uses.
    fn tap_indices(&self, kernel: [usize; 3]) -> impl Iterator<Item = usize> + '_ {
        let [d, h, w] = core::array::from_fn::<_, 3, _>(|a| {
            self.tap_start[a]..self.tap_start[a] + self.taps[a]
        });
        d.flat_map(move |kd| {
            let w = w.clone();
            h.clone().flat_map(move |kh| {
                w.clone()
                    .map(move |kw| (kd * kernel[1] + kh) * kernel[2] + kw)
            })
        })
    }
}

impl Plan {
    /// The split of a convolution of `input` (spatial sizes) with `kernel`, when padding
    /// would be more than a quarter of the work; `None` otherwise, and for groups, dilation
    /// and asymmetric padding.
    fn new(input: [usize; 3], kernel: [usize; 3], options: &ConvOptions<3>) -> Option<Plan> {
        let pad = options.padding_begin();
        if options.groups != 1
            || options.dilation != [1, 1, 1]
            || options.is_asymmetric()
            || pad == [0, 0, 0]
        {
            return None;
        }
        let stride = options.stride;
        let out: [usize; 3] = core::array::from_fn(|a| {
            calculate_conv_output_size(kernel[a], stride[a], pad[a], 1, input[a])
        });
        let axes: [Vec<Run>; 3] = [
            runs(input[0], kernel[0], stride[0], pad[0], out[0])?,
            runs(input[1], kernel[1], stride[1], pad[1], out[1])?,
            runs(input[2], kernel[2], stride[2], pad[2], out[2])?,
        ];
        if useful_share(&axes, kernel, out) >= USEFUL_SHARE {
            return None;
        }
        Some(Plan { out, axes, pad })
    }

    fn pieces(&self) -> Vec<Piece> {
        let mut out = Vec::new();
        for rd in &self.axes[0] {
            for rh in &self.axes[1] {
                for rw in &self.axes[2] {
                    let r = [rd, rh, rw];
                    out.push(Piece {
                        out_start: r.map(|r| r.out_start),
                        out_len: r.map(|r| r.len()),
                        tap_start: r.map(|r| r.k0),
                        taps: r.map(|r| r.k1 - r.k0),
                    });
                }
            }
        }
        out
    }
}

impl Piece {
    /// The output coordinates of its `r`-th position in one image (row-major in its block).
    fn out_coord(&self, r: usize) -> [usize; 3] {
        let [_, lh, lw] = self.out_len;
        [
            self.out_start[0] + r / (lh * lw),
            self.out_start[1] + (r / lw) % lh,
            self.out_start[2] + r % lw,
        ]
    }

    /// Its taps, in (kd, kh, kw) order.
    fn tap_list(&self) -> Vec<[usize; 3]> {
        let mut v = Vec::new();
        for kd in self.tap_start[0]..self.tap_start[0] + self.taps[0] {
            for kh in self.tap_start[1]..self.tap_start[1] + self.taps[1] {
                for kw in self.tap_start[2]..self.tap_start[2] + self.taps[2] {
                    v.push([kd, kh, kw]);
                }
            }
        }
        v
    }
}

/// Each piece's weight columns, `[c_out, (its taps, c_in)]`, from the weight as stored
/// (`[c_out, c_in, taps]`). One pass over the weight, rows of `c_out` in parallel: this runs on
/// every call, and a full `[c_out, tap, c_in]` transpose first was 9.7% of ResNet-18's
/// inference (perf, b64), most of it for the 1x1 maps that use one tap in nine.
fn piece_weights<T: Copy + Send + Sync>(
    w_data: &[T],
    pieces: &[Piece],
    kernel: [usize; 3],
    c_in: usize,
    c_out: usize,
    zero: T,
) -> Vec<Vec<T>> {
    let k_spatial: usize = kernel.iter().product();
    // Each piece's taps as offsets in a (c_out, c_in) run of the stored weight.
    let taps: Vec<Vec<usize>> = pieces
        .iter()
        .map(|p| {
            p.tap_list()
                .iter()
                .map(|t| (t[0] * kernel[1] + t[1]) * kernel[2] + t[2])
                .collect()
        })
        .collect();
    let mut out: Vec<Vec<T>> = taps
        .iter()
        .map(|t| vec![zero; c_out * t.len() * c_in])
        .collect();
    if c_in == 0 {
        return out;
    }
    // Row `co` of every piece at once, each (co, ci) run of taps read once.
    let mut rows: Vec<Vec<&mut [T]>> = (0..c_out).map(|_| Vec::with_capacity(taps.len())).collect();
    for (buf, t) in out.iter_mut().zip(&taps) {
        for (co, row) in buf.chunks_mut(t.len() * c_in).enumerate() {
            rows[co].push(row);
        }
    }
    let fill = |co: usize, rows: &mut Vec<&mut [T]>| {
        for ci in 0..c_in {
            let src = &w_data[(co * c_in + ci) * k_spatial..][..k_spatial];
            for (row, t) in rows.iter_mut().zip(&taps) {
                for (j, &k) in t.iter().enumerate() {
                    row[j * c_in + ci] = src[k];
                }
            }
        }
    };
    #[cfg(feature = "rayon")]
    if c_out * c_in * k_spatial >= super::PARALLEL_THRESHOLD / 4 {
        use rayon::prelude::*;
        rows.par_iter_mut()
            .enumerate()
            .for_each(|(co, rows)| fill(co, rows));
        drop(rows);
        return out;
    }
    for (co, r) in rows.iter_mut().enumerate() {
        fill(co, r);
    }
    drop(rows);
    out
}

/// What a piece's weight columns depend on: the weight tensor's storage (by address, while
/// the cache holds it) and place in it, and the split.
#[cfg(feature = "std")]
#[derive(Clone, PartialEq, Eq)]
struct ColumnsKey {
    storage: usize,
    offset: usize,
    shape: [usize; 5],
    input: [usize; 3],
    stride: [usize; 3],
    pad: [usize; 3],
    dtype: DType,
}

#[cfg(feature = "std")]
struct CachedColumns {
    key: ColumnsKey,
    /// Holds the weight's storage: while it is held its address is not reused and its values
    /// cannot change (burn-flex writes in place only into storage nobody else holds). Dropped
    /// as soon as nothing else holds it.
    _weight: alloc::sync::Arc<Bytes>,
    columns: alloc::sync::Arc<dyn core::any::Any + Send + Sync>,
    bytes: usize,
}

/// Piece weight columns kept between calls, newest last.
#[cfg(feature = "std")]
static COLUMNS: std::sync::Mutex<Vec<CachedColumns>> = std::sync::Mutex::new(Vec::new());
/// At most this many entries and this much memory (weights held plus columns) in the cache.
#[cfg(feature = "std")]
const COLUMNS_MAX_ENTRIES: usize = 64;
#[cfg(feature = "std")]
const COLUMNS_MAX_BYTES: usize = 256 << 20;

/// Piece weight columns above this are not made: the split is left to the padded path.
const SPLIT_MAX_COLUMN_BYTES: usize = 64 << 20;

/// Whether the pieces' weight columns (`c_out x (its taps, c_in)` each) would pass
/// `SPLIT_MAX_COLUMN_BYTES`. A 4x4 map's 9 pieces use 49 tap combinations, 5.4 times the
/// weight: 205 MiB for the U-Net's 1024 -> 1024 convolution with 64 base channels, which the
/// cache (256 MiB) cannot keep beside the 512 -> 1024 one's 103 MiB, so both were made on every
/// call, 11% of its inference step (patches/README.md, 18).
fn too_large_to_keep<T>(pieces: &[Piece], c_in: usize, c_out: usize) -> bool {
    let taps: usize = pieces
        .iter()
        .map(|p| p.taps.iter().product::<usize>())
        .sum();
    taps.saturating_mul(c_in * c_out * core::mem::size_of::<T>()) > SPLIT_MAX_COLUMN_BYTES
}

/// [`piece_weights`] of `weight`, from the cache when the same weight storage was split the
/// same way before. The forward pass keeps what it makes (`Keep::Yes`); the input gradient,
/// the last use in a training step, takes its entry out (`Keep::No`), so that the optimizer
/// finds the weight's storage unshared and updates it in place. At inference every batch after
/// the first finds its columns: making them read the whole weight on every call (the 1x1 maps'
/// 512x512x3x3 weights for one tap in nine), 8-14% of ResNet-18's step (patches/README.md, 13).
#[allow(clippy::too_many_arguments)]
fn cached_piece_weights<T: Copy + Send + Sync + bytemuck::Pod + burn_backend::Element>(
    weight: &FlexTensor,
    pieces: &[Piece],
    input: [usize; 3],
    options: &ConvOptions<3>,
    kernel: [usize; 3],
    c_in: usize,
    c_out: usize,
    zero: T,
    keep: Keep,
) -> alloc::sync::Arc<Vec<Vec<T>>> {
    let make = || {
        let weight = weight.to_contiguous();
        alloc::sync::Arc::new(piece_weights(
            weight.storage::<T>(),
            pieces,
            kernel,
            c_in,
            c_out,
            zero,
        ))
    };
    #[cfg(feature = "std")]
    {
        let (Some(shape), true) = (shape5(weight), weight.layout().is_contiguous()) else {
            return make();
        };
        let storage = weight.data_arc();
        let key = ColumnsKey {
            storage: alloc::sync::Arc::as_ptr(&storage) as usize,
            offset: weight.layout().start_offset(),
            shape,
            input,
            stride: options.stride,
            pad: options.padding_begin(),
            dtype: weight.dtype(),
        };
        let mut cache = COLUMNS.lock().unwrap_or_else(|e| e.into_inner());
        // A weight only the cache still holds belongs to a model that is gone.
        cache.retain(|e| alloc::sync::Arc::strong_count(&e._weight) > 1);
        if let Some(i) = cache.iter().position(|e| e.key == key) {
            let columns = match keep {
                Keep::Yes => cache[i].columns.clone(),
                Keep::No => cache.remove(i).columns,
            };
            if let Ok(columns) = columns.downcast::<Vec<Vec<T>>>() {
                return columns;
            }
        }
        drop(cache);
        let columns = make();
        if keep == Keep::Yes {
            let bytes = storage.len()
                + columns.iter().map(|c| c.len()).sum::<usize>() * core::mem::size_of::<T>();
            let mut cache = COLUMNS.lock().unwrap_or_else(|e| e.into_inner());
            cache.push(CachedColumns {
                key,
                _weight: storage,
                columns: columns.clone(),
                bytes,
            });
            while cache.len() > COLUMNS_MAX_ENTRIES
                || cache.iter().map(|e| e.bytes).sum::<usize>() > COLUMNS_MAX_BYTES
            {
                cache.remove(0);
            }
        }
        columns
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = (input, options, keep);
        make()
    }
}

/// Whether [`cached_piece_weights`] keeps its result for a later call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Yes,
    No,
}

fn shape5(t: &FlexTensor) -> Option<[usize; 5]> {
    t.layout().shape().to_vec().try_into().ok()
}

/// A run of output positions of one piece (across the batch), computed by one matrix product.
struct Tile {
    piece: usize,
    start: usize,
    end: usize,
}

/// `conv(x, weight)` as unpadded pieces, when padding would be more than a quarter of the work
/// (`None` otherwise, and with a bias). The input goes to NHWC and the weight to
/// `[c_out, (tap, c_in)]` once; each piece takes the weight columns of its taps (runs of
/// `c_in` values) and multiplies them with im2col rows of its positions, which need no
/// padding checks. Tiles of positions run in parallel, as in `conv3d_impl`.
pub(crate) fn conv3d_valid_taps<T>(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &Option<FlexTensor>,
    options: &ConvOptions<3>,
    dtype: DType,
    zero: T,
    gemm_fn: fn(&[T], &[T], usize, usize, usize) -> Vec<T>,
) -> Option<FlexTensor>
where
    T: bytemuck::Pod + burn_backend::Element + Send + Sync,
{
    if bias.is_some() {
        return None;
    }
    let (xs, ws) = (shape5(x)?, shape5(weight)?);
    let input = [xs[2], xs[3], xs[4]];
    let kernel = [ws[2], ws[3], ws[4]];
    let plan = Plan::new(input, kernel, options)?;
    let (batch, c_in, c_out) = (xs[0], xs[1], ws[0]);
    let x = x.to_contiguous();
    let spatial_in: usize = input.iter().product();
    let pieces = plan.pieces();
    if too_large_to_keep::<T>(&pieces, c_in, c_out) {
        return None;
    }
    let x_nhwc = super::conv::channels_last(x.storage::<T>(), batch, c_in, spatial_in);
    let piece_weights = cached_piece_weights(
        weight,
        &pieces,
        input,
        options,
        kernel,
        c_in,
        c_out,
        zero,
        Keep::Yes,
    );
    let out = plan.out;
    let spatial_out: usize = out.iter().product();
    #[cfg(feature = "rayon")]
    let threads = rayon::current_num_threads().max(1);
    #[cfg(not(feature = "rayon"))]
    let threads = 1;
    let mut tiles = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        let positions = batch * p.out_len.iter().product::<usize>();
        let tile = positions.div_ceil(threads).clamp(1, 512);
        let mut start = 0;
        while start < positions {
            let end = (start + tile).min(positions);
            tiles.push(Tile {
                piece: i,
                start,
                end,
            });
            start = end;
        }
    }
    let mut dst = vec![zero; batch * c_out * spatial_out];
    let in_hw = input[1] * input[2];
    let stride = options.stride;
    let pad = plan.pad;
    // One tile: im2col rows of its positions (valid taps only), the product, and the result
    // written to its places. Returns (index in `dst`, value) writes through `put`.
    let run_tile = |t: &Tile, put: &mut dyn FnMut(usize, T)| {
        let p = &pieces[t.piece];
        let taps = p.tap_list();
        let k_len = taps.len() * c_in;
        let n = t.end - t.start;
        let mut col = vec![zero; n * k_len];
        let per_image: usize = p.out_len.iter().product();
        let mut places = Vec::with_capacity(n);
        for (row, pos) in (t.start..t.end).enumerate() {
            let (b, r) = (pos / per_image, pos % per_image);
            let o = p.out_coord(r);
            places.push(b * c_out * spatial_out + (o[0] * out[1] + o[1]) * out[2] + o[2]);
            for (j, k) in taps.iter().enumerate() {
                let i: [usize; 3] = core::array::from_fn(|a| o[a] * stride[a] + k[a] - pad[a]);
                let src = ((b * input[0] + i[0]) * in_hw + i[1] * input[2] + i[2]) * c_in;
                col[row * k_len + j * c_in..][..c_in].copy_from_slice(&x_nhwc[src..src + c_in]);
            }
        }
        let result = gemm_fn(&piece_weights[t.piece], &col, c_out, k_len, n);
        for co in 0..c_out {
            for (j, &place) in places.iter().enumerate() {
                put(place + co * spatial_out, result[co * n + j]);
            }
        }
    };
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        let ptr = super::SendMutPtr::new(dst.as_mut_ptr());
        tiles.par_iter().for_each(|t| {
            // SAFETY: every output position belongs to one piece and one tile of it, so no
            // two tiles write the same element, and every index is inside `dst`.
            run_tile(t, &mut |i, v| unsafe { ptr.write(i, v) });
        });
    }
    #[cfg(not(feature = "rayon"))]
    for t in &tiles {
        run_tile(t, &mut |i, v| dst[i] = v);
    }
    Some(FlexTensor::new(
        Bytes::from_elems(dst),
        Layout::contiguous(Shape::from(vec![batch, c_out, out[0], out[1], out[2]])),
        dtype,
    ))
}

/// The input gradient of a convolution the forward pass splits, which burn computes as
/// `conv_transpose(dY, W)` with the forward's stride and padding: for each piece,
/// `cols[position, (its taps, c_in)] = dY[c_out, its positions]^T @ W[c_out, (its taps, c_in)]`,
/// then each row added into the input positions its taps read (NHWC, no padding checks, no
/// products with padding). Tiles are runs of whole images, so no two write the same element.
/// `None` when the forward convolution would not split, and with a bias, groups or dilation.
pub(crate) fn conv_transpose3d_valid_taps<T>(
    dy: &FlexTensor,
    weight: &FlexTensor,
    bias: &Option<FlexTensor>,
    options: &ConvTransposeOptions<3>,
    dtype: DType,
    zero: T,
    gemm_fn: fn(&mut [T], &[T], &[T], usize, usize, usize, usize),
) -> Option<FlexTensor>
where
    T: bytemuck::Pod + burn_backend::Element + burn_backend::ElementAdd + Send + Sync,
{
    if bias.is_some() || options.groups != 1 || options.dilation != [1, 1, 1] {
        return None;
    }
    let (ds, ws) = (shape5(dy)?, shape5(weight)?);
    let (batch, c_out, c_in) = (ds[0], ds[1], ws[1]);
    if ws[0] != c_out {
        return None;
    }
    let kernel = [ws[2], ws[3], ws[4]];
    let out = [ds[2], ds[3], ds[4]];
    let input: [usize; 3] = core::array::from_fn(|a| {
        calculate_conv_transpose_output_size(
            kernel[a],
            options.stride[a],
            options.padding[a],
            options.padding_out[a],
            1,
            out[a],
        )
    });
    let forward = ConvOptions::new(options.stride, options.padding, [1, 1, 1], 1);
    let plan = Plan::new(input, kernel, &forward)?;
    if plan.out != out {
        return None;
    }
    let pieces = plan.pieces();
    if too_large_to_keep::<T>(&pieces, ws[1], ws[0]) {
        return None;
    }
    let dy = dy.to_contiguous();
    let dy: &[T] = dy.storage();
    let piece_weights = cached_piece_weights(
        weight,
        &pieces,
        input,
        &forward,
        kernel,
        c_in,
        c_out,
        zero,
        Keep::No,
    );
    let spatial_in: usize = input.iter().product();
    let spatial_out: usize = out.iter().product();
    let image = spatial_in * c_in;
    if image == 0 || batch == 0 {
        return None;
    }
    #[cfg(feature = "rayon")]
    let threads = rayon::current_num_threads().max(1);
    #[cfg(not(feature = "rayon"))]
    let threads = 1;
    // Whole images per tile, at most about 512 positions of the largest piece per product.
    let widest = pieces
        .iter()
        .map(|p| p.out_len.iter().product::<usize>())
        .max()?;
    let images = batch.div_ceil(threads).clamp(1, (512 / widest).max(1));
    let (stride, pad) = (options.stride, plan.pad);
    let in_hw = input[1] * input[2];
    // The images from `b0` on, their NHWC input gradient in `dst`.
    let run_tile = |b0: usize, dst: &mut [T]| {
        let count = dst.len() / image;
        for (p, w) in pieces.iter().zip(piece_weights.iter()) {
            let per_image: usize = p.out_len.iter().product();
            let taps = p.tap_list();
            let k_len = taps.len() * c_in;
            let n = count * per_image;
            let mut a = vec![zero; c_out * n];
            let mut origins = Vec::with_capacity(n);
            for row in 0..n {
                let (b, r) = (row / per_image, row % per_image);
                let o = p.out_coord(r);
                let place = (o[0] * out[1] + o[1]) * out[2] + o[2];
                for co in 0..c_out {
                    a[co * n + row] = dy[((b0 + b) * c_out + co) * spatial_out + place];
                }
                origins.push((b, o));
            }
            let mut cols = vec![zero; n * k_len];
            gemm_fn(&mut cols, &a, w, n, c_out, k_len, k_len);
            for (row, &(b, o)) in origins.iter().enumerate() {
                for (j, k) in taps.iter().enumerate() {
                    let i: [usize; 3] = core::array::from_fn(|x| o[x] * stride[x] + k[x] - pad[x]);
                    let at = (b * spatial_in + i[0] * in_hw + i[1] * input[2] + i[2]) * c_in;
                    let src = &cols[row * k_len + j * c_in..][..c_in];
                    for (d, &v) in dst[at..at + c_in].iter_mut().zip(src) {
                        *d = T::add(*d, v);
                    }
                }
            }
        }
    };
    let mut dx_nhwc = vec![zero; batch * image];
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        dx_nhwc
            .par_chunks_mut(images * image)
            .enumerate()
            .for_each(|(t, dst)| run_tile(t * images, dst));
    }
    #[cfg(not(feature = "rayon"))]
    for (t, dst) in dx_nhwc.chunks_mut(images * image).enumerate() {
        run_tile(t * images, dst);
    }
    // [batch, positions, c_in] -> [batch, c_in, positions]
    let dx = super::conv::channels_last(&dx_nhwc, batch, spatial_in, c_in);
    Some(FlexTensor::new(
        Bytes::from_elems(dx),
        Layout::contiguous(Shape::from(vec![batch, c_in, input[0], input[1], input[2]])),
        dtype,
    ))
}

/// The weight gradient of a convolution the forward pass splits, in the weight's own layout
/// `grad[c_out, c_in, taps]` (zeroed by the caller), accumulated piece by piece and tap by
/// tap: `sum[tap] += dY[:, its positions] @ col[its positions, (tap, c_in)]`, with im2col
/// rows that hold no padding, each used tap's sum then written into `grad[:, :, tap]`. Returns
/// false (and leaves `grad` alone) when the convolution does not split. `x_nhwc` is the input
/// as NHWC, `dy` the output gradient as NCDHW. Only the used taps are written, rather than a
/// `[c_out, (tap, c_in)]` sum transposed whole: for the 1x1 maps' 512x512x3x3 weights, which
/// get one tap in nine, the transpose and its buffers were most of the time (patches/README.md,
/// 12).
#[allow(clippy::too_many_arguments)]
pub(crate) fn weight_grad_by_pieces<T>(
    x_nhwc: &[T],
    dy: &[T],
    batch: usize,
    c_in: usize,
    c_out: usize,
    input: [usize; 3],
    kernel: [usize; 3],
    options: &ConvOptions<3>,
    grad: &mut [T],
    zero: T,
    one: T,
) -> bool
where
    T: bytemuck::Pod + burn_backend::Element + Send + Sync,
{
    let Some(plan) = Plan::new(input, kernel, options) else {
        return false;
    };
    let out = plan.out;
    let spatial_out: usize = out.iter().product();
    let in_hw = input[1] * input[2];
    let (stride, pad) = (options.stride, plan.pad);
    #[cfg(feature = "rayon")]
    let parallelism = gemm::Parallelism::Rayon(0);
    #[cfg(not(feature = "rayon"))]
    let parallelism = gemm::Parallelism::None;
    let taps_total = kernel.iter().product::<usize>();
    // Each tap's sum `[c_out, c_in]`, contiguous, made when the tap is first used and written
    // into the weight's layout once at the end: gemm wrote `grad[:, :, tap]` (both strides
    // above 1) through a scatter, once per piece and tap, 81 times a call for a 4x4 map.
    // Positions per gemm: each piece's positions (across the batch) in tiles of this many.
    const TILE: usize = 512;
    // A tap summed by one gemm (the 1x1 maps' only tap) is still written in place.
    let pieces = plan.pieces();
    let mut gemms_per_tap = vec![0usize; taps_total];
    for p in &pieces {
        let tiles = (batch * p.out_len.iter().product::<usize>()).div_ceil(TILE);
        for tap in p.tap_indices(kernel) {
            gemms_per_tap[tap] += tiles;
        }
    }
    let mut by_tap: Vec<Vec<T>> = (0..taps_total).map(|_| Vec::new()).collect();
    for p in pieces {
        let per_image: usize = p.out_len.iter().product();
        let positions = batch * per_image;
        let k_len = p.taps.iter().product::<usize>() * c_in;
        let mut start = 0;
        while start < positions {
            let end = (start + TILE).min(positions);
            let n = end - start;
            let mut col = vec![zero; n * k_len];
            let mut dy_tile = vec![zero; c_out * n];
            for (row, pos) in (start..end).enumerate() {
                let (b, r) = (pos / per_image, pos % per_image);
                let o = p.out_coord(r);
                let place = (o[0] * out[1] + o[1]) * out[2] + o[2];
                for co in 0..c_out {
                    dy_tile[co * n + row] = dy[(b * c_out + co) * spatial_out + place];
                }
                let mut j = 0;
                for kd in p.tap_start[0]..p.tap_start[0] + p.taps[0] {
                    for kh in p.tap_start[1]..p.tap_start[1] + p.taps[1] {
                        for kw in p.tap_start[2]..p.tap_start[2] + p.taps[2] {
                            let k = [kd, kh, kw];
                            let i: [usize; 3] =
                                core::array::from_fn(|a| o[a] * stride[a] + k[a] - pad[a]);
                            let src =
                                ((b * input[0] + i[0]) * in_hw + i[1] * input[2] + i[2]) * c_in;
                            col[row * k_len + j * c_in..][..c_in]
                                .copy_from_slice(&x_nhwc[src..src + c_in]);
                            j += 1;
                        }
                    }
                }
            }
            // One product per tap.
            let mut j = 0;
            for kd in p.tap_start[0]..p.tap_start[0] + p.taps[0] {
                for kh in p.tap_start[1]..p.tap_start[1] + p.taps[1] {
                    for kw in p.tap_start[2]..p.tap_start[2] + p.taps[2] {
                        let tap = (kd * kernel[1] + kh) * kernel[2] + kw;
                        // sum[c_out, c_in] += dy_tile[c_out, n] @ col[n, j..j + c_in], the sum
                        // being `grad[:, :, tap]` itself or the tap's own.
                        let (sum, cs, rs) = if gemms_per_tap[tap] == 1 {
                            (grad[tap..].as_mut_ptr(), taps_total, c_in * taps_total)
                        } else {
                            let sum = &mut by_tap[tap];
                            if sum.is_empty() {
                                *sum = vec![zero; c_out * c_in];
                            }
                            (sum.as_mut_ptr(), 1, c_in)
                        };
                        unsafe {
                            gemm::gemm(
                                c_out,
                                c_in,
                                n,
                                sum,
                                cs as isize,
                                rs as isize,
                                true,
                                dy_tile.as_ptr(),
                                1,
                                n as isize,
                                col.as_ptr().add(j),
                                1,
                                k_len as isize,
                                one,
                                one,
                                false,
                                false,
                                false,
                                parallelism,
                            );
                        }
                        j += c_in;
                    }
                }
            }
            start = end;
        }
    }
    // grad[c_out, c_in, tap] = by_tap[tap][c_out, c_in], a row of c_out at a time.
    let scatter = |co: usize, row: &mut [T]| {
        for (tap, sum) in by_tap.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
            for (ci, &v) in sum[co * c_in..(co + 1) * c_in].iter().enumerate() {
                row[ci * taps_total + tap] = v;
            }
        }
    };
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        grad.par_chunks_mut(c_in * taps_total)
            .enumerate()
            .for_each(|(co, row)| scatter(co, row));
    }
    #[cfg(not(feature = "rayon"))]
    for (co, row) in grad.chunks_mut(c_in * taps_total).enumerate() {
        scatter(co, row);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_the_edges_of_a_padded_axis() {
        // 4 outputs of a 3-tap kernel, padding 1: the first and last see two taps.
        let r = runs(4, 3, 1, 1, 4).unwrap();
        assert_eq!(
            r,
            vec![
                Run {
                    out_start: 0,
                    out_end: 1,
                    k0: 1,
                    k1: 3
                },
                Run {
                    out_start: 1,
                    out_end: 3,
                    k0: 0,
                    k1: 3
                },
                Run {
                    out_start: 3,
                    out_end: 4,
                    k0: 0,
                    k1: 2
                },
            ]
        );
        // A 1x1 map sees only the centre tap.
        assert_eq!(
            runs(1, 3, 1, 1, 1).unwrap(),
            vec![Run {
                out_start: 0,
                out_end: 1,
                k0: 1,
                k1: 2
            }]
        );
        // Stride 2 from 7 to 4: the first output starts in the padding.
        let r = runs(7, 3, 2, 1, 4).unwrap();
        assert_eq!(
            r[0],
            Run {
                out_start: 0,
                out_end: 1,
                k0: 1,
                k1: 3
            }
        );
        assert_eq!(
            r[1],
            Run {
                out_start: 1,
                out_end: 4,
                k0: 0,
                k1: 3
            }
        );
        // Padding wider than the kernel leaves an output with no input.
        assert!(runs(2, 3, 1, 4, 8).is_none());
    }
}
