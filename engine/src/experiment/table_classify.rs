//! Classes from table rows (`petri train` on a CSV whose target is a category): logistic
//! regression, a decision tree and a random forest (smartcore) against a network (burn), each
//! over repeated random splits, scaled with training-row statistics only. Reports accuracy and
//! balanced accuracy (mean per-class recall) as mean ± std.

use super::predictions::TablePredictions;
use super::record::{DataRef, ExperimentRecord, ModelRun, file_sha256};
use super::regression::{Scaler, matrix, row_batch};
use super::spec::TableClassSpec;
use crate::metrics::classification as cls;
use crate::metrics::{MeanStd, Metric};
use crate::model::mlp::{Mlp, MlpConfig};
use crate::rng::Rng;
use crate::train::{Event, Learner, Metrics, TrainConfig, fit};
use crate::{Error, Result};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

struct RowLearner {
    x: Vec<f32>,
    y: Vec<i64>,
    features: usize,
}

impl Learner for RowLearner {
    type Model = Mlp;

    fn train_len(&self) -> usize {
        self.y.len()
    }

    fn batch_loss(&self, model: &Mlp, idx: &[usize], _rng: &mut Rng, device: &Device) -> Tensor<1> {
        let x = row_batch(&self.x, self.features, idx, device);
        let y: Vec<i64> = idx.iter().map(|&i| self.y[i]).collect();
        let y = Tensor::<1, Int>::from_data(TensorData::new(y, [idx.len()]), device);
        CrossEntropyLossConfig::new()
            .init(device)
            .forward(model.forward(x), y)
    }

    fn validate(&self, _model: &Mlp, _device: &Device) -> Metrics {
        Metrics::new()
    }
}

/// Class predictions for the test rows by `model`.
#[allow(clippy::too_many_arguments)]
fn predict(
    model: &str,
    xtr: &[Vec<f64>],
    ytr: &[i32],
    xte: &[Vec<f64>],
    classes: usize,
    config: &TrainConfig,
    hidden: &[usize],
    device: &Device,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
    coached: &mut Vec<crate::train::coach::Diagnosis>,
) -> Result<Option<Vec<usize>>> {
    let err = |e: smartcore::error::Failed| Error::invalid(format!("{model} failed to fit: {e}"));
    let scaler = Scaler::fit(xtr);
    let scaled = |x: &[Vec<f64>]| -> Vec<Vec<f64>> {
        let f = x[0].len();
        scaler
            .apply(x)
            .chunks(f)
            .map(|r| r.iter().map(|&v| v as f64).collect())
            .collect()
    };
    let (a, b) = (matrix(&scaled(xtr))?, matrix(&scaled(xte))?);
    let y = ytr.to_vec();
    let labels: Vec<i32> = match model {
        "logistic" => LogisticRegression::fit(&a, &y, LogisticRegressionParameters::default())
            .and_then(|m| m.predict(&b))
            .map_err(err)?,
        "tree" => {
            let p = DecisionTreeClassifierParameters {
                seed: Some(config.seed),
                ..Default::default()
            };
            DecisionTreeClassifier::fit(&a, &y, p)
                .and_then(|m| m.predict(&b))
                .map_err(err)?
        }
        "forest" => {
            let p = RandomForestClassifierParameters::default()
                .with_n_trees(100)
                .with_seed(config.seed);
            RandomForestClassifier::fit(&a, &y, p)
                .and_then(|m| m.predict(&b))
                .map_err(err)?
        }
        "nn" => {
            let features = xtr[0].len();
            let learner = RowLearner {
                x: scaler.apply(xtr),
                y: ytr.iter().map(|&v| v as i64).collect(),
                features,
            };
            let net = crate::model::init_seeded(device, config.seed, |d| {
                MlpConfig::new(features)
                    .with_hidden(hidden.to_vec())
                    .with_outputs(classes)
                    .init(d)
            });
            let fitted = fit(&learner, net, config, device, events, stop)?;
            if fitted.outcome == crate::train::Outcome::Stopped {
                return Ok(None);
            }
            coached.extend(fitted.diagnoses);
            let plain = device.clone().without_autodiff();
            let x = Tensor::<2>::from_data(
                TensorData::new(scaler.apply(xte), [xte.len(), features]),
                &plain,
            );
            let out: Vec<f32> = fitted
                .model
                .valid()
                .forward(x)
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 outputs");
            return Ok(Some(out.chunks(classes).map(cls::argmax).collect()));
        }
        other => return Err(Error::invalid(format!("unknown classifier '{other}'"))),
    };
    Ok(Some(labels.into_iter().map(|l| l as usize).collect()))
}

/// The table's target as class codes 0..k: the categorical levels, or the distinct numbers in
/// order, with a name for each.
struct Classes {
    codes: Vec<i32>,
    names: Vec<String>,
}

impl Classes {
    fn of(table: &crate::data::tabular::Table, target: &str, y_raw: &[f64]) -> Result<Classes> {
        let mut levels: Vec<f64> = y_raw.to_vec();
        levels.sort_by(f64::total_cmp);
        levels.dedup();
        if levels.len() < 2 {
            return Err(Error::invalid(format!(
                "'{target}' has a single value: nothing to classify"
            )));
        }
        let codes = y_raw
            .iter()
            .map(|v| levels.iter().position(|l| l == v).unwrap_or(0) as i32)
            .collect();
        let names = match table
            .categorical
            .iter()
            .find(|c| c.column.eq_ignore_ascii_case(target))
        {
            Some(c) => c.levels.clone(),
            None => levels.iter().map(|l| format!("{l}")).collect(),
        };
        Ok(Classes { codes, names })
    }

    fn count(&self) -> usize {
        self.names.len()
    }
}

/// Each model's test scores over the splits, what the coach saw of the network, and every
/// test prediction.
#[derive(Default)]
struct OverSplits {
    scores: BTreeMap<&'static str, BTreeMap<Metric, Vec<f64>>>,
    coached: crate::train::coach::OverSplits,
    predicted: TablePredictions,
    stopped: bool,
}

const MODELS: [&str; 4] = ["logistic", "tree", "forest", "nn"];

/// Runs logistic, tree, forest and nn over repeated splits of a table with a class target.
pub fn run(
    spec: &TableClassSpec,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<ExperimentRecord> {
    let started = Instant::now();
    let (path, target) = (&spec.data, &spec.target);
    let (table, dropped) = crate::data::tabular::read_csv_dropping_missing(path)?;
    let (names, x, y_raw) = table.features_and_target(target)?;
    let classes = Classes::of(&table, target, &y_raw)?;
    let mut record = new_record(spec, &names, classes.count(), dropped);
    record.class_names = classes.names.clone();
    let done = train_over_splits(spec, &x, &classes, events, stop)?;
    let table = if done.predicted.is_empty() {
        None
    } else {
        spec.run
            .write_predictions(&record, "splits.csv", |path| done.predicted.write(path))?
    };
    for (model, metrics) in done.scores {
        let mut run = ModelRun::new(model);
        run.predictions = table.clone();
        describe(
            &mut run,
            model,
            names.len(),
            classes.count(),
            &spec.nn_hidden,
        );
        if done.stopped {
            run.outcome = crate::train::Outcome::Stopped;
        }
        for (k, v) in metrics {
            let ms = MeanStd::of(&v);
            run.set_test(k, ms.mean);
            run.set_repeated(k, ms);
        }
        if model == "nn" {
            run.diagnoses = done.coached.diagnoses(spec.splits);
        }
        record.push_run(run, events);
    }
    record.seconds = started.elapsed().as_secs_f64();
    Ok(record)
}

fn nn_config(spec: &TableClassSpec, seed: u64) -> TrainConfig {
    TrainConfig {
        settings: spec.training,
        seed,
    }
}

/// The record before any model ran: the data and the settings.
fn new_record(
    spec: &TableClassSpec,
    names: &[String],
    classes: usize,
    dropped: usize,
) -> ExperimentRecord {
    let (path, target, splits) = (&spec.data, &spec.target, spec.splits);
    let mut description = format!(
        "{}: classify '{target}' ({classes} classes) from {} columns",
        path.display(),
        names.len()
    );
    if dropped > 0 {
        description.push_str(&format!(", {dropped} rows with missing values left out"));
    }
    spec.run.record(
        DataRef {
            path: path.display().to_string(),
            sha256: file_sha256(path),
            description,
        },
        serde_json::json!({
            "target": target,
            "splits": splits,
            "features": names,
            "nn_train": nn_config(spec, spec.run.seed),
            "nn_hidden": spec.nn_hidden,
            "test_fraction": spec.test_fraction,
            "split_rule": super::regression::split_rule(spec.test_fraction, spec.run.seed, splits),
            "split_seeds": (0..splits).map(|s| spec.run.seed.wrapping_add(s as u64)).collect::<Vec<_>>(),
        }),
    )
}

/// Every model on every split (a seeded random train/test split each), until the end or a stop.
fn train_over_splits(
    spec: &TableClassSpec,
    x: &[Vec<f64>],
    classes: &Classes,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
) -> Result<OverSplits> {
    let (y, splits) = (&classes.codes, spec.splits);
    let device = spec.run.device.training_device()?;
    let mut out = OverSplits::default();
    for s in 0..splits {
        events(Event::Note(format!("split {} of {splits}", s + 1)));
        let seed = spec.run.seed.wrapping_add(s as u64);
        let test = spec.test_fraction;
        let parts = crate::data::split::random_split(y.len(), &[1.0 - test, test], seed)?;
        let xtr: Vec<Vec<f64>> = parts[0].iter().map(|&i| x[i].clone()).collect();
        let ytr: Vec<i32> = parts[0].iter().map(|&i| y[i]).collect();
        let xte: Vec<Vec<f64>> = parts[1].iter().map(|&i| x[i].clone()).collect();
        let truth: Vec<usize> = parts[1].iter().map(|&i| y[i] as usize).collect();
        for model in MODELS {
            if stop.load(Ordering::Relaxed) {
                out.stopped = true;
                return Ok(out);
            }
            let mut found = Vec::new();
            let Some(pred) = predict(
                model,
                &xtr,
                &ytr,
                &xte,
                classes.count(),
                &nn_config(spec, seed),
                &spec.nn_hidden,
                &device,
                events,
                stop,
                &mut found,
            )?
            else {
                out.stopped = true;
                return Ok(out);
            };
            out.coached.add(s + 1, found);
            let as_f64 = |v: &[usize]| v.iter().map(|&c| c as f64).collect::<Vec<f64>>();
            out.predicted
                .add(s, seed, &parts[1], &as_f64(&truth), model, &as_f64(&pred));
            let recall =
                cls::per_class_recall(&cls::confusion_matrix(&pred, &truth, classes.count()));
            let e = out.scores.entry(model).or_default();
            e.entry(Metric::Accuracy)
                .or_default()
                .push(cls::accuracy(&pred, &truth));
            e.entry(Metric::BalancedAccuracy)
                .or_default()
                .push(crate::metrics::mean_defined(&recall).unwrap_or(f64::NAN));
        }
    }
    Ok(out)
}

/// A model run's architecture and parameter count, for the record.
fn describe(run: &mut ModelRun, model: &str, features: usize, classes: usize, hidden: &[usize]) {
    let mlp = MlpConfig::new(features)
        .with_hidden(hidden.to_vec())
        .with_outputs(classes);
    run.architecture = Some(match model {
        "logistic" => format!("logistic regression (smartcore defaults) on {features} features"),
        "tree" => format!("decision tree (smartcore defaults) on {features} features"),
        "forest" => format!(
            "random forest of 100 trees (smartcore defaults otherwise) on {features} features"
        ),
        _ => mlp.describe(),
    });
    if model == "nn" {
        run.trainable_params = Some(mlp.parameters());
    }
}
