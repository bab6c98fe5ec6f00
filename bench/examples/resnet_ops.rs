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

/// (name, count in the network, c_in, c_out, input size, kernel, stride, padding)
type Conv = (
    &'static str,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
);
const CONVS: [Conv; 11] = [
    ("stem 7x7/2", 1, 3, 64, 28, 7, 2, 3),
    ("l1 3x3 7x7", 4, 64, 64, 7, 3, 1, 1),
    ("l2 3x3/2 7->4", 1, 64, 128, 7, 3, 2, 1),
    ("l2 3x3 4x4", 3, 128, 128, 4, 3, 1, 1),
    ("l2 ds 1x1/2", 1, 64, 128, 7, 1, 2, 0),
    ("l3 3x3/2 4->2", 1, 128, 256, 4, 3, 2, 1),
    ("l3 3x3 2x2", 3, 256, 256, 2, 3, 1, 1),
    ("l3 ds 1x1/2", 1, 128, 256, 4, 1, 2, 0),
    ("l4 3x3/2 2->1", 1, 256, 512, 2, 3, 2, 1),
    ("l4 3x3 1x1", 3, 512, 512, 1, 3, 1, 1),
    ("l4 ds 1x1/2", 1, 256, 512, 2, 1, 2, 0),
];
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
    for (i, &(name, count, c_in, c_out, size, k, stride, pad)) in CONVS.iter().enumerate() {
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
