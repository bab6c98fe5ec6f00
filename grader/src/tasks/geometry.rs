//! augmentation/flip-rotate: a horizontal flip and a quarter turn, on CHW images of any shape.
//! Answers are compared pixel for pixel with the engine's flip and a rotation written here.

use super::{Call, Ctx, Outcome, Request, Task, score_cases};
use crate::challenge::CheckSpec;
use petri_engine::Result;
use petri_engine::augment::hflip;
use petri_engine::data::image::Image;
use petri_engine::rng::Rng;
use serde_json::{Value, json};

pub struct FlipRotate;

/// A quarter turn counter-clockwise (numpy's `rot90(k=1)` on the H, W axes).
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

fn random_image(rng: &mut Rng, c: usize, h: usize, w: usize) -> Image {
    Image::new(c, h, w, (0..c * h * w).map(|_| rng.f64() as f32).collect())
}

pub fn image_json(img: &Image) -> Value {
    json!({ "channels": img.channels, "height": img.height, "width": img.width, "data": img.data })
}

pub fn image_from(v: &Value) -> std::result::Result<Image, String> {
    let n = |k: &str| {
        v[k].as_u64()
            .map(|x| x as usize)
            .ok_or(format!("the image has no {k}"))
    };
    let (c, h, w) = (n("channels")?, n("height")?, n("width")?);
    let data: Vec<f32> = serde_json::from_value(v["data"].clone())
        .map_err(|_| "the image data is not a list of numbers")?;
    if data.len() != c * h * w {
        return Err(format!(
            "the image says {c}x{h}x{w} but holds {} values",
            data.len()
        ));
    }
    Ok(Image::new(c, h, w, data))
}

impl Task for FlipRotate {
    harness!("flip_rotate");

    fn grade(&self, ctx: &Ctx, checks: &[&CheckSpec], call: &mut Call) -> Result<Outcome> {
        let mut rng = Rng::derive(ctx.seed, "flip-rotate");
        // The statement's 1x2x3 example, then random shapes: several channels, not square.
        let example = Image::new(1, 2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut cases = vec![("hflip", example.clone()), ("rot90", example)];
        for _ in 0..6 {
            let (c, h, w) = (1 + rng.below(3), 1 + rng.below(9), 1 + rng.below(9));
            cases.push(("hflip", random_image(&mut rng, c, h, w)));
        }
        for _ in 0..6 {
            let (c, h, w) = (1 + rng.below(3), 1 + rng.below(9), 1 + rng.below(9));
            cases.push(("rot90", random_image(&mut rng, c, h, w)));
        }
        let req = json!({ "cases": cases.iter().map(|(op, img)| json!({ "op": op, "image": image_json(img) })).collect::<Vec<_>>() });
        let answers = call(&Request::json(req));
        let judge = |i: usize, a: &Value| {
            let (op, img) = &cases[i];
            let want = if *op == "hflip" {
                hflip(img)
            } else {
                rot90(img)
            };
            let got = image_from(&a["image"])?;
            if (got.channels, got.height, got.width) != (want.channels, want.height, want.width) {
                return Err(format!(
                    "{op} of a {}x{}x{} image should be {}x{}x{}, got {}x{}x{}",
                    img.channels,
                    img.height,
                    img.width,
                    want.channels,
                    want.height,
                    want.width,
                    got.channels,
                    got.height,
                    got.width
                ));
            }
            if got.data != want.data {
                return Err(format!("{op}: right shape, pixels in the wrong places"));
            }
            Ok(())
        };
        let mut out = Outcome::default();
        let groups = [
            ("example", vec![0, 1]),
            ("hflip", (2..8).collect()),
            ("rot90", (8..14).collect()),
        ];
        score_cases(&mut out, checks, &groups, &answers, &judge);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rot90_turns_counter_clockwise_and_four_turns_are_identity() {
        // [[1,2,3],[4,5,6]] -> [[3,6],[2,5],[1,4]]
        let img = Image::new(1, 2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let r = rot90(&img);
        assert_eq!((r.height, r.width), (3, 2));
        assert_eq!(r.data, vec![3.0, 6.0, 2.0, 5.0, 1.0, 4.0]);
        assert_eq!(rot90(&rot90(&rot90(&r))).data, img.data);
    }
}
