//! Repeated seeds: a course experiment run once per seed (`--seeds N`: seeds S, S+1, ...),
//! combined into one record whose runs hold the mean and standard deviation of every test
//! metric over the seeds, and comparisons that say whether two runs differ by more than the
//! seed-to-seed spread. Each finished seed is kept in the resume state, so an interrupted
//! `--seeds` run continues with the seed it was in.

pub use super::findings::Comparison;
use super::record::{ExperimentRecord, ModelRun, SeedRun};
use super::{ResumeState, RunOptions, Suite};
use crate::metrics::{MeanStd, Metric};
use crate::train::{EpochRecord, Event, Metrics, Outcome};
use crate::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};

/// Checks a seed count before anything runs.
pub fn validate(options: &RunOptions) -> Result<()> {
    if options.seeds == 0 {
        return Err(Error::invalid(
            "--seeds 0: give the number of seeds to run, 1 or more",
        ));
    }
    if options.seeds > 1 && options.part == Suite::Regression {
        return Err(Error::invalid(
            "--seeds: the regression part already repeats every model over random splits (--limit N \
             sets how many) and reports mean ± std over them; run it without --seeds",
        ));
    }
    Ok(())
}

/// Runs one seed of an experiment (`experiment::run_one`).
pub type RunOne = dyn Fn(&RunOptions, &dyn Fn(Event), &AtomicBool) -> Result<ExperimentRecord>;

/// Runs the experiment of `options` once per seed with `run_one` and combines the records.
/// A stop ends the seed in training; the record then holds the seeds that ran.
pub fn run(
    options: &RunOptions,
    state: Option<&ResumeState>,
    events: &dyn Fn(Event),
    stop: &AtomicBool,
    run_one: &RunOne,
) -> Result<ExperimentRecord> {
    let n = options.seeds;
    let mut records = Vec::new();
    for i in 0..n {
        let seed = options.seed.wrapping_add(i as u64);
        events(Event::Note(format!("seed {seed} ({} of {n})", i + 1)));
        let done = state.map(|s| s.dir.join(format!("seed{seed}.record.json")));
        if options.resume
            && let Some(path) = done.as_ref().filter(|p| p.is_file())
        {
            let record = ExperimentRecord::load(path)?;
            events(Event::Note(format!(
                "seed {seed} had finished before the interruption: its results are kept"
            )));
            for run in &record.runs {
                events(Event::RunFinished {
                    run: Box::new(labelled(run.clone(), seed)),
                    class_names: record.class_names.clone(),
                });
            }
            records.push(record);
            continue;
        }
        let mut one = options.clone();
        one.seeds = 1;
        one.seed = seed;
        one.resume_dir = state.map(|s| s.dir.join("seeds"));
        one.resume = options.resume && one.resume_state().is_some_and(|s| s.exists());
        let relabel = |e: Event| match e {
            Event::RunStarted { name } => events(Event::RunStarted {
                name: format!("{name} (seed {seed})"),
            }),
            Event::RunFinished { run, class_names } => events(Event::RunFinished {
                run: Box::new(labelled(*run, seed)),
                class_names,
            }),
            e => events(e),
        };
        let record = run_one(&one, &relabel, stop)?;
        let stopped = record.runs.iter().any(|r| r.outcome == Outcome::Stopped);
        if !stopped && let Some(path) = &done {
            crate::atomic::write_json_atomic(path, &record)?;
        }
        records.push(record);
        if stopped || stop.load(Ordering::Relaxed) {
            break;
        }
    }
    Ok(combine(records, n))
}

fn labelled(mut run: ModelRun, seed: u64) -> ModelRun {
    run.name = format!("{} (seed {seed})", run.name);
    run
}

/// One record from one per seed (the same experiment): each model's test metrics become the
/// mean over the seeds (`test`) with their spread (`repeated`), its curves the mean curve over
/// the epochs every seed finished, its confusion matrix the sum; `per_seed` keeps each seed's.
pub fn combine(records: Vec<ExperimentRecord>, asked: usize) -> ExperimentRecord {
    let mut base = records[0].clone();
    base.seeds = records.iter().map(|r| r.seed).collect();
    base.seconds = records.iter().map(|r| r.seconds).sum();
    base.notes = Vec::new();
    for r in &records {
        for note in &r.notes {
            let everywhere = records.iter().all(|o| o.notes.contains(note));
            let note = if everywhere {
                note.clone()
            } else {
                format!("seed {}: {note}", r.seed)
            };
            if !base.notes.contains(&note) {
                base.notes.push(note);
            }
        }
    }
    if records.len() < asked {
        base.notes.push(format!(
            "stopped after {} of {asked} seeds: means and spreads are over the seeds that ran",
            records.len()
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    for r in &records {
        for run in &r.runs {
            if !names.contains(&run.name.as_str()) {
                names.push(&run.name);
            }
        }
    }
    base.runs = names
        .iter()
        .map(|name| {
            let runs: Vec<(u64, &ModelRun)> = records
                .iter()
                .filter_map(|r| r.runs.iter().find(|m| m.name == *name).map(|m| (r.seed, m)))
                .collect();
            combine_runs(&runs)
        })
        .collect();
    base
}

fn combine_runs(runs: &[(u64, &ModelRun)]) -> ModelRun {
    let first = runs[0].1;
    let mut out = ModelRun::new(first.name.clone());
    let outcomes: Vec<Outcome> = runs.iter().map(|(_, r)| r.outcome).collect();
    out.outcome = [Outcome::Stopped, Outcome::Diverged]
        .into_iter()
        .find(|o| outcomes.contains(o))
        .unwrap_or(Outcome::Finished);
    out.trainable_params = first.trainable_params;
    out.architecture = first.architecture.clone();
    out.checkpoint = first.checkpoint.clone();
    out.seconds = runs.iter().map(|(_, r)| r.seconds).sum();
    let common = runs.iter().map(|(_, r)| r.epochs.len()).min().unwrap_or(0);
    out.epochs = (0..common)
        .map(|e| {
            let at: Vec<&EpochRecord> = runs.iter().map(|(_, r)| &r.epochs[e]).collect();
            EpochRecord {
                epoch: at[0].epoch,
                train_loss: mean(at.iter().map(|r| r.train_loss)),
                val: mean_metrics(at.iter().map(|r| &r.val)),
                seconds: mean(at.iter().map(|r| r.seconds)),
            }
        })
        .collect();
    for k in first.test.keys() {
        let values: Vec<f64> = runs
            .iter()
            .filter_map(|(_, r)| r.test.get(k).copied())
            .collect();
        if values.len() == runs.len() {
            let ms = MeanStd::of(&values);
            out.test.insert(k.clone(), ms.mean);
            out.repeated.insert(k.clone(), ms);
        }
    }
    out.confusion = runs
        .iter()
        .try_fold(None::<Vec<Vec<u64>>>, |sum, (_, r)| {
            let cm = r.confusion.as_ref()?;
            Some(Some(match sum {
                None => cm.clone(),
                Some(s) if s.len() == cm.len() => s
                    .iter()
                    .zip(cm)
                    .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x + y).collect())
                    .collect(),
                Some(_) => return None,
            }))
        })
        .flatten();
    for (k, first_values) in &first.per_class {
        let per: Vec<Option<f64>> = (0..first_values.len())
            .map(|c| {
                let v: Vec<f64> = runs
                    .iter()
                    .filter_map(|(_, r)| {
                        r.per_class.get(k).and_then(|v| v.get(c).copied().flatten())
                    })
                    .collect();
                (!v.is_empty()).then(|| mean(v.into_iter()))
            })
            .collect();
        out.per_class.insert(k.clone(), per);
    }
    for (seed, r) in runs {
        out.diagnoses
            .extend(r.diagnoses.iter().map(|d| crate::train::coach::Diagnosis {
                message: format!("seed {seed}: {}", d.message),
                ..d.clone()
            }));
        out.per_seed.push(SeedRun {
            seed: *seed,
            outcome: r.outcome,
            test: r.test.clone(),
            checkpoint: r.checkpoint.clone(),
            predictions: r.predictions.clone(),
        });
    }
    out
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n.max(1) as f64
}

/// The mean of each metric every one of `all` has.
fn mean_metrics<'a>(all: impl Iterator<Item = &'a Metrics> + Clone) -> Metrics {
    let Some(first) = all.clone().next() else {
        return Metrics::new();
    };
    first
        .keys()
        .filter_map(|k| {
            let v: Vec<f64> = all.clone().filter_map(|m| m.get(k).copied()).collect();
            (v.len() == all.clone().count()).then(|| (k.clone(), mean(v.into_iter())))
        })
        .collect()
}

/// Every pair of finished runs of a record with repeated seeds, on the suite's headline metric
/// (accuracy, or mean Dice), best first.
pub fn compare(record: &ExperimentRecord) -> Vec<Comparison> {
    if record.seeds.len() < 2 {
        return Vec::new();
    }
    let metric = match record.part {
        Suite::Segmentation => Metric::DiceMean,
        Suite::Regression => Metric::Rmse,
        Suite::Classification | Suite::Augmentation => Metric::Accuracy,
    };
    let mut runs: Vec<(&str, MeanStd)> = record
        .runs
        .iter()
        .filter(|r| r.outcome == Outcome::Finished)
        .filter_map(|r| r.repeated_metric(metric).map(|m| (r.name.as_str(), m)))
        .filter(|(_, m)| m.n >= 2)
        .collect();
    let lower_is_better = metric.lower_is_better();
    runs.sort_by(|x, y| {
        let o = y.1.mean.total_cmp(&x.1.mean);
        if lower_is_better { o.reverse() } else { o }
    });
    let mut out = Vec::new();
    for (i, (a, am)) in runs.iter().enumerate() {
        for (b, bm) in &runs[i + 1..] {
            out.push(Comparison {
                a: a.to_string(),
                b: b.to_string(),
                metric: metric.name().to_string(),
                a_value: *am,
                b_value: *bm,
                beyond_spread: (am.mean - bm.mean).abs() > am.std + bm.std,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Profile;
    use crate::experiment::record::DataRef;

    fn record(seed: u64, accs: &[(&str, f64)]) -> ExperimentRecord {
        let mut r = ExperimentRecord::new(
            Suite::Classification,
            Profile::Quick,
            seed,
            "cpu",
            DataRef {
                path: "x".into(),
                sha256: None,
                description: "toy".into(),
            },
            serde_json::json!({}),
        );
        r.class_names = vec!["a".into(), "b".into()];
        for (name, acc) in accs {
            let mut run = ModelRun::new(*name);
            run.test.insert("accuracy".into(), *acc);
            run.epochs = (1..=2)
                .map(|e| EpochRecord {
                    epoch: e,
                    train_loss: acc * e as f64,
                    val: [("accuracy".to_string(), *acc)].into(),
                    seconds: 1.0,
                })
                .collect();
            run.confusion = Some(vec![vec![3, 1], vec![0, 4]]);
            run.per_class
                .insert("recall".into(), vec![Some(0.75), Some(*acc)]);
            r.runs.push(run);
        }
        r.notes.push("same everywhere".into());
        r.notes.push(format!("only seed {seed}"));
        r
    }

    #[test]
    fn seeds_combine_into_means_spreads_and_sums() {
        let records = vec![
            record(4, &[("scratch", 0.80), ("frozen", 0.60)]),
            record(5, &[("scratch", 0.84), ("frozen", 0.62)]),
            record(6, &[("scratch", 0.82), ("frozen", 0.64)]),
        ];
        let r = combine(records, 3);
        assert_eq!(r.seeds, [4, 5, 6]);
        assert_eq!(r.seed, 4);
        let scratch = &r.runs[0];
        assert_eq!(scratch.name, "scratch");
        let acc = scratch.repeated["accuracy"];
        assert!((acc.mean - 0.82).abs() < 1e-12 && (acc.std - 0.02).abs() < 1e-12);
        assert_eq!(scratch.test["accuracy"], acc.mean);
        assert_eq!(scratch.confusion, Some(vec![vec![9, 3], vec![0, 12]]));
        assert!((scratch.epochs[1].train_loss - 1.64).abs() < 1e-12);
        assert!((scratch.per_class["recall"][1].unwrap() - 0.82).abs() < 1e-12);
        assert_eq!(scratch.per_seed.len(), 3);
        assert_eq!(scratch.per_seed[2].seed, 6);
        assert_eq!(r.notes[0], "same everywhere");
        assert!(r.notes.contains(&"seed 5: only seed 5".to_string()));

        let c = compare(&r);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].a.as_str(), c[0].b.as_str()), ("scratch", "frozen"));
        assert!(c[0].beyond_spread, "0.82 ± 0.02 vs 0.62 ± 0.02");
        assert!(
            c[0].sentence()
                .contains("larger than the seed-to-seed spread"),
            "{}",
            c[0].sentence()
        );
    }

    #[test]
    fn a_difference_inside_the_spread_is_said_to_be_one() {
        let records = vec![
            record(0, &[("unmodified", 0.80), ("combined", 0.78)]),
            record(1, &[("unmodified", 0.76), ("combined", 0.83)]),
        ];
        let mut r = combine(records, 3);
        r.part = Suite::Augmentation;
        let c = compare(&r);
        assert_eq!(c[0].a, "combined", "best first");
        assert!(!c[0].beyond_spread);
        assert!(c[0].sentence().contains("cannot tell the two apart"));
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("stopped after 2 of 3 seeds"))
        );
        // A single seed has no spread to compare with.
        assert!(compare(&record(0, &[("a", 0.5), ("b", 0.6)])).is_empty());
    }
}
