//! A random crop of an image and its mask (reference solution).

use petri_engine::data::image::{Image, Mask};
use petri_engine::rng::Rng;

pub fn random_crop_pair(img: &Image, mask: &Mask, size: usize, rng: &mut Rng) -> (Image, Mask) {
    // One window for both.
    let (y0, x0) = (rng.below(img.height - size + 1), rng.below(img.width - size + 1));
    let mut data = Vec::with_capacity(img.channels * size * size);
    for c in 0..img.channels {
        for y in 0..size {
            for x in 0..size {
                data.push(img.get(c, y0 + y, x0 + x));
            }
        }
    }
    let mut labels = Vec::with_capacity(size * size);
    for y in 0..size {
        for x in 0..size {
            labels.push(mask.get(y0 + y, x0 + x));
        }
    }
    (Image::new(img.channels, size, size, data), Mask::new(size, size, labels))
}
