//! The classification part (ResNet-18: random weights, frozen ImageNet features, fine-tuning)
//! and the augmentation part (unmodified, augmented-only and combined training data) on
//! MedMNIST-format files.

use super::classify::{AugmentMode, ImageClassifier, classification_metrics, predict_probs};
pub use super::inputs::{find_weights, resolve_data, weights_for};
use super::predictions;
pub use super::presets::{ImagePreset, image as preset};
use super::record::{DataRef, ExperimentRecord, ModelRun, file_sha256};
use super::spec::ImageSpec;
use super::{ClassWeights, Experiment};
use crate::data::medmnist::{self, MedMnist};
use crate::data::split::Normalization;
use crate::data::{layout, registry};
use crate::metrics::{Metric, classification as cls};
use crate::model::resnet::{ResNet, ResNetConfig};
use crate::model::weights::import_imagenet_resnet18;
use crate::train::{Event, TrainConfig, fit_with};
use crate::{Error, Result};
use burn::module::Module;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// The first test images of each class (up to 8 in all) with the model's answers.
fn samples(data: &MedMnist, probs: &[Vec<f32>]) -> Vec<crate::train::Sample> {
    let name = |k: usize| {
        data.class_names
            .get(k)
            .cloned()
            .unwrap_or_else(|| k.to_string())
    };
    let describe = |labels: &[u8], p: &[f32]| -> (String, String) {
        if data.task == registry::Task::MultiLabel {
            let on = |v: Vec<usize>| {
                let names: Vec<String> = v.into_iter().map(name).collect();
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            };
            (
                on(labels
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v == 1)
                    .map(|(k, _)| k)
                    .collect()),
                on(p.iter()
                    .enumerate()
                    .filter(|(_, v)| **v >= 0.5)
                    .map(|(k, _)| k)
                    .collect()),
            )
        } else {
            (name(labels[0] as usize), name(cls::predict(p)))
        }
    };
    // Round-robin over classes so the grid shows every class, not eight of the majority.
    let classes = data.num_classes();
    let mut picked = Vec::new();
    for k in 0..classes {
        picked.extend(
            (0..data.test.len())
                .filter(|&i| data.test.labels[i].first() == Some(&(k as u8)))
                .take(8 / classes.max(1) + 1),
        );
    }
    picked.sort_unstable();
    picked.truncate(8);
    if picked.is_empty() {
        picked = (0..data.test.len().min(8)).collect();
    }
    picked
        .into_iter()
        .map(|i| {
            let (truth, predicted) = describe(&data.test.labels[i], &probs[i]);
            crate::train::Sample {
                height: data.test.height,
                width: data.test.width,
                channels: data.test.channels,
                pixels: data.test.pixels(i).to_vec(),
                truth,
                predicted,
                truth_mask: None,
                predicted_mask: None,
            }
        })
        .collect()
}

/// Keeps `limit` images of `split` drawn with a generator derived from `seed` and `name`;
/// returns the indices kept (into the file's split), for the record.
fn subset(
    split: &mut medmnist::ImageSplit,
    limit: Option<usize>,
    seed: u64,
    name: &str,
) -> Option<Vec<usize>> {
    let limit = limit.filter(|&l| l < split.len())?;
    let mut idx = crate::rng::Rng::derive(seed, name).permutation(split.len());
    idx.truncate(limit);
    idx.sort_unstable();
    *split = split.select(&idx);
    Some(idx)
}

/// The loss weights per class: none, the user's (one per class), or balanced from the
/// training labels; single-label data only.
fn class_weights(asked: Option<&ClassWeights>, data: &MedMnist) -> Result<Option<Vec<f32>>> {
    let single = data.task != registry::Task::MultiLabel;
    Ok(match asked {
        None => None,
        Some(ClassWeights::Balanced) if !single => {
            return Err(Error::invalid(
                "--class-weights applies to single-label data; this data is multi-label",
            ));
        }
        Some(w) => Some(
            w.for_classes(&data.train.class_counts(data.num_classes()))
                .map_err(|e| Error::invalid(format!("--class-weights: {e}")))?,
        ),
    })
}

/// How the images were split, for the record: the file's own splits, and the seeded subsets
/// of them a profile trains on.
fn split_provenance(
    train_subset: Option<Vec<usize>>,
    val_subset: Option<Vec<usize>>,
    seed: u64,
) -> serde_json::Value {
    let subset = |idx: Option<Vec<usize>>, what: &str, name: &str| {
        idx.map(|idx| {
            serde_json::json!({
                "rule": format!(
                    "a random {} of the file's {what} images, drawn with seed {seed} \
                     (Rng::derive(seed, \"{name}\"))",
                    idx.len()
                ),
                "indices": idx,
            })
        })
    };
    serde_json::json!({
        "rule": "the file's own train / val / test splits; the test split is used whole, row i of \
                 a predictions file being its image i",
        "train_subset": subset(train_subset, "training", "train-subset"),
        "val_subset": subset(val_subset, "validation", "val-subset"),
    })
}

/// A model's test metrics from its probabilities; for single-label data also balanced
/// accuracy, recall per class and the confusion matrix.
fn test_results(run: &mut ModelRun, data: &MedMnist, probs: &[Vec<f32>]) {
    run.test = classification_metrics(data.task, probs, &data.test.labels);
    if data.task == registry::Task::MultiLabel {
        return;
    }
    let truth: Vec<usize> = data.test.labels.iter().map(|l| l[0] as usize).collect();
    let pred: Vec<usize> = probs.iter().map(|p| cls::predict(p)).collect();
    let cm = cls::confusion_matrix(&pred, &truth, data.num_classes());
    let recall = cls::per_class_recall(&cm);
    // Balanced accuracy: the mean recall over the classes the test split has.
    let present: Vec<f64> = recall.iter().flatten().copied().collect();
    if !present.is_empty() {
        run.set_test(
            Metric::BalancedAccuracy,
            present.iter().sum::<f64>() / present.len() as f64,
        );
    }
    run.per_class.insert("recall".into(), recall);
    run.confusion = Some(cm);
}

/// The ResNet-18 a run starts from: ImageNet weights (with the backbone frozen for `frozen`),
/// or a seeded random initialisation.
fn initial_model(
    experiment: Experiment,
    pretrained: Option<&Path>,
    data: &MedMnist,
    seed: u64,
    device: &burn::tensor::Device,
) -> Result<ResNet> {
    Ok(match pretrained {
        Some(weights) => {
            let m =
                import_imagenet_resnet18(weights, data.train.channels, data.num_classes(), device)?;
            if experiment == Experiment::Frozen {
                m.freeze_backbone()
            } else {
                m
            }
        }
        // Random initialisation really is random here: no weights are loaded (the original's
        // "scratch" run silently loaded ImageNet weights).
        None => crate::model::init_seeded(device, seed, |d| {
            ResNetConfig::new(data.num_classes())
                .with_in_channels(data.train.channels)
                .init(d)
        }),
    })
}

/// What `experiment` trains, in words, for the record.
fn architecture(experiment: Experiment, data: &MedMnist) -> String {
    format!(
        "ResNet-18 ({} input channel(s), {} outputs){}",
        data.train.channels,
        data.num_classes(),
        match experiment {
            Experiment::Frozen => ", ImageNet weights, backbone frozen: only the last layer trains",
            Experiment::Finetune => ", from ImageNet weights, every layer trains",
            _ => ", random initialisation",
        }
    )
}

/// What an experiment of the image parts trains on, or why it is skipped.
enum Trains {
    /// Which images, and the ImageNet weights it starts from.
    Run(AugmentMode, Option<PathBuf>),
    /// Not run (the note says why); an experiment the user named is an error instead.
    Skip(String),
}

fn what_trains(name: Experiment, spec: &ImageSpec) -> Result<Trains> {
    let ctx = &spec.run;
    Ok(match name {
        Experiment::Scratch | Experiment::Unmodified => Trains::Run(AugmentMode::Unmodified, None),
        Experiment::Augmented => Trains::Run(AugmentMode::Augmented, None),
        Experiment::Combined => Trains::Run(AugmentMode::Combined, None),
        Experiment::Frozen | Experiment::Finetune => match &spec.imagenet_weights {
            Some(w) => Trains::Run(AugmentMode::Unmodified, Some(w.clone())),
            None if !ctx.named => Trains::Skip(format!(
                "skipped '{name}': it needs ImageNet ResNet-18 weights, which are not in {}; \
                 `petri data fetch resnet18` gets them",
                layout::weights_dir(&ctx.data_dir).display()
            )),
            None => {
                return Err(Error::invalid(format!(
                    "'{name}' needs ImageNet ResNet-18 weights: run `petri data fetch resnet18` (45 MB), or put \
                     torchvision's {} (or timm's {}, same tensor names) in {}",
                    layout::RESNET18_FILE,
                    layout::RESNET18_TIMM_FILE,
                    layout::weights_dir(&ctx.data_dir).display()
                )));
            }
        },
        other => {
            return Err(Error::invalid(format!(
                "'{other}' is not an experiment of the image parts"
            )));
        }
    })
}

/// The data file for the record: its path, checksum and what it holds.
fn data_ref(path: &Path, data: &MedMnist) -> DataRef {
    DataRef {
        path: path.display().to_string(),
        sha256: file_sha256(path),
        description: format!(
            "{} ({}), train {} / val {} / test {} images",
            data.flag
                .as_deref()
                .unwrap_or("custom MedMNIST-format file"),
            data.task,
            data.train.len(),
            data.val.len(),
            data.test.len()
        ),
    }
}

pub fn run(
    spec: &ImageSpec,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<ExperimentRecord> {
    let started = Instant::now();
    let preset = &spec.preset;
    let ctx = &spec.run;
    let path = &spec.data;
    let mut data: MedMnist = medmnist::load(path)?;
    let train_subset = subset(
        &mut data.train,
        preset.train_limit,
        ctx.seed,
        "train-subset",
    );
    let val_subset = subset(&mut data.val, preset.val_limit, ctx.seed, "val-subset");

    let class_weights = class_weights(spec.class_weights.as_ref(), &data)?;
    let config = TrainConfig {
        settings: preset.training,
        seed: ctx.seed,
    };
    let device = ctx.device.training_device()?;
    let plain = device.clone().without_autodiff();
    let norm = Normalization::uniform(data.train.channels, 0.5, 0.5);
    let config_json = serde_json::json!({ "train": config, "preset": preset, "train_images": data.train.len(), "normalization": norm, "class_weights": class_weights });
    let mut record = ctx.record(data_ref(path, &data), config_json);
    // The preset is the part's; the data is what was loaded (BreastMNIST for a preset named
    // after PathMNIST, a user's file, ...).
    record.config["preset"]["dataset"] =
        serde_json::json!(data.flag.clone().unwrap_or_else(|| {
            path.file_name()
                .map_or("custom".into(), |n| n.to_string_lossy().into_owned())
        }));
    record.config["splits"] = split_provenance(train_subset, val_subset, ctx.seed);
    record.class_names = data.class_names.clone();

    for &experiment in &ctx.experiments {
        let name = experiment.name();
        let (mode, pretrained) = match what_trains(experiment, spec)? {
            Trains::Run(mode, pretrained) => (mode, pretrained),
            Trains::Skip(note) => {
                events(Event::Note(note.clone()));
                record.notes.push(note);
                continue;
            }
        };
        if let Some(done) = ctx.already_finished(name, events)? {
            record.push_run(done, events);
            continue;
        }
        events(Event::RunStarted { name: name.into() });
        let run_start = Instant::now();
        let model = initial_model(experiment, pretrained.as_deref(), &data, ctx.seed, &device)?;
        if let Some(weights) = &pretrained
            && record.config.get("imagenet_weights").is_none()
        {
            // torchvision checks only the digest's first 8 hex digits (in the file name):
            // the record keeps the whole digest of the bytes actually used.
            record.config["imagenet_weights"] = serde_json::json!({
                "path": weights.display().to_string(),
                "sha256": file_sha256(weights),
            });
        }
        let learner = ImageClassifier {
            train: &data.train,
            val: &data.val,
            task: data.task,
            num_classes: data.num_classes(),
            normalization: norm.clone(),
            augment: preset.augmentation.clone(),
            mode,
            class_weights: class_weights.clone(),
        };
        let fitted = fit_with(
            &learner,
            model,
            &config,
            &device,
            events,
            stop,
            ctx.training_checkpoint(name).as_ref(),
        )?;
        let mut run = ModelRun::new(name);
        run.architecture = Some(architecture(experiment, &data));
        run.resumed_after = fitted.resumed_after;
        run.trainable_params = Some(crate::model::trainable_params(&fitted.model));
        run.checkpoint = ctx.save_model(name, &fitted.model, &record)?;
        run.outcome = fitted.outcome;
        run.diagnoses = fitted.diagnoses;
        run.epochs = fitted.epochs;
        let model = fitted.model.valid();
        let probs = predict_probs(&model, &data.test, data.task, &norm, &plain);
        events(Event::Samples(samples(&data, &probs)));
        test_results(&mut run, &data, &probs);
        run.predictions = ctx.write_predictions(&record, &format!("{name}.csv"), |path| {
            predictions::write_classes(
                path,
                &data.test.labels,
                &probs,
                data.task == registry::Task::MultiLabel,
            )
        })?;
        run.seconds = run_start.elapsed().as_secs_f64();
        let stopped = run.outcome == crate::train::Outcome::Stopped;
        ctx.finish_model(&mut record, &run)?;
        record.push_run(run, events);
        if stopped {
            break;
        }
    }
    record.seconds = started.elapsed().as_secs_f64();
    Ok(record)
}
