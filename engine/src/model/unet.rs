//! U-Net: an encoder of `depth` down-sampling steps (two 3x3 conv + ReLU per block, then 2x2
//! max-pool), a decoder that upsamples bilinearly x2, concatenates the skip connection and
//! applies two 3x3 convs, and a 1x1 conv to the classes. Batch norm is optional. The paper's
//! network has depth 4 and bilinear upsampling (the original notebook's had 3 and nearest).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::interpolate::{Interpolate2d, Interpolate2dConfig, InterpolateMode};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

#[derive(Config, Debug)]
pub struct UNetConfig {
    #[config(default = 3)]
    pub in_channels: usize,
    pub num_classes: usize,
    /// Number of down-sampling steps.
    #[config(default = 4)]
    pub depth: usize,
    /// Channels of the first block; each level doubles them.
    #[config(default = 16)]
    pub base_channels: usize,
    #[config(default = true)]
    pub batch_norm: bool,
}

#[derive(Module, Debug)]
pub struct DoubleConv {
    pub conv1: Conv2d,
    pub bn1: Option<BatchNorm>,
    pub conv2: Conv2d,
    pub bn2: Option<BatchNorm>,
}

impl DoubleConv {
    fn new(i: usize, o: usize, bn: bool, device: &Device) -> Self {
        let conv = |i, o| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(!bn)
                .init(device)
        };
        DoubleConv {
            conv1: conv(i, o),
            bn1: bn.then(|| BatchNormConfig::new(o).init(device)),
            conv2: conv(o, o),
            bn2: bn.then(|| BatchNormConfig::new(o).init(device)),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = self.conv1.forward(x);
        if let Some(bn) = &self.bn1 {
            x = bn.forward(x);
        }
        let mut x = self.conv2.forward(relu(x));
        if let Some(bn) = &self.bn2 {
            x = bn.forward(x);
        }
        relu(x)
    }
}

#[derive(Module, Debug)]
pub struct UNet {
    pub encoder: Vec<DoubleConv>,
    pub decoder: Vec<DoubleConv>,
    pub pool: MaxPool2d,
    pub up: Interpolate2d,
    pub head: Conv2d,
}

impl UNetConfig {
    pub fn init(&self, device: &Device) -> UNet {
        let b = self.base_channels;
        let ch = |level: usize| b << level;
        let encoder = (0..=self.depth)
            .map(|l| {
                DoubleConv::new(
                    if l == 0 { self.in_channels } else { ch(l - 1) },
                    ch(l),
                    self.batch_norm,
                    device,
                )
            })
            .collect();
        let decoder = (0..self.depth)
            .rev()
            .map(|l| DoubleConv::new(ch(l + 1) + ch(l), ch(l), self.batch_norm, device))
            .collect();
        UNet {
            encoder,
            decoder,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            up: Interpolate2dConfig::new()
                .with_scale_factor(Some([2.0, 2.0]))
                .with_mode(InterpolateMode::Linear)
                .with_align_corners(true)
                .init(),
            head: Conv2dConfig::new([b, self.num_classes], [1, 1]).init(device),
        }
    }
}

impl UNet {
    /// Per-pixel logits `[N, classes, H, W]`; H and W must be divisible by 2^depth.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut skips = Vec::with_capacity(self.encoder.len());
        let mut x = x;
        for (i, block) in self.encoder.iter().enumerate() {
            if i > 0 {
                x = self.pool.forward(x);
            }
            x = block.forward(x);
            skips.push(x.clone());
        }
        skips.pop();
        for block in &self.decoder {
            let skip = skips.pop().expect("one skip per decoder block");
            x = self.up.forward(x);
            x = block.forward(Tensor::cat(vec![x, skip], 1));
        }
        self.head.forward(x)
    }

    pub fn depth(&self) -> usize {
        self.decoder.len()
    }
}
