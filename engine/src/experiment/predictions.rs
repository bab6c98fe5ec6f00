//! What each model predicted for each test item, written as the model finishes (so a resumed
//! run keeps them) in plain formats a researcher can check and reuse outside Petri:
//! - image classes: one CSV row per test image (`index,true,predicted,p_0,...`, or per label
//!   `true_j`, `predicted_j`, `p_j` for multi-label data);
//! - segmentation: every test mask, true and predicted, as 8-bit PNG of class indices, and
//!   `images.csv` with each image's pixel accuracy, Dice and IoU per class;
//! - tables: one CSV row per test row per split (`split,seed,index,true`, then one column per
//!   model).
//!
//! Numbers are written in their shortest exact form (probabilities as the f32 the metrics were
//! computed from), so `scripts/recheck-metrics` recomputes every metric of a record from these
//! files to 1e-9.

use crate::metrics::Metric;
use crate::metrics::classification as cls;
use crate::metrics::segmentation as seg;
use crate::{Error, Result, atomic};
use std::collections::BTreeMap;
use std::path::Path;

/// A file name made of a run's name: letters, digits, `-`, `_` and `.` are kept, anything else
/// becomes `-` ("linear (all features)" -> "linear--all-features-").
pub fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    Error::format(path, format!("cannot write predictions: {e}"))
}

/// Writes rows as CSV to `path` atomically.
fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(|e| csv_error(path, e))?;
    for r in rows {
        w.write_record(r).map_err(|e| csv_error(path, e))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::format(path, format!("cannot write predictions: {e}")))?;
    atomic::write_atomic(path, &bytes)
}

/// The test predictions of an image classifier, row `i` being item `i` of the test split.
pub fn write_classes(
    path: &Path,
    truth: &[Vec<u8>],
    probs: &[Vec<f32>],
    multi_label: bool,
) -> Result<()> {
    let k = probs.first().map_or(0, Vec::len);
    let mut header = vec!["index".to_string()];
    if multi_label {
        header.extend((0..k).map(|j| format!("true_{j}")));
        header.extend((0..k).map(|j| format!("predicted_{j}")));
    } else {
        header.extend(["true".to_string(), "predicted".to_string()]);
    }
    header.extend((0..k).map(|j| format!("p_{j}")));
    let rows: Vec<Vec<String>> = truth
        .iter()
        .zip(probs)
        .enumerate()
        .map(|(i, (t, p))| {
            let mut row = vec![i.to_string()];
            if multi_label {
                row.extend(t.iter().map(u8::to_string));
                // The 0.5 threshold of `multilabel_accuracy`.
                row.extend(p.iter().map(|&v| u8::from(v > 0.5).to_string()));
            } else {
                row.push(t[0].to_string());
                row.push(cls::predict(p).to_string());
            }
            row.extend(p.iter().map(f32::to_string));
            row
        })
        .collect();
    write_csv(path, &header, &rows)
}

/// A classifier's test predictions read back (for ROC curves).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassTable {
    /// True label(s) per item: the class, or one 0/1 per label for multi-label data.
    pub truth: Vec<Vec<u8>>,
    pub probs: Vec<Vec<f64>>,
    pub multi_label: bool,
}

/// Reads a CSV written by `write_classes`.
pub fn read_classes(path: &Path) -> Result<ClassTable> {
    let bad = |why: String| Error::format(path, format!("not a Petri predictions file: {why}"));
    let mut r = csv::Reader::from_path(path).map_err(|e| match e.kind() {
        csv::ErrorKind::Io(_) => Error::format(path, format!("cannot read: {e}")),
        _ => bad(e.to_string()),
    })?;
    let header: Vec<String> = r
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(String::from)
        .collect();
    let cols = |prefix: &str| -> Vec<usize> {
        (0..)
            .map_while(|j| header.iter().position(|h| *h == format!("{prefix}{j}")))
            .collect()
    };
    let p_cols = cols("p_");
    let multi_label = header.iter().any(|h| h == "true_0");
    let t_cols = if multi_label {
        cols("true_")
    } else {
        header
            .iter()
            .position(|h| h == "true")
            .into_iter()
            .collect()
    };
    if p_cols.is_empty() || t_cols.is_empty() {
        return Err(bad("no true or p_0 column".into()));
    }
    let mut table = ClassTable {
        truth: Vec::new(),
        probs: Vec::new(),
        multi_label,
    };
    for (line, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let field = |c: usize| rec.get(c).unwrap_or("");
        let row_err = |c: usize| bad(format!("row {}: '{}' in {}", line + 2, field(c), header[c]));
        table.truth.push(
            t_cols
                .iter()
                .map(|&c| field(c).parse::<u8>().map_err(|_| row_err(c)))
                .collect::<Result<_>>()?,
        );
        table.probs.push(
            p_cols
                .iter()
                .map(|&c| field(c).parse::<f64>().map_err(|_| row_err(c)))
                .collect::<Result<_>>()?,
        );
    }
    Ok(table)
}

/// One test image of a segmentation run: its true and predicted class per pixel.
pub struct MaskPrediction<'a> {
    /// The image file it was cut from (or is).
    pub source: String,
    pub height: usize,
    pub width: usize,
    pub truth: &'a [u8],
    pub predicted: &'a [u8],
}

fn write_png(path: &Path, width: usize, height: usize, pixels: &[u8]) -> Result<()> {
    let img = image::GrayImage::from_raw(width as u32, height as u32, pixels.to_vec())
        .ok_or_else(|| Error::invalid(format!("{}: mask of the wrong size", path.display())))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| Error::format(path, format!("cannot encode PNG: {e}")))?;
    atomic::write_atomic(path, bytes.get_ref())
}

fn cell(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// Writes the per-image scores to `csv` and every mask, true and predicted, into
/// `STEM-masks/truth/NNNN.png` and `STEM-masks/predicted/NNNN.png` beside it (the CSV names
/// them relative to its folder). An empty score is a class absent from both masks.
pub fn write_masks(csv: &Path, classes: usize, items: &[MaskPrediction]) -> Result<()> {
    let stem = csv.file_stem().unwrap_or_default().to_string_lossy();
    let masks = format!("{stem}-masks");
    let folder = csv.parent().unwrap_or(Path::new("."));
    let mut header: Vec<String> = [
        "item",
        "source",
        "truth_mask",
        "predicted_mask",
        Metric::PixelAccuracy.name(),
    ]
    .map(String::from)
    .to_vec();
    header.extend((0..classes).map(|c| format!("dice_{c}")));
    header.extend((0..classes).map(|c| format!("iou_{c}")));
    let mut rows = Vec::with_capacity(items.len());
    for (i, m) in items.iter().enumerate() {
        let truth = format!("{masks}/truth/{i:04}.png");
        let predicted = format!("{masks}/predicted/{i:04}.png");
        write_png(&folder.join(&truth), m.width, m.height, m.truth)?;
        write_png(&folder.join(&predicted), m.width, m.height, m.predicted)?;
        let mut row = vec![
            i.to_string(),
            m.source.clone(),
            truth,
            predicted,
            seg::pixel_accuracy(m.predicted, m.truth).to_string(),
        ];
        row.extend(
            seg::dice_per_class(m.predicted, m.truth, classes)
                .into_iter()
                .map(cell),
        );
        row.extend(
            seg::iou_per_class(m.predicted, m.truth, classes)
                .into_iter()
                .map(cell),
        );
        rows.push(row);
    }
    write_csv(csv, &header, &rows)
}

/// Predictions of every model on the test rows of every split of a table run, gathered as the
/// models finish and written as one CSV.
#[derive(Debug, Default)]
pub struct TablePredictions {
    models: Vec<String>,
    /// (split, row index in the table) -> the row.
    rows: BTreeMap<(usize, usize), TableRow>,
}

/// One test row of one split: the split's seed, the true value, one prediction per model.
#[derive(Debug)]
struct TableRow {
    seed: u64,
    truth: f64,
    predicted: Vec<Option<f64>>,
}

impl TablePredictions {
    /// Adds `model`'s predictions of `rows` (indices in the table) of split `split`.
    pub fn add(
        &mut self,
        split: usize,
        seed: u64,
        rows: &[usize],
        truth: &[f64],
        model: &str,
        predicted: &[f64],
    ) {
        let m = match self.models.iter().position(|n| n == model) {
            Some(m) => m,
            None => {
                self.models.push(model.to_string());
                self.models.len() - 1
            }
        };
        for ((&row, &t), &p) in rows.iter().zip(truth).zip(predicted) {
            let entry = self.rows.entry((split, row)).or_insert(TableRow {
                seed,
                truth: t,
                predicted: Vec::new(),
            });
            if entry.predicted.len() <= m {
                entry.predicted.resize(m + 1, None);
            }
            entry.predicted[m] = Some(p);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// `split,seed,index,true`, then one column per model (empty where a stopped run never
    /// predicted that split).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut header: Vec<String> = ["split", "seed", "index", "true"]
            .map(String::from)
            .to_vec();
        header.extend(self.models.iter().cloned());
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|(&(split, index), r)| {
                let mut row = vec![
                    split.to_string(),
                    r.seed.to_string(),
                    index.to_string(),
                    r.truth.to_string(),
                ];
                row.extend(
                    (0..self.models.len()).map(|m| cell(r.predicted.get(m).copied().flatten())),
                );
                row
            })
            .collect();
        write_csv(path, &header, &rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_predictions_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        let probs = vec![
            vec![0.1f32, 0.7, 0.2],
            vec![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0],
        ];
        write_classes(&path, &[vec![1], vec![2]], &probs, false).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("index,true,predicted,p_0,p_1,p_2\n0,1,1,0.1,0.7,0.2\n"),
            "{text}"
        );
        let back = read_classes(&path).unwrap();
        assert_eq!(back.truth, vec![vec![1], vec![2]]);
        // Read back, each probability is exactly the f32 the metrics were computed from.
        for (a, b) in back.probs.iter().flatten().zip(probs.iter().flatten()) {
            assert_eq!(*a as f32, *b);
        }
    }

    #[test]
    fn multi_label_predictions_have_a_column_per_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        write_classes(&path, &[vec![1, 0]], &[vec![0.9, 0.2]], true).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "index,true_0,true_1,predicted_0,predicted_1,p_0,p_1\n0,1,0,1,0,0.9,0.2\n"
        );
        assert!(read_classes(&path).unwrap().multi_label);
    }

    #[test]
    fn masks_are_pngs_of_class_indices_with_per_image_scores() {
        let dir = tempfile::tempdir().unwrap();
        let truth = [0u8, 1, 1, 2];
        let pred = [0u8, 1, 2, 2];
        let csv = dir.path().join("unet.csv");
        write_masks(
            &csv,
            3,
            &[MaskPrediction {
                source: "a.png".into(),
                height: 2,
                width: 2,
                truth: &truth,
                predicted: &pred,
            }],
        )
        .unwrap();
        let back = image::open(dir.path().join("unet-masks/predicted/0000.png"))
            .unwrap()
            .to_luma8();
        assert_eq!(back.as_raw(), &pred.to_vec());
        let text = std::fs::read_to_string(csv).unwrap();
        // Pixel accuracy 3/4; Dice class 1 = 2*1/(1+2), class 2 = 2*1/(2+1).
        assert!(text.contains("0,a.png,unet-masks/truth/0000.png,unet-masks/predicted/0000.png,0.75,1,0.6666666666666666,0.6666666666666666,1,0.5,0.5"), "{text}");
    }

    #[test]
    fn table_predictions_leave_a_gap_where_a_model_did_not_predict() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("splits.csv");
        let mut t = TablePredictions::default();
        t.add(0, 7, &[3, 1], &[1.5, 2.0], "linear", &[1.25, 2.5]);
        t.add(0, 7, &[3, 1], &[1.5, 2.0], "nn", &[1.0, 2.0]);
        t.add(1, 8, &[0], &[4.0], "linear", &[3.5]);
        t.write(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "split,seed,index,true,linear,nn\n0,7,1,2,2.5,2\n0,7,3,1.5,1.25,1\n1,8,0,4,3.5,\n"
        );
    }
}
