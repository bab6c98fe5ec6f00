//! Where a run's inputs are on this machine: its dataset (`--data`, else the part's dataset in
//! the data dir, with what to do when it is missing) and ImageNet weights.

use crate::data::fetchable::{Fetchable, Status};
use crate::data::layout;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Where the data for a run is: `--data`, else the preset's dataset in the data dir.
pub fn resolve_data(data: Option<&Path>, data_dir: &Path, dataset: &str) -> Result<PathBuf> {
    if let Some(p) = data {
        return Ok(p.to_path_buf());
    }
    let item = Fetchable::named(dataset, 28)?;
    let path = item.dest(data_dir);
    match item.status(data_dir, false) {
        s if s.is_usable() => Ok(path),
        Status::Misplaced { found, expected } => Err(Error::invalid(format!(
            "{dataset} is at {}, but Petri reads it from {}: move it there",
            found.display(),
            expected.display()
        ))),
        _ => Err(Error::invalid(format!(
            "{dataset} is not at {}: run `{}` (~{}), or pass --data FILE.npz",
            path.display(),
            item.fetch_command(),
            item.approx_bytes()
                .map_or("?".into(), |b| format!("{} MB", b.div_ceil(1 << 20)))
        ))),
    }
}

/// ImageNet ResNet-18 weights, where people usually have them: the data dir (torchvision's
/// file, timm's under either name), torch hub's cache (`$TORCH_HOME/hub/checkpoints`), and the
/// Hugging Face cache timm downloads into (`models--timm--resnet18.*`). The first found.
pub fn find_weights(data_dir: &Path) -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let env_dir = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let cache = env_dir("XDG_CACHE_HOME").unwrap_or_else(|| home.join(".cache"));
    let torch = env_dir("TORCH_HOME").unwrap_or_else(|| cache.join("torch"));
    let hf_hub = env_dir("HF_HUB_CACHE")
        .or_else(|| env_dir("HF_HOME").map(|h| h.join("hub")))
        .unwrap_or_else(|| cache.join("huggingface/hub"));
    let mut candidates = vec![
        layout::resnet18_weights(data_dir),
        layout::weights_dir(data_dir).join(layout::RESNET18_TIMM_FILE),
        layout::weights_dir(data_dir).join("model.safetensors"),
        torch.join("hub/checkpoints").join(layout::RESNET18_FILE),
    ];
    // timm: models--timm--resnet18.tv_in1k (torchvision's weights), .a1_in1k, ...
    let mut timm: Vec<PathBuf> = std::fs::read_dir(&hf_hub)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("models--timm--resnet18.")
        })
        .flat_map(|e| {
            std::fs::read_dir(e.path().join("snapshots"))
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|snap| snap.path().join("model.safetensors"))
        .collect();
    timm.sort();
    candidates.extend(timm);
    candidates.into_iter().find(|p| p.is_file())
}

/// The weights a run uses: `--weights FILE` when given (it must exist), else `find_weights`.
pub fn weights_for(given: Option<&Path>, data_dir: &Path) -> Result<Option<PathBuf>> {
    match given {
        Some(w) if w.is_file() => Ok(Some(w.to_path_buf())),
        Some(w) => Err(Error::invalid(format!(
            "--weights {}: no such file (give torchvision's resnet18-f37072fd.pth or timm's model.safetensors)",
            w.display()
        ))),
        None => Ok(find_weights(data_dir)),
    }
}
