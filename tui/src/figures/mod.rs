//! Figures to keep from a run record, for a lab report: the validation curve of every run
//! (`curves.svg`/`.png`, and the numbers as `curves.csv`), the test metric per run as bars
//! (`bars.svg`/`.png`, with ± one standard deviation where the record has repeated splits) and
//! the confusion matrix (`confusion.svg`/`.png`), and the test samples with the model's answers
//! (`samples.svg`/`.png`, `samples.rs`, from the sample sheet kept beside the record), and ROC
//! curves from the test predictions of image classifiers (`roc.rs`). Drawn with
//! plotters; every file is written atomically. `petri figures RECORD` and the tutor's `w` key
//! call `write_all`.

mod roc;
mod samples;

use anyhow::{Context, Result};
use petri_engine::experiment::ExperimentRecord;
use petri_engine::experiment::record::SampleSheet;
use petri_engine::metrics::Metric;
use petri_engine::train::ModelRun;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// Size of every figure, in pixels (SVG user units): readable on a slide and a printed page.
const SIZE: (u32, u32) = (900, 560);

/// The font plotters draws text with: embedded, so figures look the same on every machine.
pub(crate) const FONT: &str = "sans-serif";

pub(crate) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font (checked by the tests that draw text).
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../../assets/DejaVuSans.ttf"),
        );
    });
}

/// Where a record's figures go unless told: `RECORD-figures/` beside it.
pub fn default_dir(record: &Path) -> PathBuf {
    let stem = record
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    record.with_file_name(format!("{stem}-figures"))
}

/// Writes every figure the record (and its sample sheet, when kept) has data for into `dir`
/// (created); returns the files.
pub fn write_all(
    record: &ExperimentRecord,
    samples: Option<&SampleSheet>,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    register_font();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    if let Some(csv) = curves_csv(record) {
        let path = dir.join("curves.csv");
        petri_engine::atomic::write_atomic(&path, csv.as_bytes())?;
        written.push(path);
    }
    if let Some(metric) = curve_metric(&record.runs) {
        written.extend(both(
            dir,
            "curves",
            |a| curves(a, record, metric),
            |a| curves(a, record, metric),
        )?);
    }
    if let Some((metric, bars)) = bar_values(record) {
        // The spread is over seeds (`--seeds`) or over the regression part's random splits.
        let over = match record.seeds.as_slice() {
            [_, _, ..] => format!(
                "seeds {}",
                record
                    .seeds
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "splits".to_string(),
        };
        written.extend(both(
            dir,
            "bars",
            |a| draw_bars(a, metric, &bars, &over),
            |a| draw_bars(a, metric, &bars, &over),
        )?);
    }
    if let Some(run) = record.runs.iter().rev().find(|r| r.confusion.is_some()) {
        written.extend(both(
            dir,
            "confusion",
            |a| confusion(a, run, &record.class_names),
            |a| confusion(a, run, &record.class_names),
        )?);
    }
    if let Some(sheet) = samples {
        written.extend(samples::write(sheet, &record.class_names, dir)?);
    }
    written.extend(roc::write(record, dir)?);
    if written.is_empty() {
        anyhow::bail!("the record has no curves, test metrics or confusion matrix to draw");
    }
    Ok(written)
}

pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Draws one figure as `NAME.svg` and `NAME.png` (the same drawing function, once per backend).
pub(crate) fn both(
    dir: &Path,
    name: &str,
    draw_svg: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> DrawResult,
    draw_png: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> DrawResult,
) -> Result<Vec<PathBuf>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow::anyhow!("{name}.svg: {e}"))?;
        draw_svg(&root).map_err(|e| anyhow::anyhow!("{name}.svg: {e}"))?;
        root.present()
            .map_err(|e| anyhow::anyhow!("{name}.svg: {e}"))?;
    }
    let mut rgb = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow::anyhow!("{name}.png: {e}"))?;
        draw_png(&root).map_err(|e| anyhow::anyhow!("{name}.png: {e}"))?;
        root.present()
            .map_err(|e| anyhow::anyhow!("{name}.png: {e}"))?;
    }
    let svg_path = dir.join(format!("{name}.svg"));
    petri_engine::atomic::write_atomic(&svg_path, svg.as_bytes())?;
    let png_path = dir.join(format!("{name}.png"));
    petri_engine::atomic::write_atomic(&png_path, &png(&rgb, SIZE.0, SIZE.1)?)?;
    Ok(vec![svg_path, png_path])
}

/// `rgb` (`w` x `h`, 3 bytes a pixel) encoded as PNG.
pub(crate) fn png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let image = image::RgbImage::from_raw(w, h, rgb.to_vec()).context("image buffer size")?;
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .context("encoding PNG")?;
    Ok(out)
}

/// The validation metric the curves show: the first the runs report of these.
fn curve_metric(runs: &[ModelRun]) -> Option<Metric> {
    use Metric::*;
    [Accuracy, DiceMean, PixelAccuracy, Auc, Loss]
        .into_iter()
        .find(|&m| {
            runs.iter()
                .any(|r| r.epochs.iter().any(|e| e.val_metric(m).is_some()))
        })
}

/// Every run's epochs as CSV: run, epoch, train loss, then each validation metric.
fn curves_csv(record: &ExperimentRecord) -> Option<String> {
    let metrics: std::collections::BTreeSet<&String> = record
        .runs
        .iter()
        .flat_map(|r| r.epochs.iter().flat_map(|e| e.val.keys()))
        .collect();
    if record.runs.iter().all(|r| r.epochs.is_empty()) {
        return None;
    }
    let mut out = String::from("run,epoch,train_loss,seconds");
    for m in &metrics {
        out.push_str(&format!(",val_{m}"));
    }
    out.push('\n');
    for r in &record.runs {
        for e in &r.epochs {
            // Run names are ours ("nn (all features)"): quoted, as they may hold commas.
            out.push_str(&format!(
                "\"{}\",{},{},{}",
                r.name.replace('"', "\"\""),
                e.epoch,
                e.train_loss,
                e.seconds
            ));
            for m in &metrics {
                out.push(',');
                if let Some(v) = e.val.get(*m) {
                    out.push_str(&v.to_string());
                }
            }
            out.push('\n');
        }
    }
    Some(out)
}

pub(crate) fn colour(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 6] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    PALETTE[i % PALETTE.len()]
}

fn curves<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    record: &ExperimentRecord,
    metric: Metric,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let series: Vec<(&str, Vec<(f64, f64)>)> = record
        .runs
        .iter()
        .map(|r| {
            let p = r
                .epochs
                .iter()
                .filter_map(|e| e.val_metric(metric).map(|v| (e.epoch as f64, v)))
                .collect();
            (r.name.as_str(), p)
        })
        .filter(|(_, p): &(&str, Vec<(f64, f64)>)| !p.is_empty())
        .collect();
    let all = series.iter().flat_map(|(_, p)| p.iter());
    let (x_max, y_lo, y_hi) = all.fold((1.0f64, f64::MAX, f64::MIN), |(x, lo, hi), &(e, v)| {
        (x.max(e), lo.min(v), hi.max(v))
    });
    let pad = ((y_hi - y_lo) * 0.1).max(0.01);
    let mut caption = match record.seeds.len() {
        0 | 1 => format!("{}: validation {metric} per epoch", record.part.name()),
        n => format!(
            "{}: validation {metric} per epoch (mean over {n} seeds)",
            record.part.name()
        ),
    };
    // One epoch has no curve: each run is its one point, and the caption says so.
    if series.iter().all(|(_, p)| p.len() == 1) {
        caption.push_str(" (one epoch: a point per run)");
    }
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 24))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        // Half an epoch either side, so a first or only epoch is not drawn on the axis.
        .build_cartesian_2d(0.5..x_max + 0.5, (y_lo - pad)..(y_hi + pad))?;
    chart
        .configure_mesh()
        .x_labels(x_max as usize + 1)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 && *x >= 1.0 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .x_desc("epoch")
        .y_desc(format!("validation {metric}"))
        .label_style((FONT, 16))
        .draw()?;
    for (i, (name, points)) in series.iter().enumerate() {
        let c = colour(i);
        chart
            .draw_series(
                LineSeries::new(points.iter().copied(), c.stroke_width(2))
                    .point_size(if points.len() == 1 { 5 } else { 2 }),
            )?
            .label(*name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// One bar per run: (label, value, ± spread).
struct Bar {
    label: String,
    value: f64,
    spread: Option<f64>,
}

/// The test metric a record compares runs by, with each run's value.
fn bar_values(record: &ExperimentRecord) -> Option<(Metric, Vec<Bar>)> {
    use Metric::*;
    for metric in [Accuracy, Rmse, DiceMean, PixelAccuracy] {
        let bars: Vec<Bar> = record
            .runs
            .iter()
            .filter_map(|r| {
                let value = r.test_metric(metric)?;
                Some(Bar {
                    label: r.name.clone(),
                    value,
                    spread: r.repeated_metric(metric).map(|m| m.std),
                })
            })
            .collect();
        if !bars.is_empty() {
            return Some((metric, bars));
        }
    }
    None
}

/// Horizontal bars, the first run on top: run names can be as long as "forest (top-5
/// features)" and stay readable.
fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    metric: Metric,
    bars: &[Bar],
    spread_over: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let top = bars
        .iter()
        .map(|b| b.value + b.spread.unwrap_or(0.0))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.2;
    let n = bars.len();
    let longest = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(4);
    let row = |i: usize| n - 1 - i;
    let mut chart = ChartBuilder::on(area)
        .caption(
            match bars.iter().any(|b| b.spread.is_some()) {
                true => format!("test {metric} per run (mean ± std over {spread_over})"),
                false => format!("test {metric} per run"),
            },
            (FONT, 24),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size((longest as u32 * 9 + 16).clamp(60, 320))
        // One unit of height per bar, the first run on top.
        .build_cartesian_2d(0.0..top, 0.0..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(format!("test {metric}"))
        .label_style((FONT, 15))
        .draw()?;
    let centre = |i: usize| row(i) as f64 + 0.5;
    // Each bar's run, right-aligned left of the axis (the axis has no labels of its own).
    let name_style =
        TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for (i, b) in bars.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(0.0, centre(i)));
        area.draw(&Text::new(b.label.clone(), (x - 8, y), name_style.clone()))?;
    }
    let value_style =
        TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, b) in bars.iter().enumerate() {
        let r = row(i) as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, r + 0.15), (b.value, r + 0.85)],
            colour(i).filled(),
        )))?;
        let mut label_at = b.value;
        if let Some(s) = b.spread {
            // ± one standard deviation over the repeated splits or seeds
            let (lo, hi) = ((b.value - s).max(0.0), b.value + s);
            chart.draw_series(std::iter::once(PathElement::new(
                [(lo, centre(i)), (hi, centre(i))],
                BLACK.stroke_width(2),
            )))?;
            label_at = hi;
        }
        chart.draw_series(std::iter::once(Text::new(
            format!("  {:.3}", b.value),
            (label_at, centre(i)),
            value_style.clone(),
        )))?;
    }
    Ok(())
}

fn confusion<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    run: &ModelRun,
    class_names: &[String],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let cm = run.confusion.as_ref().ok_or("no confusion matrix")?;
    let k = cm.len();
    let name = |i: usize| class_names.get(i).cloned().unwrap_or_else(|| i.to_string());
    let last = k.saturating_sub(1);
    let label = |v: &SegmentValue<usize>, flip: bool| match v {
        SegmentValue::CenterOf(i) if *i < k => name(if flip { last - i } else { *i }),
        _ => String::new(),
    };
    let longest = class_names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(2);
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("confusion ({}): rows true, columns predicted", run.name),
            (FONT, 22),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size((longest as u32 * 9 + 16).clamp(60, 320))
        .build_cartesian_2d(
            (0usize..last).into_segmented(),
            (0usize..last).into_segmented(),
        )?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(k)
        .y_labels(k)
        .x_label_formatter(&|v| label(v, false))
        // Row 0 at the top, as a confusion matrix is read.
        .y_label_formatter(&|v| label(v, true))
        .x_desc("predicted")
        .y_desc("true")
        .label_style((FONT, 15))
        .draw()?;
    for (t, row) in cm.iter().enumerate() {
        let total = row.iter().sum::<u64>().max(1) as f64;
        for (p, &c) in row.iter().enumerate() {
            let share = c as f64 / total;
            let y = last - t;
            let shade = (255.0 * (1.0 - 0.8 * share)) as u8;
            chart.draw_series(std::iter::once(Rectangle::new(
                [
                    (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                    (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
                ],
                RGBColor(shade, shade, 255).filled(),
            )))?;
            let ink = if share > 0.6 { WHITE } else { BLACK };
            chart.draw_series(std::iter::once(Text::new(
                format!("{c} ({:.0}%)", share * 100.0),
                (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y)),
                (FONT, 18).into_font().color(&ink),
            )))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use petri_engine::experiment::record::DataRef;
    use petri_engine::experiment::{Profile, Suite};
    use petri_engine::train::EpochRecord;

    fn record() -> ExperimentRecord {
        let mut r = ExperimentRecord::new(
            Suite::Augmentation,
            Profile::Quick,
            0,
            "cpu",
            DataRef {
                path: "x".into(),
                sha256: None,
                description: String::new(),
            },
            serde_json::json!({}),
        );
        r.class_names = vec!["malignant".into(), "normal, benign".into()];
        for (name, acc) in [("unmodified", 0.82), ("combined", 0.85)] {
            let mut m = ModelRun::new(name);
            m.test.insert("accuracy".into(), acc);
            m.confusion = Some(vec![vec![20, 22], vec![6, 108]]);
            for epoch in 1..=4 {
                let mut val = std::collections::BTreeMap::new();
                val.insert("accuracy".into(), acc - 0.1 / epoch as f64);
                m.epochs.push(EpochRecord {
                    epoch,
                    train_loss: 1.0 / epoch as f64,
                    val,
                    seconds: 0.5,
                });
            }
            r.runs.push(m);
        }
        r
    }

    #[test]
    fn figures_are_real_pngs_svgs_and_csv_with_something_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_all(&record(), None, dir.path()).unwrap();
        if let Some(keep) = std::env::var_os("PETRI_KEEP_FIGURES") {
            for f in &files {
                let _ = std::fs::copy(f, Path::new(&keep).join(f.file_name().unwrap()));
            }
        }
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in [
            "curves.csv",
            "curves.svg",
            "curves.png",
            "bars.svg",
            "bars.png",
            "confusion.svg",
            "confusion.png",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
        }
        for png in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
        {
            let img = image::open(png).unwrap().to_rgb8();
            assert_eq!(img.dimensions(), SIZE, "{}", png.display());
            // Not blank: a good share of pixels is not the white background, in several colours.
            let inked = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
            assert!(inked > 2_000, "{}: {inked} inked pixels", png.display());
            let colours: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
            assert!(colours.len() > 10, "{}", png.display());
        }
        let svg = std::fs::read_to_string(dir.path().join("confusion.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("normal, benign") && svg.contains("108"));
        let csv = std::fs::read_to_string(dir.path().join("curves.csv")).unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("run,epoch,train_loss,seconds,val_accuracy")
        );
        assert_eq!(csv.lines().count(), 1 + 8);
        assert!(csv.contains("\"combined\",4,0.25,0.5,0.825"), "{csv}");
    }

    #[test]
    fn a_record_with_nothing_to_draw_says_so() {
        let mut r = record();
        r.runs.clear();
        let dir = tempfile::tempdir().unwrap();
        let e = write_all(&r, None, dir.path()).unwrap_err().to_string();
        assert!(e.contains("nothing") || e.contains("no curves"), "{e}");
    }
}
