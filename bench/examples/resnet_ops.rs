//! ResNet-18's convolutions (forward, input gradient, weight gradient) and its stem max pool,
//! one burn-flex call at a time, at 28 px and batch 64 on the CPU: the fastest of `--reps`
//! calls each, and the whole network's sum (each shape times its count). A whole training step
//! on a shared VM moves 10-15% from run to run; the fastest of many calls of one operation
//! moves a few percent, which is what an A/B of a kernel change needs (patches/README.md).
//! `bench/resnet_ops` prints PyTorch's figures for the same calls beside these.
//!
//! `cargo run --release -p petri-bench --example resnet_ops -- [--threads N] [--reps N] [--only TEXT]`

use burn_backend::ops::{ConvOptions, ModuleOps};
use burn_backend::{DType, IntDType};
use burn_flex::{Flex, FlexTensor, Layout};
use burn_std::{Bytes, Shape};
use std::time::Instant;

/// One convolution of `resnet_ops.txt` (shared with `resnet_ops.py`).
struct Conv {
    name: String,
    /// How many times the network has it.
    count: usize,
    /// c_in, c_out, input size, kernel, stride, padding.
    sizes: [usize; 6],
}

fn convs() -> Vec<Conv> {
    include_str!("../resnet_ops.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let fields: Vec<&str> = l.split('|').map(str::trim).collect();
            let number = |i: usize| -> usize {
                fields[i]
                    .parse()
                    .unwrap_or_else(|_| panic!("resnet_ops.txt: {l:?}"))
            };
            Conv {
                name: fields[0].to_string(),
                count: number(1),
                sizes: core::array::from_fn(|i| number(i + 2)),
            }
        })
        .collect()
}
const BATCH: usize = 64;

/// Uniform values in [-1, 1) from `seed` (a ReLU of them when `relu`, like activations).
fn tensor(shape: &[usize], seed: u64, relu: bool) -> FlexTensor {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let values: Vec<f32> = (0..shape.iter().product())
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            if relu { v.max(0.0) } else { v }
        })
        .collect();
    FlexTensor::new(
        Bytes::from_elems(values),
        Layout::contiguous(Shape::from(shape.to_vec())),
        DType::F32,
    )
}

/// The fastest of `reps` calls (after one untimed), in ms.
fn fastest(reps: usize, mut call: impl FnMut()) -> f64 {
    call();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            call();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let threads: usize = value("--threads").and_then(|v| v.parse().ok()).unwrap_or(2);
    let reps: usize = value("--reps").and_then(|v| v.parse().ok()).unwrap_or(20);
    let only = value("--only").unwrap_or_default();
    petri_engine::allocator::tune_for_training();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("a fresh thread pool");
    println!("# petri (burn-flex), {threads} threads, batch {BATCH}, fastest of {reps} calls");
    println!(
        "{:<18} {:>8} {:>8} {:>8}",
        "op (x count)", "fwd ms", "dx ms", "dw ms"
    );
    let mut total = [0.0; 3];
    for (i, conv) in convs().iter().enumerate() {
        let (name, count) = (&conv.name, conv.count);
        let [c_in, c_out, size, k, stride, pad] = conv.sizes;
        if !name.contains(&only) {
            continue;
        }
        let x = tensor(&[BATCH, c_in, size, size], i as u64, true);
        let w = tensor(&[c_out, c_in, k, k], 100 + i as u64, false);
        let options = ConvOptions::new([stride; 2], [pad; 2], [1, 1], 1);
        let y = Flex::conv2d(x.clone(), w.clone(), None, options.clone());
        let dy = tensor(y.layout().shape(), 200 + i as u64, false);
        let times = [
            fastest(reps, || {
                Flex::conv2d(x.clone(), w.clone(), None, options.clone());
            }),
            fastest(reps, || {
                Flex::conv2d_x_backward(x.clone(), w.clone(), dy.clone(), options.clone());
            }),
            fastest(reps, || {
                Flex::conv2d_weight_backward(x.clone(), w.clone(), dy.clone(), options.clone());
            }),
        ];
        println!(
            "{:<14} x{count} {:>8.3} {:>8.3} {:>8.3}",
            name, times[0], times[1], times[2]
        );
        for (t, v) in total.iter_mut().zip(times) {
            *t += v * count as f64;
        }
    }
    if "maxpool 3x3/2".contains(&only) {
        let x = tensor(&[BATCH, 64, 14, 14], 7, true);
        let pool = fastest(reps, || {
            Flex::max_pool2d_with_indices(
                x.clone(),
                [3, 3],
                [2, 2],
                [1, 1],
                [1, 1],
                false,
                IntDType::I64,
            );
        });
        println!("{:<18} {pool:>8.3}", "maxpool 3x3/2");
        total[0] += pool;
    }
    println!(
        "{:<18} {:>8.3} {:>8.3} {:>8.3}   sum {:.3}",
        "network",
        total[0],
        total[1],
        total[2],
        total.iter().sum::<f64>()
    );
}
