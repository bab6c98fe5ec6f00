//! regression/feature-selection: choose the k most informative features from the training
//! rows only. The student's function never sees the test rows; the grader fits a linear model
//! on the chosen columns and measures it on those held-out rows itself.

use super::{Call, Ctx, Outcome, Request, Task, mean, metric, score_cases, wants};
use crate::challenge::CheckSpec;
use crate::result::Leaderboard;
use petri_engine::Result;
use petri_engine::data::breast_cancer::BreastCancer;
use petri_engine::data::split::random_split;
use petri_engine::experiment::regression::{columns, fit_classic, select_top_k};
use petri_engine::metrics::regression::rmse;
use serde_json::{Value, json};

pub struct FeatureSelection;

const K: usize = 5;
const SPLITS: usize = 5;

struct Split {
    x_train: Vec<Vec<f64>>,
    y_train: Vec<f64>,
    x_test: Vec<Vec<f64>>,
    y_test: Vec<f64>,
}

fn splits(seed: u64) -> Result<Vec<Split>> {
    let p = BreastCancer::embedded().radius_regression();
    (0..SPLITS as u64)
        .map(|s| {
            let parts = random_split(p.y.len(), &[2.0 / 3.0, 1.0 / 3.0], seed + s)?;
            let rows = |idx: &[usize]| -> (Vec<Vec<f64>>, Vec<f64>) {
                (
                    idx.iter().map(|&i| p.x[i].clone()).collect(),
                    idx.iter().map(|&i| p.y[i]).collect(),
                )
            };
            let (x_train, y_train) = rows(&parts[0]);
            let (x_test, y_test) = rows(&parts[1]);
            Ok(Split {
                x_train,
                y_train,
                x_test,
                y_test,
            })
        })
        .collect()
}

fn chosen(a: &Value, features: usize) -> std::result::Result<Vec<usize>, String> {
    let got: Vec<usize> = serde_json::from_value(a["features"].clone())
        .map_err(|_| "expected a list of column indices".to_string())?;
    let mut unique = got.clone();
    unique.sort_unstable();
    unique.dedup();
    if got.len() != K || unique.len() != K {
        return Err(format!("expected {K} different columns, got {got:?}"));
    }
    if let Some(bad) = got.iter().find(|&&j| j >= features) {
        return Err(format!(
            "column {bad} does not exist (there are {features})"
        ));
    }
    Ok(unique)
}

impl Task for FeatureSelection {
    harness!("feature_selection");

    fn grade(&self, ctx: &Ctx, checks: &[&CheckSpec], call: &mut Call) -> Result<Outcome> {
        let splits = splits(ctx.seed)?;
        let features = splits[0].x_train[0].len();
        let req = json!({ "cases": splits.iter().map(|s| json!({
            "x_train": s.x_train, "y_train": s.y_train, "k": K })).collect::<Vec<_>>() });
        let answers = call(&Request::json(req));
        let mut out = Outcome::default();
        let all: Vec<usize> = (0..SPLITS).collect();
        let valid = |_: usize, a: &Value| chosen(a, features).map(|_| ());
        let ranked = |i: usize, a: &Value| {
            let got = chosen(a, features)?;
            let s = &splits[i];
            let want = select_top_k(&s.x_train, &s.y_train, K);
            if got == want {
                Ok(())
            } else {
                Err("not the top k by F-score on this split's training rows".to_string())
            }
        };
        score_cases(
            &mut out,
            checks,
            &[("valid", all.clone())],
            &answers,
            &valid,
        );
        score_cases(&mut out, checks, &[("ranking", all)], &answers, &ranked);
        if wants(checks, "rmse") {
            let list = answers
                .as_ref()
                .ok()
                .and_then(|v| v.get("answers"))
                .and_then(Value::as_array);
            let mut errors = Vec::new();
            for (i, s) in splits.iter().enumerate() {
                let Some(keep) = list
                    .and_then(|l| l.get(i))
                    .and_then(|a| chosen(a, features).ok())
                else {
                    break;
                };
                let pred = fit_classic(
                    petri_engine::experiment::Experiment::Linear,
                    &columns(&s.x_train, &keep),
                    &s.y_train,
                    &columns(&s.x_test, &keep),
                    ctx.seed,
                    1,
                )?;
                errors.push(rmse(&pred, &s.y_test));
            }
            if errors.len() < SPLITS {
                match answers.as_ref() {
                    Err(refusal) => out.refuse("rmse", refusal),
                    Ok(_) => out.set("rmse", 0.0, "no valid selection on every split"),
                }
            } else {
                let value = mean(&errors);
                metric(
                    &mut out,
                    checks,
                    "rmse",
                    value,
                    "held-out RMSE of a linear model on your columns (mean over 5 splits)",
                );
                out.leaderboard = Some(Leaderboard {
                    name: "RMSE".into(),
                    value,
                    order: crate::result::Order::Asc,
                });
            }
        }
        Ok(out)
    }
}
