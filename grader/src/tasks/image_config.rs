//! classification/imbalance: the student sets up ResNet-18 training on BreastMNIST (optimiser,
//! learning rate, epochs, batch size, augmentation) in `experiment.toml`. The worker receives
//! the training and validation images with labels and the test images without; the grader
//! keeps the test labels and scores AUC and balanced accuracy (the mean of per-class recall,
//! which a model that always answers "benign" cannot fake).

use super::regression_config::{read_request, write_response};
use super::{Call, Ctx, Outcome, Request, Task, metric, parse_config, wants};
use crate::challenge::CheckSpec;
use crate::result::{Leaderboard, Lost, Refusal};
use petri_engine::augment::{Pipeline, Transform};
use petri_engine::burn::module::Module;
use petri_engine::data::medmnist::{self, ImageSplit};
use petri_engine::data::registry::Task as DataTask;
use petri_engine::data::split::Normalization;
use petri_engine::experiment::ClassWeights;
use petri_engine::experiment::classify::{AugmentMode, ImageClassifier, predict_probs};
use petri_engine::metrics::classification as cls;
use petri_engine::model::resnet::ResNetConfig;
use petri_engine::train::settings::toml_error;
use petri_engine::train::{TrainConfig, TrainingSettings, fit};
use petri_engine::{Error, Result};
use serde::Deserialize;
use serde_json::json;
use std::path::Path;

pub struct ImageConfig;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageExperiment {
    #[serde(flatten)]
    pub training: TrainingSettings,
    /// `unmodified`, `augmented` or `combined`.
    #[serde(default = "unmodified")]
    pub mode: AugmentMode,
    #[serde(default, rename = "transform")]
    pub transforms: Vec<Transform>,
    /// `"balanced"` or one weight per class, e.g. `[2.0, 1.0]`.
    #[serde(default)]
    pub class_weights: Option<ClassWeights>,
}

fn unmodified() -> AugmentMode {
    AugmentMode::Unmodified
}

impl ImageExperiment {
    pub fn parse(text: &str) -> std::result::Result<ImageExperiment, String> {
        let e: ImageExperiment =
            toml::from_str(text).map_err(|e| toml_error("experiment.toml", &e))?;
        e.training
            .within(1..=30, 2..=256)
            .map_err(|w| format!("experiment.toml: {w}"))?;
        Pipeline::new(e.transforms.clone())
            .validate()
            .map_err(|p| format!("experiment.toml: {p}"))?;
        if let Some(w) = &e.class_weights {
            // BreastMNIST has two classes.
            w.for_classes(&[1, 1])
                .map_err(|e| format!("experiment.toml: class_weights: {e}"))?;
        }
        if e.mode != AugmentMode::Unmodified && e.transforms.is_empty() {
            return Err(
                "experiment.toml: mode augmented/combined needs at least one [[transform]]".into(),
            );
        }
        Ok(e)
    }
}

impl Task for ImageConfig {
    fn grade(&self, ctx: &Ctx, checks: &[&CheckSpec], call: &mut Call) -> Result<Outcome> {
        let mut out = Outcome::default();
        if parse_config(ctx, checks, &mut out, ImageExperiment::parse).is_none() {
            return Ok(out);
        }
        if !wants(checks, "auc") && !wants(checks, "balanced-accuracy") {
            return Ok(out);
        }
        let path = petri_engine::data::layout::medmnist_file(ctx.data_dir, "breastmnist.npz");
        if !path.is_file() {
            return Err(Error::invalid(format!(
                "the grader needs BreastMNIST at {}: run `petri data fetch breastmnist` or pass --data-dir",
                path.display()
            )));
        }
        let data = medmnist::load(&path)?;
        // The test labels stay here: the worker gets zeros in their place.
        let blind = ImageSplit::new(
            data.test.height,
            data.test.width,
            data.test.channels,
            (0..data.test.len())
                .flat_map(|i| data.test.pixels(i).to_vec())
                .collect(),
            vec![vec![0]; data.test.len()],
        );
        static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = std::env::temp_dir().join(format!("petri-blind-{}-{n}.npz", std::process::id()));
        medmnist::write_npz(
            &tmp,
            [("train", &data.train), ("val", &data.val), ("test", &blind)],
        )?;
        let bytes = std::fs::read(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let _ = std::fs::remove_file(&tmp);
        let req = Request {
            json: json!({ "classes": data.num_classes(), "seed": ctx.seed }),
            files: vec![("data.npz".into(), bytes)],
        };
        let probs: std::result::Result<Vec<Vec<f32>>, Refusal> = call(&req).and_then(|v| {
            serde_json::from_value(v["probs"].clone())
                .map_err(|_| Refusal::new(Lost::NoAnswer, "the worker wrote no probabilities"))
        });
        let truth: Vec<usize> = data.test.labels.iter().map(|l| l[0] as usize).collect();
        match probs {
            Ok(p) if p.len() == truth.len() && p.iter().all(|r| r.len() == data.num_classes()) => {
                let auc = cls::auc_macro(&p, &truth).unwrap_or(0.0);
                let pred: Vec<usize> = p.iter().map(|r| cls::predict(r)).collect();
                let recall = cls::per_class_recall(&cls::confusion_matrix(
                    &pred,
                    &truth,
                    data.num_classes(),
                ));
                let balanced = petri_engine::metrics::mean_defined(&recall).unwrap_or(0.0);
                metric(&mut out, checks, "auc", auc, "test AUC");
                metric(
                    &mut out,
                    checks,
                    "balanced-accuracy",
                    balanced,
                    "test balanced accuracy (mean recall of benign and malignant)",
                );
                out.leaderboard = Some(Leaderboard {
                    name: "AUC".into(),
                    value: auc,
                    order: crate::result::Order::Desc,
                });
            }
            Ok(_) => {
                out.set("auc", 0.0, "wrong number of probabilities");
                out.set("balanced-accuracy", 0.0, "wrong number of probabilities");
            }
            Err(refusal) => {
                out.refuse("auc", &refusal);
                out.refuse("balanced-accuracy", &refusal);
            }
        }
        Ok(out)
    }

    fn work(&self, dir: &Path) -> Result<()> {
        let path = dir.join("experiment.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let exp = ImageExperiment::parse(&text).map_err(Error::invalid)?;
        let request = read_request(dir)?;
        let classes = request["classes"].as_u64().unwrap_or(2) as usize;
        let seed = request["seed"].as_u64().unwrap_or(0);
        let data = medmnist::load(&dir.join("data.npz"))?;
        let device = petri_engine::experiment::device::DeviceChoice::Cpu.training_device()?;
        let plain = device.clone().without_autodiff();
        let norm = Normalization::uniform(data.train.channels, 0.5, 0.5);
        let learner =
            ImageClassifier {
                train: &data.train,
                val: &data.val,
                task: DataTask::Binary,
                num_classes: classes,
                normalization: norm.clone(),
                augment: Pipeline::new(exp.transforms.clone()),
                mode: exp.mode,
                class_weights: match &exp.class_weights {
                    Some(w) => Some(w.for_classes(&data.train.class_counts(classes)).map_err(
                        |e| Error::invalid(format!("experiment.toml: class_weights: {e}")),
                    )?),
                    None => None,
                },
            };
        let model = petri_engine::model::init_seeded(&device, seed, |d| {
            ResNetConfig::new(classes)
                .with_in_channels(data.train.channels)
                .init(d)
        });
        let config = TrainConfig {
            settings: exp.training,
            seed,
        };
        let stop = std::sync::atomic::AtomicBool::new(false);
        let fitted = fit(&learner, model, &config, &device, &|_| {}, &stop)?;
        let probs = predict_probs(
            &fitted.model.valid(),
            &data.test,
            DataTask::Binary,
            &norm,
            &plain,
        );
        write_response(dir, &json!({ "probs": probs }))
    }
}
