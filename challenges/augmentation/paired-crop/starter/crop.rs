//! A random crop of an image and its mask. Fix it; keep the signature.

use petri_engine::data::image::{Image, Mask};
use petri_engine::rng::Rng;

pub fn random_crop_pair(img: &Image, mask: &Mask, size: usize, rng: &mut Rng) -> (Image, Mask) {
    // Image window.
    let (y0, x0) = (rng.below(img.height - size + 1), rng.below(img.width - size + 1));
    let mut data = Vec::new();
    for c in 0..img.channels {
        for y in 0..size {
            for x in 0..size {
                data.push(img.get(c, y0 + y, x0 + x));
            }
        }
    }
    // Mask window: drawn separately (this is the bug).
    let (my, mx) = (rng.below(mask.height - size + 1), rng.below(mask.width - size + 1));
    let mut labels = Vec::new();
    for y in 0..size {
        for x in 0..size {
            labels.push(mask.get(my + y, mx + x));
        }
    }
    (Image::new(img.channels, size, size, data), Mask::new(size, size, labels))
}
