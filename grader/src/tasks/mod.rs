//! What each challenge asks and how its answers are scored. A task makes the requests (inputs
//! only: labels of held-out data stay here), sends them to the submission, and computes every
//! score itself from the answers. Code tasks also own the harness `main.rs` that calls the
//! student's functions; config tasks own the `petri grade-worker` side that trains.

/// A code task's harnesses: `harness!("dice")` is harness/common.rs + harness/dice.rs for Rust
/// answers, harness/python/common.py + harness/python/dice.py for Python ones. Both write the
/// same answers for the same request.
macro_rules! harness {
    ($name:literal) => {
        fn harness(&self, language: crate::language::Language) -> Option<&'static str> {
            Some(match language {
                crate::language::Language::Rust => concat!(
                    include_str!("../../harness/common.rs"),
                    include_str!(concat!("../../harness/", $name, ".rs"))
                ),
                crate::language::Language::Python => concat!(
                    include_str!("../../harness/python/common.py"),
                    include_str!(concat!("../../harness/python/", $name, ".py")),
                    "\n\nmain()\n"
                ),
            })
        }
    };
}

mod class_weights;
mod confusion;
mod dice;
mod feature_selection;
mod geometry;
mod image_config;
mod paired_crop;
mod regression_config;

use crate::challenge::{Challenge, CheckSpec};
use crate::language::Language;
use crate::result::{Leaderboard, Lost, Refusal};
use petri_engine::Result;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub struct Ctx<'a> {
    pub challenge: &'a Challenge,
    pub data_dir: &'a Path,
    /// The student's files (name, bytes), for tasks that read them (config challenges).
    pub files: &'a [(String, Vec<u8>)],
    /// Seed of every random input, fixed so a submission graded twice gets the same score.
    pub seed: u64,
}

/// One request: `request.json` plus data files written beside it.
pub struct Request {
    pub json: Value,
    pub files: Vec<(String, Vec<u8>)>,
}

impl Request {
    pub fn json(json: Value) -> Request {
        Request {
            json,
            files: Vec::new(),
        }
    }
}

/// Sends a request to the submission; `Err` is what its run cost it, and why.
pub type Call<'a> = dyn FnMut(&Request) -> std::result::Result<Value, Refusal> + 'a;

/// One check's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Credit {
    /// In [0, 1].
    pub credit: f64,
    /// Why, for the student.
    pub why: String,
    /// What the missing credit was lost to (read when `credit` < 1).
    pub lost: Lost,
    /// Seconds the submission spent on the check's cases, where measured.
    pub seconds: Option<f64>,
}

impl Credit {
    /// No credit, for `lost`.
    pub fn lost(lost: Lost, why: impl Into<String>) -> Credit {
        Credit {
            credit: 0.0,
            why: why.into(),
            lost,
            seconds: None,
        }
    }
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// Check id -> its credit.
    pub credits: BTreeMap<String, Credit>,
    pub leaderboard: Option<Leaderboard>,
    pub notes: Vec<String>,
}

impl Outcome {
    /// A judged check: whatever credit is missing was lost to wrong answers.
    pub fn set(&mut self, id: &str, credit: f64, why: impl Into<String>) {
        self.credits.insert(
            id.to_string(),
            Credit {
                credit,
                why: why.into(),
                lost: Lost::WrongAnswer,
                seconds: None,
            },
        );
    }

    /// A check the submission's run gave no answers for.
    pub fn refuse(&mut self, id: &str, refusal: &Refusal) {
        self.credits.insert(
            id.to_string(),
            Credit::lost(refusal.lost, refusal.why.clone()),
        );
    }

    /// Every wanted check gets 0 with the same reason (the submission did not run).
    pub fn fail_all(&mut self, checks: &[&CheckSpec], refusal: &Refusal) {
        for c in checks {
            self.refuse(&c.id, refusal);
        }
    }
}

pub trait Task: Sync {
    /// Source of the harness that calls an answer in `language` (code challenges only): the
    /// Rust harness's `main.rs`, or the Python harness script.
    fn harness(&self, _language: Language) -> Option<&'static str> {
        None
    }

    /// Runs the wanted checks. `Err` only when the grader itself cannot go on (data missing).
    fn grade(&self, ctx: &Ctx, checks: &[&CheckSpec], call: &mut Call) -> Result<Outcome>;

    /// The config side, run by `petri grade-worker` inside the sandbox: reads `request.json`
    /// and the student's files in `dir`, writes `response.json`.
    fn work(&self, _dir: &Path) -> Result<()> {
        Err(petri_engine::Error::invalid("this task has no worker"))
    }
}

pub fn find(name: &str) -> Option<&'static dyn Task> {
    Some(match name {
        "confusion-matrix" => &confusion::ConfusionMatrix,
        "image-config" => &image_config::ImageConfig,
        "flip-rotate" => &geometry::FlipRotate,
        "paired-crop" => &paired_crop::PairedCrop,
        "dice" => &dice::Dice,
        "class-weights" => &class_weights::ClassWeights,
        "feature-selection" => &feature_selection::FeatureSelection,
        "regression-config" => &regression_config::RegressionConfig,
        _ => return None,
    })
}

/// Parses the student's `experiment.toml` with `parse`: the `valid` check scores the result,
/// and when it fails every check gets the parser's reason (`None`: nothing more to grade).
pub fn parse_config<T>(
    ctx: &Ctx,
    checks: &[&CheckSpec],
    out: &mut Outcome,
    parse: impl Fn(&str) -> std::result::Result<T, String>,
) -> Option<T> {
    let text = ctx
        .files
        .iter()
        .find(|(n, _)| n == "experiment.toml")
        .and_then(|(_, b)| std::str::from_utf8(b).ok())
        .ok_or_else(|| "experiment.toml is missing or not text".to_string());
    match text.and_then(parse) {
        Ok(v) => {
            out.set("valid", 1.0, "experiment.toml is valid");
            Some(v)
        }
        Err(why) => {
            out.fail_all(checks, &Refusal::new(Lost::DoesNotBuild, why));
            None
        }
    }
}

pub fn wants(checks: &[&CheckSpec], id: &str) -> bool {
    checks.iter().any(|c| c.id == id)
}

/// Scores groups of cases answered in one request: `groups` maps a check id to the indices of
/// its cases; `judge(i, answer)` says whether answer `i` is right (or why not).
pub fn score_cases(
    out: &mut Outcome,
    checks: &[&CheckSpec],
    groups: &[(&str, Vec<usize>)],
    answers: &std::result::Result<Value, Refusal>,
    judge: &dyn Fn(usize, &Value) -> std::result::Result<(), String>,
) {
    for (id, cases) in groups {
        let Some(spec) = checks.iter().find(|c| c.id == *id) else {
            continue;
        };
        let (list, seconds) = match answers {
            Err(refusal) => {
                out.refuse(id, refusal);
                continue;
            }
            Ok(v) => (
                v.get("answers").and_then(Value::as_array),
                v.get("seconds").and_then(Value::as_array),
            ),
        };
        let Some(list) = list else {
            out.refuse(
                id,
                &Refusal::new(Lost::NoAnswer, "the harness wrote no answers"),
            );
            continue;
        };
        // The harness times each case where it runs; a check's time is its cases'.
        let timed: Option<f64> = seconds.and_then(|s| {
            cases
                .iter()
                .map(|&i| s.get(i).and_then(Value::as_f64))
                .sum::<Option<f64>>()
        });
        let mut right = 0;
        let mut first_wrong = None;
        // Cases whose call crashed (the harness caught a panic) and cases answered wrongly:
        // the points are lost to a crash only when no answer was simply wrong.
        let (mut crashed, mut wrong) = (0, 0);
        for &i in cases {
            let verdict = match list.get(i) {
                None => Err("no answer".to_string()),
                Some(a) => match a.get("error").and_then(Value::as_str) {
                    Some(e) => {
                        crashed += 1;
                        Err(e.to_string())
                    }
                    None => judge(i, a).inspect_err(|_| wrong += 1),
                },
            };
            match verdict {
                Ok(()) => right += 1,
                Err(why) if first_wrong.is_none() => first_wrong = Some(why),
                Err(_) => {}
            }
        }
        let n = cases.len().max(1);
        let mut msg = format!("{right} of {n} cases right");
        if let Some(why) = first_wrong {
            // Hidden checks say why without revealing their inputs.
            let why: String = why.chars().take(300).collect();
            msg.push_str(&format!("; first wrong case: {why}"));
        }
        let _ = spec;
        out.set(id, right as f64 / n as f64, msg);
        if let Some(c) = out.credits.get_mut(*id) {
            c.seconds = timed;
            if crashed > 0 && wrong == 0 {
                c.lost = Lost::Crashed;
            } else if right + crashed + wrong < cases.len() && wrong == 0 {
                c.lost = Lost::NoAnswer;
            }
        }
    }
}

/// Compares float lists with a tolerance; `None` entries must match exactly.
pub fn close_opt(got: &Value, want: &[Option<f64>], tol: f64) -> std::result::Result<(), String> {
    let got: Vec<Option<f64>> = serde_json::from_value(got.clone())
        .map_err(|_| format!("expected a list of numbers or nulls, got {}", brief(got)))?;
    if got.len() != want.len() {
        return Err(format!("expected {} values, got {}", want.len(), got.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = match (g, w) {
            (None, None) => true,
            (Some(a), Some(b)) => (a - b).abs() <= tol * (1.0 + b.abs()),
            _ => false,
        };
        if !ok {
            return Err(format!(
                "value {i}: expected {}, got {}",
                show(*w),
                show(*g)
            ));
        }
    }
    Ok(())
}

fn show(v: Option<f64>) -> String {
    v.map_or("None".into(), |x| format!("{x:.4}"))
}

pub fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}...", &s[..80])
    } else {
        s
    }
}

/// Mean of a list (NaN when empty).
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// The metric check `id` scored from `value` with its floor and target.
pub fn metric(out: &mut Outcome, checks: &[&CheckSpec], id: &str, value: f64, what: &str) {
    if let Some(spec) = checks.iter().find(|c| c.id == id) {
        let credit = spec.credit(value);
        out.set(
            id,
            credit,
            format!(
                "{what} = {value:.4} (no credit at {}, full at {})",
                spec.floor.unwrap_or(f64::NAN),
                spec.target.unwrap_or(f64::NAN)
            ),
        );
    }
}
