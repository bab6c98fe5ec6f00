//! A network's convolutions (forward, input gradient, weight gradient) and max pools, one
//! burn-flex call at a time on the CPU: the fastest of `--reps` calls each, and the whole
//! network's sum (each shape times its count). The shapes are `ops_resnet.txt` (ResNet-18 at
//! 28 px, batch 64), `ops_unet.txt` or `ops_unet64.txt` (the U-Net at 64 px, batch 16, 16 or 64
//! base channels), shared with `ops.py`. A
//! whole training step on a shared VM moves 10-15% from run to run; the fastest of many calls of
//! one operation moves a few percent, which is what an A/B of a kernel change needs
//! (patches/README.md). `bench/ops` prints PyTorch's figures for the same calls beside these.
//!
//! `cargo run --release -p petri-bench --example ops -- [--net resnet|unet|unet64] [--threads N]
//! [--reps N] [--only TEXT] [--pass fwd|dx|dw]` (`--pass` times one of the three, for `perf`)

use burn_backend::ops::{ConvOptions, ModuleOps};
use burn_backend::{DType, IntDType};
use burn_flex::{Flex, FlexTensor, Layout};
use burn_std::{Bytes, Shape};
use std::time::Instant;

/// One row of an `ops_*.txt` table: a convolution, or a max pool when the name says so.
struct Op {
    name: String,
    /// How many times the network has it.
    count: usize,
    /// c_in, c_out, input size, kernel, stride, padding.
    sizes: [usize; 6],
}

/// The table's batch size and rows.
fn table(net: &str) -> (usize, Vec<Op>) {
    let (file, text) = match net {
        "resnet" => ("ops_resnet.txt", include_str!("../ops_resnet.txt")),
        "unet" => ("ops_unet.txt", include_str!("../ops_unet.txt")),
        "unet64" => ("ops_unet64.txt", include_str!("../ops_unet64.txt")),
        other => {
            eprintln!("--net {other:?}: expected resnet, unet or unet64");
            std::process::exit(2);
        }
    };
    let mut batch = None;
    let mut ops = Vec::new();
    for l in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let bad = || -> ! { panic!("{file}: {l:?}") };
        if let Some(b) = l.strip_prefix("batch ") {
            batch = Some(b.trim().parse().unwrap_or_else(|_| bad()));
            continue;
        }
        let fields: Vec<&str> = l.split('|').map(str::trim).collect();
        let number = |i: usize| -> usize {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .unwrap_or_else(|| bad())
        };
        ops.push(Op {
            name: fields[0].to_string(),
            count: number(1),
            sizes: core::array::from_fn(|i| number(i + 2)),
        });
    }
    (
        batch.unwrap_or_else(|| panic!("{file}: no `batch N` line")),
        ops,
    )
}

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
    let pass = value("--pass");
    let timed = |name: &str| pass.as_deref().is_none_or(|p| p == name);
    let net = value("--net").unwrap_or_else(|| "resnet".into());
    let (batch, ops) = table(&net);
    petri_engine::allocator::tune_for_training();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("a fresh thread pool");
    println!(
        "# petri (burn-flex), {net}, {threads} threads, batch {batch}, fastest of {reps} calls"
    );
    println!(
        "{:<18} {:>8} {:>8} {:>8}",
        "op (x count)", "fwd ms", "dx ms", "dw ms"
    );
    let mut total = [0.0; 3];
    for (i, op) in ops.iter().enumerate() {
        let (name, count) = (&op.name, op.count);
        let [c_in, c_out, size, k, stride, pad] = op.sizes;
        if !name.contains(&only) {
            continue;
        }
        let x = tensor(&[batch, c_in, size, size], i as u64, true);
        if name.starts_with("maxpool") {
            let pool = fastest(reps, || {
                Flex::max_pool2d_with_indices(
                    x.clone(),
                    [k, k],
                    [stride, stride],
                    [pad, pad],
                    [1, 1],
                    false,
                    IntDType::I64,
                );
            });
            println!("{:<14} x{count} {pool:>8.3}", name);
            total[0] += pool * count as f64;
            continue;
        }
        let w = tensor(&[c_out, c_in, k, k], 100 + i as u64, false);
        let options = ConvOptions::new([stride; 2], [pad; 2], [1, 1], 1);
        let y = Flex::conv2d(x.clone(), w.clone(), None, options.clone());
        let dy = tensor(y.layout().shape(), 200 + i as u64, false);
        let mut times = [f64::NAN; 3];
        if timed("fwd") {
            times[0] = fastest(reps, || {
                Flex::conv2d(x.clone(), w.clone(), None, options.clone());
            });
        }
        if timed("dx") {
            times[1] = fastest(reps, || {
                Flex::conv2d_x_backward(x.clone(), w.clone(), dy.clone(), options.clone());
            });
        }
        if timed("dw") {
            times[2] = fastest(reps, || {
                Flex::conv2d_weight_backward(x.clone(), w.clone(), dy.clone(), options.clone());
            });
        }
        println!(
            "{:<14} x{count} {:>8.3} {:>8.3} {:>8.3}",
            name, times[0], times[1], times[2]
        );
        for (t, v) in total.iter_mut().zip(times) {
            *t += v * count as f64;
        }
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
