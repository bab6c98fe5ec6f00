//! `petri train`: a plan from `petri identify` run on the user's own data, through the same
//! runners, records and events as the course's experiments. Class folders are read once into
//! a MedMNIST-style `.npz` beside the run record (seeded split when the data has none), so
//! the run is reproducible from that file.

use super::record::ExperimentRecord;
use super::{ClassWeights, Part, RunOptions};
use crate::augment::Pipeline;
use crate::data::class_folders;
use crate::data::medmnist::{self, ImageSplit};
use crate::data::registry::Task;
use crate::data::split::random_split;
use crate::identify::Plan;
use crate::train::Event;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Runs `plan` on the data at `path`; `base` carries device, seed, output folders.
pub fn train(
    path: &Path,
    plan: &Plan,
    base: &RunOptions,
    work_dir: &Path,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<ExperimentRecord> {
    plan.validate()
        .map_err(|p| Error::invalid(format!("plan: {p}")))?;
    let mut options = base.clone();
    options.epochs = Some(plan.epochs);
    options.overrides.batch_size = Some(plan.batch_size);
    options.overrides.optimizer = Some(plan.optimizer().map_err(Error::invalid)?);
    options.class_weights = plan.class_weights.as_ref().map(|_| ClassWeights::Balanced);
    options.seed = plan.seed;
    let mut record = match plan.task {
        Task::Binary | Task::MultiClass | Task::MultiLabel if plan.network == "resnet18" => {
            let data = if path.is_dir() {
                folders_to_npz(path, plan, work_dir, events)?
            } else {
                path.to_path_buf()
            };
            options.part = Part::Classification;
            options.data = Some(data);
            options.overrides.augmentation = Some(Pipeline::new(plan.augmentation.clone()));
            let name = match (plan.pretrained, plan.augmentation.is_empty()) {
                (true, _) => "finetune",
                (false, true) => "scratch",
                (false, false) => "augmented",
            };
            // The augmentation part's runner trains on augmented images; the classification
            // part's on the images as they are (or from ImageNet weights).
            if name == "augmented" {
                options.part = Part::Augmentation;
            }
            options.experiments = vec![name.to_string()];
            super::run(&options, events, stop)?
        }
        Task::Segmentation => {
            options.part = Part::Segmentation;
            options.data = Some(path.to_path_buf());
            options.overrides.input_size = plan.input_size;
            super::run(&options, events, stop)?
        }
        Task::Regression => {
            options.part = Part::Regression;
            options.data = Some(path.to_path_buf());
            options.overrides.target = plan.target.clone();
            options.overrides.nn_hidden = Some(plan.hidden.clone());
            options.experiments = ["linear", "tree", "forest", "nn"]
                .map(String::from)
                .to_vec();
            super::run(&options, events, stop)?
        }
        Task::Binary | Task::MultiClass if plan.network == "mlp" => {
            // Table rows with a class target: the record is filed under classification.
            options.part = Part::Classification;
            options.data = Some(path.to_path_buf());
            options.overrides.target = plan.target.clone();
            options.overrides.nn_hidden = Some(plan.hidden.clone());
            super::table_classify::run(&options, events, stop)?
        }
        task => {
            return Err(Error::invalid(format!(
                "petri train cannot run {task} with network '{}': use resnet18 for images, unet for masks, mlp for tables",
                plan.network
            )));
        }
    };
    record.notes.push(format!(
        "trained from a plan on {}: {}",
        path.display(),
        serde_json::to_string(plan).unwrap_or_default()
    ));
    Ok(record)
}

/// Reads class folders into `work_dir/<name>-<size>px.npz`; a seeded split (the plan's
/// fractions) when the folders have no train/val/test of their own.
fn folders_to_npz(
    root: &Path,
    plan: &Plan,
    work_dir: &Path,
    events: &dyn Fn(Event),
) -> Result<PathBuf> {
    let cf = class_folders::find(root)?;
    let size = plan.input_size.unwrap_or(64);
    let channels = cf
        .splits
        .values()
        .flatten()
        .next()
        .map(|(p, _)| crate::data::segmentation::read_image(p).map(|i| i.channels))
        .transpose()?
        .unwrap_or(1);
    events(Event::Note(format!(
        "reading {} images from {} at {size}x{size}",
        cf.total(),
        root.display()
    )));
    let split_of = |name: &str| cf.splits.get(name).map(Vec::as_slice).unwrap_or(&[]);
    let (train, val, test): (ImageSplit, ImageSplit, ImageSplit) =
        if cf.splits.contains_key("train") {
            let train = class_folders::load_split(split_of("train"), size, channels)?;
            let test = class_folders::load_split(split_of("test"), size, channels)?;
            // No validation folder: take the plan's share of the training images.
            let val = if cf.splits.contains_key("val") {
                class_folders::load_split(split_of("val"), size, channels)?
            } else {
                ImageSplit::new(size, size, channels, vec![], vec![])
            };
            (train, val, test)
        } else {
            let all = split_of("all");
            let parts = random_split(all.len(), &plan.split, plan.seed)?;
            let pick = |idx: &[usize]| -> Vec<(PathBuf, usize)> {
                idx.iter().map(|&i| all[i].clone()).collect()
            };
            (
                class_folders::load_split(&pick(&parts[0]), size, channels)?,
                class_folders::load_split(&pick(&parts[1]), size, channels)?,
                class_folders::load_split(&pick(&parts[2]), size, channels)?,
            )
        };
    if train.is_empty() || test.is_empty() {
        return Err(Error::invalid(format!(
            "{}: the split left no training or no test images; add images or change the plan's split",
            root.display()
        )));
    }
    std::fs::create_dir_all(work_dir).map_err(|e| Error::io(work_dir, e))?;
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    let out = work_dir.join(format!("{name}-{size}px-seed{}.npz", plan.seed));
    medmnist::write_npz(&out, [("train", &train), ("val", &val), ("test", &test)])?;
    events(Event::Note(format!(
        "wrote {} (the split used, for reproducing this run)",
        out.display()
    )));
    Ok(out)
}
