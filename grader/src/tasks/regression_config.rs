//! regression/network: the student sets the network and its training in `experiment.toml`;
//! the worker trains it on each split's training rows and predicts the test rows; the grader
//! holds the test targets and computes the errors.

use super::{Call, Ctx, Outcome, Request, Task, mean, metric, parse_config, wants};
use crate::challenge::CheckSpec;
use crate::result::{Leaderboard, Lost, Refusal};
use petri_engine::data::breast_cancer::BreastCancer;
use petri_engine::data::split::random_split;
use petri_engine::experiment::regression::fit_network;
use petri_engine::metrics::{MeanStd, regression::rmse};
use petri_engine::train::settings::toml_error;
use petri_engine::train::{TrainConfig, TrainingSettings};
use petri_engine::{Error, Result};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::Path;

pub struct RegressionConfig;

const SPLITS: u64 = 3;
/// The practice split (the visible check) is drawn with its own seed, none of the graded ones.
const PRACTICE_SEED_OFFSET: u64 = 100;

/// `experiment.toml` of the challenge.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkExperiment {
    /// Hidden layer sizes; empty = one linear layer.
    pub hidden: Vec<usize>,
    #[serde(flatten)]
    pub training: TrainingSettings,
}

impl NetworkExperiment {
    pub fn parse(text: &str) -> std::result::Result<NetworkExperiment, String> {
        let e: NetworkExperiment =
            toml::from_str(text).map_err(|e| toml_error("experiment.toml", &e))?;
        if e.hidden.len() > 6 || e.hidden.iter().any(|&h| h == 0 || h > 1024) {
            return Err("experiment.toml: at most 6 hidden layers of 1 to 1024 units".into());
        }
        e.training
            .within(1..=2000, 1..=512)
            .map_err(|w| format!("experiment.toml: {w}"))?;
        Ok(e)
    }
}

impl Task for RegressionConfig {
    fn grade(&self, ctx: &Ctx, checks: &[&CheckSpec], call: &mut Call) -> Result<Outcome> {
        let mut out = Outcome::default();
        if parse_config(ctx, checks, &mut out, NetworkExperiment::parse).is_none() {
            return Ok(out);
        }
        let graded = wants(checks, "rmse") || wants(checks, "spread");
        let practice = wants(checks, "practice");
        if !graded && !practice {
            return Ok(out);
        }
        let p = BreastCancer::embedded().radius_regression();
        let mut seeds: Vec<u64> = Vec::new();
        if graded {
            seeds.extend((0..SPLITS).map(|s| ctx.seed + s));
        }
        if practice {
            seeds.push(ctx.seed + PRACTICE_SEED_OFFSET);
        }
        let mut splits = Vec::new();
        let mut truths = Vec::new();
        for &seed in &seeds {
            let parts = random_split(p.y.len(), &[2.0 / 3.0, 1.0 / 3.0], seed)?;
            let rows = |idx: &[usize]| idx.iter().map(|&i| p.x[i].clone()).collect::<Vec<_>>();
            let ys = |idx: &[usize]| idx.iter().map(|&i| p.y[i]).collect::<Vec<f64>>();
            splits.push(json!({ "x_train": rows(&parts[0]), "y_train": ys(&parts[0]), "x_test": rows(&parts[1]), "seed": seed }));
            truths.push(ys(&parts[1]));
        }
        let answers = call(&Request::json(json!({ "splits": splits })));
        let preds: std::result::Result<Vec<Vec<f64>>, Refusal> = answers.and_then(|v| {
            serde_json::from_value(v["predictions"].clone())
                .map_err(|_| Refusal::new(Lost::NoAnswer, "the worker wrote no predictions"))
        });
        let preds = match preds {
            Ok(preds)
                if preds.len() != truths.len()
                    || preds.iter().zip(&truths).any(|(p, t)| p.len() != t.len()) =>
            {
                Err(Refusal::wrong("wrong number of predictions"))
            }
            other => other,
        };
        let errors: Vec<f64> = match preds {
            Err(refusal) => {
                for id in ["rmse", "spread", "practice"] {
                    if wants(checks, id) {
                        out.refuse(id, &refusal);
                    }
                }
                return Ok(out);
            }
            Ok(preds) => preds.iter().zip(&truths).map(|(p, t)| rmse(p, t)).collect(),
        };
        if practice {
            let e = errors[errors.len() - 1];
            metric(
                &mut out,
                checks,
                "practice",
                if e.is_finite() { e } else { f64::INFINITY },
                "held-out RMSE in radius units on the practice split",
            );
        }
        if graded {
            let errors = &errors[..SPLITS as usize];
            let ms = MeanStd::of(errors);
            let value = if ms.mean.is_finite() {
                mean(errors)
            } else {
                f64::INFINITY
            };
            metric(
                &mut out,
                checks,
                "rmse",
                value,
                "held-out RMSE in radius units (mean over 3 splits)",
            );
            metric(
                &mut out,
                checks,
                "spread",
                ms.std,
                "standard deviation of the RMSE over the splits",
            );
            out.leaderboard = Some(Leaderboard {
                name: "RMSE".into(),
                value,
                order: crate::result::Order::Asc,
            });
        }
        Ok(out)
    }

    fn work(&self, dir: &Path) -> Result<()> {
        let path = dir.join("experiment.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let exp = NetworkExperiment::parse(&text).map_err(Error::invalid)?;
        let request = read_request(dir)?;
        let device = petri_engine::experiment::device::DeviceChoice::Cpu.training_device()?;
        let stop = std::sync::atomic::AtomicBool::new(false);
        let mut predictions = Vec::new();
        for s in request["splits"].as_array().cloned().unwrap_or_default() {
            let get = |k: &str| -> Result<Vec<Vec<f64>>> {
                serde_json::from_value(s[k].clone())
                    .map_err(|e| Error::invalid(format!("request: {k}: {e}")))
            };
            let y: Vec<f64> = serde_json::from_value(s["y_train"].clone())
                .map_err(|e| Error::invalid(e.to_string()))?;
            let config = TrainConfig {
                settings: exp.training,
                seed: s["seed"].as_u64().unwrap_or(0),
            };
            let pred = fit_network(
                &exp.hidden,
                (&get("x_train")?, &y, &get("x_test")?),
                &config,
                &device,
                &|_| {},
                &stop,
            )?
            .map(|(pred, _)| pred)
            .unwrap_or_default();
            predictions.push(pred);
        }
        write_response(dir, &json!({ "predictions": predictions }))
    }
}

pub fn read_request(dir: &Path) -> Result<Value> {
    let path = dir.join("request.json");
    let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_slice(&text).map_err(|e| Error::format(&path, e.to_string()))
}

pub fn write_response(dir: &Path, v: &Value) -> Result<()> {
    let body = serde_json::to_vec(v).map_err(|e| Error::invalid(e.to_string()))?;
    petri_engine::atomic::write_atomic(&dir.join("response.json"), &body)
}
