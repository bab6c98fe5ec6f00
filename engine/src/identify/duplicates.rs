//! Near-copies of images: a 64-bit average hash and a small grey thumbnail per image, compared
//! across splits (a test image that copies a training image) or within a set that has no splits.

use super::Warning;
use crate::data::image::Image;
use crate::data::medmnist::ImageSplit;
use crate::data::segmentation;
use std::collections::HashMap;

/// A small grey copy of an image and its 64-bit average hash, for finding near-copies.
#[derive(Clone)]
pub(super) struct Thumb {
    hash: u64,
    pixels: Vec<f32>,
}

pub(super) fn thumb(img: &Image) -> Thumb {
    let grey = segmentation::to_grey(img);
    let small = grey.resize(8, 8);
    let mean = small.data.iter().sum::<f32>() / 64.0;
    let hash = small
        .data
        .iter()
        .enumerate()
        .fold(0u64, |h, (i, &v)| if v > mean { h | (1 << i) } else { h });
    Thumb {
        hash,
        pixels: grey.resize(16, 16).data,
    }
}

/// Near-copies: the same average hash and a mean pixel difference under 1.5% of the range.
fn near(a: &Thumb, b: &Thumb) -> bool {
    a.hash == b.hash
        && a.pixels
            .iter()
            .zip(&b.pixels)
            .map(|(x, y)| (x - y).abs())
            .sum::<f32>()
            / (a.pixels.len() as f32)
            < 0.015
}

/// Images of later splits that nearly copy one of an earlier split (train vs val/test).
pub(super) fn cross_split_duplicates(
    splits: &[(&str, Vec<Thumb>)],
) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for i in 0..splits.len() {
        let mut by_hash: HashMap<u64, Vec<&Thumb>> = HashMap::new();
        for t in &splits[i].1 {
            by_hash.entry(t.hash).or_default().push(t);
        }
        for later in &splits[i + 1..] {
            let n = later
                .1
                .iter()
                .filter(|t| {
                    by_hash
                        .get(&t.hash)
                        .is_some_and(|c| c.iter().any(|o| near(o, t)))
                })
                .count();
            if n > 0 {
                out.push((splits[i].0.to_string(), later.0.to_string(), n));
            }
        }
    }
    out
}

pub(super) fn thumbs(split: &ImageSplit) -> Vec<Thumb> {
    // Plain images (all one value) look alike without being copies: leave them out.
    (0..split.len())
        .filter(|&i| split.pixels(i).iter().any(|&p| p != split.pixels(i)[0]))
        .map(|i| thumb(&split.image(i)))
        .collect()
}

pub(super) fn duplicate_warning(dups: &[(String, String, usize)]) -> Option<Warning> {
    if dups.is_empty() {
        return None;
    }
    let list: Vec<String> = dups
        .iter()
        .map(|(a, b, n)| format!("{n} {b} image(s) look like {a} images"))
        .collect();
    Some(Warning {
        code: "near-duplicates",
        message: format!(
            "{}: a test image that is a copy of a training image measures memory, not generalisation; remove them or split by patient",
            list.join("; ")
        ),
    })
}

/// Images of one set that nearly copy an earlier image of the same set.
pub(super) fn copies_within(all: &[Thumb]) -> usize {
    let mut by_hash: HashMap<u64, Vec<&Thumb>> = HashMap::new();
    let mut copies = 0;
    for t in all {
        let bucket = by_hash.entry(t.hash).or_default();
        if bucket.iter().any(|o| near(o, t)) {
            copies += 1;
        }
        bucket.push(t);
    }
    copies
}
