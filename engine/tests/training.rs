//! Training on tiny models and a few batches: losses fall, metrics move, runs reproduce, and a
//! stop request ends a run. No exact floats are asserted.

use burn::module::Module;
use burn::tensor::Device;
use petri_engine::data::image::{Image, Mask};
use petri_engine::data::medmnist::ImageSplit;
use petri_engine::data::registry::Task;
use petri_engine::data::segmentation::Sample;
use petri_engine::data::split::Normalization;
use petri_engine::experiment::classify::{AugmentMode, ImageClassifier};
use petri_engine::experiment::segment::{SegmentationLoss, Segmenter};
use petri_engine::model::resnet::{ResNetConfig, Stem};
use petri_engine::model::unet::UNetConfig;
use petri_engine::model::{init_seeded, trainable_params};
use petri_engine::rng::Rng;
use petri_engine::train::{
    Event, Fitted, Learner, Optimizer, Outcome, TrainConfig, TrainingSettings, fit,
};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

fn device() -> Device {
    Device::flex().autodiff()
}

#[test]
fn resnet18_has_torchvision_parameter_counts() {
    // Trainable means "requires a gradient", which needs an autodiff device.
    let d = device();
    let model = init_seeded(&d, 0, |d| ResNetConfig::new(9).init(d));
    assert_eq!(trainable_params(&model), 11_181_129);
    let frozen = init_seeded(&d, 0, |d| ResNetConfig::new(9).init(d)).freeze_backbone();
    assert_eq!(
        trainable_params(&frozen),
        4_617,
        "only the 512x9 head and its bias train"
    );
    let grey = init_seeded(&d, 0, |d| ResNetConfig::new(2).with_in_channels(1).init(d));
    assert_eq!(trainable_params(&grey), 11_171_266);
}

/// Bright-left vs bright-right 8x8 images: learnable in a few steps.
fn toy_split(n: usize, seed: u64) -> ImageSplit {
    let mut rng = Rng::new(seed);
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let class = i % 2;
        for _y in 0..8 {
            for x in 0..8 {
                let bright = (x < 4) == (class == 0);
                let v = if bright { 200.0 } else { 40.0 } + rng.uniform(-30.0, 30.0);
                pixels.push(v as u8);
            }
        }
        labels.push(vec![class as u8]);
    }
    ImageSplit::new(8, 8, 1, pixels, labels)
}

/// Trains to the end and returns the model with every batch loss, in order.
fn fit_recording_losses<L: Learner>(
    learner: &L,
    model: L::Model,
    config: &TrainConfig,
    device: &Device,
) -> (Fitted<L::Model>, Vec<f32>) {
    let events = Mutex::new(Vec::new());
    let fitted = fit(
        learner,
        model,
        config,
        device,
        &|e| events.lock().unwrap().push(e),
        &AtomicBool::new(false),
    )
    .unwrap();
    let losses = losses_of(&events.into_inner().unwrap());
    (fitted, losses)
}

fn losses_of(events: &[Event]) -> Vec<f32> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Batch { loss, .. } => Some(*loss),
            _ => None,
        })
        .collect()
}

fn train_toy_classifier(seed: u64) -> (Vec<f32>, f64) {
    let train = toy_split(64, 1);
    let val = toy_split(32, 2);
    let learner = ImageClassifier {
        train: &train,
        val: &val,
        task: Task::Binary,
        num_classes: 2,
        normalization: Normalization::uniform(1, 0.5, 0.5),
        augment: Default::default(),
        mode: AugmentMode::Unmodified,
        class_weights: None,
    };
    let device = device();
    let model = init_seeded(&device, seed, |d| {
        ResNetConfig::new(2)
            .with_in_channels(1)
            .with_stem(Stem::Cifar)
            .init(d)
    });
    let config = TrainConfig {
        settings: TrainingSettings {
            epochs: 3,
            batch_size: 16,
            optimizer: Optimizer::Adam { lr: 0.001 },
        },
        seed,
    };
    let (fitted, losses) = fit_recording_losses(&learner, model, &config, &device);
    assert_eq!(fitted.outcome, Outcome::Finished);
    assert_eq!(fitted.epochs.len(), 3);
    let acc = fitted.epochs.last().unwrap().val["accuracy"];
    (losses, acc)
}

#[test]
fn classifier_loss_falls_accuracy_moves_and_runs_reproduce() {
    let (losses, acc) = train_toy_classifier(7);
    assert_eq!(losses.len(), 12);
    let first: f32 = losses[..4].iter().sum();
    let last: f32 = losses[8..].iter().sum();
    assert!(last < first * 0.7, "loss did not fall: {losses:?}");
    assert!(acc > 0.8, "validation accuracy {acc}");
    // Same seed, same run: initial weights and batch order are identical; the only freedom left
    // is the summation order of parallel kernels under load, worth far less than 1e-3.
    let (again, _) = train_toy_classifier(7);
    assert!(
        (losses[0] - again[0]).abs() < 1e-5,
        "same seed must give the same initial weights and first batch: {} vs {}",
        losses[0],
        again[0]
    );
    for (a, b) in losses.iter().zip(&again) {
        assert!(
            (a - b).abs() <= 1e-3 * a.abs().max(1.0),
            "runs diverged: {losses:?} vs {again:?}"
        );
    }
    assert_eq!(
        losses, again,
        "same seed and threads must give the same run"
    );
}

fn toy_segmentation(n: usize, seed: u64) -> Vec<Sample> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            // A bright square (class 1) on a dark background (class 0).
            let (y0, x0) = (rng.below(8), rng.below(8));
            let mut img = vec![0.1f32; 16 * 16];
            let mut mask = vec![0u8; 16 * 16];
            for y in y0..y0 + 8 {
                for x in x0..x0 + 8 {
                    img[y * 16 + x] = 0.9;
                    mask[y * 16 + x] = 1;
                }
            }
            for v in &mut img {
                *v += rng.uniform(-0.05, 0.05) as f32;
            }
            Sample {
                image: Image::new(1, 16, 16, img),
                mask: Mask::new(16, 16, mask),
                source: i,
            }
        })
        .collect()
}

#[test]
fn unet_learns_a_toy_segmentation_with_either_loss() {
    let train = toy_segmentation(16, 3);
    let val = toy_segmentation(8, 4);
    for loss in [
        SegmentationLoss::CrossEntropy,
        SegmentationLoss::CrossEntropyDice,
    ] {
        let learner = Segmenter {
            train: &train,
            val: &val,
            num_classes: 2,
            normalization: Normalization::uniform(1, 0.5, 0.25),
            augment: Default::default(),
            class_weights: None,
            background: Some(0),
            loss,
        };
        let device = device();
        let model = init_seeded(&device, 0, |d| {
            UNetConfig::new(2)
                .with_in_channels(1)
                .with_depth(2)
                .with_base_channels(4)
                .init(d)
        });
        let config = TrainConfig {
            settings: TrainingSettings {
                epochs: 6,
                batch_size: 4,
                optimizer: Optimizer::Adam { lr: 0.01 },
            },
            seed: 0,
        };
        let (fitted, losses) = fit_recording_losses(&learner, model, &config, &device);
        assert!(
            losses[losses.len() - 4..].iter().sum::<f32>() < losses[..4].iter().sum::<f32>() * 0.7,
            "{loss:?}: {losses:?}"
        );
        let last = &fitted.epochs.last().unwrap().val;
        assert!(
            last["pixel_accuracy"] > 0.8 && last["dice_mean"] > 0.6,
            "{loss:?}: {last:?}"
        );
    }
}

#[test]
fn a_stop_request_ends_the_run_at_the_next_batch() {
    let train = toy_split(32, 1);
    let learner = ImageClassifier {
        train: &train,
        val: &train,
        task: Task::Binary,
        num_classes: 2,
        normalization: Normalization::uniform(1, 0.5, 0.5),
        augment: Default::default(),
        mode: AugmentMode::Combined,
        class_weights: None,
    };
    let device = device();
    let model = init_seeded(&device, 0, |d| {
        ResNetConfig::new(2).with_in_channels(1).init(d)
    });
    let config = TrainConfig {
        settings: TrainingSettings {
            epochs: 5,
            batch_size: 8,
            optimizer: Optimizer::Sgd {
                lr: 0.01,
                momentum: 0.9,
            },
        },
        seed: 0,
    };
    let stop = AtomicBool::new(false);
    let batches = Mutex::new(0);
    let fitted = fit(
        &learner,
        model,
        &config,
        &device,
        &|e| {
            if matches!(e, Event::Batch { .. }) {
                *batches.lock().unwrap() += 1;
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        },
        &stop,
    )
    .unwrap();
    assert_eq!(fitted.outcome, Outcome::Stopped);
    // Batch 1's loss is read (and reported) once batch 2 is queued, so the stop asked for on
    // batch 1's report finds batch 2 under way: it finishes, is reported, and nothing more runs.
    assert_eq!(*batches.lock().unwrap(), 2);
    assert!(fitted.epochs.is_empty());
}

/// A learner whose loss turns NaN at one batch, as a too-large learning rate makes it.
struct PoisonedAt<'a, L> {
    inner: &'a L,
    calls: std::cell::Cell<usize>,
    at: usize,
}

impl<L: Learner> Learner for PoisonedAt<'_, L> {
    type Model = L::Model;

    fn train_len(&self) -> usize {
        self.inner.train_len()
    }

    fn batch_loss(
        &self,
        model: &L::Model,
        indices: &[usize],
        rng: &mut Rng,
        device: &Device,
    ) -> burn::tensor::Tensor<1> {
        self.calls.set(self.calls.get() + 1);
        let loss = self.inner.batch_loss(model, indices, rng, device);
        if self.calls.get() == self.at {
            loss.mul_scalar(f32::NAN)
        } else {
            loss
        }
    }

    fn validate(&self, model: &L::Model, device: &Device) -> petri_engine::train::Metrics {
        self.inner.validate(model, device)
    }
}

#[test]
fn a_nan_loss_ends_the_run_with_a_stored_diagnosis_and_the_last_good_model() {
    let train = toy_split(32, 1);
    let classifier = ImageClassifier {
        train: &train,
        val: &train,
        task: Task::Binary,
        num_classes: 2,
        normalization: Normalization::uniform(1, 0.5, 0.5),
        augment: Default::default(),
        mode: AugmentMode::Unmodified,
        class_weights: None,
    };
    // 4 batches an epoch: batch 2 of epoch 2 is the 6th.
    let learner = PoisonedAt {
        inner: &classifier,
        calls: Default::default(),
        at: 6,
    };
    let device = device();
    let model = init_seeded(&device, 0, |d| {
        ResNetConfig::new(2)
            .with_in_channels(1)
            .with_stem(Stem::Cifar)
            .init(d)
    });
    let config = TrainConfig {
        settings: TrainingSettings {
            epochs: 4,
            batch_size: 8,
            optimizer: Optimizer::Adam { lr: 0.001 },
        },
        seed: 0,
    };
    let (fitted, losses) = fit_recording_losses(&learner, model, &config, &device);
    assert_eq!(fitted.outcome, Outcome::Diverged);
    assert_eq!(fitted.epochs.len(), 1, "epoch 1 finished, epoch 2 did not");
    assert_eq!(losses.len(), 5, "batches before the NaN one");
    let d = &fitted.diagnoses[..];
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].finding, petri_engine::train::coach::Finding::Diverging);
    assert_eq!(d[0].epoch, 2);
    assert!(
        d[0].message.contains("NaN at epoch 2, batch 2") && d[0].message.contains("after epoch 1"),
        "{}",
        d[0].message
    );
    // The model handed back is the one of epoch 1: its predictions are numbers.
    let val = classifier.validate(&fitted.model.valid(), &device.clone().without_autodiff());
    assert!(val.values().all(|v| v.is_finite()), "{val:?}");
}
