//! The optimizer update alone, on ResNet-18's 11 M parameters, on the CPU: burn's `Sgd` +
//! `Momentum` next to Petri's in-place `SgdMomentum` (engine/src/train/sgd.rs), and burn's
//! Adam as is next to Petri's (the same Adam given contiguous gradients,
//! engine/src/train/contiguous.rs).
//!
//! `cargo run --release -p petri-bench --example optimizer_step -- [--threads N] [--steps N]`

use petri_engine::burn::optim::{
    AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig, momentum::MomentumConfig,
};
use petri_engine::burn::tensor::{Device, Distribution, Tensor};
use petri_engine::model::resnet::ResNetConfig;
use petri_engine::train::Optimizer;
use std::time::Instant;

/// Median and fastest update time in ms over `steps` steps (after 3 untimed ones).
fn time_updates(mut optim: ModuleOptimizer, steps: usize) -> (f64, f64) {
    let device = Device::flex().autodiff();
    let mut model = petri_engine::model::init_seeded(&device, 0, |d| ResNetConfig::new(9).init(d));
    let x = Tensor::<4>::random([4, 3, 28, 28], Distribution::Default, &device);
    let mut ms = Vec::new();
    for i in 0..steps + 3 {
        let loss = model.forward(x.clone()).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let t = Instant::now();
        model = optim.step(0.001, model, grads);
        if i >= 3 {
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let threads = value("--threads", 2);
    let steps = value("--steps", 20);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("a fresh thread pool");
    let burn_sgd = || {
        SgdConfig::new()
            .with_momentum(Some(
                MomentumConfig::new().with_momentum(0.9).with_dampening(0.0),
            ))
            .init()
    };
    let petri_sgd = || {
        Optimizer::Sgd {
            lr: 0.001,
            momentum: 0.9,
        }
        .build()
    };
    let burn_adam = || AdamConfig::new().init();
    let petri_adam = || Optimizer::Adam { lr: 0.001 }.build();
    println!("ResNet-18 optimizer update, {threads} threads, median of {steps} steps (fastest)");
    // Twice each, interleaved: shared machines drift.
    for round in 1..=2 {
        let (b, bmin) = time_updates(burn_sgd(), steps);
        let (p, pmin) = time_updates(petri_sgd(), steps);
        println!(
            "round {round} SGD momentum: burn {b:.1} ms ({bmin:.1}), Petri {p:.1} ms ({pmin:.1}): {:.2}x",
            b / p
        );
        let (b, bmin) = time_updates(burn_adam(), steps);
        let (p, pmin) = time_updates(petri_adam(), steps);
        println!(
            "round {round} Adam:         burn {b:.1} ms ({bmin:.1}), Petri {p:.1} ms ({pmin:.1}): {:.2}x",
            b / p
        );
    }
}
