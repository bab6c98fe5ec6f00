//! In-memory images and label masks, the unit that augmentation and batching work on.

/// A float image, channels first (CHW), values normally in [0, 1] before normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

impl Image {
    pub fn new(channels: usize, height: usize, width: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            channels * height * width,
            "image data does not match its shape"
        );
        Image {
            channels,
            height,
            width,
            data,
        }
    }

    pub fn zeros(channels: usize, height: usize, width: usize) -> Self {
        Image::new(
            channels,
            height,
            width,
            vec![0.0; channels * height * width],
        )
    }

    /// From interleaved `u8` pixels (HWC, as MedMNIST and PNG store them), scaled to [0, 1].
    pub fn from_hwc_u8(height: usize, width: usize, channels: usize, pixels: &[u8]) -> Self {
        let mut data = vec![0.0; channels * height * width];
        for (i, px) in pixels.chunks_exact(channels).enumerate() {
            for (c, &v) in px.iter().enumerate() {
                data[c * height * width + i] = v as f32 / 255.0;
            }
        }
        Image::new(channels, height, width, data)
    }

    /// Back to interleaved `u8` (HWC), clamping to [0, 1] first.
    pub fn to_hwc_u8(&self) -> Vec<u8> {
        let plane = self.height * self.width;
        let mut out = vec![0u8; plane * self.channels];
        for c in 0..self.channels {
            for i in 0..plane {
                out[i * self.channels + c] =
                    (self.data[c * plane + i].clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
        out
    }

    pub fn plane(&self, c: usize) -> &[f32] {
        let n = self.height * self.width;
        &self.data[c * n..(c + 1) * n]
    }

    pub fn get(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[(c * self.height + y) * self.width + x]
    }

    /// Bilinear resize of every channel (align-corners off, as image libraries do).
    pub fn resize(&self, height: usize, width: usize) -> Image {
        let img = self;
        if (img.height, img.width) == (height, width) {
            return img.clone();
        }
        let sy = img.height as f32 / height as f32;
        let sx = img.width as f32 / width as f32;
        let mut out = Image::zeros(img.channels, height, width);
        for c in 0..img.channels {
            for y in 0..height {
                let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (img.height - 1) as f32);
                let (y0, ty) = (fy.floor() as usize, fy.fract());
                let y1 = (y0 + 1).min(img.height - 1);
                for x in 0..width {
                    let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (img.width - 1) as f32);
                    let (x0, tx) = (fx.floor() as usize, fx.fract());
                    let x1 = (x0 + 1).min(img.width - 1);
                    let top = img.get(c, y0, x0) * (1.0 - tx) + img.get(c, y0, x1) * tx;
                    let bottom = img.get(c, y1, x0) * (1.0 - tx) + img.get(c, y1, x1) * tx;
                    out.data[(c * height + y) * width + x] = top * (1.0 - ty) + bottom * ty;
                }
            }
        }
        out
    }
}

/// A label mask: one class index per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    pub height: usize,
    pub width: usize,
    pub data: Vec<u8>,
}

impl Mask {
    pub fn new(height: usize, width: usize, data: Vec<u8>) -> Self {
        assert_eq!(
            data.len(),
            height * width,
            "mask data does not match its shape"
        );
        Mask {
            height,
            width,
            data,
        }
    }

    pub fn get(&self, y: usize, x: usize) -> u8 {
        self.data[y * self.width + x]
    }

    /// Nearest-neighbour resize: masks must keep their class values exactly.
    pub fn resize_nearest(&self, height: usize, width: usize) -> Mask {
        let mask = self;
        let mut data = Vec::with_capacity(height * width);
        for y in 0..height {
            let sy = ((y * mask.height) / height).min(mask.height - 1);
            for x in 0..width {
                let sx = ((x * mask.width) / width).min(mask.width - 1);
                data.push(mask.get(sy, sx));
            }
        }
        Mask::new(height, width, data)
    }

    /// The sorted set of classes present.
    pub fn classes(&self) -> Vec<u8> {
        let mut seen = [false; 256];
        for &v in &self.data {
            seen[v as usize] = true;
        }
        (0..=255u8).filter(|&v| seen[v as usize]).collect()
    }
}
