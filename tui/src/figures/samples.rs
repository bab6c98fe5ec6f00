//! The sample figure (`samples.svg`/`.png`): test images with the trained model's answers, from
//! the sample sheet kept beside a record. Classification: a row of images per run, each with
//! its true and predicted class (green when right, red when wrong). Segmentation: per sample,
//! the image, the true mask and the predicted mask, coloured by class, with a legend.
//!
//! The PNG is drawn by plotters; the SVG carries each image as an embedded PNG (`<image>`), as
//! plotters' SVG backend would draw an image pixel by pixel (a <rect> each: megabytes).

use super::{DrawResult, FONT, png};
use anyhow::{Context, Result};
use petri_engine::experiment::record::{RunSamples, SampleSheet};
use petri_engine::train::Sample;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Side of an image tile, in pixels (nearest-neighbour scaled to it).
const TILE: u32 = 112;
/// Rows of runs and images per row drawn at most: a figure for a page, not a dump.
const MAX_ROWS: usize = 6;
const MAX_PER_ROW: usize = 8;
const LABEL_W: u32 = 170;
const MARGIN: u32 = 16;
/// Title band, and the caption rows under each tile.
const TITLE_H: u32 = 44;
const CAPTION_H: u32 = 40;
/// The height of a row: its tiles, their captions and a margin.
const ROW_H: u32 = TILE + CAPTION_H + MARGIN;

/// Colours of mask classes: background dark, then distinct hues.
const CLASS_COLOURS: [[u8; 3]; 8] = [
    [30, 30, 30],
    [230, 159, 0],
    [86, 180, 233],
    [0, 158, 115],
    [240, 228, 66],
    [0, 114, 178],
    [213, 94, 0],
    [204, 121, 167],
];

/// One image placed on the figure, at its own resolution (`rgb`, `w` x `h`) and drawn into a
/// `TILE`-sided square at (`x`, `y`).
struct Placed {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    rgb: Vec<u8>,
}

struct Caption {
    x: u32,
    y: u32,
    text: String,
    colour: RGBColor,
    size: u32,
}

/// A class colour swatch of the legend: (x, y, colour, class name).
type Swatch = (u32, u32, [u8; 3], String);

/// Everything the figure holds, laid out once and drawn on both backends.
struct Layout {
    size: (u32, u32),
    title: String,
    images: Vec<Placed>,
    captions: Vec<Caption>,
    legend: Vec<Swatch>,
}

/// Writes `samples.svg` and `samples.png` into `dir` when the sheet has samples.
pub fn write(sheet: &SampleSheet, class_names: &[String], dir: &Path) -> Result<Vec<PathBuf>> {
    let Some(layout) = layout(sheet, class_names) else {
        return Ok(Vec::new());
    };
    super::register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, layout.size).into_drawing_area();
        draw_text(&root, &layout).map_err(|e| anyhow::anyhow!("samples.svg: {e}"))?;
        root.present()
            .map_err(|e| anyhow::anyhow!("samples.svg: {e}"))?;
    }
    let images: String = layout
        .images
        .iter()
        .map(|p| {
            Ok(format!(
                "<image x=\"{}\" y=\"{}\" width=\"{TILE}\" height=\"{TILE}\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{}\"/>\n",
                p.x,
                p.y,
                base64(&png(&p.rgb, p.w, p.h)?)
            ))
        })
        .collect::<Result<_>>()?;
    let end = svg.rfind("</svg>").context("plotters wrote no </svg>")?;
    svg.insert_str(end, &images);
    let svg_path = dir.join("samples.svg");
    petri_engine::atomic::write_atomic(&svg_path, svg.as_bytes())?;

    let (w, h) = layout.size;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, layout.size).into_drawing_area();
        draw_text(&root, &layout).map_err(|e| anyhow::anyhow!("samples.png: {e}"))?;
        for p in &layout.images {
            let tile = scaled(&p.rgb, p.w, p.h, TILE);
            let bitmap =
                BitMapElement::with_owned_buffer((p.x as i32, p.y as i32), (TILE, TILE), tile)
                    .context("tile buffer size")?;
            root.draw(&bitmap)
                .map_err(|e| anyhow::anyhow!("samples.png: {e}"))?;
        }
        root.present()
            .map_err(|e| anyhow::anyhow!("samples.png: {e}"))?;
    }
    let png_path = dir.join("samples.png");
    petri_engine::atomic::write_atomic(&png_path, &png(&rgb, w, h)?)?;
    Ok(vec![svg_path, png_path])
}

/// The figure of `sheet`'s samples laid out, `None` when it has no image to draw.
fn layout(sheet: &SampleSheet, class_names: &[String]) -> Option<Layout> {
    let runs: Vec<&RunSamples> = sheet
        .runs
        .iter()
        .filter(|r| !r.samples.is_empty())
        .take(MAX_ROWS)
        .collect();
    let segmentation = runs
        .iter()
        .flat_map(|r| &r.samples)
        .any(|s| s.truth_mask.is_some());
    let (rows, title) = if segmentation {
        (
            segmentation_rows(&runs, class_names),
            "test samples: image, true mask, predicted mask",
        )
    } else {
        (
            classification_rows(&runs),
            "test samples: true and predicted class (red: wrong)",
        )
    };
    if rows.images.is_empty() {
        return None;
    }
    let height = rows.bottom.max(TITLE_H + rows.legend.len() as u32 * 24) + MARGIN;
    Some(Layout {
        size: (rows.widest + MARGIN, height),
        title: title.into(),
        images: rows.images,
        captions: rows.captions,
        legend: rows.legend,
    })
}

/// The rows of a figure under its title, before its size is known.
struct Rows {
    images: Vec<Placed>,
    captions: Vec<Caption>,
    legend: Vec<Swatch>,
    /// The right edge of the widest row (and of the legend), and the bottom of the last row.
    widest: u32,
    bottom: u32,
}

impl Rows {
    fn new() -> Rows {
        Rows {
            images: Vec::new(),
            captions: Vec::new(),
            legend: Vec::new(),
            widest: 0,
            bottom: TITLE_H,
        }
    }
}

/// Segmentation: one row per sample (image, true mask, predicted mask), up to `MAX_ROWS`, and
/// the legend of the classes to their right.
fn segmentation_rows(runs: &[&RunSamples], class_names: &[String]) -> Rows {
    let samples: Vec<(&str, &Sample)> = runs
        .iter()
        .flat_map(|r| r.samples.iter().map(|s| (r.run.as_str(), s)))
        .take(MAX_ROWS)
        .collect();
    let mut rows = Rows::new();
    for (k, (run, s)) in samples.iter().enumerate() {
        let y = rows.bottom;
        caption(
            &mut rows.captions,
            (MARGIN, y + TILE / 2),
            &format!("{run}, sample {}", k + 1),
            LABEL_W - MARGIN,
        );
        let panels = [
            ("image", Some(image_rgb(s))),
            ("true mask", s.truth_mask.as_deref().map(mask_rgb)),
            ("predicted", s.predicted_mask.as_deref().map(mask_rgb)),
        ];
        for (i, (name, rgb)) in panels.into_iter().enumerate() {
            let Some(rgb) = rgb.filter(|p| p.len() == s.width * s.height * 3) else {
                continue;
            };
            let x = LABEL_W + i as u32 * (TILE + MARGIN);
            rows.images.push(placed(x, y, s, rgb));
            rows.captions.push(Caption {
                x,
                y: y + TILE + 6,
                text: name.into(),
                colour: BLACK,
                size: 14,
            });
            rows.widest = rows.widest.max(x + TILE);
        }
        rows.bottom += ROW_H;
    }
    let legend_x = rows.widest + 2 * MARGIN;
    rows.legend = legend(&samples, class_names, legend_x);
    rows.widest += 2 * MARGIN + 200;
    rows
}

/// A swatch and a name for each class the masks use (at least those of `class_names`), in a
/// column at `x`.
fn legend(samples: &[(&str, &Sample)], class_names: &[String], x: u32) -> Vec<Swatch> {
    let classes = samples
        .iter()
        .flat_map(|(_, s)| s.truth_mask.iter().chain(&s.predicted_mask).flatten())
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0)
        .max(class_names.len());
    CLASS_COLOURS
        .iter()
        .enumerate()
        .take(classes)
        .map(|(c, colour)| {
            let name = class_names
                .get(c)
                .cloned()
                .unwrap_or_else(|| format!("class {c}"));
            (x, TITLE_H + c as u32 * 24, *colour, name)
        })
        .collect()
}

/// A classification sample's two captions.
fn class_captions(s: &Sample) -> [String; 2] {
    [format!("true {}", s.truth), format!("pred {}", s.predicted)]
}

/// Classification: one row per run, up to `MAX_PER_ROW` images each with its true and
/// predicted class. Columns are as wide as their captions ("pred normal, benign"), up to two
/// tiles; the run names' column as wide as the longest name: a report figure keeps names whole.
fn classification_rows(runs: &[&RunSamples]) -> Rows {
    let pitch = runs
        .iter()
        .flat_map(|r| r.samples.iter().take(MAX_PER_ROW))
        .flat_map(class_captions)
        .map(|t| text_px(&t, 13))
        .max()
        .unwrap_or(0)
        .clamp(TILE, 2 * TILE);
    let label_w = runs
        .iter()
        .map(|r| text_px(&r.run, 15) + 2 * MARGIN)
        .max()
        .unwrap_or(0)
        .clamp(LABEL_W, 2 * LABEL_W);
    let mut rows = Rows::new();
    for r in runs {
        let y = rows.bottom;
        caption(
            &mut rows.captions,
            (MARGIN, y + TILE / 2),
            &r.run,
            label_w - 2 * MARGIN,
        );
        for (i, s) in r.samples.iter().take(MAX_PER_ROW).enumerate() {
            let x = label_w + i as u32 * (pitch + MARGIN / 2);
            let rgb = image_rgb(s);
            if rgb.len() != s.width * s.height * 3 {
                continue;
            }
            rows.images.push(placed(x, y, s, rgb));
            let ink = if s.truth == s.predicted {
                RGBColor(0, 130, 60)
            } else {
                RGBColor(200, 30, 30)
            };
            for (line, text) in class_captions(s).into_iter().enumerate() {
                rows.captions.push(Caption {
                    x,
                    y: y + TILE + 4 + 17 * line as u32,
                    text: fit_px(&text, pitch, 13),
                    colour: if line == 0 { BLACK } else { ink },
                    size: 13,
                });
            }
            rows.widest = rows.widest.max(x + pitch);
        }
        rows.bottom += ROW_H;
    }
    rows
}

/// `s`'s picture (`rgb`, at the sample's own size) placed at (`x`, `y`).
fn placed(x: u32, y: u32, s: &Sample, rgb: Vec<u8>) -> Placed {
    Placed {
        x,
        y,
        w: s.width as u32,
        h: s.height as u32,
        rgb,
    }
}

/// A row's label at `(x, y)`, fitted to `width` px.
fn caption(captions: &mut Vec<Caption>, (x, y): (u32, u32), text: &str, width: u32) {
    captions.push(Caption {
        x,
        y,
        text: fit_px(text, width, 15),
        colour: BLACK,
        size: 15,
    });
}

/// The width of `text` in the figures' font at `size` px, as plotters will draw it.
fn text_px(text: &str, size: u32) -> u32 {
    super::register_font();
    (super::FONT, size)
        .into_font()
        .box_size(text)
        .map_or(text.chars().count() as u32 * size * 2 / 3, |(w, _)| w)
}

/// `text` whole when it fits in `px`, else cut with an ellipsis to fit.
fn fit_px(text: &str, px: u32, size: u32) -> String {
    let chars = text.chars().count();
    (1..=chars)
        .rev()
        .map(|n| shorten(text, n))
        .find(|t| text_px(t, size) <= px)
        .unwrap_or_default()
}

fn shorten(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(n - 1).collect();
        s.push('…');
        s
    }
}

fn draw_text<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, l: &Layout) -> DrawResult
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE)?;
    area.draw(&Text::new(
        l.title.clone(),
        (MARGIN as i32, 12),
        (FONT, 20).into_font(),
    ))?;
    for c in &l.captions {
        area.draw(&Text::new(
            c.text.clone(),
            (c.x as i32, c.y as i32),
            (FONT, c.size).into_font().color(&c.colour),
        ))?;
    }
    for (x, y, [r, g, b], name) in &l.legend {
        let (x, y) = (*x as i32, *y as i32);
        area.draw(&Rectangle::new(
            [(x, y), (x + 18, y + 18)],
            RGBColor(*r, *g, *b).filled(),
        ))?;
        area.draw(&Text::new(
            name.clone(),
            (x + 26, y + 2),
            (FONT, 15).into_font(),
        ))?;
    }
    Ok(())
}

/// The sample's image as RGB (grey and RGBA stored images alike).
fn image_rgb(s: &Sample) -> Vec<u8> {
    match s.channels {
        1 => s.pixels.iter().flat_map(|&v| [v, v, v]).collect(),
        3 => s.pixels.clone(),
        c if c > 3 => s
            .pixels
            .chunks(c)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        // Two channels: the first as grey.
        c => s
            .pixels
            .chunks(c.max(1))
            .flat_map(|p| [p[0], p[0], p[0]])
            .collect(),
    }
}

fn mask_rgb(mask: &[u8]) -> Vec<u8> {
    mask.iter()
        .flat_map(|&c| CLASS_COLOURS[c as usize % CLASS_COLOURS.len()])
        .collect()
}

/// `rgb` (`w` x `h`) resized to `side` x `side`, nearest neighbour (pixels stay pixels).
fn scaled(rgb: &[u8], w: u32, h: u32, side: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((side * side * 3) as usize);
    for y in 0..side {
        let sy = (y * h / side).min(h - 1);
        for x in 0..side {
            let sx = (x * w / side).min(w - 1);
            let i = ((sy * w + sx) * 3) as usize;
            out.extend_from_slice(&rgb[i..i + 3]);
        }
    }
    out
}

/// Standard base64 (RFC 4648, with padding), for the SVG's data URIs.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(w: usize, h: usize, channels: usize, masks: bool, truth: &str, pred: &str) -> Sample {
        Sample {
            height: h,
            width: w,
            channels,
            pixels: (0..w * h * channels).map(|i| (i * 7 % 251) as u8).collect(),
            truth: truth.into(),
            predicted: pred.into(),
            truth_mask: masks.then(|| (0..w * h).map(|i| (i % 4) as u8).collect()),
            predicted_mask: masks.then(|| (0..w * h).map(|i| (i / w % 4) as u8).collect()),
        }
    }

    fn sheet(runs: Vec<(&str, Vec<Sample>)>) -> SampleSheet {
        let mut sheet = SampleSheet::default();
        for (name, samples) in runs {
            sheet.see(&petri_engine::train::Event::RunStarted { name: name.into() });
            sheet.see(&petri_engine::train::Event::Samples(samples));
        }
        sheet
    }

    /// Decodes the PNG and checks it is the laid-out size and has images and text on it.
    fn check_png(path: &Path, size: (u32, u32)) {
        let img = image::open(path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), size);
        let inked = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(inked > 4 * (TILE * TILE) as usize, "{inked} inked pixels");
        let colours: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
        assert!(colours.len() > 20);
    }

    #[test]
    fn classification_and_segmentation_samples_become_figures() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["malignant".to_string(), "benign".to_string()];
        let s = sheet(vec![
            (
                "unmodified",
                vec![sample(28, 28, 1, false, "malignant", "benign"); 8],
            ),
            (
                "combined",
                vec![sample(28, 28, 3, false, "benign", "benign"); 4],
            ),
        ]);
        let files = write(&s, &names, dir.path()).unwrap();
        assert_eq!(files.len(), 2);
        let size = layout(&s, &names).unwrap().size;
        check_png(&dir.path().join("samples.png"), size);
        let svg = std::fs::read_to_string(dir.path().join("samples.svg")).unwrap();
        assert_eq!(svg.matches("data:image/png;base64,").count(), 12);
        assert!(svg.contains("unmodified") && svg.contains("pred benign"));
        assert!(svg.len() < 200_000, "{} bytes", svg.len());
        if let Some(keep) = std::env::var_os("PETRI_KEEP_FIGURES") {
            let _ = std::fs::copy(
                dir.path().join("samples.png"),
                Path::new(&keep).join("samples_cls.png"),
            );
        }

        let classes: Vec<String> = ["background", "epidermis", "dermis", "hair"]
            .map(String::from)
            .into();
        let seg = sheet(vec![("unet", vec![sample(64, 48, 3, true, "", ""); 3])]);
        write(&seg, &classes, dir.path()).unwrap();
        let size = layout(&seg, &classes).unwrap().size;
        check_png(&dir.path().join("samples.png"), size);
        let svg = std::fs::read_to_string(dir.path().join("samples.svg")).unwrap();
        assert_eq!(
            svg.matches("<image").count(),
            9,
            "image, truth and prediction of 3"
        );
        assert!(svg.contains("hair") && svg.contains("true mask"));
        if let Some(keep) = std::env::var_os("PETRI_KEEP_FIGURES") {
            let _ = std::fs::copy(
                dir.path().join("samples.png"),
                Path::new(&keep).join("samples_seg.png"),
            );
        }
        // Nothing to draw: no files, no error.
        assert!(
            write(&SampleSheet::default(), &names, dir.path())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (raw, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), encoded);
        }
    }

    #[test]
    fn nearest_neighbour_scaling_keeps_pixels_whole() {
        // 2x1: red, blue -> 4x4: left half red, right half blue.
        let out = scaled(&[255, 0, 0, 0, 0, 255], 2, 1, 4);
        assert_eq!(&out[0..3], &[255, 0, 0]);
        assert_eq!(&out[3 * 3..3 * 4], &[0, 0, 255]);
        assert_eq!(out.len(), 4 * 4 * 3);
    }
}
