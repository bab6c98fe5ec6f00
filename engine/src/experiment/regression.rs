//! The regression part: predict mean nuclear radius in Breast Cancer Wisconsin from the other
//! 29 measures and the diagnosis. Linear, tree and forest baselines (smartcore) against a
//! network (burn), each evaluated over many random 2/3 - 1/3 splits, on all features and on the
//! top-k by univariate F-score chosen on each training split only. Errors are in radius units,
//! and every split trains a fresh model.

use super::Experiment;
use super::predictions::TablePredictions;
pub use super::presets::{RegressionPreset, regression as preset};
use super::record::{DataRef, ExperimentRecord, ModelRun, file_sha256};
use super::spec::RegressionSpec;
use crate::data::breast_cancer::{BreastCancer, RadiusRegression};
use crate::metrics::{MeanStd, Metric, regression as reg};
use crate::model::mlp::{Mlp, MlpConfig};
use crate::rng::Rng;
use crate::train::coach::{Diagnosis, OverSplits};
use crate::train::{Event, Learner, Metrics, TrainConfig, fit};
use crate::{Error, Result};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::linear_regression::{LinearRegression, LinearRegressionParameters};
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Univariate F-statistic of each feature against the target (scikit-learn's `f_regression`).
pub fn f_scores(x: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    let n = y.len() as f64;
    let my = y.iter().sum::<f64>() / n;
    let cols = x.first().map_or(0, Vec::len);
    (0..cols)
        .map(|j| {
            let mx = x.iter().map(|r| r[j]).sum::<f64>() / n;
            let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
            for (r, &t) in x.iter().zip(y) {
                let (dx, dy) = (r[j] - mx, t - my);
                sxy += dx * dy;
                sxx += dx * dx;
                syy += dy * dy;
            }
            let r2 = if sxx == 0.0 || syy == 0.0 {
                0.0
            } else {
                (sxy * sxy) / (sxx * syy)
            };
            r2 / (1.0 - r2).max(1e-12) * (n - 2.0)
        })
        .collect()
}

/// Indices of the `k` highest-scoring features, chosen from the training rows only.
pub fn select_top_k(x_train: &[Vec<f64>], y_train: &[f64], k: usize) -> Vec<usize> {
    let scores = f_scores(x_train, y_train);
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx.sort_unstable();
    idx
}

/// The columns `keep` of every row.
pub fn columns(x: &[Vec<f64>], keep: &[usize]) -> Vec<Vec<f64>> {
    x.iter()
        .map(|r| keep.iter().map(|&j| r[j]).collect())
        .collect()
}

pub(crate) fn matrix(x: &[Vec<f64>]) -> Result<DenseMatrix<f64>> {
    DenseMatrix::from_2d_vec(&x.to_vec())
        .map_err(|e| Error::invalid(format!("cannot build a matrix: {e}")))
}

fn smartcore_err(model: Experiment) -> impl Fn(smartcore::error::Failed) -> Error {
    move |e| Error::invalid(format!("{model} failed to fit: {e}"))
}

/// Fits one classic model (`linear`, `tree`, `forest`) and predicts the test rows.
pub fn fit_classic(
    model: Experiment,
    xtr: &[Vec<f64>],
    ytr: &[f64],
    xte: &[Vec<f64>],
    seed: u64,
    trees: usize,
) -> Result<Vec<f64>> {
    let (a, b) = (matrix(xtr)?, matrix(xte)?);
    let y = ytr.to_vec();
    match model {
        Experiment::Linear => LinearRegression::fit(&a, &y, LinearRegressionParameters::default())
            .and_then(|m| m.predict(&b))
            .map_err(smartcore_err(model)),
        Experiment::Tree => {
            let params = DecisionTreeRegressorParameters {
                seed: Some(seed),
                ..Default::default()
            };
            DecisionTreeRegressor::fit(&a, &y, params)
                .and_then(|m| m.predict(&b))
                .map_err(smartcore_err(model))
        }
        Experiment::Forest => {
            // Every feature is a candidate at each split, as in scikit-learn's regressor
            // (max_features=1.0). smartcore's default, sqrt(p), is the classification rule: with
            // 30 features most splits never see the radius-like ones, and the forest came out
            // worse than a single tree.
            let params = RandomForestRegressorParameters::default()
                .with_n_trees(trees)
                .with_m(xtr.first().map_or(1, Vec::len))
                .with_seed(seed);
            RandomForestRegressor::fit(&a, &y, params)
                .and_then(|m| m.predict(&b))
                .map_err(smartcore_err(model))
        }
        other => Err(Error::invalid(format!(
            "'{other}' is not a classic regressor"
        ))),
    }
}

/// Standardises with statistics of the training rows (never the test rows).
pub(crate) struct Scaler {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Scaler {
    pub(crate) fn fit(x: &[Vec<f64>]) -> Self {
        let n = x.len() as f64;
        let cols = x[0].len();
        let mean: Vec<f64> = (0..cols)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let std = (0..cols)
            .map(|j| {
                (x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n)
                    .sqrt()
                    .max(1e-12)
            })
            .collect();
        Scaler { mean, std }
    }

    pub(crate) fn apply(&self, x: &[Vec<f64>]) -> Vec<f32> {
        x.iter()
            .flat_map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(j, v)| ((v - self.mean[j]) / self.std[j]) as f32)
            })
            .collect()
    }
}

/// Rows `indices` of a row-major `[n, features]` matrix as a `[indices, features]` tensor.
pub(crate) fn row_batch(
    x: &[f32],
    features: usize,
    indices: &[usize],
    device: &Device,
) -> Tensor<2> {
    let rows: Vec<f32> = indices
        .iter()
        .flat_map(|&i| x[i * features..(i + 1) * features].iter().copied())
        .collect();
    Tensor::<2>::from_data(TensorData::new(rows, [indices.len(), features]), device)
}

struct TabularLearner {
    x: Vec<f32>,
    y: Vec<f32>,
    features: usize,
}

impl Learner for TabularLearner {
    type Model = Mlp;

    fn train_len(&self) -> usize {
        self.y.len()
    }

    fn batch_loss(
        &self,
        model: &Mlp,
        indices: &[usize],
        _rng: &mut Rng,
        device: &Device,
    ) -> Tensor<1> {
        let x = row_batch(&self.x, self.features, indices, device);
        let y: Vec<f32> = indices.iter().map(|&i| self.y[i]).collect();
        let y = Tensor::<2>::from_data(TensorData::new(y, [indices.len(), 1]), device);
        let diff = model.forward(x) - y;
        (diff.clone() * diff).mean().reshape([1])
    }

    fn validate(&self, _model: &Mlp, _device: &Device) -> Metrics {
        Metrics::new() // evaluated once on the test rows after training, in radius units
    }
}

/// Trains a fresh network on one split and predicts the test rows, in target units, with what
/// the coach saw; `None` when stopped.
pub fn fit_network(
    hidden: &[usize],
    (xtr, ytr, xte): (&[Vec<f64>], &[f64], &[Vec<f64>]),
    config: &TrainConfig,
    device: &Device,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<Option<(Vec<f64>, Vec<Diagnosis>)>> {
    let scaler = Scaler::fit(xtr);
    let (ym, ys) = {
        let m = ytr.iter().sum::<f64>() / ytr.len() as f64;
        let s = (ytr.iter().map(|v| (v - m).powi(2)).sum::<f64>() / ytr.len() as f64)
            .sqrt()
            .max(1e-12);
        (m, s)
    };
    let features = xtr[0].len();
    let learner = TabularLearner {
        x: scaler.apply(xtr),
        y: ytr.iter().map(|v| ((v - ym) / ys) as f32).collect(),
        features,
    };
    let model = crate::model::init_seeded(device, config.seed, |d| {
        MlpConfig::new(features)
            .with_hidden(hidden.to_vec())
            .init(d)
    });
    let fitted = fit(&learner, model, config, device, events, stop)?;
    if fitted.outcome == crate::train::Outcome::Stopped {
        return Ok(None);
    }
    let plain = device.clone().without_autodiff();
    let model = fitted.model.valid();
    let x = Tensor::<2>::from_data(
        TensorData::new(scaler.apply(xte), [xte.len(), features]),
        &plain,
    );
    let pred: Vec<f32> = model
        .forward(x)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 predictions");
    // Back to radius units: the original reported errors in min-max-scaled units.
    Ok(Some((
        pred.into_iter().map(|p| p as f64 * ys + ym).collect(),
        fitted.diagnoses,
    )))
}

/// How the repeated splits of a table run are drawn, for the record.
pub(crate) fn split_rule(test_fraction: f64, seed: u64, splits: usize) -> String {
    format!(
        "split s (0 to {}) takes a random {:.4} of the rows as its test rows with seed {seed} + s \
         (`data::split::random_split`); each split's test rows are listed in the predictions file",
        splits.saturating_sub(1),
        test_fraction
    )
}

/// What a regression model is, for the record: its kind and size.
fn architecture(
    model: Experiment,
    hidden: &[usize],
    features: usize,
    trees: usize,
) -> (String, Option<usize>) {
    match model {
        Experiment::Linear => (
            format!("linear least squares on {features} features"),
            Some(features + 1),
        ),
        Experiment::Tree => (
            format!("decision tree (smartcore defaults: no depth limit) on {features} features"),
            None,
        ),
        Experiment::Forest => (
            format!("random forest of {trees} trees, all {features} features tried at each split"),
            None,
        ),
        _ => {
            let config = MlpConfig::new(features).with_hidden(hidden.to_vec());
            (config.describe(), Some(config.parameters()))
        }
    }
}

/// The table to learn from (a user's CSV and target, Breast Cancer Wisconsin from a file, or
/// the embedded copy) and its description for the record.
fn problem(spec: &RegressionSpec) -> Result<(RadiusRegression, DataRef)> {
    Ok(match (&spec.data, &spec.target) {
        (Some(path), Some(target)) => {
            let (table, dropped) = crate::data::tabular::read_csv_dropping_missing(path)?;
            let (feature_names, x, y) = table.features_and_target(target)?;
            let mut description = format!(
                "{}: predict '{target}' from {} columns",
                path.display(),
                feature_names.len()
            );
            if dropped > 0 {
                description.push_str(&format!(", {dropped} rows with missing values left out"));
            }
            (
                RadiusRegression {
                    feature_names,
                    x,
                    y,
                },
                DataRef {
                    path: path.display().to_string(),
                    sha256: file_sha256(path),
                    description,
                },
            )
        }
        (Some(path), None) => (
            BreastCancer::load(path)?.radius_regression(),
            DataRef {
                path: path.display().to_string(),
                sha256: file_sha256(path),
                description: "Breast Cancer Wisconsin Diagnostic (CSV)".into(),
            },
        ),
        (None, _) => {
            let bc = BreastCancer::embedded();
            (
                bc.radius_regression(),
                DataRef {
                    path: "embedded".into(),
                    sha256: Some(bc.sha256()),
                    description: "Breast Cancer Wisconsin Diagnostic, 569 tumours (embedded copy; \
                                  the checksum is of scikit-learn's breast_cancer.csv, which it \
                                  equals byte for byte)"
                        .into(),
                },
            )
        }
    })
}

/// Which features the top-k selection chose over the splits, most often first, for the notes.
fn chosen_note(counts: &[usize], names: &[String], top_k: usize, splits: usize) -> String {
    let mut chosen: Vec<(usize, &String)> = counts.iter().copied().zip(names).collect();
    chosen.sort_by_key(|c| std::cmp::Reverse(c.0));
    let summary: Vec<String> = chosen
        .iter()
        .filter(|(c, _)| *c > 0)
        .map(|(c, n)| format!("{n} ({c}x)"))
        .collect();
    format!(
        "top-{top_k} features chosen on each training split (times chosen over {splits} splits): {}",
        summary.join(", ")
    )
}

/// One model's predictions of one split's test rows, with what the coach saw (networks);
/// `None` when stopped.
fn predict(
    model: Experiment,
    spec: &RegressionSpec,
    (xtr, ytr, xte): (&[Vec<f64>], &[f64], &[Vec<f64>]),
    seed: u64,
    device: &Device,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<Option<(Vec<f64>, Vec<Diagnosis>)>> {
    let preset = &spec.preset;
    match model {
        Experiment::Nn | Experiment::NnDeep => {
            let hidden = if model == Experiment::Nn {
                &spec.nn_hidden
            } else {
                &preset.nn_deep_hidden
            };
            let config = TrainConfig {
                settings: preset.nn_training,
                seed,
            };
            fit_network(hidden, (xtr, ytr, xte), &config, device, events, stop)
        }
        m => Ok(Some((
            fit_classic(m, xtr, ytr, xte, seed, preset.forest_trees)?,
            Vec::new(),
        ))),
    }
}

/// A model run's architecture and parameter count, on all features or the top k.
fn describe(
    run: &mut ModelRun,
    model: Experiment,
    set: &str,
    spec: &RegressionSpec,
    features: usize,
) {
    let preset = &spec.preset;
    let features = if set == "all features" {
        features
    } else {
        preset.top_k.min(features)
    };
    let hidden = if model == Experiment::NnDeep {
        &preset.nn_deep_hidden
    } else {
        &spec.nn_hidden
    };
    let (described, params) = architecture(model, hidden, features, preset.forest_trees);
    run.architecture = Some(described);
    run.trainable_params = params;
}

/// The settings of a table run, for the record: the preset, the target and features, the
/// network's training, and how the splits are drawn.
fn record_config(spec: &RegressionSpec, features: &[String]) -> serde_json::Value {
    let preset = &spec.preset;
    let (seed, splits) = (spec.run.seed, preset.splits);
    serde_json::json!({
        "preset": preset,
        "splits": splits,
        "target": spec.target.clone().unwrap_or_else(|| "mean radius".into()),
        "features": features,
        "nn_train": TrainConfig { settings: preset.nn_training, seed },
        "test_fraction": preset.test_fraction,
        "split_rule": split_rule(preset.test_fraction, seed, splits),
        "split_seeds": (0..splits).map(|s| seed.wrapping_add(s as u64)).collect::<Vec<_>>(),
    })
}

pub fn run(
    spec: &RegressionSpec,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<ExperimentRecord> {
    let started = Instant::now();
    let preset = &spec.preset;
    let models = &spec.run.experiments;
    let (problem, data_ref) = problem(spec)?;
    let splits = preset.splits;
    let device = spec.run.device.training_device()?;
    let mut record = spec
        .run
        .record(data_ref, record_config(spec, &problem.feature_names));

    // errors[(model, feature set)][metric] = one value per split
    type Key = (Experiment, &'static str);
    let mut errors: BTreeMap<Key, BTreeMap<Metric, Vec<f64>>> = BTreeMap::new();
    let mut selected_counts = vec![0usize; problem.feature_names.len()];
    let mut seconds: BTreeMap<Key, f64> = BTreeMap::new();
    let mut coached: BTreeMap<Key, OverSplits> = BTreeMap::new();
    let mut predicted = TablePredictions::default();
    let run_name = |(model, set): &Key| {
        format!(
            "{model} ({})",
            set.replace("top-k", &format!("top-{}", preset.top_k))
        )
    };
    let mut stopped = false;
    'splits: for s in 0..splits {
        events(Event::Note(format!("split {} of {splits}", s + 1)));
        let split_seed = spec.run.seed.wrapping_add(s as u64);
        let parts = crate::data::split::random_split(
            problem.y.len(),
            &[1.0 - preset.test_fraction, preset.test_fraction],
            split_seed,
        )?;
        let rows = |idx: &[usize]| {
            (
                idx.iter()
                    .map(|&i| problem.x[i].clone())
                    .collect::<Vec<_>>(),
                idx.iter().map(|&i| problem.y[i]).collect::<Vec<_>>(),
            )
        };
        let (xtr, ytr) = rows(&parts[0]);
        let (xte, yte) = rows(&parts[1]);
        // Feature selection sees the training rows only.
        let top = select_top_k(&xtr, &ytr, preset.top_k);
        for &j in &top {
            selected_counts[j] += 1;
        }
        let all: Vec<usize> = (0..problem.feature_names.len()).collect();
        for (set, keep) in [("all features", &all), ("top-k features", &top)] {
            let (xtr_s, xte_s) = (columns(&xtr, keep), columns(&xte, keep));
            for &model in models {
                if stop.load(Ordering::Relaxed) {
                    stopped = true;
                    break 'splits;
                }
                let t = Instant::now();
                let rows = (&xtr_s[..], &ytr[..], &xte_s[..]);
                let Some((pred, found)) =
                    predict(model, spec, rows, split_seed, &device, events, stop)?
                else {
                    stopped = true;
                    break 'splits;
                };
                if matches!(model, Experiment::Nn | Experiment::NnDeep) {
                    coached.entry((model, set)).or_default().add(s + 1, found);
                }
                let key = (model, set);
                *seconds.entry(key).or_default() += t.elapsed().as_secs_f64();
                predicted.add(s, split_seed, &parts[1], &yte, &run_name(&key), &pred);
                let e = errors.entry(key).or_default();
                e.entry(Metric::Mae)
                    .or_default()
                    .push(reg::mae(&pred, &yte));
                e.entry(Metric::Mse)
                    .or_default()
                    .push(reg::mse(&pred, &yte));
                e.entry(Metric::Rmse)
                    .or_default()
                    .push(reg::rmse(&pred, &yte));
                e.entry(Metric::R2).or_default().push(reg::r2(&pred, &yte));
            }
        }
    }

    let table = if predicted.is_empty() {
        None
    } else {
        spec.run
            .write_predictions(&record, "splits.csv", |path| predicted.write(path))?
    };
    for &model in models {
        for set in ["all features", "top-k features"] {
            let key = (model, set);
            let Some(e) = errors.get(&key) else { continue };
            let mut run = ModelRun::new(run_name(&key));
            run.predictions = table.clone();
            describe(&mut run, model, set, spec, problem.feature_names.len());
            if stopped {
                run.outcome = crate::train::Outcome::Stopped;
            }
            for (metric, values) in e {
                let ms = MeanStd::of(values);
                run.set_test(*metric, ms.mean);
                run.set_repeated(*metric, ms);
            }
            run.seconds = seconds[&key];
            if let Some(c) = coached.get(&key) {
                run.diagnoses = c.diagnoses(splits);
            }
            record.push_run(run, events);
        }
    }
    record.notes.push(chosen_note(
        &selected_counts,
        &problem.feature_names,
        preset.top_k,
        splits,
    ));
    record.seconds = started.elapsed().as_secs_f64();
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f_score_ranks_the_informative_feature_first() {
        let x: Vec<Vec<f64>> = (0..50)
            .map(|i| vec![(i % 7) as f64, i as f64, ((i * 13) % 11) as f64])
            .collect();
        let y: Vec<f64> = (0..50).map(|i| 2.0 * i as f64 + 1.0).collect();
        assert_eq!(select_top_k(&x, &y, 1), vec![1]);
        let f = f_scores(&x, &y);
        assert!(f[1] > 1e6 && f[0] < f[1]);
    }
}
