//! MedMNIST `.npz` files: a zip (deflate or stored) of six `.npy` arrays, `{train,val,test}_images`
//! (uint8, `(N,H,W)` grey or `(N,H,W,C)` colour) and `{train,val,test}_labels` (`(N,1)`, `(N,)`, or
//! `(N,L)` 0/1 for multi-label). Official files get their metadata from the registry; any other
//! file in the same format loads as a custom dataset with its task inferred from the labels.

use super::image::Image;
use super::npy::{self, NpyArray};
use super::registry::{self, Task};
use crate::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One split: images stored as read (HWC `u8`) and one label row per image.
#[derive(Debug, Clone)]
pub struct ImageSplit {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pixels: Vec<u8>,
    /// `labels[i]` has one entry (class index) or, for multi-label data, one 0/1 entry per label.
    pub labels: Vec<Vec<u8>>,
}

impl ImageSplit {
    pub fn new(
        height: usize,
        width: usize,
        channels: usize,
        pixels: Vec<u8>,
        labels: Vec<Vec<u8>>,
    ) -> Self {
        assert_eq!(pixels.len(), labels.len() * height * width * channels);
        ImageSplit {
            height,
            width,
            channels,
            pixels,
            labels,
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The raw HWC pixels of image `i`.
    pub fn pixels(&self, i: usize) -> &[u8] {
        let n = self.height * self.width * self.channels;
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Image `i` as a float CHW image in [0, 1].
    pub fn image(&self, i: usize) -> Image {
        Image::from_hwc_u8(self.height, self.width, self.channels, self.pixels(i))
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> ImageSplit {
        let mut pixels =
            Vec::with_capacity(indices.len() * self.height * self.width * self.channels);
        for &i in indices {
            pixels.extend_from_slice(self.pixels(i));
        }
        let labels = indices.iter().map(|&i| self.labels[i].clone()).collect();
        ImageSplit::new(self.height, self.width, self.channels, pixels, labels)
    }

    /// The first `n` images (for quick runs and tests).
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len());
        self.pixels
            .truncate(n * self.height * self.width * self.channels);
        self.labels.truncate(n);
    }

    /// Images per class (single-label) or positives per label (multi-label).
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for row in &self.labels {
            if row.len() == 1 {
                if let Some(c) = counts.get_mut(row[0] as usize) {
                    *c += 1;
                }
            } else {
                for (c, &v) in counts.iter_mut().zip(row) {
                    *c += (v != 0) as usize;
                }
            }
        }
        counts
    }
}

/// A MedMNIST-format dataset with its three official splits.
#[derive(Debug, Clone)]
pub struct MedMnist {
    pub path: PathBuf,
    /// The registry flag (`pathmnist`, ...) when the file is an official one, else `None`.
    pub flag: Option<String>,
    pub task: Task,
    pub class_names: Vec<String>,
    pub train: ImageSplit,
    pub val: ImageSplit,
    pub test: ImageSplit,
}

impl MedMnist {
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    pub fn splits(&self) -> [(&'static str, &ImageSplit); 3] {
        [
            ("train", &self.train),
            ("val", &self.val),
            ("test", &self.test),
        ]
    }
}

/// Reads a MedMNIST `.npz` file.
pub fn load(path: &Path) -> Result<MedMnist> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        Error::format(
            path,
            format!("not a readable .npz (zip) file ({e}); if it was downloaded, fetch it again"),
        )
    })?;

    let mut read_array = |key: &str| -> Result<NpyArray> {
        let member = format!("{key}.npy");
        let name = PathBuf::from(format!("{}:{key}", path.display()));
        let mut entry = zip.by_name(&member).map_err(|_| {
            Error::format(
                path,
                format!(
                    "has no '{key}' array; a MedMNIST file holds train/val/test _images and _labels"
                ),
            )
        })?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).map_err(|e| {
            Error::format(
                &name,
                format!("cannot decompress ({e}); the file is probably truncated"),
            )
        })?;
        npy::parse(&bytes, &name)
    };

    let mut splits = Vec::new();
    for split in ["train", "val", "test"] {
        let images = read_array(&format!("{split}_images"))?;
        let labels = read_array(&format!("{split}_labels"))?;
        splits.push(to_split(path, split, images, labels)?);
    }
    let test = splits.pop().unwrap();
    let val = splits.pop().unwrap();
    let train = splits.pop().unwrap();
    for s in [&val, &test] {
        if (s.height, s.width, s.channels) != (train.height, train.width, train.channels) {
            return Err(Error::format(path, "splits have different image shapes"));
        }
    }

    let known =
        registry::identify_medmnist(path, train.len(), val.len(), test.len(), train.channels);
    let (flag, task, class_names) = match known {
        Some(info) => (
            Some(info.flag.to_string()),
            info.task,
            info.class_names.iter().map(|s| s.to_string()).collect(),
        ),
        None => {
            let (task, n) = infer_task(&[&train, &val, &test]);
            (None, task, (0..n).map(|i| format!("class {i}")).collect())
        }
    };
    let dataset = MedMnist {
        path: path.to_path_buf(),
        flag,
        task,
        class_names,
        train,
        val,
        test,
    };
    check_label_range(&dataset)?;
    Ok(dataset)
}

fn to_split(path: &Path, split: &str, images: NpyArray, labels: NpyArray) -> Result<ImageSplit> {
    let (n, h, w, c) = match images.shape[..] {
        [n, h, w] => (n, h, w, 1),
        [n, h, w, c] if matches!(c, 1 | 3) => (n, h, w, c),
        _ => {
            return Err(Error::format(
                path,
                format!(
                    "{split}_images has shape {:?}; expected (N,H,W) or (N,H,W,C) with C 1 or 3",
                    images.shape
                ),
            ));
        }
    };
    let label_width = match labels.shape[..] {
        [m] if m == n => 1,
        [m, l] if m == n && l >= 1 => l,
        _ => {
            return Err(Error::format(
                path,
                format!(
                    "{split}_labels has shape {:?} but {split}_images holds {n} images; image and label counts must match",
                    labels.shape
                ),
            ));
        }
    };
    let values = labels.to_f64();
    let mut rows = Vec::with_capacity(n);
    for row in values.chunks_exact(label_width) {
        let mut out = Vec::with_capacity(label_width);
        for &v in row {
            if !(0.0..=255.0).contains(&v) || v.fract() != 0.0 {
                return Err(Error::format(
                    path,
                    format!("{split}_labels holds {v}; labels must be whole numbers 0..255"),
                ));
            }
            out.push(v as u8);
        }
        rows.push(out);
    }
    let pixels = images.into_u8().map_err(|a| {
        Error::format(
            path,
            format!(
                "{split}_images has dtype {:?}; MedMNIST images are uint8",
                a.dtype
            ),
        )
    })?;
    Ok(ImageSplit::new(h, w, c, pixels, rows))
}

/// Multi-label when a label row has several entries; else binary or multi-class by the count.
fn infer_task(splits: &[&ImageSplit]) -> (Task, usize) {
    let width = splits[0].labels.first().map_or(1, Vec::len);
    if width > 1 {
        return (Task::MultiLabel, width);
    }
    let max = splits
        .iter()
        .flat_map(|s| s.labels.iter().map(|r| r[0]))
        .max()
        .unwrap_or(0) as usize;
    let n = (max + 1).max(2);
    (
        if n == 2 {
            Task::Binary
        } else {
            Task::MultiClass
        },
        n,
    )
}

fn check_label_range(d: &MedMnist) -> Result<()> {
    for (name, split) in d.splits() {
        for row in &split.labels {
            let ok = if d.task == Task::MultiLabel {
                row.len() == d.num_classes() && row.iter().all(|&v| v <= 1)
            } else {
                row.len() == 1 && (row[0] as usize) < d.num_classes()
            };
            if !ok {
                return Err(Error::format(
                    &d.path,
                    format!(
                        "{name} label {row:?} does not fit {} with {} classes",
                        d.task,
                        d.num_classes()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Writes a MedMNIST-format `.npz` (deflate): used by tests and by `petri` to save subsets.
pub fn write_npz(path: &Path, splits: [(&str, &ImageSplit); 3]) -> Result<()> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, s) in splits {
            let shape = if s.channels == 1 {
                vec![s.len(), s.height, s.width]
            } else {
                vec![s.len(), s.height, s.width, s.channels]
            };
            let images = NpyArray::from_u8(shape, s.pixels.clone());
            let width = s.labels.first().map_or(1, Vec::len);
            let labels = NpyArray::from_u8(vec![s.len(), width], s.labels.concat());
            for (key, arr) in [("images", images), ("labels", labels)] {
                zip.start_file(format!("{name}_{key}.npy"), opts)
                    .map_err(|e| Error::invalid(e.to_string()))?;
                std::io::Write::write_all(&mut zip, &arr.to_npy_bytes())
                    .map_err(|e| Error::io(path, e))?;
            }
        }
        zip.finish().map_err(|e| Error::invalid(e.to_string()))?;
    }
    crate::atomic::write_atomic(path, &buf.into_inner())
}
