//! Segmentation data: image + mask folders paired by file name (PNG or TIFF, 8 or 16 bit, grey or
//! RGB), label maps from mask values to classes, and resizing or tiling to a training size.
//!
//! Layouts found under a root: `images/` + `masks/` (or `image/` + `label/`, `img/` + `gt/`), either
//! directly or inside split folders (`train`/`training`, `val`/`validation`, `test`/`testing`).

use super::image::{Image, Mask};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const IMAGE_DIRS: [&str; 4] = ["images", "image", "img", "imgs"];
const MASK_DIRS: [&str; 7] = [
    "masks",
    "mask",
    "labels",
    "label",
    "gt",
    "annotations",
    "ground_truth",
];
/// Image files Petri reads.
pub const EXTENSIONS: [&str; 6] = ["png", "tif", "tiff", "bmp", "jpg", "jpeg"];

/// An image file and the mask that labels it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub image: PathBuf,
    pub mask: PathBuf,
}

/// The pairs found under a root, by split (`"all"` when the folder has no split folders).
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub splits: BTreeMap<String, Vec<Pair>>,
    /// Images with no mask of the same name (reported, not used).
    pub unpaired: Vec<PathBuf>,
}

impl Layout {
    pub fn total(&self) -> usize {
        self.splits.values().map(Vec::len).sum()
    }
}

fn canonical_split(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "train" | "training" => Some("train"),
        "val" | "valid" | "validation" => Some("val"),
        "test" | "testing" => Some("test"),
        _ => None,
    }
}

fn subdir(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| names.contains(&n.to_string_lossy().to_ascii_lowercase().as_str()))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

fn image_files(dir: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if path.is_file() && EXTENSIONS.contains(&ext.as_str()) {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.insert(stem, path);
        }
    }
    Ok(out)
}

fn pair_folder(images: &Path, masks: &Path, unpaired: &mut Vec<PathBuf>) -> Result<Vec<Pair>> {
    let imgs = image_files(images)?;
    let msks = image_files(masks)?;
    let mut pairs = Vec::new();
    for (stem, image) in imgs {
        match msks.get(&stem) {
            Some(mask) => pairs.push(Pair {
                image,
                mask: mask.clone(),
            }),
            None => unpaired.push(image),
        }
    }
    Ok(pairs)
}

/// Finds image/mask pairs under `root`.
pub fn find_pairs(root: &Path) -> Result<Layout> {
    if !root.is_dir() {
        return Err(Error::invalid(format!(
            "{}: no such folder; give a folder holding images/ and masks/ (or train/, val/, test/ folders that do)",
            root.display()
        )));
    }
    let mut splits = BTreeMap::new();
    let mut unpaired = Vec::new();
    if let (Some(i), Some(m)) = (subdir(root, &IMAGE_DIRS), subdir(root, &MASK_DIRS)) {
        splits.insert("all".to_string(), pair_folder(&i, &m, &mut unpaired)?);
    } else {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(|e| Error::io(root, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        dirs.sort();
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            let Some(split) = canonical_split(&dir.file_name().unwrap().to_string_lossy()) else {
                continue;
            };
            if let (Some(i), Some(m)) = (subdir(dir, &IMAGE_DIRS), subdir(dir, &MASK_DIRS)) {
                let pairs = pair_folder(&i, &m, &mut unpaired)?;
                if !pairs.is_empty() {
                    splits.insert(split.to_string(), pairs);
                }
            }
        }
    }
    splits.retain(|_, v: &mut Vec<Pair>| !v.is_empty());
    if splits.is_empty() {
        return Err(Error::format(
            root,
            "holds no image/mask pairs: expected images/ and masks/ folders with files of the same names (PNG or TIFF)",
        ));
    }
    Ok(Layout {
        root: root.to_path_buf(),
        splits,
        unpaired,
    })
}

/// Reads an image as float CHW in [0, 1]. 16-bit images are stretched from their own minimum to
/// maximum (fluorescence rarely fills the 16-bit range); alpha channels are dropped.
pub fn read_image(path: &Path) -> Result<Image> {
    let img =
        image::open(path).map_err(|e| Error::format(path, format!("cannot decode image: {e}")))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let sixteen = matches!(
        img.color(),
        image::ColorType::L16
            | image::ColorType::La16
            | image::ColorType::Rgb16
            | image::ColorType::Rgba16
    );
    let channels = if img.color().has_color() { 3 } else { 1 };
    let raw: Vec<f32> = match (channels, sixteen) {
        (1, false) => img
            .to_luma8()
            .into_raw()
            .into_iter()
            .map(|v| v as f32 / 255.0)
            .collect(),
        (1, true) => stretch(img.to_luma16().into_raw()),
        (_, false) => img
            .to_rgb8()
            .into_raw()
            .into_iter()
            .map(|v| v as f32 / 255.0)
            .collect(),
        (_, true) => stretch(img.to_rgb16().into_raw()),
    };
    let mut data = vec![0.0; raw.len()];
    for (i, px) in raw.chunks_exact(channels).enumerate() {
        for (c, &v) in px.iter().enumerate() {
            data[c * h * w + i] = v;
        }
    }
    Ok(Image::new(channels, h, w, data))
}

fn stretch(values: Vec<u16>) -> Vec<f32> {
    let lo = values.iter().copied().min().unwrap_or(0) as f32;
    let hi = values.iter().copied().max().unwrap_or(0) as f32;
    let span = (hi - lo).max(1.0);
    values.into_iter().map(|v| (v as f32 - lo) / span).collect()
}

/// A mask as stored: one raw value per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMask {
    pub height: usize,
    pub width: usize,
    pub values: Vec<u16>,
}

impl RawMask {
    /// Nearest-neighbour resize, keeping raw values (instance ids) exact.
    pub fn resize_nearest(&self, height: usize, width: usize) -> RawMask {
        let mut values = Vec::with_capacity(height * width);
        for y in 0..height {
            let sy = ((y * self.height) / height).min(self.height - 1);
            for x in 0..width {
                let sx = ((x * self.width) / width).min(self.width - 1);
                values.push(self.values[sy * self.width + sx]);
            }
        }
        RawMask {
            height,
            width,
            values,
        }
    }

    pub fn distinct(&self) -> Vec<u16> {
        let mut v = self.values.clone();
        v.sort_unstable();
        v.dedup();
        v
    }
}

pub fn read_mask(path: &Path) -> Result<RawMask> {
    let img =
        image::open(path).map_err(|e| Error::format(path, format!("cannot decode mask: {e}")))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    if img.color().has_color() {
        // Colour masks are accepted when they are grey in disguise (R = G = B).
        let rgb = img.to_rgb16().into_raw();
        if rgb.chunks_exact(3).any(|p| p[0] != p[1] || p[1] != p[2]) {
            return Err(Error::format(
                path,
                "is a colour mask; Petri reads masks with one value per pixel (grey)",
            ));
        }
        return Ok(RawMask {
            height: h,
            width: w,
            values: rgb.chunks_exact(3).map(|p| p[0]).collect(),
        });
    }
    let values = match img.color() {
        image::ColorType::L16 | image::ColorType::La16 => img.to_luma16().into_raw(),
        _ => img
            .to_luma8()
            .into_raw()
            .into_iter()
            .map(u16::from)
            .collect(),
    };
    Ok(RawMask {
        height: h,
        width: w,
        values,
    })
}

/// How raw mask values become class indices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum LabelMap {
    /// The skin autofluorescence set: grey levels 36, 72, 108, 144, 180, 216 (epidermis, dermis,
    /// granulation, keratin, hair, background) merged into 4 classes.
    Skin,
    /// 0 = background, 255 (or 1) = foreground.
    Binary,
    /// Instance masks (0 = background, each object its own value) to background / nucleus
    /// interior / nucleus boundary (the outer `BOUNDARY_WIDTH` pixels of each object).
    Instance,
    /// An explicit table: raw value to class, with class names.
    Values {
        values: Vec<(u16, u8)>,
        classes: Vec<String>,
    },
}

pub const SKIN_CLASSES: [&str; 4] = ["epidermis", "dermis", "hair", "background"];
const SKIN_LEVELS: [(u16, u8); 6] = [(36, 0), (72, 1), (108, 0), (144, 0), (180, 2), (216, 3)];

impl LabelMap {
    pub fn class_names(&self) -> Vec<String> {
        let names: &[&str] = match self {
            LabelMap::Skin => &SKIN_CLASSES,
            LabelMap::Binary => &["background", "foreground"],
            LabelMap::Instance => &["background", "interior", "boundary"],
            LabelMap::Values { classes, .. } => return classes.clone(),
        };
        names.iter().map(|s| s.to_string()).collect()
    }

    pub fn name(&self) -> &'static str {
        match self {
            LabelMap::Skin => "skin (6 grey levels to 4 tissue classes)",
            LabelMap::Binary => "binary (0 background, 255 foreground)",
            LabelMap::Instance => "instance (background / interior / 2-pixel boundary)",
            LabelMap::Values { .. } => "explicit value table",
        }
    }

    /// Guesses the map from the values a mask holds.
    pub fn detect(mask: &RawMask) -> LabelMap {
        let d = mask.distinct();
        if d.iter().all(|v| SKIN_LEVELS.iter().any(|(l, _)| l == v)) {
            LabelMap::Skin
        } else if d.iter().all(|&v| v == 0 || v == 255) || d.iter().all(|&v| v <= 1) {
            LabelMap::Binary
        } else {
            LabelMap::Instance
        }
    }

    /// Converts a raw mask; values the map does not cover are an error naming the file.
    pub fn apply(&self, raw: &RawMask, path: &Path) -> Result<Mask> {
        let (h, w) = (raw.height, raw.width);
        let outside = |v: u16| {
            Error::format(
                path,
                format!(
                    "mask value {v} is outside the label map ({}); check the mask or the map",
                    self.name()
                ),
            )
        };
        let data = match self {
            LabelMap::Skin => raw
                .values
                .iter()
                .map(|&v| {
                    SKIN_LEVELS
                        .iter()
                        .find(|(l, _)| *l == v)
                        .map(|(_, c)| *c)
                        .ok_or_else(|| outside(v))
                })
                .collect::<Result<Vec<u8>>>()?,
            LabelMap::Binary => {
                let max = raw.values.iter().copied().max().unwrap_or(0);
                let fg = if max <= 1 { 1 } else { 255 };
                raw.values
                    .iter()
                    .map(|&v| match v {
                        0 => Ok(0),
                        v if v == fg => Ok(1),
                        v => Err(outside(v)),
                    })
                    .collect::<Result<Vec<u8>>>()?
            }
            LabelMap::Values { values, .. } => raw
                .values
                .iter()
                .map(|&v| {
                    values
                        .iter()
                        .find(|(l, _)| *l == v)
                        .map(|(_, c)| *c)
                        .ok_or_else(|| outside(v))
                })
                .collect::<Result<Vec<u8>>>()?,
            LabelMap::Instance => instance_classes(raw, BOUNDARY_WIDTH),
        };
        Ok(Mask::new(h, w, data))
    }
}

/// How many pixels deep the boundary class reaches into each nucleus, at the size the network
/// trains at. One pixel is within the annotation noise of a hand-drawn outline, and a nucleus
/// shrunk to a few pixels across is then almost all boundary: U-Nets trained on the nuclei set
/// reached a boundary Dice of about 0.4 with one-pixel boundaries and 0.6 with two.
pub const BOUNDARY_WIDTH: usize = 2;

/// Instance ids to classes: 0 background, 1 interior, 2 boundary, where the boundary is every
/// object pixel within `width` steps (4-neighbour) of another value or the image edge.
fn instance_classes(raw: &RawMask, width: usize) -> Vec<u8> {
    let (h, w) = (raw.height, raw.width);
    let at = |y: usize, x: usize| raw.values[y * w + x];
    // `inside[i]`: the pixel survives the erosions so far (starts as "is an object").
    let mut inside: Vec<bool> = raw.values.iter().map(|&v| v != 0).collect();
    for _ in 0..width.max(1) {
        let prev = inside.clone();
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if !prev[i] {
                    continue;
                }
                let v = at(y, x);
                let keeps = |yy: usize, xx: usize| prev[yy * w + xx] && at(yy, xx) == v;
                inside[i] = y > 0
                    && y + 1 < h
                    && x > 0
                    && x + 1 < w
                    && keeps(y - 1, x)
                    && keeps(y + 1, x)
                    && keeps(y, x - 1)
                    && keeps(y, x + 1);
            }
        }
    }
    raw.values
        .iter()
        .zip(&inside)
        .map(|(&v, &keep)| match (v, keep) {
            (0, _) => 0,
            (_, true) => 1,
            (_, false) => 2,
        })
        .collect()
}

/// Non-overlapping `size`x`size` tiles covering the image; the last row and column of tiles are
/// shifted inwards so no pixel is dropped and no padding is invented.
pub fn tile(img: &Image, mask: &Mask, size: usize) -> Vec<(Image, Mask)> {
    if img.height < size || img.width < size {
        return vec![(img.resize(size, size), mask.resize_nearest(size, size))];
    }
    let starts = |len: usize| -> Vec<usize> {
        let mut s: Vec<usize> = (0..len.div_ceil(size))
            .map(|i| (i * size).min(len - size))
            .collect();
        s.dedup();
        s
    };
    let mut out = Vec::new();
    for &y0 in &starts(img.height) {
        for &x0 in &starts(img.width) {
            let mut data = Vec::with_capacity(img.channels * size * size);
            for c in 0..img.channels {
                for y in y0..y0 + size {
                    let row = (c * img.height + y) * img.width;
                    data.extend_from_slice(&img.data[row + x0..row + x0 + size]);
                }
            }
            let mut m = Vec::with_capacity(size * size);
            for y in y0..y0 + size {
                m.extend_from_slice(&mask.data[y * mask.width + x0..y * mask.width + x0 + size]);
            }
            out.push((
                Image::new(img.channels, size, size, data),
                Mask::new(size, size, m),
            ));
        }
    }
    out
}

/// How full-size images become training samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Prepare {
    /// Scale each image to `size`x`size` (bilinear; masks nearest).
    Resize(usize),
    /// Cut each image into `size`x`size` tiles.
    Tile(usize),
    /// Scale each image to `resize`x`resize`, then cut it into `tile`x`tile` tiles.
    ResizeTile { resize: usize, tile: usize },
}

/// A training-ready sample that remembers which source image it came from, so that splits are
/// made by source image and tiles of one image never land in two splits.
#[derive(Debug, Clone)]
pub struct Sample {
    pub image: Image,
    pub mask: Mask,
    pub source: usize,
}

/// Everything under one root, read, labelled and prepared.
#[derive(Debug, Clone)]
pub struct SegmentationData {
    pub layout: Layout,
    pub label_map: LabelMap,
    pub class_names: Vec<String>,
    /// Samples by split name, as in `layout.splits`.
    pub splits: BTreeMap<String, Vec<Sample>>,
    /// Source file pairs, indexed by `Sample::source`.
    pub sources: Vec<Pair>,
}

/// Reads and prepares every pair. `label_map` `None` detects it from the first mask.
/// Images are made grey or RGB consistently (the first image decides).
/// A mask must cover its image pixel for pixel; `petri data info`, `identify` and training
/// refuse a pair that does not with this message.
pub fn same_size(pair: &Pair, mask: &RawMask, width: usize, height: usize) -> Result<()> {
    if (mask.width, mask.height) == (width, height) {
        return Ok(());
    }
    Err(Error::format(
        &pair.mask,
        format!(
            "mask is {}x{} but its image {} is {width}x{height}: each mask must have its \
             image's size",
            mask.width,
            mask.height,
            pair.image.display(),
        ),
    ))
}

pub fn load(
    root: &Path,
    label_map: Option<LabelMap>,
    prepare: Prepare,
) -> Result<SegmentationData> {
    let layout = find_pairs(root)?;
    let mut label_map = label_map;
    let mut channels = None;
    let mut splits = BTreeMap::new();
    let mut sources = Vec::new();
    for (split, pairs) in &layout.splits {
        let mut samples = Vec::new();
        for pair in pairs {
            let mut image = read_image(&pair.image)?;
            let raw = read_mask(&pair.mask)?;
            same_size(pair, &raw, image.width, image.height)?;
            let map = label_map.get_or_insert_with(|| LabelMap::detect(&raw));
            // Instance boundaries are drawn at the size the network trains at: a one-pixel
            // outline at full size would mostly vanish when the mask is scaled down.
            let train_size = match prepare {
                Prepare::Resize(s) => Some(s),
                Prepare::ResizeTile { resize, .. } => Some(resize),
                Prepare::Tile(_) => None,
            };
            let raw = match (map.clone(), train_size) {
                (LabelMap::Instance, Some(s)) => raw.resize_nearest(s, s),
                _ => raw,
            };
            let mask = map.apply(&raw, &pair.mask)?;
            let want = *channels.get_or_insert(image.channels);
            if image.channels != want {
                image = if want == 1 {
                    to_grey(&image)
                } else {
                    to_rgb(&image)
                };
            }
            let source = sources.len();
            sources.push(pair.clone());
            let prepared = match prepare {
                Prepare::Resize(s) => vec![(image.resize(s, s), mask.resize_nearest(s, s))],
                Prepare::Tile(s) => tile(&image, &mask, s),
                Prepare::ResizeTile { resize, tile: t } => tile(
                    &image.resize(resize, resize),
                    &mask.resize_nearest(resize, resize),
                    t,
                ),
            };
            samples.extend(prepared.into_iter().map(|(image, mask)| Sample {
                image,
                mask,
                source,
            }));
        }
        splits.insert(split.clone(), samples);
    }
    let label_map = label_map.unwrap_or(LabelMap::Binary);
    let class_names = label_map.class_names();
    Ok(SegmentationData {
        layout,
        label_map,
        class_names,
        splits,
        sources,
    })
}

pub fn to_grey(img: &Image) -> Image {
    let n = img.height * img.width;
    let data = (0..n)
        .map(|i| (0..img.channels).map(|c| img.data[c * n + i]).sum::<f32>() / img.channels as f32)
        .collect();
    Image::new(1, img.height, img.width, data)
}

pub fn to_rgb(img: &Image) -> Image {
    Image::new(3, img.height, img.width, img.data.repeat(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_masks_become_interior_and_boundary() {
        // A 5x5 object with value 7 in a 7x7 mask: its centre is interior, its outer two rings
        // boundary.
        let mut values = vec![0u16; 49];
        for y in 1..6 {
            for x in 1..6 {
                values[y * 7 + x] = 7;
            }
        }
        let m = LabelMap::Instance
            .apply(
                &RawMask {
                    height: 7,
                    width: 7,
                    values,
                },
                Path::new("m.tif"),
            )
            .unwrap();
        assert_eq!(m.get(3, 3), 1);
        assert_eq!(m.get(1, 1), 2);
        assert_eq!(m.get(2, 3), 2);
        assert_eq!(m.get(0, 0), 0);
        assert_eq!(m.data.iter().filter(|&&v| v == 2).count(), 24);
    }

    #[test]
    fn boundaries_two_pixels_wide_also_split_touching_nuclei() {
        // Two 5x5 nuclei side by side (ids 1 and 2) in a 7x12 mask.
        let (h, w) = (7, 12);
        let mut values = vec![0u16; h * w];
        for y in 1..6 {
            for x in 1..11 {
                values[y * w + x] = if x < 6 { 1 } else { 2 };
            }
        }
        let raw = RawMask {
            height: h,
            width: w,
            values,
        };
        let classes = instance_classes(&raw, 2);
        let at = |y: usize, x: usize| classes[y * w + x];
        // Each nucleus keeps only its centre pixel as interior: 2 steps from every edge,
        // including the edge it shares with its neighbour.
        assert_eq!(at(3, 3), 1);
        assert_eq!(at(3, 8), 1);
        assert_eq!(classes.iter().filter(|&&c| c == 1).count(), 2);
        assert_eq!(classes.iter().filter(|&&c| c == 2).count(), 48);
        assert_eq!(at(3, 5), 2);
        assert_eq!(at(3, 6), 2);
        assert_eq!(at(0, 0), 0);
        // Width 1 is the one-pixel ring.
        let thin = instance_classes(&raw, 1);
        assert_eq!(thin.iter().filter(|&&c| c == 1).count(), 18);
    }

    #[test]
    fn skin_levels_merge_into_four_classes_and_strays_are_errors() {
        let raw = RawMask {
            height: 1,
            width: 6,
            values: vec![36, 72, 108, 144, 180, 216],
        };
        assert_eq!(LabelMap::detect(&raw), LabelMap::Skin);
        let m = LabelMap::Skin.apply(&raw, Path::new("s.tif")).unwrap();
        assert_eq!(m.data, vec![0, 1, 0, 0, 2, 3]);
        let bad = RawMask {
            height: 1,
            width: 2,
            values: vec![36, 40],
        };
        let e = LabelMap::Skin
            .apply(&bad, Path::new("s.tif"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.tif") && e.contains("mask value 40"), "{e}");
    }

    #[test]
    fn tiles_cover_the_image_and_resize_keeps_mask_classes() {
        let img = Image::new(1, 5, 7, (0..35).map(|v| v as f32).collect());
        let mask = Mask::new(5, 7, (0..35).map(|v| (v % 3) as u8).collect());
        let tiles = tile(&img, &mask, 4);
        assert_eq!(tiles.len(), 4);
        assert_eq!(
            tiles[3].0.get(0, 3, 3),
            34.0,
            "last tile ends at the corner"
        );
        let small = mask.resize_nearest(3, 3);
        assert!(small.classes().iter().all(|c| mask.classes().contains(c)));
        let up = img.resize(10, 14);
        assert_eq!((up.height, up.width), (10, 14));
    }
}
