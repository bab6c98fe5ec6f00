//! classification/confusion-matrix: the student writes the confusion matrix (rows = true
//! class, columns = predicted) and per-class recall, the numbers behind "accuracy hides the
//! minority class".

use super::{Call, Ctx, Outcome, Request, Task, close_opt, score_cases};
use crate::challenge::CheckSpec;
use petri_engine::Result;
use petri_engine::metrics::classification as cls;
use petri_engine::rng::Rng;
use serde_json::{Value, json};

pub struct ConfusionMatrix;

struct Case {
    truth: Vec<usize>,
    pred: Vec<usize>,
    classes: usize,
}

fn cases(seed: u64) -> (Vec<Case>, Vec<(&'static str, Vec<usize>)>) {
    let mut out = vec![
        // The statement's example.
        Case {
            truth: vec![0, 0, 1, 1, 2],
            pred: vec![0, 1, 1, 1, 0],
            classes: 3,
        },
    ];
    let mut rng = Rng::derive(seed, "confusion");
    for i in 0..12 {
        let classes = 2 + rng.below(8);
        let n = 1 + rng.below(200);
        // Some cases leave a class out of the truth, so its recall is undefined.
        let missing = if i % 3 == 0 {
            Some(rng.below(classes))
        } else {
            None
        };
        let draw = |rng: &mut Rng| loop {
            let c = rng.below(classes);
            if Some(c) != missing {
                return c;
            }
        };
        let truth: Vec<usize> = (0..n).map(|_| draw(&mut rng)).collect();
        let pred: Vec<usize> = truth
            .iter()
            .map(|&t| {
                if rng.bernoulli(0.6) {
                    t
                } else {
                    rng.below(classes)
                }
            })
            .collect();
        out.push(Case {
            truth,
            pred,
            classes,
        });
    }
    let hidden: Vec<usize> = (1..out.len()).collect();
    (
        out,
        vec![
            ("example", vec![0]),
            ("matrix", hidden.clone()),
            ("recall", hidden),
        ],
    )
}

impl Task for ConfusionMatrix {
    harness!("confusion_matrix");

    fn grade(&self, ctx: &Ctx, checks: &[&CheckSpec], call: &mut Call) -> Result<Outcome> {
        let (cases, groups) = cases(ctx.seed);
        let req = json!({ "cases": cases.iter().map(|c| json!({
            "truth": c.truth, "pred": c.pred, "classes": c.classes })).collect::<Vec<_>>() });
        let answers = call(&Request::json(req));
        let expected = |i: usize| {
            let c = &cases[i];
            cls::confusion_matrix(&c.pred, &c.truth, c.classes)
        };
        let mut out = Outcome::default();
        let matrix_ok = |i: usize, a: &Value| {
            let got: Vec<Vec<u64>> = serde_json::from_value(a["matrix"].clone())
                .map_err(|_| "the matrix is not a list of rows of counts".to_string())?;
            let want = expected(i);
            if got == want {
                Ok(())
            } else if got.len() == want.len() && transpose(&got) == want {
                Err("rows and columns are swapped: rows are the true class".into())
            } else {
                Err(format!("expected {want:?}, got {got:?}")
                    .chars()
                    .take(200)
                    .collect())
            }
        };
        let recall_ok = |i: usize, a: &Value| {
            close_opt(&a["recall"], &cls::per_class_recall(&expected(i)), 1e-9)
        };
        let both = |i: usize, a: &Value| matrix_ok(i, a).and_then(|_| recall_ok(i, a));
        score_cases(&mut out, checks, &groups[..1], &answers, &both);
        score_cases(&mut out, checks, &groups[1..2], &answers, &matrix_ok);
        score_cases(&mut out, checks, &groups[2..], &answers, &recall_ok);
        Ok(out)
    }
}

fn transpose(m: &[Vec<u64>]) -> Vec<Vec<u64>> {
    (0..m.first().map_or(0, Vec::len))
        .map(|j| m.iter().map(|r| r[j]).collect())
        .collect()
}
