//! Image classification with ResNet-18 on MedMNIST-format data: the learner behind the
//! classification and augmentation parts. Single-label tasks use softmax cross-entropy;
//! multi-label tasks (ChestMNIST) use a sigmoid per label with binary cross-entropy.

use crate::augment::Pipeline;
use crate::data::medmnist::ImageSplit;
use crate::data::registry::Task;
use crate::data::split::Normalization;
use crate::metrics::{Metric, MetricMap, classification as cls};
use crate::model::resnet::ResNet;
use crate::rng::Rng;
use crate::train::{Learner, Metrics};
use burn::nn::loss::{BinaryCrossEntropyLossConfig, CrossEntropyLossConfig};
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Which training images a run sees (the augmentation part's three runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AugmentMode {
    /// The images as they are.
    Unmodified,
    /// Only augmented versions (a fresh draw each epoch).
    Augmented,
    /// Each original and an augmented copy: twice the examples per epoch.
    Combined,
}

pub struct ImageClassifier<'a> {
    pub train: &'a ImageSplit,
    pub val: &'a ImageSplit,
    pub task: Task,
    pub num_classes: usize,
    pub normalization: Normalization,
    pub augment: Pipeline,
    pub mode: AugmentMode,
    /// Cross-entropy weight per class (single-label tasks), against class imbalance.
    pub class_weights: Option<Vec<f32>>,
}

/// scikit-learn's "balanced" weights: n / (classes * count of the class), 0 for a class with
/// no examples. A class half as frequent weighs twice as much.
pub fn balanced_class_weights(counts: &[usize]) -> Vec<f32> {
    let n: usize = counts.iter().sum();
    let k = counts.len().max(1);
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (n as f64 / (k * c) as f64) as f32
            }
        })
        .collect()
}

/// Images `indices` of `split` as a normalised `[N, C, H, W]` tensor, each passed through
/// `augment` when given.
pub fn image_batch(
    split: &ImageSplit,
    indices: &[usize],
    mut augment: Option<(&Pipeline, &mut Rng)>,
    norm: &Normalization,
    device: &Device,
) -> Tensor<4> {
    let (c, h, w) = (split.channels, split.height, split.width);
    let mut data = Vec::with_capacity(indices.len() * c * h * w);
    for &i in indices {
        let mut img = split.image(i);
        if let Some((pipeline, rng)) = augment.as_mut() {
            img = pipeline.apply(&img, rng);
        }
        norm.apply(&mut img);
        data.extend_from_slice(&img.data);
    }
    Tensor::from_data(TensorData::new(data, [indices.len(), c, h, w]), device)
}

/// Class probabilities for every image of `split` (softmax, or sigmoid per label).
pub fn predict_probs(
    model: &ResNet,
    split: &ImageSplit,
    task: Task,
    norm: &Normalization,
    device: &Device,
) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(split.len());
    let all: Vec<usize> = (0..split.len()).collect();
    for chunk in all.chunks(256) {
        let logits = model.forward(image_batch(split, chunk, None, norm, device));
        let [n, k] = logits.dims();
        let probs = if task == Task::MultiLabel {
            sigmoid(logits)
        } else {
            softmax(logits, 1)
        };
        let flat: Vec<f32> = probs
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 probabilities");
        out.extend((0..n).map(|r| flat[r * k..(r + 1) * k].to_vec()));
    }
    out
}

/// Accuracy and AUC under MedMNIST's rules.
pub fn classification_metrics(task: Task, probs: &[Vec<f32>], labels: &[Vec<u8>]) -> Metrics {
    let mut m = Metrics::new();
    if task == Task::MultiLabel {
        m.set_metric(Metric::Accuracy, cls::multilabel_accuracy(probs, labels));
        if let Some(auc) = crate::metrics::mean_defined(&cls::multilabel_auc(probs, labels)) {
            m.set_metric(Metric::Auc, auc);
        }
    } else {
        let truth: Vec<usize> = labels.iter().map(|l| l[0] as usize).collect();
        let pred: Vec<usize> = probs.iter().map(|p| cls::predict(p)).collect();
        m.set_metric(Metric::Accuracy, cls::accuracy(&pred, &truth));
        if let Some(auc) = cls::auc_macro(probs, &truth) {
            m.set_metric(Metric::Auc, auc);
        }
        // Mean cross-entropy of the predictions, comparable with the training loss.
        let ce = probs
            .iter()
            .zip(&truth)
            .map(|(p, &t)| -(p[t].max(1e-7) as f64).ln())
            .sum::<f64>()
            / truth.len().max(1) as f64;
        m.set_metric(Metric::Loss, ce);
    }
    m
}

impl ImageClassifier<'_> {
    fn source(&self, i: usize) -> (usize, bool) {
        let n = self.train.len();
        match self.mode {
            AugmentMode::Unmodified => (i, false),
            AugmentMode::Augmented => (i, true),
            AugmentMode::Combined => (i % n, i >= n),
        }
    }
}

impl Learner for ImageClassifier<'_> {
    type Model = ResNet;

    fn classes(&self) -> Option<usize> {
        (self.task != Task::MultiLabel).then_some(self.num_classes)
    }

    fn train_len(&self) -> usize {
        match self.mode {
            AugmentMode::Combined => 2 * self.train.len(),
            _ => self.train.len(),
        }
    }

    fn batch_loss(
        &self,
        model: &ResNet,
        indices: &[usize],
        rng: &mut Rng,
        device: &Device,
    ) -> Tensor<1> {
        let split = self.train;
        let (c, h, w) = (split.channels, split.height, split.width);
        let mut data = Vec::with_capacity(indices.len() * c * h * w);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            let (src, augmented) = self.source(i);
            let mut img = split.image(src);
            if augmented {
                img = self.augment.apply(&img, rng);
            }
            self.normalization.apply(&mut img);
            data.extend_from_slice(&img.data);
            labels.push(&split.labels[src]);
        }
        let x = Tensor::<4>::from_data(TensorData::new(data, [indices.len(), c, h, w]), device);
        let logits = model.forward(x);
        if self.task == Task::MultiLabel {
            let width = self.num_classes;
            let t: Vec<i64> = labels
                .iter()
                .flat_map(|l| l.iter().map(|&v| v as i64))
                .collect();
            let targets =
                Tensor::<2, Int>::from_data(TensorData::new(t, [indices.len(), width]), device);
            BinaryCrossEntropyLossConfig::new()
                .with_logits(true)
                .init(device)
                .forward(logits, targets)
        } else {
            let t: Vec<i64> = labels.iter().map(|l| l[0] as i64).collect();
            let targets = Tensor::<1, Int>::from_data(TensorData::new(t, [indices.len()]), device);
            CrossEntropyLossConfig::new()
                .with_weights(self.class_weights.clone())
                .init(device)
                .forward(logits, targets)
        }
    }

    fn validate(&self, model: &ResNet, device: &Device) -> Metrics {
        let probs = predict_probs(model, self.val, self.task, &self.normalization, device);
        classification_metrics(self.task, &probs, &self.val.labels)
    }
}
