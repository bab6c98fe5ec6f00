//! The segmentation part: a U-Net (4 levels, bilinear upsampling) trained with per-pixel
//! cross-entropy and Adam. Training images get paired random flips; validation and test images
//! are never augmented (the original notebook augmented them). The skin autofluorescence set is
//! used when present; any image + mask folder works with `--data`.

use super::predictions;
pub use super::presets::{SegmentationLoss, SegmentationPreset, segmentation as preset};
use super::record::{DataRef, ExperimentRecord, ModelRun};
use super::spec::SegmentationSpec;
use crate::augment::{Pipeline, Transform};
use crate::data::image::{Image, Mask};
use crate::data::segmentation::{self, Sample};
use crate::data::split::{Normalization, group_split};
use crate::metrics::{Metric, MetricMap, mean_defined, segmentation as seg};
use crate::model::unet::{UNet, UNetConfig};
use crate::rng::Rng;
use crate::train::{Event, Learner, Metrics, TrainConfig, fit_with};
use crate::{Error, Result};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub struct Segmenter<'a> {
    pub train: &'a [Sample],
    pub val: &'a [Sample],
    pub num_classes: usize,
    pub normalization: Normalization,
    pub augment: Pipeline,
    pub class_weights: Option<Vec<f32>>,
    /// The background class, left out of `dice_foreground`.
    pub background: Option<usize>,
    pub loss: SegmentationLoss,
}

/// Soft Dice loss over a batch: 1 - mean over classes of 2|P∩T| / (|P| + |T|), with P the
/// softmax probabilities and T the one-hot truth, both summed over every pixel of the batch.
pub fn soft_dice_loss(rows: Tensor<2>, target: Tensor<1, Int>) -> Tensor<1> {
    let [_, classes] = rows.dims();
    let probs = softmax(rows, 1);
    let truth: Tensor<2> = target.one_hot::<2>(classes).float();
    let intersection = (probs.clone() * truth.clone()).sum_dim(0);
    let sizes = probs.sum_dim(0) + truth.sum_dim(0);
    // The 1s keep a class absent from both prediction and truth at Dice 1, not 0/0.
    let dice = (intersection * 2.0 + 1.0) / (sizes + 1.0);
    (dice.mean() * -1.0 + 1.0).reshape([1])
}

fn to_tensors(
    samples: &[(Image, Mask)],
    norm: &Normalization,
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let (c, h, w) = (
        samples[0].0.channels,
        samples[0].0.height,
        samples[0].0.width,
    );
    let mut x = Vec::with_capacity(samples.len() * c * h * w);
    let mut y = Vec::with_capacity(samples.len() * h * w);
    for (img, mask) in samples {
        let mut img = img.clone();
        norm.apply(&mut img);
        x.extend_from_slice(&img.data);
        y.extend(mask.data.iter().map(|&v| v as i64));
    }
    (
        Tensor::from_data(TensorData::new(x, [samples.len(), c, h, w]), device),
        Tensor::from_data(TensorData::new(y, [samples.len() * h * w]), device),
    )
}

/// `[N, C, H, W]` logits to `[N*H*W, C]` rows, matching the flattened masks.
pub fn pixel_rows(logits: Tensor<4>) -> Tensor<2> {
    let [n, c, h, w] = logits.dims();
    logits.permute([0, 2, 3, 1]).reshape([n * h * w, c])
}

/// Predicted class per pixel for each sample.
pub fn predict_masks(
    model: &UNet,
    samples: &[Sample],
    norm: &Normalization,
    device: &Device,
) -> Vec<Mask> {
    let mut out = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(8) {
        let pairs: Vec<(Image, Mask)> = chunk
            .iter()
            .map(|s| (s.image.clone(), s.mask.clone()))
            .collect();
        let (x, _) = to_tensors(&pairs, norm, device);
        let logits = model.forward(x);
        let [n, _, h, w] = logits.dims();
        let pred: Vec<i64> = logits
            .argmax(1)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .expect("class indices");
        for i in 0..n {
            out.push(Mask::new(
                h,
                w,
                pred[i * h * w..(i + 1) * h * w]
                    .iter()
                    .map(|&v| v as u8)
                    .collect(),
            ));
        }
    }
    out
}

/// Pixel accuracy, Dice and IoU per class, and their means over all pixels of `samples`.
pub fn segmentation_metrics(
    pred: &[Mask],
    samples: &[Sample],
    classes: usize,
    background: Option<usize>,
) -> (Metrics, Vec<Option<f64>>, Vec<Option<f64>>) {
    let p: Vec<u8> = pred.iter().flat_map(|m| m.data.iter().copied()).collect();
    let t: Vec<u8> = samples
        .iter()
        .flat_map(|s| s.mask.data.iter().copied())
        .collect();
    let dice = seg::dice_per_class(&p, &t, classes);
    let iou = seg::iou_per_class(&p, &t, classes);
    let mut m = Metrics::new();
    m.set_metric(Metric::PixelAccuracy, seg::pixel_accuracy(&p, &t));
    if let Some(d) = mean_defined(&dice) {
        m.set_metric(Metric::DiceMean, d);
    }
    if let Some(i) = mean_defined(&iou) {
        m.set_metric(Metric::IouMean, i);
    }
    let fg: Vec<Option<f64>> = dice
        .iter()
        .enumerate()
        .filter(|(c, _)| Some(*c) != background)
        .map(|(_, d)| *d)
        .collect();
    if let Some(d) = mean_defined(&fg) {
        m.set_metric(Metric::DiceForeground, d);
    }
    (m, dice, iou)
}

impl Learner for Segmenter<'_> {
    type Model = UNet;

    fn train_len(&self) -> usize {
        self.train.len()
    }

    fn batch_loss(
        &self,
        model: &UNet,
        indices: &[usize],
        rng: &mut Rng,
        device: &Device,
    ) -> Tensor<1> {
        let pairs: Vec<(Image, Mask)> = indices
            .iter()
            .map(|&i| {
                self.augment
                    .apply_pair(&self.train[i].image, &self.train[i].mask, rng)
            })
            .collect();
        let (x, y) = to_tensors(&pairs, &self.normalization, device);
        let mut loss = CrossEntropyLossConfig::new();
        if let Some(w) = &self.class_weights {
            loss = loss.with_weights(Some(w.clone()));
        }
        let rows = pixel_rows(model.forward(x));
        match self.loss {
            SegmentationLoss::CrossEntropy => loss.init(device).forward(rows, y),
            SegmentationLoss::CrossEntropyDice => {
                loss.init(device).forward(rows.clone(), y.clone()) + soft_dice_loss(rows, y)
            }
        }
    }

    fn validate(&self, model: &UNet, device: &Device) -> Metrics {
        let pred = predict_masks(model, self.val, &self.normalization, device);
        let (mut m, _, _) =
            segmentation_metrics(&pred, self.val, self.num_classes, self.background);
        // Validation loss, without augmentation.
        let mut total = 0.0;
        for chunk in self.val.chunks(8) {
            let pairs: Vec<(Image, Mask)> = chunk
                .iter()
                .map(|s| (s.image.clone(), s.mask.clone()))
                .collect();
            let (x, y) = to_tensors(&pairs, &self.normalization, device);
            let l: f32 = CrossEntropyLossConfig::new()
                .init(device)
                .forward(pixel_rows(model.forward(x)), y)
                .into_scalar();
            total += l as f64 * chunk.len() as f64;
        }
        m.set_metric(Metric::Loss, total / self.val.len().max(1) as f64);
        m
    }
}

/// Median-frequency balancing over the training masks: rare classes (nucleus boundaries, hair)
/// weigh more, so the loss cannot be minimised by ignoring them.
pub fn balanced_weights(train: &[Sample], classes: usize) -> Vec<f32> {
    median_frequency_weights(train.iter().map(|s| s.mask.data.as_slice()), classes)
}

/// Weight of class c = median class frequency / frequency of c, over all pixels of `masks`;
/// 0 for a class that never occurs (the median is taken over the classes that do).
pub fn median_frequency_weights<'a>(
    masks: impl IntoIterator<Item = &'a [u8]>,
    classes: usize,
) -> Vec<f32> {
    let mut counts = vec![0u64; classes];
    for mask in masks {
        for &v in mask {
            if let Some(c) = counts.get_mut(v as usize) {
                *c += 1;
            }
        }
    }
    let total = counts.iter().sum::<u64>().max(1) as f64;
    let mut present: Vec<f64> = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| c as f64 / total)
        .collect();
    present.sort_by(f64::total_cmp);
    let median = present.get(present.len() / 2).copied().unwrap_or(1.0);
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (median / (c as f64 / total)) as f32
            }
        })
        .collect()
}

/// A segmentation run's samples by split, and how they were split when the folder did not say.
struct Splits {
    train: Vec<Sample>,
    val: Vec<Sample>,
    test: Vec<Sample>,
    /// Said in the log and the record when splits were carved out of train/.
    note: Option<String>,
}

fn split(
    data: &segmentation::SegmentationData,
    root: &Path,
    fractions: &[f64; 3],
    seed: u64,
) -> Result<Splits> {
    // Use the folder's own splits when it has them; else split by source image. A folder whose
    // only labelled split is train/ (the ISBI 2012 layout: its test/ has no masks) gets the
    // missing splits carved out of train/ by source image, seeded and noted in the record.
    let mut note = None;
    let (train, val, test): (Vec<Sample>, Vec<Sample>, Vec<Sample>) = if data
        .splits
        .contains_key("train")
    {
        let get = |k: &str| data.splits.get(k).cloned().unwrap_or_default();
        let (mut train, mut val, mut test) = (get("train"), get("val"), get("test"));
        if val.is_empty() || test.is_empty() {
            let groups: Vec<usize> = train.iter().map(|s| s.source).collect();
            let parts = group_split(&groups, fractions, seed).map_err(|e| {
                Error::format(
                    root,
                    format!("has labelled pairs in train/ only, too few to split: {e}"),
                )
            })?;
            let take = |p: &[usize]| p.iter().map(|&i| train[i].clone()).collect::<Vec<_>>();
            let (mut new_train, carved_val, carved_test) =
                (take(&parts[0]), take(&parts[1]), take(&parts[2]));
            let mut carved = Vec::new();
            if val.is_empty() {
                val = carved_val;
                carved.push("validation");
            } else {
                new_train.extend(carved_val);
            }
            if test.is_empty() {
                test = carved_test;
                carved.push("test");
            } else {
                new_train.extend(carved_test);
            }
            train = new_train;
            note = Some(format!(
                "the folder has no labelled {} pairs: they were split off train/ by source image \
                     ({:.0}/{:.0}/{:.0}%, seed {})",
                carved.join(" or "),
                fractions[0] * 100.0,
                fractions[1] * 100.0,
                fractions[2] * 100.0,
                seed
            ));
        }
        val.shrink_to_fit();
        test.shrink_to_fit();
        (train, val, test)
    } else {
        let all: Vec<Sample> = data.splits.values().flatten().cloned().collect();
        let groups: Vec<usize> = all.iter().map(|s| s.source).collect();
        let parts = group_split(&groups, fractions, seed)?;
        let take = |p: &[usize]| p.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
        (take(&parts[0]), take(&parts[1]), take(&parts[2]))
    };
    Ok(Splits {
        train,
        val,
        test,
        note,
    })
}

/// The loss weights per class: the preset's, the user's (one per class), or balanced from the
/// training masks.
fn class_weights(
    spec: &SegmentationSpec,
    train: &[Sample],
    class_names: &[String],
) -> Result<Option<Vec<f32>>> {
    let classes = class_names.len();
    Ok(match &spec.class_weights {
        None => spec.preset.class_weights.clone(),
        Some(super::ClassWeights::Given(w)) if w.len() != classes => {
            return Err(Error::invalid(format!(
                "{} class weights given, but the data has {classes} classes ({})",
                w.len(),
                class_names.join(", ")
            )));
        }
        Some(super::ClassWeights::Given(w)) => Some(w.clone()),
        Some(super::ClassWeights::Balanced) => Some(balanced_weights(train, classes)),
    })
}

/// How the samples were split, for the record: the rule and each split's source images.
fn split_provenance(
    root: &Path,
    data: &segmentation::SegmentationData,
    splits: [&[Sample]; 3],
    carved: bool,
    fractions: &[f64; 3],
    seed: u64,
) -> serde_json::Value {
    let sources = |samples: &[Sample]| {
        let mut names: Vec<String> = samples
            .iter()
            .map(|s| relative(root, &data.sources[s.source].image))
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let rule = if carved {
        format!(
            "split by source image ({:.0}/{:.0}/{:.0}%) with seed {seed}: tiles of one image stay together",
            fractions[0] * 100.0,
            fractions[1] * 100.0,
            fractions[2] * 100.0,
        )
    } else {
        "the folder's own train / val / test splits".to_string()
    };
    serde_json::json!({
        "rule": rule,
        "train": sources(splits[0]),
        "val": sources(splits[1]),
        "test": sources(splits[2]),
    })
}

/// The first `n` test images with their true and predicted masks, for the dashboard.
fn first_samples(test: &[Sample], pred: &[Mask], n: usize) -> Vec<crate::train::Sample> {
    test.iter()
        .zip(pred)
        .take(n)
        .map(|(s, p)| crate::train::Sample {
            height: s.image.height,
            width: s.image.width,
            channels: s.image.channels,
            pixels: s.image.to_hwc_u8(),
            truth: String::new(),
            predicted: String::new(),
            truth_mask: Some(s.mask.data.clone()),
            predicted_mask: Some(p.data.clone()),
        })
        .collect()
}

/// Every test mask, true and predicted, with its scores (`predictions::write_masks`).
fn write_mask_predictions(
    csv: &Path,
    root: &Path,
    data: &segmentation::SegmentationData,
    test: &[Sample],
    pred: &[Mask],
) -> Result<()> {
    let items: Vec<predictions::MaskPrediction> = test
        .iter()
        .zip(pred)
        .map(|(s, p)| predictions::MaskPrediction {
            source: relative(root, &data.sources[s.source].image),
            height: s.mask.height,
            width: s.mask.width,
            truth: &s.mask.data,
            predicted: &p.data,
        })
        .collect();
    predictions::write_masks(csv, data.class_names.len(), &items)
}

/// The data folder for the record: its path, checksum and what it holds.
fn data_ref(
    root: &Path,
    data: &segmentation::SegmentationData,
    [train, val, test]: [usize; 3],
) -> Result<DataRef> {
    Ok(DataRef {
        path: root.display().to_string(),
        sha256: Some(folder_sha256(root, &data.sources)?),
        description: format!(
            "{} image/mask pairs, label map: {}; samples train {train} / val {val} / test {test}",
            data.sources.len(),
            data.label_map.name(),
        ),
    })
}

/// The U-Net's default training augmentation: flips of image and mask together.
fn paired_flips() -> Pipeline {
    Pipeline::new(vec![
        Transform::RandomHorizontalFlip { p: 0.5 },
        Transform::RandomVerticalFlip { p: 0.5 },
    ])
}

/// At most `limit` of the training samples, a seeded random choice (`--limit`).
fn limited(train: Vec<Sample>, limit: Option<usize>, seed: u64) -> Vec<Sample> {
    match limit.filter(|&l| l < train.len()) {
        None => train,
        Some(limit) => {
            let mut idx = Rng::derive(seed, "train-subset").permutation(train.len());
            idx.truncate(limit);
            idx.sort_unstable();
            idx.into_iter().map(|i| train[i].clone()).collect()
        }
    }
}

/// `path` relative to the data folder, as records and prediction files name it.
fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The folder's checksum for the record: SHA-256 of the lines `SHA256  RELATIVE_PATH` of every
/// image and mask used, sorted by path (what `sha256sum` prints for them, sorted, then hashed).
fn folder_sha256(root: &Path, pairs: &[segmentation::Pair]) -> Result<String> {
    let mut lines = Vec::new();
    for p in pairs {
        for file in [&p.image, &p.mask] {
            let (_, sha) = crate::download::digests(file)?;
            lines.push((relative(root, file), sha));
        }
    }
    lines.sort();
    let manifest: String = lines
        .iter()
        .map(|(path, sha)| format!("{sha}  {path}\n"))
        .collect();
    Ok(crate::download::sha256_hex(manifest.as_bytes()))
}

pub fn run(
    spec: &SegmentationSpec,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<ExperimentRecord> {
    let started = Instant::now();
    let preset = &spec.preset;
    let ctx = &spec.run;
    let root = &spec.data;
    let data = segmentation::load(root, None, preset.prepare)?;
    let classes = data.class_names.len();
    let background = data.class_names.iter().position(|n| n == "background");

    let Splits {
        train,
        val,
        test,
        note: split_note,
    } = split(&data, root, &preset.split, ctx.seed)?;
    let train = limited(train, spec.train_limit, ctx.seed);
    let side = train[0].image.height;
    if !side.is_multiple_of(1 << preset.depth) {
        return Err(Error::invalid(format!(
            "training images of {side} px do not halve {} times",
            preset.depth
        )));
    }
    let normalization = Normalization::fit(train.iter().map(|s| &s.image))?;
    let class_weights = class_weights(spec, &train, &data.class_names)?;
    let config = TrainConfig {
        settings: preset.training,
        seed: ctx.seed,
    };
    let device = ctx.device.training_device()?;
    let plain = device.clone().without_autodiff();
    let counts = [train.len(), val.len(), test.len()];
    let config_json = serde_json::json!({
        "preset": preset,
        "train": config,
        "normalization": normalization,
        "class_weights": class_weights,
    });
    let mut record = ctx.record(data_ref(root, &data, counts)?, config_json);
    record.class_names = data.class_names.clone();
    let carved = !data.splits.contains_key("train") || split_note.is_some();
    record.config["splits"] = split_provenance(
        root,
        &data,
        [&train, &val, &test],
        carved,
        &preset.split,
        ctx.seed,
    );
    if let Some(note) = split_note {
        events(Event::Note(note.clone()));
        record.notes.push(note);
    }

    if let Some(done) = ctx.already_finished("unet", events)? {
        record.push_run(done, events);
        record.seconds = started.elapsed().as_secs_f64();
        return Ok(record);
    }
    events(Event::RunStarted {
        name: "unet".into(),
    });
    let model = crate::model::init_seeded(&device, ctx.seed, |d| {
        UNetConfig::new(classes)
            .with_in_channels(train[0].image.channels)
            .with_depth(preset.depth)
            .with_base_channels(preset.base_channels)
            .init(d)
    });
    let learner = Segmenter {
        train: &train,
        val: &val,
        num_classes: classes,
        normalization: normalization.clone(),
        // Paired flips unless the caller (a plan) gives its own transforms.
        augment: spec.augmentation.clone().unwrap_or_else(paired_flips),
        class_weights: class_weights.clone(),
        background,
        loss: preset.loss,
    };
    let fitted = fit_with(
        &learner,
        model,
        &config,
        &device,
        events,
        stop,
        ctx.training_checkpoint("unet").as_ref(),
    )?;
    let mut run = ModelRun::new("unet");
    run.architecture = Some(format!(
        "U-Net, {} levels, {} channels at the first level (doubling per level), {} input channel(s), {classes} classes",
        preset.depth, preset.base_channels, train[0].image.channels
    ));
    run.resumed_after = fitted.resumed_after;
    run.trainable_params = Some(crate::model::trainable_params(&fitted.model));
    run.checkpoint = ctx.save_model("unet", &fitted.model, &record)?;
    run.outcome = fitted.outcome;
    run.diagnoses = fitted.diagnoses;
    run.epochs = fitted.epochs;
    let model = fitted.model.valid();
    let pred = predict_masks(&model, &test, &normalization, &plain);
    events(Event::Samples(first_samples(&test, &pred, 3)));
    let (metrics, dice, iou) = segmentation_metrics(&pred, &test, classes, background);
    run.predictions = ctx.write_predictions(&record, "unet.csv", |path| {
        write_mask_predictions(path, root, &data, &test, &pred)
    })?;
    run.test = metrics;
    run.per_class.insert("dice".into(), dice);
    run.per_class.insert("iou".into(), iou);
    run.seconds = started.elapsed().as_secs_f64();
    ctx.finish_model(&mut record, &run)?;
    record.push_run(run, events);
    record.seconds = started.elapsed().as_secs_f64();
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_dice_loss_matches_hand_computed_values() {
        let device = Device::flex();
        let loss = |logits: [[f32; 2]; 2], target: [i64; 2]| -> f32 {
            soft_dice_loss(
                Tensor::from_floats(logits, &device),
                Tensor::from_ints(target, &device),
            )
            .into_scalar()
        };
        // Right and sure: every class's Dice is 1.
        assert!(loss([[20.0, -20.0], [-20.0, 20.0]], [0, 1]) < 1e-4);
        // Wrong and sure: per class (2*0 + 1) / (1 + 1 + 1) = 1/3.
        assert!((loss([[20.0, -20.0], [-20.0, 20.0]], [1, 0]) - 2.0 / 3.0).abs() < 1e-4);
        // Undecided: per class (2*0.5 + 1) / (1 + 1 + 1) = 2/3.
        assert!((loss([[0.0, 0.0], [0.0, 0.0]], [0, 1]) - 1.0 / 3.0).abs() < 1e-4);
    }

    #[test]
    fn balanced_weights_favour_rare_classes() {
        // 12 pixels: class 0 x8, class 1 x3, class 2 x1, class 3 absent.
        let mask = Mask::new(3, 4, vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2]);
        let sample = Sample {
            image: Image::zeros(1, 3, 4),
            mask,
            source: 0,
        };
        let w = balanced_weights(&[sample], 4);
        // Shares 8/12, 3/12, 1/12; median 3/12.
        assert!(
            (w[0] - 0.375).abs() < 1e-6 && (w[1] - 1.0).abs() < 1e-6 && (w[2] - 3.0).abs() < 1e-6
        );
        assert_eq!(w[3], 0.0);
        assert_eq!(
            super::super::ClassWeights::parse("1,1,5").unwrap(),
            super::super::ClassWeights::Given(vec![1.0, 1.0, 5.0])
        );
        assert!(super::super::ClassWeights::parse("1,x").is_err());
    }
}
