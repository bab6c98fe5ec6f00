//! segmentation/class-weights: median-frequency class weights from training masks, the fix for
//! a loss that rare classes (boundaries, hair) cannot move. Compared with the engine's.

use super::{Call, Ctx, Outcome, Request, Task, close_opt, score_cases};
use crate::challenge::CheckSpec;
use petri_engine::Result;
use petri_engine::experiment::segment::median_frequency_weights;
use petri_engine::rng::Rng;
use serde_json::{Value, json};

pub struct ClassWeights;

impl Task for ClassWeights {
    harness!("class_weights");

    fn grade(&self, ctx: &Ctx, checks: &[&CheckSpec], call: &mut Call) -> Result<Outcome> {
        let mut rng = Rng::derive(ctx.seed, "class-weights");
        let mut cases: Vec<(Vec<Vec<u8>>, usize)> =
            vec![(vec![vec![0, 0, 0, 1], vec![0, 0, 1, 2]], 3)];
        for _ in 0..8 {
            let classes = 2 + rng.below(4);
            // Skewed class frequencies, like background vs. boundary pixels.
            let p: Vec<f64> = (0..classes).map(|c| 0.6f64.powi(c as i32 * 2)).collect();
            let total: f64 = p.iter().sum();
            let masks = (0..1 + rng.below(5))
                .map(|_| {
                    (0..1 + rng.below(300))
                        .map(|_| {
                            let mut u = rng.f64() * total;
                            let mut c = 0;
                            while c + 1 < classes && u > p[c] {
                                u -= p[c];
                                c += 1;
                            }
                            c as u8
                        })
                        .collect()
                })
                .collect();
            cases.push((masks, classes));
        }
        // A class that never occurs weighs 0; so does a class beyond what the masks hold.
        cases.push((vec![vec![0, 0, 0, 2, 2]], 3));
        cases.push((vec![vec![1, 1, 1, 1]], 4));
        let req = json!({ "cases": cases.iter().map(|(m, k)| json!({ "masks": m, "classes": k })).collect::<Vec<_>>() });
        let answers = call(&Request::json(req));
        let judge = |i: usize, a: &Value| {
            let (masks, k) = &cases[i];
            let want: Vec<Option<f64>> =
                median_frequency_weights(masks.iter().map(Vec::as_slice), *k)
                    .into_iter()
                    .map(|w| Some(w as f64))
                    .collect();
            close_opt(&a["weights"], &want, 1e-4)
        };
        let mut out = Outcome::default();
        let n = cases.len();
        let groups = [
            ("example", vec![0]),
            ("imbalanced", (1..9).collect()),
            ("absent-classes", (9..n).collect()),
        ];
        score_cases(&mut out, checks, &groups, &answers, &judge);
        Ok(out)
    }
}
