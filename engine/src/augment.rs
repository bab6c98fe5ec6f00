//! Seeded image augmentation, with paired image + mask transforms for segmentation.
//!
//! Geometry (flips, rotation, crops) applies to image and mask alike, masks by nearest
//! neighbour so classes stay exact; colour changes apply to the image only. A random resized
//! crop returns the input's size unless told otherwise: training on 224 px crops and testing on
//! 28 px images, as the original did, teaches the network the wrong scale.

use crate::data::image::{Image, Mask};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// One transform, as written in experiment files (`kind = "random-rotation"`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Transform {
    HorizontalFlip,
    VerticalFlip,
    RandomHorizontalFlip {
        #[serde(default = "half")]
        p: f64,
    },
    RandomVerticalFlip {
        #[serde(default = "half")]
        p: f64,
    },
    /// Rotation by an angle drawn from [-degrees, degrees].
    RandomRotation {
        degrees: f64,
    },
    /// Crop a random area (fraction `scale` of the image, aspect `ratio`) and resize it to
    /// `size` (default: the input's size).
    RandomResizedCrop {
        #[serde(default = "default_scale")]
        scale: (f64, f64),
        #[serde(default = "default_ratio")]
        ratio: (f64, f64),
        #[serde(default)]
        size: Option<usize>,
    },
    /// Factors drawn from [1-b, 1+b] (brightness, contrast, saturation) and a hue shift from
    /// [-hue, hue] (hue at most 0.5, a half turn), applied in a random order.
    ColorJitter {
        #[serde(default)]
        brightness: f64,
        #[serde(default)]
        contrast: f64,
        #[serde(default)]
        saturation: f64,
        #[serde(default)]
        hue: f64,
    },
    Normalize {
        mean: Vec<f32>,
        std: Vec<f32>,
    },
}

fn half() -> f64 {
    0.5
}
fn default_scale() -> (f64, f64) {
    (0.08, 1.0)
}
fn default_ratio() -> (f64, f64) {
    (3.0 / 4.0, 4.0 / 3.0)
}

impl Transform {
    pub fn name(&self) -> &'static str {
        match self {
            Transform::HorizontalFlip => "horizontal flip",
            Transform::VerticalFlip => "vertical flip",
            Transform::RandomHorizontalFlip { .. } => "random horizontal flip",
            Transform::RandomVerticalFlip { .. } => "random vertical flip",
            Transform::RandomRotation { .. } => "random rotation",
            Transform::RandomResizedCrop { .. } => "random resized crop",
            Transform::ColorJitter { .. } => "colour jitter",
            Transform::Normalize { .. } => "normalise",
        }
    }

    /// Checks parameters, so a bad experiment file fails before training starts.
    pub fn validate(&self) -> Result<(), String> {
        let prob = |p: f64| (0.0..=1.0).contains(&p);
        match self {
            Transform::RandomHorizontalFlip { p } | Transform::RandomVerticalFlip { p }
                if !prob(*p) =>
            {
                Err(format!("{}: p = {p} must be between 0 and 1", self.name()))
            }
            Transform::RandomRotation { degrees } if !(0.0..=180.0).contains(degrees) => Err(
                format!("random rotation: degrees = {degrees} must be between 0 and 180"),
            ),
            Transform::RandomResizedCrop { scale, ratio, size } => {
                if !(0.0 < scale.0 && scale.0 <= scale.1 && scale.1 <= 1.0) {
                    Err(format!(
                        "random resized crop: scale {scale:?} must satisfy 0 < min <= max <= 1"
                    ))
                } else if !(0.0 < ratio.0 && ratio.0 <= ratio.1) {
                    Err(format!(
                        "random resized crop: ratio {ratio:?} must satisfy 0 < min <= max"
                    ))
                } else if *size == Some(0) {
                    Err("random resized crop: size must be positive".into())
                } else {
                    Ok(())
                }
            }
            Transform::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
            } => {
                if [brightness, contrast, saturation]
                    .iter()
                    .any(|v| !(0.0..=1.0).contains(*v))
                {
                    Err(
                        "colour jitter: brightness, contrast and saturation must be in [0, 1]"
                            .into(),
                    )
                } else if !(0.0..=0.5).contains(hue) {
                    Err(format!("colour jitter: hue = {hue} must be in [0, 0.5]"))
                } else {
                    Ok(())
                }
            }
            Transform::Normalize { mean, std }
                if mean.is_empty() || mean.len() != std.len() || std.contains(&0.0) =>
            {
                Err("normalise: mean and std need one non-zero std per mean".into())
            }
            _ => Ok(()),
        }
    }
}

/// A sequence of transforms applied in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub transforms: Vec<Transform>,
}

impl Pipeline {
    pub fn new(transforms: Vec<Transform>) -> Self {
        Pipeline { transforms }
    }

    /// Random resized crop + random horizontal flip: the course's augmentation for BreastMNIST.
    pub fn course_default() -> Self {
        Pipeline::new(vec![
            Transform::RandomResizedCrop {
                scale: default_scale(),
                ratio: default_ratio(),
                size: None,
            },
            Transform::RandomHorizontalFlip { p: 0.5 },
        ])
    }

    /// The transforms the augmentation part demonstrates, one at a time, for previews.
    pub fn gallery() -> Vec<Transform> {
        vec![
            Transform::HorizontalFlip,
            Transform::VerticalFlip,
            Transform::RandomRotation { degrees: 30.0 },
            Transform::RandomResizedCrop {
                scale: (0.3, 0.6),
                ratio: default_ratio(),
                size: None,
            },
            Transform::ColorJitter {
                brightness: 0.5,
                contrast: 0.5,
                saturation: 0.5,
                hue: 0.1,
            },
        ]
    }

    /// Each gallery transform applied to `img` (after the original), seeded, with its name.
    pub fn preview(img: &Image, seed: u64) -> Vec<(&'static str, Image)> {
        let mut rng = Rng::derive(seed, "preview");
        let mut out = vec![("original", img.clone())];
        for t in Self::gallery() {
            let once = Pipeline::new(vec![t.clone()]);
            out.push((t.name(), once.apply(img, &mut rng)));
        }
        out
    }

    pub fn validate(&self) -> Result<(), String> {
        self.transforms.iter().try_for_each(Transform::validate)
    }

    /// Transforms an image alone; areas rotated in from outside are black, as in torchvision.
    pub fn apply(&self, img: &Image, rng: &mut Rng) -> Image {
        let mut img = img.clone();
        for t in &self.transforms {
            img = apply_one(t, img, None, rng, Fill::Zero).0;
        }
        img
    }

    /// Transforms an image and its mask with the same geometry. Areas rotated in from outside
    /// are mirrored from inside, in both, so every mask pixel still labels its image pixel.
    pub fn apply_pair(&self, img: &Image, mask: &Mask, rng: &mut Rng) -> (Image, Mask) {
        let mut pair = (img.clone(), Some(mask.clone()));
        for t in &self.transforms {
            pair = apply_one(t, pair.0, pair.1, rng, Fill::Reflect);
        }
        (pair.0, pair.1.expect("mask kept"))
    }
}

#[derive(Clone, Copy)]
enum Fill {
    Zero,
    Reflect,
}

fn apply_one(
    t: &Transform,
    img: Image,
    mask: Option<Mask>,
    rng: &mut Rng,
    fill: Fill,
) -> (Image, Option<Mask>) {
    match t {
        Transform::HorizontalFlip => (hflip(&img), mask.map(|m| hflip_mask(&m))),
        Transform::VerticalFlip => (vflip(&img), mask.map(|m| vflip_mask(&m))),
        Transform::RandomHorizontalFlip { p } => {
            if rng.bernoulli(*p) {
                (hflip(&img), mask.map(|m| hflip_mask(&m)))
            } else {
                (img, mask)
            }
        }
        Transform::RandomVerticalFlip { p } => {
            if rng.bernoulli(*p) {
                (vflip(&img), mask.map(|m| vflip_mask(&m)))
            } else {
                (img, mask)
            }
        }
        Transform::RandomRotation { degrees } => {
            let angle = rng.uniform(-degrees, *degrees);
            (
                rotate(&img, angle, fill),
                mask.map(|m| rotate_mask(&m, angle)),
            )
        }
        Transform::RandomResizedCrop { scale, ratio, size } => {
            let (y0, x0, h, w) = crop_box(img.height, img.width, *scale, *ratio, rng);
            let (oh, ow) = size.map_or((img.height, img.width), |s| (s, s));
            let cropped = crop(&img, y0, x0, h, w).resize(oh, ow);
            (
                cropped,
                mask.map(|m| crop_mask(&m, y0, x0, h, w).resize_nearest(oh, ow)),
            )
        }
        Transform::ColorJitter {
            brightness,
            contrast,
            saturation,
            hue,
        } => (
            color_jitter(img, *brightness, *contrast, *saturation, *hue, rng),
            mask,
        ),
        Transform::Normalize { mean, std } => {
            let mut img = img;
            crate::data::split::Normalization {
                mean: mean.clone(),
                std: std.clone(),
            }
            .apply(&mut img);
            (img, mask)
        }
    }
}

pub fn hflip(img: &Image) -> Image {
    let mut out = img.clone();
    for row in out.data.chunks_exact_mut(img.width) {
        row.reverse();
    }
    out
}

pub fn vflip(img: &Image) -> Image {
    let mut out = img.clone();
    let plane = img.height * img.width;
    for c in 0..img.channels {
        for y in 0..img.height {
            let src = c * plane + (img.height - 1 - y) * img.width;
            out.data[c * plane + y * img.width..c * plane + (y + 1) * img.width]
                .copy_from_slice(&img.data[src..src + img.width]);
        }
    }
    out
}

fn hflip_mask(m: &Mask) -> Mask {
    let mut out = m.clone();
    for row in out.data.chunks_exact_mut(m.width) {
        row.reverse();
    }
    out
}

fn vflip_mask(m: &Mask) -> Mask {
    let data = m
        .data
        .chunks_exact(m.width)
        .rev()
        .flatten()
        .copied()
        .collect();
    Mask::new(m.height, m.width, data)
}

/// Reflects a coordinate into [0, n) (mirror without repeating the edge pixel).
fn reflect(v: f32, n: usize) -> f32 {
    let max = (n - 1) as f32;
    if n == 1 {
        return 0.0;
    }
    let period = 2.0 * max;
    let mut r = v.rem_euclid(period);
    if r > max {
        r = period - r;
    }
    r
}

/// Source coordinates of output pixel (y, x) under a rotation by `deg` about the centre.
fn rotation_source(h: usize, w: usize, deg: f64) -> impl Fn(usize, usize) -> (f32, f32) {
    let (s, c) = (deg.to_radians() as f32).sin_cos();
    let (cy, cx) = ((h as f32 - 1.0) / 2.0, (w as f32 - 1.0) / 2.0);
    move |y, x| {
        let (dy, dx) = (y as f32 - cy, x as f32 - cx);
        (cy + c * dy - s * dx, cx + s * dy + c * dx)
    }
}

fn rotate(img: &Image, deg: f64, fill: Fill) -> Image {
    let src = rotation_source(img.height, img.width, deg);
    let mut out = Image::zeros(img.channels, img.height, img.width);
    for y in 0..img.height {
        for x in 0..img.width {
            let (sy, sx) = src(y, x);
            let inside = sy > -1.0 && sx > -1.0 && sy < img.height as f32 && sx < img.width as f32;
            let (sy, sx) = match fill {
                Fill::Zero if !inside => continue,
                Fill::Zero => (sy, sx),
                Fill::Reflect => (reflect(sy, img.height), reflect(sx, img.width)),
            };
            for c in 0..img.channels {
                out.data[(c * img.height + y) * img.width + x] = bilinear(img, c, sy, sx);
            }
        }
    }
    out
}

/// Bilinear sample; neighbours outside the image count as zero (matching a zero fill).
fn bilinear(img: &Image, c: usize, y: f32, x: f32) -> f32 {
    let (y0, x0) = (y.floor(), x.floor());
    let (ty, tx) = (y - y0, x - x0);
    let at = |yy: f32, xx: f32| {
        if yy < 0.0 || xx < 0.0 || yy >= img.height as f32 || xx >= img.width as f32 {
            0.0
        } else {
            img.get(c, yy as usize, xx as usize)
        }
    };
    let top = at(y0, x0) * (1.0 - tx) + at(y0, x0 + 1.0) * tx;
    let bottom = at(y0 + 1.0, x0) * (1.0 - tx) + at(y0 + 1.0, x0 + 1.0) * tx;
    // Near the reflected edge the +1 neighbour can fall outside; use the pixel itself then.
    if ty == 0.0 && tx == 0.0 {
        return at(y0, x0);
    }
    top * (1.0 - ty) + bottom * ty
}

fn rotate_mask(m: &Mask, deg: f64) -> Mask {
    let src = rotation_source(m.height, m.width, deg);
    let mut data = Vec::with_capacity(m.data.len());
    for y in 0..m.height {
        for x in 0..m.width {
            let (sy, sx) = src(y, x);
            let (sy, sx) = (reflect(sy.round(), m.height), reflect(sx.round(), m.width));
            data.push(m.get(sy as usize, sx as usize));
        }
    }
    Mask::new(m.height, m.width, data)
}

/// torchvision's RandomResizedCrop box: 10 tries at a random area and aspect, else a centre crop.
fn crop_box(
    h: usize,
    w: usize,
    scale: (f64, f64),
    ratio: (f64, f64),
    rng: &mut Rng,
) -> (usize, usize, usize, usize) {
    let area = (h * w) as f64;
    let (lr0, lr1) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target = area * rng.uniform(scale.0, scale.1);
        let aspect = rng.uniform(lr0, lr1).exp();
        let cw = (target * aspect).sqrt().round() as usize;
        let ch = (target / aspect).sqrt().round() as usize;
        if cw > 0 && ch > 0 && cw <= w && ch <= h {
            let y0 = rng.below(h - ch + 1);
            let x0 = rng.below(w - cw + 1);
            return (y0, x0, ch, cw);
        }
    }
    let in_ratio = w as f64 / h as f64;
    let (ch, cw) = if in_ratio < ratio.0 {
        ((w as f64 / ratio.0).round() as usize, w)
    } else if in_ratio > ratio.1 {
        (h, (h as f64 * ratio.1).round() as usize)
    } else {
        (h, w)
    };
    ((h - ch) / 2, (w - cw) / 2, ch.max(1), cw.max(1))
}

fn crop(img: &Image, y0: usize, x0: usize, h: usize, w: usize) -> Image {
    let mut data = Vec::with_capacity(img.channels * h * w);
    for c in 0..img.channels {
        for y in y0..y0 + h {
            let row = (c * img.height + y) * img.width;
            data.extend_from_slice(&img.data[row + x0..row + x0 + w]);
        }
    }
    Image::new(img.channels, h, w, data)
}

fn crop_mask(m: &Mask, y0: usize, x0: usize, h: usize, w: usize) -> Mask {
    let mut data = Vec::with_capacity(h * w);
    for y in y0..y0 + h {
        data.extend_from_slice(&m.data[y * m.width + x0..y * m.width + x0 + w]);
    }
    Mask::new(h, w, data)
}

fn luminance(img: &Image, i: usize) -> f32 {
    let plane = img.height * img.width;
    if img.channels >= 3 {
        0.299 * img.data[i] + 0.587 * img.data[plane + i] + 0.114 * img.data[2 * plane + i]
    } else {
        img.data[i]
    }
}

fn color_jitter(mut img: Image, b: f64, c: f64, s: f64, h: f64, rng: &mut Rng) -> Image {
    let factor =
        |amount: f64, rng: &mut Rng| rng.uniform((1.0 - amount).max(0.0), 1.0 + amount) as f32;
    let mut order = [0, 1, 2, 3];
    rng.shuffle(&mut order);
    let plane = img.height * img.width;
    for op in order {
        match op {
            0 if b > 0.0 => {
                let f = factor(b, rng);
                img.data
                    .iter_mut()
                    .for_each(|v| *v = (*v * f).clamp(0.0, 1.0));
            }
            1 if c > 0.0 => {
                let f = factor(c, rng);
                let mean = (0..plane).map(|i| luminance(&img, i)).sum::<f32>() / plane as f32;
                img.data
                    .iter_mut()
                    .for_each(|v| *v = (f * *v + (1.0 - f) * mean).clamp(0.0, 1.0));
            }
            2 if s > 0.0 && img.channels >= 3 => {
                let f = factor(s, rng);
                for i in 0..plane {
                    let grey = luminance(&img, i);
                    for ch in 0..3 {
                        let v = &mut img.data[ch * plane + i];
                        *v = (f * *v + (1.0 - f) * grey).clamp(0.0, 1.0);
                    }
                }
            }
            3 if h > 0.0 && img.channels >= 3 => {
                let shift = rng.uniform(-h, h) as f32;
                for i in 0..plane {
                    let (hh, ss, vv) =
                        rgb_to_hsv(img.data[i], img.data[plane + i], img.data[2 * plane + i]);
                    let (r, g, bl) = hsv_to_rgb((hh + shift).rem_euclid(1.0), ss, vv);
                    img.data[i] = r;
                    img.data[plane + i] = g;
                    img.data[2 * plane + i] = bl;
                }
            }
            _ => {}
        }
    }
    img
}

fn rgb_to_hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let h = if d == 0.0 {
        0.0
    } else if max == r {
        ((g - b) / d).rem_euclid(6.0) / 6.0
    } else if max == g {
        ((b - r) / d + 2.0) / 6.0
    } else {
        ((r - g) / d + 4.0) / 6.0
    };
    let s = if max == 0.0 { 0.0 } else { d / max };
    (h, s, max)
}

fn hsv_to_rgb(h: f32, s: f32, v: f32) -> (f32, f32, f32) {
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    let (r, g, b) = match (i as i32).rem_euclid(6) {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    (r.clamp(0.0, 1.0), g.clamp(0.0, 1.0), b.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use proptest::prelude::*;

    fn image_strategy() -> impl Strategy<Value = Image> {
        (1usize..=3, 1usize..12, 1usize..12).prop_flat_map(|(c, h, w)| {
            let c = if c == 2 { 3 } else { c };
            proptest::collection::vec(0.0f32..=1.0, c * h * w)
                .prop_map(move |d| Image::new(c, h, w, d))
        })
    }

    fn mask_strategy() -> impl Strategy<Value = (Image, Mask)> {
        (2usize..16, 2usize..16).prop_flat_map(|(h, w)| {
            (
                proptest::collection::vec(0.0f32..=1.0, h * w),
                proptest::collection::vec(0u8..4, h * w),
            )
                .prop_map(move |(d, m)| (Image::new(1, h, w, d), Mask::new(h, w, m)))
        })
    }

    proptest! {
        #[test]
        fn flipping_twice_is_identity(img in image_strategy()) {
            prop_assert_eq!(&hflip(&hflip(&img)), &img);
            prop_assert_eq!(&vflip(&vflip(&img)), &img);
        }

        #[test]
        fn paired_geometry_keeps_the_mask_class_set((img, mask) in mask_strategy(), seed in any::<u64>()) {
            let pipeline = Pipeline::new(vec![
                Transform::RandomRotation { degrees: 180.0 },
                Transform::RandomResizedCrop { scale: (0.3, 1.0), ratio: (0.75, 1.33), size: None },
                Transform::RandomHorizontalFlip { p: 0.5 },
                Transform::RandomVerticalFlip { p: 0.5 },
                Transform::ColorJitter { brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0.5 },
            ]);
            let (out, out_mask) = pipeline.apply_pair(&img, &mask, &mut Rng::new(seed));
            prop_assert_eq!((out.height, out.width), (img.height, img.width));
            prop_assert_eq!((out_mask.height, out_mask.width), (mask.height, mask.width));
            let classes = mask.classes();
            prop_assert!(out_mask.classes().iter().all(|c| classes.contains(c)));
        }

        #[test]
        fn jitter_and_rotation_stay_in_range(img in image_strategy(), seed in any::<u64>()) {
            let pipeline = Pipeline::new(vec![
                Transform::ColorJitter { brightness: 1.0, contrast: 1.0, saturation: 1.0, hue: 0.5 },
                Transform::RandomRotation { degrees: 180.0 },
            ]);
            let out = pipeline.apply(&img, &mut Rng::new(seed));
            prop_assert!(out.data.iter().all(|v| (-1e-5..=1.0 + 1e-5).contains(v)), "{:?}", out.data);
        }
    }

    #[test]
    fn same_seed_same_augmentation_and_crop_keeps_size() {
        let img = Image::new(1, 28, 28, (0..784).map(|v| v as f32 / 784.0).collect());
        let p = Pipeline::course_default();
        let a = p.apply(&img, &mut Rng::new(5));
        assert_eq!(a, p.apply(&img, &mut Rng::new(5)));
        assert_eq!(
            (a.height, a.width),
            (28, 28),
            "crop output must match the test images' size"
        );
        assert!(
            Transform::ColorJitter {
                brightness: 0.0,
                contrast: 0.0,
                saturation: 0.0,
                hue: 0.7
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn rotation_by_zero_and_hue_round_trip() {
        let img = Image::new(3, 4, 4, (0..48).map(|v| v as f32 / 48.0).collect());
        let r = rotate(&img, 0.0, Fill::Zero);
        for (a, b) in r.data.iter().zip(&img.data) {
            assert!((a - b).abs() < 1e-5);
        }
        let (h, s, v) = rgb_to_hsv(0.2, 0.6, 0.4);
        let (r, g, b) = hsv_to_rgb(h, s, v);
        assert!((r - 0.2).abs() < 1e-5 && (g - 0.6).abs() < 1e-5 && (b - 0.4).abs() < 1e-5);
    }
}
