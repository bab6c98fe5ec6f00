//! Weights on disk: checkpoints of our own models (safetensors, with the run's config in the
//! metadata) and ImageNet ResNet-18 weights from torchvision (`.pth`) or timm (`.safetensors`,
//! the same tensor names), adapted to 1-channel input and a new head.

use super::resnet::{ResNet, ResNetConfig};
use crate::{Error, Result};
use burn::module::{Module, Param};
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore};
use burn::tensor::Device;
use std::path::Path;

/// Saves `model` as safetensors at `path` (atomically), with `config` (JSON) in its metadata.
pub fn save_checkpoint<M: Module>(
    model: &M,
    path: &Path,
    config: &serde_json::Value,
) -> Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = crate::atomic::temp_path(path);
    let mut store = SafetensorsStore::from_file(&tmp)
        .metadata("petri_config", config.to_string())
        .overwrite(true);
    model
        .save_into(&mut store)
        .map_err(|e| Error::format(path, format!("cannot write checkpoint: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Loads a checkpoint written by `save_checkpoint` into a model of the same architecture.
pub fn load_checkpoint<M: Module>(mut model: M, path: &Path) -> Result<M> {
    if !path.exists() {
        return Err(Error::invalid(format!(
            "{}: no such checkpoint",
            path.display()
        )));
    }
    let mut store = SafetensorsStore::from_file(path);
    let result = model
        .load_from(&mut store)
        .map_err(|e| Error::format(path, format!("cannot read checkpoint: {e}")))?;
    if !result.missing.is_empty() || !result.errors.is_empty() {
        return Err(Error::format(
            path,
            format!(
                "does not fit this model (missing {:?}, errors {:?}); was it saved from another architecture?",
                result
                    .missing
                    .iter()
                    .map(|m| &m.0)
                    .take(5)
                    .collect::<Vec<_>>(),
                result
                    .errors
                    .iter()
                    .take(3)
                    .map(|e| format!("{e:?}"))
                    .collect::<Vec<_>>()
            ),
        ));
    }
    Ok(model)
}

/// torchvision names the shortcut `downsample.0` / `downsample.1`; ours are `conv` / `bn`.
const REMAP: [(&str, &str); 2] = [
    (r"downsample\.0\.", "downsample.conv."),
    (r"downsample\.1\.", "downsample.bn."),
];

/// A ResNet-18 with ImageNet weights from `path`, a new randomly initialised head for
/// `num_classes`, and for 1-channel input a first convolution whose kernels are the sum of the
/// RGB kernels (a grey image then produces the activations its RGB copy would).
pub fn import_imagenet_resnet18(
    path: &Path,
    in_channels: usize,
    num_classes: usize,
    device: &Device,
) -> Result<ResNet> {
    if !path.exists() {
        return Err(Error::invalid(format!(
            "{}: no such weights file",
            path.display()
        )));
    }
    let mut model = crate::model::init_seeded(device, 0, |d| ResNetConfig::new(1000).init(d));
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let result = if ext == "safetensors" {
        let mut store = SafetensorsStore::from_file(path)
            .with_from_adapter(PyTorchToBurnAdapter)
            .allow_partial(true);
        for (from, to) in REMAP {
            store = store.with_key_remapping(from, to);
        }
        model.load_from(&mut store).map_err(|e| e.to_string())
    } else {
        let mut store = PytorchStore::from_file(path).allow_partial(true);
        for (from, to) in REMAP {
            store = store.with_key_remapping(from, to);
        }
        model.load_from(&mut store).map_err(|e| e.to_string())
    }
    .map_err(|e| Error::format(path, format!("cannot read ResNet-18 weights: {e}")))?;
    if !result.missing.is_empty() || !result.errors.is_empty() || result.applied.len() < 100 {
        return Err(Error::format(
            path,
            format!(
                "is not a torchvision-named ResNet-18: {} tensors applied, missing {:?}",
                result.applied.len(),
                result
                    .missing
                    .iter()
                    .map(|m| &m.0)
                    .take(5)
                    .collect::<Vec<_>>()
            ),
        ));
    }
    if in_channels == 1 {
        let w = model.conv1.weight.val().sum_dim(1).detach();
        model.conv1.weight = Param::from_tensor(w);
    } else if in_channels != 3 {
        return Err(Error::invalid(format!(
            "ImageNet weights take 1 or 3 input channels, not {in_channels}"
        )));
    }
    Ok(crate::model::init_seeded(device, 1, |d| {
        model.with_new_head(num_classes, d)
    }))
}
