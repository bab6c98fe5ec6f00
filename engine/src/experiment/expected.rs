//! What each part's lesson says its runs should show ("What to expect"), checked against a
//! finished record: one sentence per claim, saying whether this run shows it and the numbers
//! that decide it. The claims quote the lessons; `petri content check` verifies that each
//! quoted phrase is still in its lesson.

use super::Suite;
use super::record::ExperimentRecord;
use serde::{Deserialize, Serialize};

/// One claim of a lesson, checked on one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    /// The lesson's words.
    pub claim: String,
    pub shown: bool,
    /// The numbers that decide it, e.g. "unmodified 0.821, augmented 0.795 test accuracy".
    pub evidence: String,
    /// Seeds the numbers are means over (1: a single run).
    #[serde(default = "one")]
    pub seeds: usize,
}

fn one() -> usize {
    1
}

impl Expected {
    /// The sentence students read.
    pub fn sentence(&self) -> String {
        if self.seeds > 1 {
            let verdict = if self.shown {
                "show it"
            } else {
                "do not show it"
            };
            format!(
                "The lesson expects: {}. The means over {} seeds {verdict} ({}).",
                self.claim, self.seeds, self.evidence
            )
        } else if self.shown {
            format!(
                "The lesson expects: {}. This run shows it ({}).",
                self.claim, self.evidence
            )
        } else {
            format!(
                "The lesson expects: {}. This run does not show it ({}); single runs are noisy: \
                 repeat it over seeds (--seeds 3) before concluding.",
                self.claim, self.evidence
            )
        }
    }
}

/// Each claim as (suite, lesson part name, phrase quoted from its lesson); the sentences below
/// use these words.
pub const CLAIMS: [(Suite, &str, &str); 7] = [
    (
        Suite::Classification,
        "classification",
        "fastest per epoch but clearly worse",
    ),
    (
        Suite::Augmentation,
        "augmentation",
        "Augmented-only is worse",
    ),
    (Suite::Augmentation, "augmentation", "Combined is best"),
    (
        Suite::Segmentation,
        "segmentation",
        "to be the weakest class by Dice",
    ),
    (Suite::Regression, "regression", "Linear regression wins"),
    (
        Suite::Regression,
        "regression",
        "forest beats the single tree",
    ),
    (
        Suite::Regression,
        "regression",
        "Top-5 features help the tree and the forest",
    ),
];

/// The claims of `record`'s suite that its runs can decide (a claim about runs that did not
/// run, or stopped early, is left out).
pub fn check(record: &ExperimentRecord) -> Vec<Expected> {
    let test = |run: &str, metric: &str| -> Option<f64> {
        record
            .runs
            .iter()
            .find(|r| r.name == run && r.outcome == crate::train::Outcome::Finished)
            .and_then(|r| r.test.get(metric).copied())
    };
    let claim = |i: usize| CLAIMS[i].2.to_string();
    let seeds = record.seeds.len().max(1);
    let mut out = Vec::new();
    match record.part {
        Suite::Classification => {
            let acc = |r| test(r, "accuracy");
            if let (Some(a), Some(b), Some(c)) = (acc("scratch"), acc("frozen"), acc("finetune")) {
                out.push(Expected {
                    seeds,
                    claim: "B (frozen ImageNet features) is clearly worse than A (scratch) and C (fine-tuning)"
                        .into(),
                    shown: b < a.min(c),
                    evidence: format!(
                        "test accuracy: scratch {a:.3}, frozen {b:.3}, finetune {c:.3}"
                    ),
                });
            }
        }
        Suite::Augmentation => {
            let acc = |r| test(r, "accuracy");
            let (u, a, c) = (acc("unmodified"), acc("augmented"), acc("combined"));
            if let (Some(u), Some(a)) = (u, a) {
                out.push(Expected {
                    seeds,
                    claim: claim(1),
                    shown: a < u,
                    evidence: format!("test accuracy: unmodified {u:.3}, augmented {a:.3}"),
                });
            }
            if let (Some(u), Some(a), Some(c)) = (u, a, c) {
                out.push(Expected {
                    seeds,
                    claim: claim(2),
                    shown: c > u && c > a,
                    evidence: format!(
                        "test accuracy: combined {c:.3}, unmodified {u:.3}, augmented {a:.3}"
                    ),
                });
            }
        }
        Suite::Segmentation => {
            let hair = record.class_names.iter().position(|n| n == "hair");
            let dice = record
                .runs
                .iter()
                .find(|r| r.outcome == crate::train::Outcome::Finished)
                .and_then(|r| r.per_class.get("dice"));
            if let (Some(h), Some(dice)) = (hair, dice)
                && let Some(Some(hair_dice)) = dice.get(h)
            {
                let lowest = dice
                    .iter()
                    .enumerate()
                    .filter_map(|(k, d)| d.map(|d| (k, d)))
                    .min_by(|x, y| x.1.total_cmp(&y.1));
                let evidence: Vec<String> = dice
                    .iter()
                    .zip(&record.class_names)
                    .filter_map(|(d, n)| d.map(|d| format!("{n} {d:.3}")))
                    .collect();
                out.push(Expected {
                    seeds,
                    claim: format!("hair {}", claim(3)),
                    shown: lowest.is_some_and(|(k, _)| k == h),
                    evidence: format!("Dice: {} (hair {hair_dice:.3})", evidence.join(", ")),
                });
            }
        }
        Suite::Regression => {
            let rmse = |model: &str, set: &str| test(&format!("{model} ({set})"), "rmse");
            let all = "all features";
            let models: Vec<(&str, f64)> = ["linear", "tree", "forest", "nn", "nn-deep"]
                .into_iter()
                .filter_map(|m| rmse(m, all).map(|v| (m, v)))
                .collect();
            if let Some(&(_, linear)) = models.iter().find(|(m, _)| *m == "linear")
                && models.len() > 1
            {
                let others: Vec<String> =
                    models.iter().map(|(m, v)| format!("{m} {v:.3}")).collect();
                out.push(Expected {
                    seeds,
                    claim: format!("{} on all features", claim(4)),
                    shown: models.iter().all(|&(m, v)| m == "linear" || linear < v),
                    evidence: format!("RMSE on all features: {}", others.join(", ")),
                });
            }
            if let (Some(f), Some(t)) = (rmse("forest", all), rmse("tree", all)) {
                out.push(Expected {
                    seeds,
                    claim: format!("the {}", claim(5)),
                    shown: f < t,
                    evidence: format!("RMSE: forest {f:.3}, tree {t:.3}"),
                });
            }
            // The top-k run names carry k ("tree (top-5 features)").
            let top = |model: &str| {
                record
                    .runs
                    .iter()
                    .find(|r| r.name.starts_with(&format!("{model} (top-")))
                    .and_then(|r| r.test.get("rmse").copied())
            };
            if let (Some(ta), Some(tt), Some(fa), Some(ft)) = (
                rmse("tree", all),
                top("tree"),
                rmse("forest", all),
                top("forest"),
            ) {
                out.push(Expected {
                    seeds,
                    claim: claim(6),
                    shown: tt < ta && ft < fa,
                    evidence: format!(
                        "RMSE all -> top-k: tree {ta:.3} -> {tt:.3}, forest {fa:.3} -> {ft:.3}"
                    ),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Profile;
    use crate::experiment::record::{DataRef, ModelRun};

    fn record(part: Suite, runs: &[(&str, &str, f64)]) -> ExperimentRecord {
        let mut r = ExperimentRecord::new(
            part,
            Profile::Quick,
            0,
            "cpu",
            DataRef {
                path: "x".into(),
                sha256: None,
                description: String::new(),
            },
            serde_json::json!({}),
        );
        for (name, metric, v) in runs {
            let mut m = ModelRun::new(*name);
            m.test.insert(metric.to_string(), *v);
            r.runs.push(m);
        }
        r
    }

    #[test]
    fn claims_are_decided_by_the_numbers_and_skipped_without_them() {
        let r = record(
            Suite::Augmentation,
            &[
                ("unmodified", "accuracy", 0.82),
                ("augmented", "accuracy", 0.79),
                ("combined", "accuracy", 0.80),
            ],
        );
        let e = check(&r);
        assert_eq!(e.len(), 2);
        assert!(
            e[0].shown && e[0].claim == "Augmented-only is worse",
            "{e:?}"
        );
        assert!(
            !e[1].shown && e[1].evidence.contains("combined 0.800"),
            "{e:?}"
        );
        assert!(
            e[1].sentence().contains("does not show it") && e[1].sentence().contains("--seeds 3")
        );

        // Frozen never ran (no ImageNet weights): nothing to say about it.
        let r = record(Suite::Classification, &[("scratch", "accuracy", 0.8)]);
        assert!(check(&r).is_empty());

        let r = record(
            Suite::Regression,
            &[
                ("linear (all features)", "rmse", 0.066),
                ("tree (all features)", "rmse", 0.27),
                ("forest (all features)", "rmse", 0.16),
                ("tree (top-5 features)", "rmse", 0.2),
                ("forest (top-5 features)", "rmse", 0.12),
            ],
        );
        let e = check(&r);
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e.iter().all(|x| x.shown), "{e:?}");
    }
}
