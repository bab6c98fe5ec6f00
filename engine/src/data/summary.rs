//! A description of any dataset file or folder Petri can read: what kind it is, its task,
//! shapes, splits and class balance. `petri data info` prints it; `petri identify` builds on it.

use super::registry::Task;
use super::{medmnist, segmentation, tabular};
use crate::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct SplitSummary {
    pub name: String,
    /// Images (MedMNIST), image/mask pairs (segmentation) or rows (tables).
    pub count: usize,
    /// Per class: images (single-label), positives (multi-label) or pixels (segmentation).
    pub class_counts: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Summary {
    Medmnist {
        path: PathBuf,
        /// The registry flag of the MedMNIST set whose splits and shape the file has.
        flag: Option<String>,
        /// Whether it is that set's official file, by checksum: `None` when the registry has
        /// no checksum for this image size.
        official: Option<bool>,
        task: Task,
        channels: usize,
        height: usize,
        width: usize,
        class_names: Vec<String>,
        splits: Vec<SplitSummary>,
    },
    Table {
        path: PathBuf,
        layout: String,
        /// Rows with a missing value (empty, NA, NaN, null, ?), which training leaves out, as
        /// `petri identify` and `petri train` do.
        rows_with_missing: usize,
        /// Rows without a missing value.
        rows: usize,
        columns: Vec<String>,
        categorical: Vec<tabular::Categorical>,
        /// Set when the table is Breast Cancer Wisconsin Diagnostic in a known layout.
        breast_cancer: bool,
    },
    Segmentation {
        path: PathBuf,
        task: Task,
        label_map: String,
        class_names: Vec<String>,
        /// Distinct image sizes, as `WxH`.
        image_sizes: Vec<String>,
        channels: usize,
        splits: Vec<SplitSummary>,
        unpaired: Vec<PathBuf>,
    },
}

/// Reads `path` (a `.npz`, a `.csv`, or a segmentation folder) and describes it.
pub fn describe(path: &Path) -> Result<Summary> {
    if !path.exists() {
        return Err(Error::invalid(format!(
            "{}: no such file or folder",
            path.display()
        )));
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if path.is_dir() {
        describe_segmentation(path)
    } else if ext == "npz" {
        let d = medmnist::load(path)?;
        let n = d.num_classes();
        let splits = d
            .splits()
            .iter()
            .map(|(name, s)| SplitSummary {
                name: name.to_string(),
                count: s.len(),
                class_counts: s.class_counts(n).into_iter().map(|c| c as u64).collect(),
            })
            .collect();
        // Split sizes alone do not make a file official: a re-saved copy has them too.
        let official = d
            .flag
            .as_deref()
            .and_then(super::registry::medmnist)
            .and_then(|info| match info.provenance(path, d.train.height as u32) {
                super::registry::Provenance::Official => Some(true),
                super::registry::Provenance::NotOfficial { .. } => Some(false),
                super::registry::Provenance::Unknown => None,
            });
        Ok(Summary::Medmnist {
            path: path.to_path_buf(),
            flag: d.flag.clone(),
            official,
            task: d.task,
            channels: d.train.channels,
            height: d.train.height,
            width: d.train.width,
            class_names: d.class_names.clone(),
            splits,
        })
    } else if matches!(ext.as_str(), "csv" | "tsv" | "txt") {
        let (t, rows_with_missing) = tabular::read_csv_dropping_missing(path)?;
        let layout = if t.sklearn_preamble.is_some() {
            "scikit-learn (size line, no header)"
        } else if t.had_header {
            "header row"
        } else {
            "no header"
        };
        let layout = format!("{layout}, {}", t.dialect.describe());
        let breast_cancer =
            t.rows.len() == 569 && super::breast_cancer::BreastCancer::from_table(&t).is_ok();
        Ok(Summary::Table {
            path: path.to_path_buf(),
            layout,
            rows_with_missing,
            rows: t.rows.len(),
            columns: t.columns.clone(),
            categorical: t.categorical.clone(),
            breast_cancer,
        })
    } else {
        Err(Error::format(
            path,
            "is not a kind Petri reads: give a MedMNIST .npz, a .csv table, or a folder of images and masks",
        ))
    }
}

fn describe_segmentation(root: &Path) -> Result<Summary> {
    let layout = segmentation::find_pairs(root)?;
    let mut label_map = None;
    let mut sizes = Vec::new();
    let mut channels = 0;
    let mut splits = Vec::new();
    for (name, pairs) in &layout.splits {
        let mut counts: Vec<u64> = Vec::new();
        for pair in pairs {
            let raw = segmentation::read_mask(&pair.mask)?;
            let map = label_map.get_or_insert_with(|| segmentation::LabelMap::detect(&raw));
            let mask = map.apply(&raw, &pair.mask)?;
            counts.resize(map.class_names().len(), 0);
            for &v in &mask.data {
                counts[v as usize] += 1;
            }
            let img = image::ImageReader::open(&pair.image)
                .map_err(|e| Error::io(&pair.image, e))?
                .with_guessed_format()
                .map_err(|e| Error::io(&pair.image, e))?;
            let (w, h) = img
                .into_dimensions()
                .map_err(|e| Error::format(&pair.image, e.to_string()))?;
            segmentation::same_size(pair, &raw, w as usize, h as usize)?;
            let size = format!("{w}x{h}");
            if !sizes.contains(&size) {
                sizes.push(size);
            }
            if channels == 0 {
                channels = segmentation::read_image(&pair.image)?.channels;
            }
        }
        splits.push(SplitSummary {
            name: name.clone(),
            count: pairs.len(),
            class_counts: counts,
        });
    }
    let map = label_map.unwrap_or(segmentation::LabelMap::Binary);
    Ok(Summary::Segmentation {
        path: root.to_path_buf(),
        task: Task::Segmentation,
        label_map: map.name().to_string(),
        class_names: map.class_names(),
        image_sizes: sizes,
        channels,
        splits,
        unpaired: layout.unpaired,
    })
}
