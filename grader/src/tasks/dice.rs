//! segmentation/dice: Dice per class, the metric the segmentation part reports per tissue
//! class. Compared with the engine's `dice_per_class`, edge cases included.

use super::{Call, Ctx, Outcome, Request, Task, close_opt, score_cases};
use crate::challenge::CheckSpec;
use petri_engine::Result;
use petri_engine::metrics::segmentation::dice_per_class;
use petri_engine::rng::Rng;
use serde_json::{Value, json};

pub struct Dice;

impl Task for Dice {
    harness!("dice");

    fn grade(&self, ctx: &Ctx, checks: &[&CheckSpec], call: &mut Call) -> Result<Outcome> {
        let mut rng = Rng::derive(ctx.seed, "dice");
        let mut cases: Vec<(Vec<u8>, Vec<u8>, usize)> =
            vec![(vec![0, 0, 1, 1, 1, 2], vec![0, 1, 1, 1, 2, 2], 3)];
        for _ in 0..10 {
            let classes = 2 + rng.below(4);
            let n = 1 + rng.below(400);
            let truth: Vec<u8> = (0..n).map(|_| rng.below(classes) as u8).collect();
            let pred = truth
                .iter()
                .map(|&t| {
                    if rng.bernoulli(0.7) {
                        t
                    } else {
                        rng.below(classes) as u8
                    }
                })
                .collect();
            cases.push((pred, truth, classes));
        }
        // Edge cases: a class in neither mask (undefined), a class only in the truth (0),
        // a perfect prediction, an empty image.
        cases.push((vec![0, 0, 1, 1], vec![0, 0, 1, 1], 4));
        cases.push((vec![0, 0, 0, 0], vec![0, 0, 2, 2], 3));
        cases.push((vec![1, 1, 1], vec![1, 1, 1], 2));
        cases.push((vec![], vec![], 2));
        let req = json!({ "cases": cases.iter().map(|(p, t, k)| json!({ "pred": p, "truth": t, "classes": k })).collect::<Vec<_>>() });
        let answers = call(&Request::json(req));
        let judge = |i: usize, a: &Value| {
            let (p, t, k) = &cases[i];
            close_opt(&a["dice"], &dice_per_class(p, t, *k), 1e-9)
        };
        let mut out = Outcome::default();
        let n = cases.len();
        let groups = [
            ("example", vec![0]),
            ("random", (1..11).collect()),
            ("edge-cases", (11..n).collect()),
        ];
        score_cases(&mut out, checks, &groups, &answers, &judge);
        Ok(out)
    }
}
