//! ResNet-18 in the torchvision topology: a 7x7 stride-2 stem and max-pool, four stages of two
//! BasicBlocks (64/128/256/512 channels), global average pooling and a linear head. Field names
//! follow torchvision's so ImageNet weights map one to one. The CIFAR-style stem (3x3 conv,
//! no max-pool) keeps more resolution on 28 px images and is offered as an option.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Stem {
    /// 7x7 stride-2 conv + 3x3 stride-2 max-pool (torchvision, ImageNet).
    #[default]
    Torchvision,
    /// 3x3 stride-1 conv, no max-pool.
    Cifar,
}

#[derive(Config, Debug)]
pub struct ResNetConfig {
    #[config(default = 3)]
    pub in_channels: usize,
    pub num_classes: usize,
    #[config(default = "Stem::Torchvision")]
    pub stem: Stem,
}

#[derive(Module, Debug)]
pub struct Downsample {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

#[derive(Module, Debug)]
pub struct BasicBlock {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub conv2: Conv2d,
    pub bn2: BatchNorm,
    pub downsample: Option<Downsample>,
}

/// Convolutions start as torchvision's do (Kaiming normal, fan-out, ReLU gain): with batch norm
/// after each one the weights' scale sets the effective learning rate, and burn's default (a
/// smaller uniform draw) made SGD at the course's 0.001 several times more aggressive.
fn conv(i: usize, o: usize, k: usize, stride: usize, pad: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([i, o], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .with_initializer(Initializer::KaimingNormal {
            gain: std::f64::consts::SQRT_2,
            fan_out_only: true,
        })
        .init(device)
}

impl BasicBlock {
    fn new(i: usize, o: usize, stride: usize, device: &Device) -> Self {
        let downsample = (stride != 1 || i != o).then(|| Downsample {
            conv: conv(i, o, 1, stride, 0, device),
            bn: BatchNormConfig::new(o).init(device),
        });
        BasicBlock {
            conv1: conv(i, o, 3, stride, 1, device),
            bn1: BatchNormConfig::new(o).init(device),
            conv2: conv(o, o, 3, 1, 1, device),
            bn2: BatchNormConfig::new(o).init(device),
            downsample,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = match &self.downsample {
            Some(d) => d.bn.forward(d.conv.forward(x.clone())),
            None => x.clone(),
        };
        let out = relu(self.bn1.forward(self.conv1.forward(x)));
        let out = self.bn2.forward(self.conv2.forward(out));
        relu(out + identity)
    }
}

#[derive(Module, Debug)]
pub struct ResNet {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub maxpool: Option<MaxPool2d>,
    pub layer1: Vec<BasicBlock>,
    pub layer2: Vec<BasicBlock>,
    pub layer3: Vec<BasicBlock>,
    pub layer4: Vec<BasicBlock>,
    pub avgpool: AdaptiveAvgPool2d,
    pub fc: Linear,
}

impl ResNetConfig {
    pub fn init(&self, device: &Device) -> ResNet {
        let (conv1, maxpool) = match self.stem {
            Stem::Torchvision => (
                conv(self.in_channels, 64, 7, 2, 3, device),
                Some(
                    MaxPool2dConfig::new([3, 3])
                        .with_strides([2, 2])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(),
                ),
            ),
            Stem::Cifar => (conv(self.in_channels, 64, 3, 1, 1, device), None),
        };
        let stage = |i: usize, o: usize, stride: usize| {
            vec![
                BasicBlock::new(i, o, stride, device),
                BasicBlock::new(o, o, 1, device),
            ]
        };
        ResNet {
            conv1,
            bn1: BatchNormConfig::new(64).init(device),
            maxpool,
            layer1: stage(64, 64, 1),
            layer2: stage(64, 128, 2),
            layer3: stage(128, 256, 2),
            layer4: stage(256, 512, 2),
            avgpool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: LinearConfig::new(512, self.num_classes).init(device),
        }
    }
}

impl ResNet {
    /// Logits `[N, classes]` for images `[N, C, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = relu(self.bn1.forward(self.conv1.forward(x)));
        if let Some(pool) = &self.maxpool {
            x = pool.forward(x);
        }
        for block in self
            .layer1
            .iter()
            .chain(&self.layer2)
            .chain(&self.layer3)
            .chain(&self.layer4)
        {
            x = block.forward(x);
        }
        let x = self.avgpool.forward(x);
        self.fc.forward(x.flatten(1, 3))
    }

    /// Freezes everything but the head: the "frozen ImageNet features" experiment.
    pub fn freeze_backbone(self) -> Self {
        let mut frozen = self.freeze();
        frozen.fc = frozen.fc.unfreeze();
        frozen
    }

    /// A new, randomly initialised head for `num_classes` (after loading pretrained weights).
    pub fn with_new_head(mut self, num_classes: usize, device: &Device) -> Self {
        self.fc = LinearConfig::new(512, num_classes).init(device);
        self
    }
}
