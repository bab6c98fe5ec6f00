//! augmentation/paired-crop: a random crop taken from the same window of an image and its
//! mask, the rule behind every geometric augmentation for segmentation. Images are coded by
//! position, so the grader can tell exactly which window each answer came from.

use super::geometry::{image_from, image_json};
use super::{Call, Ctx, Outcome, Request, Task, score_cases, wants};
use crate::challenge::CheckSpec;
use petri_engine::Result;
use petri_engine::data::image::{Image, Mask};
use petri_engine::rng::Rng;
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub struct PairedCrop;

struct Case {
    image: Image,
    mask: Mask,
    size: usize,
    seed: u64,
}

/// Channel 0 holds y*W+x + 1, channel 1 its negative; the mask a class from the position.
fn coded(h: usize, w: usize) -> (Image, Mask) {
    let pos: Vec<f32> = (0..h * w).map(|i| i as f32 + 1.0).collect();
    let neg: Vec<f32> = pos.iter().map(|v| -v).collect();
    let mask = (0..h * w)
        .map(|i| ((i / w) * 7 + (i % w) * 3) as u8 % 4)
        .collect();
    (
        Image::new(2, h, w, [pos, neg].concat()),
        Mask::new(h, w, mask),
    )
}

/// The window's top-left corner, if the answer is an exact crop of `case` with its mask.
fn window(case: &Case, a: &Value) -> std::result::Result<(usize, usize), String> {
    let s = case.size;
    let img = image_from(&a["image"])?;
    let m = &a["mask"];
    let mh = m["height"].as_u64().unwrap_or(0) as usize;
    let mw = m["width"].as_u64().unwrap_or(0) as usize;
    let mdata: Vec<u8> = serde_json::from_value(m["data"].clone()).unwrap_or_default();
    if (img.channels, img.height, img.width) != (2, s, s)
        || (mh, mw) != (s, s)
        || mdata.len() != s * s
    {
        return Err(format!(
            "a {s}x{s} crop should give a 2x{s}x{s} image and a {s}x{s} mask, got {}x{}x{} and {mh}x{mw}",
            img.channels, img.height, img.width
        ));
    }
    let w = case.image.width;
    let first = img.get(0, 0, 0);
    if first < 1.0 || first.fract() != 0.0 || first as usize > case.image.data.len() / 2 {
        return Err("the image's pixels are not pixels of the input".into());
    }
    let at = first as usize - 1;
    let (y0, x0) = (at / w, at % w);
    if y0 + s > case.image.height || x0 + s > w {
        return Err("the crop runs past the image's edge".into());
    }
    for y in 0..s {
        for x in 0..s {
            let (sy, sx) = (y0 + y, x0 + x);
            if img.get(0, y, x) != case.image.get(0, sy, sx)
                || img.get(1, y, x) != case.image.get(1, sy, sx)
            {
                return Err(
                    "the image is not one contiguous window of the input (all channels)".into(),
                );
            }
            if mdata[y * s + x] != case.mask.get(sy, sx) {
                return Err("the mask's window differs from the image's: image and mask are no longer aligned".into());
            }
        }
    }
    Ok((y0, x0))
}

impl Task for PairedCrop {
    harness!("paired_crop");

    fn grade(&self, ctx: &Ctx, checks: &[&CheckSpec], call: &mut Call) -> Result<Outcome> {
        let mut rng = Rng::derive(ctx.seed, "paired-crop");
        let mut cases = Vec::new();
        // 0-1: the statement's example (6x8 image, 4x4 crop).
        let (image, mask) = coded(6, 8);
        for seed in [1, 2] {
            cases.push(Case {
                image: image.clone(),
                mask: mask.clone(),
                size: 4,
                seed,
            });
        }
        // 2-9: random shapes and sizes.
        for _ in 0..8 {
            let (h, w) = (4 + rng.below(20), 4 + rng.below(20));
            let (image, mask) = coded(h, w);
            let size = 1 + rng.below(h.min(w));
            cases.push(Case {
                image,
                mask,
                size,
                seed: rng.next_u64(),
            });
        }
        // 10-21: one image, twelve seeds (variety); 22-23: a seed repeated (determinism).
        let (image, mask) = coded(20, 24);
        for seed in 100..112 {
            cases.push(Case {
                image: image.clone(),
                mask: mask.clone(),
                size: 8,
                seed,
            });
        }
        for _ in 0..2 {
            cases.push(Case {
                image: image.clone(),
                mask: mask.clone(),
                size: 8,
                seed: 7,
            });
        }
        let req = json!({ "cases": cases.iter().map(|c| json!({
            "image": image_json(&c.image),
            "mask": { "height": c.mask.height, "width": c.mask.width, "data": c.mask.data },
            "size": c.size, "seed": c.seed })).collect::<Vec<_>>() });
        let answers = call(&Request::json(req));
        let mut out = Outcome::default();
        let judge = |i: usize, a: &Value| window(&cases[i], a).map(|_| ());
        let groups = [("example", vec![0, 1]), ("aligned", (2..10).collect())];
        score_cases(&mut out, checks, &groups, &answers, &judge);
        let list = answers
            .as_ref()
            .ok()
            .and_then(|v| v.get("answers"))
            .and_then(Value::as_array);
        let corner = |i: usize| {
            list.and_then(|l| l.get(i))
                .and_then(|a| window(&cases[i], a).ok())
        };
        if wants(checks, "varied") {
            match &answers {
                Err(refusal) => out.refuse("varied", refusal),
                Ok(_) => {
                    let corners: BTreeSet<_> = (10..22).filter_map(corner).collect();
                    let credit = (corners.len() as f64 - 1.0).clamp(0.0, 4.0) / 4.0;
                    out.set(
                        "varied",
                        credit,
                        format!("twelve seeds gave {} different valid windows (5 or more for full marks)", corners.len()),
                    );
                }
            }
        }
        if wants(checks, "seeded") {
            match &answers {
                Err(refusal) => out.refuse("seeded", refusal),
                Ok(_) => match (corner(22), corner(23)) {
                    (Some(a), Some(b)) if a == b => out.set("seeded", 1.0, "the same seed gave the same window"),
                    (Some(_), Some(_)) => out.set("seeded", 0.0, "the same seed gave different windows: draw every random number from the rng you are given"),
                    _ => out.set("seeded", 0.0, "no valid crop to compare"),
                },
            }
        }
        Ok(out)
    }
}
