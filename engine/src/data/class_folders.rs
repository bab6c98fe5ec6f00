//! Image classification data as folders named by class: `root/<class>/*.png`, or the same
//! inside `train/`, `val/`, `test/`. Images are read (PNG, TIFF, JPEG, BMP), made grey or RGB
//! like the first one, resized to a square, and returned as MedMNIST-style splits.

use super::medmnist::ImageSplit;
use super::segmentation::{EXTENSIONS, read_image, to_grey, to_rgb};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The files found, by split (`"all"` when there are no split folders), with class indices.
#[derive(Debug, Clone)]
pub struct ClassFolders {
    pub root: PathBuf,
    pub class_names: Vec<String>,
    pub splits: BTreeMap<String, Vec<(PathBuf, usize)>>,
}

impl ClassFolders {
    pub fn total(&self) -> usize {
        self.splits.values().map(Vec::len).sum()
    }

    /// Images per class over all splits.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.class_names.len()];
        for (_, k) in self.splits.values().flatten() {
            c[*k] += 1;
        }
        c
    }
}

fn is_image(p: &Path) -> bool {
    p.is_file()
        && p.extension().is_some_and(|e| {
            EXTENSIONS.contains(&e.to_string_lossy().to_ascii_lowercase().as_str())
        })
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Sub-folders of `dir` that hold images directly: the classes.
fn class_dirs(dir: &Path) -> Vec<PathBuf> {
    sorted_entries(dir)
        .into_iter()
        .filter(|p| p.is_dir() && sorted_entries(p).iter().any(|f| is_image(f)))
        .collect()
}

const SPLITS: [(&str, &str); 7] = [
    ("train", "train"),
    ("training", "train"),
    ("val", "val"),
    ("valid", "val"),
    ("validation", "val"),
    ("test", "test"),
    ("testing", "test"),
];

/// Whether `root` looks like class folders (at least two folders of images that are not an
/// images/masks pair).
pub fn looks_like(root: &Path) -> bool {
    let reserved = |p: &PathBuf| {
        let n = p
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        matches!(
            n.as_str(),
            "images"
                | "image"
                | "imgs"
                | "masks"
                | "mask"
                | "labels"
                | "label"
                | "annotations"
                | "ground_truth"
        )
    };
    let direct = class_dirs(root);
    if direct.len() >= 2 && !direct.iter().any(reserved) {
        return true;
    }
    SPLITS.iter().any(|(name, _)| {
        let d = root.join(name);
        let c = class_dirs(&d);
        c.len() >= 2 && !c.iter().any(reserved)
    })
}

pub fn find(root: &Path) -> Result<ClassFolders> {
    let mut names: Vec<String> = Vec::new();
    let mut splits: BTreeMap<String, Vec<(PathBuf, usize)>> = BTreeMap::new();
    let mut add = |split: &str, dir: &Path| {
        for class in class_dirs(dir) {
            let name = class.file_name().unwrap().to_string_lossy().into_owned();
            let k = match names.iter().position(|n| *n == name) {
                Some(k) => k,
                None => {
                    names.push(name);
                    names.len() - 1
                }
            };
            for f in sorted_entries(&class).into_iter().filter(|f| is_image(f)) {
                splits.entry(split.to_string()).or_default().push((f, k));
            }
        }
    };
    let mut found_split = false;
    for (dir, canonical) in SPLITS {
        let d = root.join(dir);
        if d.is_dir() && !class_dirs(&d).is_empty() {
            add(canonical, &d);
            found_split = true;
        }
    }
    if !found_split {
        add("all", root);
    }
    if names.len() < 2 {
        return Err(Error::invalid(format!(
            "{}: found {} class folder(s) of images; a classification folder needs one folder per class, at least two",
            root.display(),
            names.len()
        )));
    }
    Ok(ClassFolders {
        root: root.to_path_buf(),
        class_names: names,
        splits,
    })
}

/// Reads every image of `split`, resized to `size` x `size`, grey or RGB as `channels` says.
pub fn load_split(files: &[(PathBuf, usize)], size: usize, channels: usize) -> Result<ImageSplit> {
    let mut pixels = Vec::with_capacity(files.len() * size * size * channels);
    let mut labels = Vec::with_capacity(files.len());
    for (path, k) in files {
        let mut img = read_image(path)?;
        if img.channels != channels {
            img = if channels == 1 {
                to_grey(&img)
            } else {
                to_rgb(&img)
            };
        }
        pixels.extend(img.resize(size, size).to_hwc_u8());
        labels.push(vec![*k as u8]);
    }
    Ok(ImageSplit::new(size, size, channels, pixels, labels))
}
