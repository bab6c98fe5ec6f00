//! Flips and quarter turns of CHW images (reference solution).

use petri_engine::data::image::Image;

/// Mirror left-right.
pub fn hflip(img: &Image) -> Image {
    let (c, h, w) = (img.channels, img.height, img.width);
    let mut data = Vec::with_capacity(img.data.len());
    for ch in 0..c {
        for y in 0..h {
            for x in 0..w {
                data.push(img.get(ch, y, w - 1 - x));
            }
        }
    }
    Image::new(c, h, w, data)
}

/// A quarter turn counter-clockwise: a C x H x W image becomes C x W x H.
pub fn rot90(img: &Image) -> Image {
    let (c, h, w) = (img.channels, img.height, img.width);
    let mut data = Vec::with_capacity(img.data.len());
    for ch in 0..c {
        for y in 0..w {
            for x in 0..h {
                data.push(img.get(ch, x, w - 1 - y));
            }
        }
    }
    Image::new(c, w, h, data)
}
