//! U-Net: an encoder of `depth` down-sampling steps (two 3x3 conv + ReLU per block, then 2x2
//! max-pool), a decoder that upsamples bilinearly x2, concatenates the skip connection and
//! applies two 3x3 convs, and a 1x1 conv to the classes. Batch norm is optional. The paper's
//! network has depth 4 and bilinear upsampling (the original notebook's had 3 and nearest).
//! The upsampling is written as two matrix products (`upsample2x`) because burn's GPU backends
//! have no backward pass for bilinear interpolation; the CPU runs the same code.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

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
            x = upsample2x(x);
            x = block.forward(Tensor::cat(vec![x, skip], 1));
        }
        self.head.forward(x)
    }

    pub fn depth(&self) -> usize {
        self.decoder.len()
    }
}

/// The `[2n, n]` matrix of bilinear x2 interpolation with aligned corners: output position `i`
/// reads source position `i (n - 1) / (2n - 1)`, split between its two neighbours.
fn interpolation_matrix(n: usize) -> Vec<f32> {
    let out = 2 * n;
    let mut m = vec![0.0f32; out * n];
    for i in 0..out {
        let s = if n == 1 {
            0.0
        } else {
            i as f64 * (n - 1) as f64 / (out - 1) as f64
        };
        let f = (s.floor() as usize).min(n - 1);
        let t = (s - f as f64) as f32;
        m[i * n + f] += 1.0 - t;
        if t > 0.0 {
            m[i * n + f + 1] += t;
        }
    }
    m
}

/// Bilinear x2 upsampling (aligned corners) of `[N, C, H, W]`: columns, then rows, each a
/// matrix product with the interpolation matrix. Same values as `interpolate` in bilinear mode;
/// its gradient is a matrix product too, which every backend has. The rows are one product per
/// plane with the `[2H, H]` matrix on the left (broadcast over the planes), so neither pass
/// nor their gradients transpose a feature map: the transposing copies around a single 2-D
/// product were ~4% of a U-Net training step on the CPU.
pub fn upsample2x(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let matrix = |len: usize| {
        Tensor::<2>::from_data(
            TensorData::new(interpolation_matrix(len), [2 * len, len]),
            &device,
        )
    };
    let cols = x
        .reshape([n * c * h, w])
        .matmul(matrix(w).transpose())
        .reshape([n * c, h, 2 * w]);
    matrix(h)
        .unsqueeze::<3>()
        .matmul(cols)
        .reshape([n, c, 2 * h, 2 * w])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;
    use burn::tensor::module::interpolate;
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

    #[test]
    fn upsample2x_matches_bilinear_interpolation_with_aligned_corners() {
        let device = Device::flex();
        for [h, w] in [[1, 1], [2, 3], [5, 4], [8, 8]] {
            let x = Tensor::<4>::random([2, 3, h, w], Distribution::Normal(0.0, 1.0), &device);
            let ours = upsample2x(x.clone())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let burn = interpolate(
                x,
                InterpolateOptions::new(InterpolateMode::Bilinear)
                    .with_align_corners(true)
                    .with_output_size([2 * h, 2 * w]),
            )
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
            assert_eq!(ours.len(), burn.len());
            for (a, b) in ours.iter().zip(&burn) {
                assert!((a - b).abs() < 1e-5, "{h}x{w}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn interpolation_rows_sum_to_one_and_keep_the_corners() {
        let m = interpolation_matrix(4);
        for row in m.chunks(4) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        assert_eq!(&m[..4], &[1.0, 0.0, 0.0, 0.0]);
        assert_eq!(&m[m.len() - 4..], &[0.0, 0.0, 0.0, 1.0]);
    }
}
