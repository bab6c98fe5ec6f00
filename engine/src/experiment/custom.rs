//! `petri train`: a plan from `petri identify` run on the user's own data, through the same
//! runners, records and events as the course's experiments. Class folders are read once into
//! a MedMNIST-style `.npz` beside the run record (seeded split when the data has none), so
//! the run is reproducible from that file.

use super::record::ExperimentRecord;
pub use super::runner::Runner;
use super::{ClassWeights, Experiment, RunOptions, Suite};
use crate::augment::Pipeline;
use crate::data::class_folders;
use crate::data::medmnist::{self, ImageSplit};
use crate::data::split::random_split;
use crate::identify::Plan;
use crate::metrics::Metric;
use crate::train::Event;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Rejects, before anything trains, every field of `plan` that `runner` cannot honour, naming
/// the field and the runner; fields it honours pass.
pub fn check(plan: &Plan, runner: Runner) -> Result<()> {
    let reject = |field: &str, why: String| {
        Err(Error::invalid(format!(
            "plan: `{field}` {why}; {} cannot use it: change or remove the line",
            runner.name()
        )))
    };
    let losses = runner.losses(plan.task);
    if !losses.contains(&plan.loss.as_str()) {
        return reject(
            "loss",
            format!("= \"{}\" is not one of {}", plan.loss, losses.join(", ")),
        );
    }
    let metrics = runner.metrics();
    if !metrics.iter().any(|m| m.name() == plan.metric) {
        let names: Vec<&str> = metrics.iter().map(|m| m.name()).collect();
        return reject(
            "metric",
            format!("= \"{}\" is not one of {}", plan.metric, names.join(", ")),
        );
    }
    if plan.pretrained && runner != Runner::Images {
        return reject(
            "pretrained",
            "= true needs ImageNet ResNet-18 weights".into(),
        );
    }
    if let Some((field, does)) = runner.unused_plan_field(plan) {
        return reject(field, does.into());
    }
    if let Some(w) = &plan.class_weights {
        ClassWeights::parse(w)
            .map_err(|e| Error::invalid(format!("plan: `class_weights`: {e}")))?;
    }
    let tables = matches!(runner, Runner::TableRegression | Runner::TableClasses);
    if tables && plan.split[1] > 0.0 {
        return reject(
            "split",
            format!(
                "= {:?} sets a validation share; the table runners use repeated train/test splits (give [train, 0, test])",
                plan.split
            ),
        );
    }
    Ok(())
}

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
    let runner = Runner::for_plan(plan)?;
    check(plan, runner)?;
    let mut options = base.clone();
    options.overrides.training = Some(plan.training);
    options.class_weights = plan
        .class_weights
        .as_deref()
        .map(ClassWeights::parse)
        .transpose()?;
    // Images: the split made class folders into a file above (an .npz has its own splits).
    if runner != Runner::Images {
        options.overrides.split = Some(plan.split);
    }
    options.seed = plan.seed;
    let mut record = match runner {
        Runner::Images => {
            let data = if path.is_dir() {
                folders_to_npz(path, plan, work_dir, events)?
            } else {
                if let Some(s) = plan.input_size {
                    let d = medmnist::load(path)?;
                    if d.train.height != s || d.train.width != s {
                        return Err(Error::invalid(format!(
                            "plan: `input_size = {s}`: {} holds {}x{} images and the image classifier trains \
                             an .npz at its own size; remove the line or give its size",
                            path.display(),
                            d.train.width,
                            d.train.height
                        )));
                    }
                }
                path.to_path_buf()
            };
            options.data = Some(data);
            options.overrides.augmentation = Some(Pipeline::new(plan.augmentation.clone()));
            let experiment = match (plan.pretrained, plan.augmentation.is_empty()) {
                (true, _) => Experiment::Finetune,
                (false, true) => Experiment::Scratch,
                (false, false) => Experiment::Augmented,
            };
            // The augmentation part's runner trains on augmented images; the classification
            // part's on the images as they are (or from ImageNet weights).
            options.part = experiment.suite();
            options.experiments = vec![experiment];
            super::run(&options, events, stop)?
        }
        Runner::Segmentation => {
            options.part = Suite::Segmentation;
            options.data = Some(path.to_path_buf());
            options.overrides.input_size = plan.input_size;
            options.overrides.augmentation = Some(Pipeline::new(plan.augmentation.clone()));
            options.overrides.segmentation_loss =
                Some(super::segment::SegmentationLoss::parse(&plan.loss)?);
            super::run(&options, events, stop)?
        }
        Runner::TableRegression => {
            options.part = Suite::Regression;
            options.data = Some(path.to_path_buf());
            options.overrides.target = plan.target.clone();
            options.overrides.nn_hidden = Some(plan.hidden.clone());
            options.experiments = vec![
                Experiment::Linear,
                Experiment::Tree,
                Experiment::Forest,
                Experiment::Nn,
            ];
            super::run(&options, events, stop)?
        }
        Runner::TableClasses => {
            // Table rows with a class target: the record is filed under classification.
            options.part = Suite::Classification;
            options.data = Some(path.to_path_buf());
            options.overrides.target = plan.target.clone();
            options.overrides.nn_hidden = Some(plan.hidden.clone());
            let spec = super::spec::TableClassSpec::build(&options)?;
            super::table_classify::run(&spec, events, stop)?
        }
    };
    record.request = Some(super::request::RunRequest::Plan {
        data: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        plan: Box::new(plan.clone()),
        options: base.absolute(),
    });
    if let Some(metric) = Metric::from_name(&plan.metric) {
        // Always: `check` refused a metric the runner does not report.
        report_metric(&mut record, metric);
    }
    record.notes.push(format!(
        "trained from a plan on {}: {}",
        path.display(),
        serde_json::to_string(plan).unwrap_or_default()
    ));
    Ok(record)
}

/// The plan's metric, first in the notes for every model (mean over splits for tables), and in
/// the record's config.
fn report_metric(record: &mut ExperimentRecord, metric: Metric) {
    record.config["metric"] = serde_json::json!(metric.name());
    let values: Vec<String> = record
        .runs
        .iter()
        .filter_map(|r| {
            let v = r
                .test_metric(metric)
                .or_else(|| r.repeated_metric(metric).map(|m| m.mean))?;
            Some(format!("{} {v:.4}", r.name))
        })
        .collect();
    record.notes.insert(
        0,
        format!("the plan's metric, {metric}: {}", values.join(", ")),
    );
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
