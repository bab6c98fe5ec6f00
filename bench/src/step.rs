//! Times one row: the training step (forward, loss, backward, SGD-with-momentum update) and
//! inference (forward of the model in eval mode), each as the median of `steps` steps after
//! `warmup` untimed ones, on fixed random inputs. The device is synchronised after every step
//! so GPU timings count the work, not its queueing.

use crate::memory;
use crate::rows::{Net, Row};
use petri_engine::burn::module::Module;
use petri_engine::burn::nn::loss::CrossEntropyLossConfig;
use petri_engine::burn::optim::GradientsParams;
use petri_engine::burn::tensor::{Device, Distribution, Int, Tensor};
use petri_engine::experiment::segment::pixel_rows;
use petri_engine::model::resnet::{ResNet, ResNetConfig};
use petri_engine::model::unet::{UNet, UNetConfig};
use petri_engine::train::Optimizer;
use serde::Serialize;
use std::time::Instant;

/// How many steps to time and how many to run first.
#[derive(Debug, Clone, Copy)]
pub struct Steps {
    pub warmup: usize,
    pub timed: usize,
}

/// What one timing gives.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub row: String,
    /// `train` or `infer`.
    pub mode: &'static str,
    pub images_per_sec: f64,
    pub median_step_ms: f64,
    /// Every timed step, in milliseconds, to see the spread.
    pub steps_ms: Vec<f64>,
    /// Peak resident memory (CPU) or allocator bytes (GPU), in MiB.
    pub peak_mib: Option<f64>,
    /// The last step's loss (training only): finite means the step computed something.
    pub loss: Option<f32>,
}

// One model per row, moved through every step: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Model {
    ResNet(ResNet),
    UNet(UNet),
}

impl Model {
    fn new(row: &Row, device: &Device) -> Model {
        use petri_engine::model::init_seeded;
        match row.net {
            Net::ResNet18 => Model::ResNet(init_seeded(device, 0, |d| {
                ResNetConfig::new(row.classes())
                    .with_in_channels(row.channels)
                    .init(d)
            })),
            Net::UNet { base } => Model::UNet(init_seeded(device, 0, |d| {
                UNetConfig::new(row.classes())
                    .with_in_channels(row.channels)
                    .with_base_channels(base)
                    .init(d)
            })),
        }
    }
}

/// Fixed inputs and targets for a row: images `[B, C, S, S]` and class indices per image
/// (ResNet) or per pixel (U-Net, flattened to match `pixel_rows`).
fn batch(row: &Row, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    device.seed(1);
    let x = Tensor::random(
        [row.batch, row.channels, row.size, row.size],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    let targets = match row.net {
        Net::ResNet18 => row.batch,
        Net::UNet { .. } => row.batch * row.size * row.size,
    };
    let y = Tensor::<1, Int>::random(
        [targets],
        Distribution::Uniform(0.0, row.classes() as f64),
        device,
    );
    (x, y)
}

fn sync(device: &Device) {
    device.sync().expect("the device failed while benchmarking");
}

fn time_steps(steps: Steps, device: &Device, mut step: impl FnMut() -> Option<f32>) -> Measured {
    let mut times = Vec::with_capacity(steps.timed);
    let mut peak_device = None::<u64>;
    let mut loss = None;
    for i in 0..steps.warmup + steps.timed {
        let t = Instant::now();
        loss = step();
        sync(device);
        let dt = t.elapsed().as_secs_f64();
        if i >= steps.warmup {
            times.push(dt);
        }
        if let Some(bytes) = memory::device_reserved(device) {
            peak_device = Some(peak_device.map_or(bytes, |p| p.max(bytes)));
        }
    }
    Measured {
        times,
        peak_device,
        loss,
    }
}

struct Measured {
    times: Vec<f64>,
    peak_device: Option<u64>,
    loss: Option<f32>,
}

impl Measured {
    fn into_timing(self, row: &Row, mode: &'static str) -> Timing {
        let median = median(&self.times);
        let peak = self.peak_device.or_else(memory::peak_rss);
        Timing {
            row: row.name(),
            mode,
            images_per_sec: row.batch as f64 / median,
            median_step_ms: median * 1e3,
            steps_ms: self
                .times
                .iter()
                .map(|t| (t * 1e4).round() / 10.0)
                .collect(),
            peak_mib: peak.map(|b| b as f64 / (1024.0 * 1024.0)),
            loss: self.loss,
        }
    }
}

/// Median of a non-empty list (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n.is_multiple_of(2) {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    } else {
        v[n / 2]
    }
}

/// Times training steps of a row on `device` (an autodiff device).
pub fn train(row: &Row, device: &Device, steps: Steps) -> Timing {
    memory::reset_peak_rss();
    let mut model = Some(Model::new(row, device));
    let (x, y) = batch(row, device);
    let optimizer = Optimizer::Sgd {
        lr: 0.01,
        momentum: 0.9,
    };
    let mut optim = optimizer.build();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let measured = time_steps(steps, device, || {
        let (next, loss) = match model.take().expect("model is put back every step") {
            Model::ResNet(m) => {
                let loss = loss_fn.forward(m.forward(x.clone()), y.clone());
                let grads = GradientsParams::from_grads(loss.backward(), &m);
                let m = optim.step(optimizer.lr(), m, grads);
                (Model::ResNet(m), loss)
            }
            Model::UNet(m) => {
                let loss = loss_fn.forward(pixel_rows(m.forward(x.clone())), y.clone());
                let grads = GradientsParams::from_grads(loss.backward(), &m);
                let m = optim.step(optimizer.lr(), m, grads);
                (Model::UNet(m), loss)
            }
        };
        model = Some(next);
        Some(loss.into_scalar::<f32>())
    });
    measured.into_timing(row, "train")
}

/// Times inference of a row: the model in eval mode on the plain (non-autodiff) device.
pub fn infer(row: &Row, device: &Device, steps: Steps) -> Timing {
    memory::reset_peak_rss();
    let plain = device.clone().without_autodiff();
    let model = match Model::new(row, device) {
        Model::ResNet(m) => Model::ResNet(m.valid()),
        Model::UNet(m) => Model::UNet(m.valid()),
    };
    let (x, _) = batch(row, &plain);
    let measured = time_steps(steps, &plain, || {
        // Reading one value back forces the whole forward pass on lazy backends.
        let out = match &model {
            Model::ResNet(m) => m.forward(x.clone()).sum(),
            Model::UNet(m) => m.forward(x.clone()).sum(),
        };
        let _ = out.into_scalar::<f32>();
        None
    });
    measured.into_timing(row, "infer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_lists() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn a_tiny_row_trains_and_infers_on_the_cpu() {
        let row = Row {
            net: Net::UNet { base: 4 },
            channels: 1,
            size: 16,
            batch: 2,
        };
        let device = Device::flex().autodiff();
        let steps = Steps {
            warmup: 1,
            timed: 3,
        };
        let t = train(&row, &device, steps);
        assert_eq!(t.steps_ms.len(), 3);
        assert!(t.images_per_sec > 0.0 && t.loss.unwrap().is_finite());
        let i = infer(&row, &device, steps);
        assert!(i.images_per_sec > 0.0 && i.loss.is_none());
        assert_eq!(i.row, "unet4 1x16x16 b2");
    }
}
