//! Where things live inside the data dir, in one place: every reader, writer and message that
//! names a path in it asks here.
//!
//! ```text
//! <data dir>/medmnist/<flag>[_<size>].npz     MedMNIST files
//! <data dir>/weights/resnet18-f37072fd.pth     ImageNet ResNet-18 (torchvision)
//! <data dir>/skin-autofluorescence/            the course's segmentation set (training/ ...)
//! <data dir>/runs/                             run records, checkpoints/, resume/
//! ```

use std::path::{Path, PathBuf};

/// torchvision's file name; its SHA-256 begins with the 8 hex digits after the dash.
pub const RESNET18_FILE: &str = "resnet18-f37072fd.pth";
/// timm's ResNet-18 (the same tensor names), as users save it.
pub const RESNET18_TIMM_FILE: &str = "resnet18.safetensors";
pub const SKIN_FOLDER: &str = "skin-autofluorescence";

pub fn medmnist_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("medmnist")
}

pub fn medmnist_file(data_dir: &Path, file_name: &str) -> PathBuf {
    medmnist_dir(data_dir).join(file_name)
}

pub fn weights_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("weights")
}

pub fn resnet18_weights(data_dir: &Path) -> PathBuf {
    weights_dir(data_dir).join(RESNET18_FILE)
}

pub fn skin_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(SKIN_FOLDER)
}

pub fn runs_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("runs")
}

/// Places a user may have put `file_name` by hand instead of `expected`: the data dir itself,
/// and its other known folders. The first that exists is returned.
pub fn misplaced(data_dir: &Path, expected: &Path) -> Option<PathBuf> {
    let name = expected.file_name()?;
    [
        data_dir.to_path_buf(),
        medmnist_dir(data_dir),
        weights_dir(data_dir),
        data_dir.join("data"),
    ]
    .into_iter()
    .map(|d| d.join(name))
    .find(|p| p != expected && p.is_file())
}
