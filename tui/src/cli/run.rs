//! `petri run`: a course experiment, headless. Training runs on a worker thread and reports
//! over a channel; this thread draws progress bars on a terminal and plain lines otherwise.
//! Ctrl-C, a hang-up (a dropped SSH connection) or SIGTERM asks the run to stop at the next
//! batch; what finished is still saved, and `--resume` continues from the last epoch. As
//! `petri job DIR` (how the tutor starts runs that outlive it: the run is read from
//! `DIR/request.json`) every event is also appended to `DIR/events.jsonl` and the outcome
//! written to `DIR/result.json`.

use crate::jobs::Work;
use crate::run_spec::options;
pub use crate::run_spec::{Interrupted, JobResult, PlanRun, RunArgs};
use crate::run_state::RunState;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use petri_engine::experiment::{self, ExperimentRecord, Suite};
use petri_engine::metrics::Metric;
use petri_engine::train::Event;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

/// Writes to stderr, ignoring failures: after a hang-up the terminal is gone, and a failed
/// progress line must not keep the record from being saved.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// `petri job DIR`: the run the tutor wrote to `DIR/request.json`, reporting to `DIR`.
pub fn job(dir: &Path) -> Result<()> {
    let request = crate::jobs::JobRequest::read(dir)?;
    match request.work {
        Work::Run(mut args) => {
            args.job = Some(dir.to_path_buf());
            run(args, &request.data_dir)
        }
        Work::Train(plan) => train(&plan, &request.data_dir, false, Some(dir)),
    }
}

/// `petri run`: a course part.
pub fn run(args: RunArgs, data_dir: &Path) -> Result<()> {
    let (options, out_dir) = options(&args, data_dir)?;
    let job = args.job;
    let result = run_headless(&out_dir, args.json, job.as_deref(), move |events, stop| {
        experiment::run(&options, events, stop)
    });
    finish(result, job.as_deref())
}

/// `petri train` (and Ctrl-T on "Your data", as a job): a plan on the user's data.
pub fn train(plan: &PlanRun, data_dir: &Path, json: bool, job: Option<&Path>) -> Result<()> {
    let (options, out_dir) = plan.options(data_dir);
    let (data, plan, work) = (plan.data.clone(), plan.plan.clone(), out_dir.clone());
    let result = run_headless(&out_dir, json, job, move |events, stop| {
        experiment::custom::train(&data, &plan, &options, &work, events, stop)
    });
    finish(result, job)
}

/// A run's end: for a job, its outcome goes to `DIR/result.json` for the tutor to read.
fn finish(result: Result<PathBuf>, job: Option<&Path>) -> Result<()> {
    if let Some(dir) = job {
        let interrupted = |e: &anyhow::Error| e.downcast_ref::<Interrupted>().is_some();
        let outcome = JobResult {
            record: match &result {
                Ok(path) => Some(path.clone()),
                Err(e) => e.downcast_ref::<Interrupted>().map(|i| i.record.clone()),
            },
            error: result
                .as_ref()
                .err()
                .filter(|e| !interrupted(e))
                .map(|e| format!("{e:#}")),
            stopped: result.as_ref().err().is_some_and(interrupted),
        };
        petri_engine::atomic::write_json_atomic(&dir.join("result.json"), &outcome)?;
    }
    result.map(|_| ())
}

/// Runs `job` on a worker thread with progress on stderr (bars on a terminal, lines
/// otherwise), Ctrl-C, SIGHUP and SIGTERM as a stop request, the record saved in `out_dir` and
/// the result printed. Returns the record's path; a stopped run is the `Interrupted` error.
/// With `events_dir`, every event is also appended to `events_dir/events.jsonl`.
pub fn run_headless(
    out_dir: &Path,
    json: bool,
    events_dir: Option<&Path>,
    job: impl FnOnce(&dyn Fn(Event), &AtomicBool) -> petri_engine::Result<ExperimentRecord>
    + Send
    + 'static,
) -> Result<PathBuf> {
    let stop =
        crate::signals::stop_on_signal("\nstopping at the next batch (Ctrl-C again to quit now)");
    let mut log = match events_dir {
        Some(dir) => {
            let path = dir.join("events.jsonl");
            Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("cannot open {}", path.display()))?,
            )
        }
        None => None,
    };
    let (tx, rx) = mpsc::channel::<Event>();
    let worker = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("petri-train".into())
            .spawn(move || job(&|e| drop(tx.send(e)), &stop))
            .context("cannot start the training thread")?
    };
    let mut progress = Progress::new(crate::term::interactive(std::io::stderr().is_terminal()));
    for event in rx {
        if let Some(file) = &mut log {
            use std::io::Write;
            // One line per event, written whole, so a reader never sees half an event.
            let mut line = serde_json::to_string(&event)?;
            line.push('\n');
            file.write_all(line.as_bytes())?;
        }
        progress.show(event);
    }
    progress.finish();
    let sheet = progress.state.sheet;
    let record = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the training thread panicked"))??;
    let path = record.save(out_dir)?;
    // The figures' test samples; the record is safe whatever happens here.
    if !sheet.runs.is_empty()
        && let Err(e) = sheet.save(&path)
    {
        say(&format!(
            "the test samples could not be kept for figures: {e}"
        ));
    }
    let stopped = record
        .runs
        .iter()
        .any(|r| r.outcome == petri_engine::train::Outcome::Stopped);
    {
        use std::io::Write;
        let text = if json {
            format!(
                "{}\n",
                serde_json::to_string_pretty(&final_metrics(&record))?
            )
        } else {
            render_record(&record)
        };
        let _ = std::io::stdout().write_all(text.as_bytes());
    }
    say(&format!("run record: {}", path.display()));
    if stopped {
        return Err(Interrupted { record: path }.into());
    }
    Ok(path)
}

fn final_metrics(record: &ExperimentRecord) -> serde_json::Value {
    let runs: serde_json::Map<String, serde_json::Value> = record
        .runs
        .iter()
        .map(|r| {
            let value = if r.repeated.is_empty() {
                serde_json::json!(r.test)
            } else {
                serde_json::json!(r.repeated)
            };
            (r.name.clone(), value)
        })
        .collect();
    let mut out = serde_json::json!({ "part": record.part, "seed": record.seed, "runs": runs });
    if !record.seeds.is_empty() {
        out["seeds"] = serde_json::json!(record.seeds);
        out["comparisons"] = serde_json::json!(record.comparisons);
    }
    out
}

/// Whether an epoch gets its own progress line: all of a run of up to 20 epochs, else the
/// first, the last and every tenth of the run.
fn shown_epoch(epoch: usize, epochs: usize) -> bool {
    epochs <= 20 || epoch == 1 || epoch == epochs || epoch.is_multiple_of(epochs.div_ceil(10))
}

/// Progress on stderr: bars on a terminal, a line per epoch (and per note) otherwise, printed
/// beside the fold the tutor draws from (`RunState`).
struct Progress {
    bar: Option<ProgressBar>,
    terminal: bool,
    /// The run so far; its `epochs` (of the current model) thin out the lines of long runs
    /// (the regression networks' 200 epochs, over several splits, print every tenth epoch).
    state: RunState,
}

impl Progress {
    fn new(terminal: bool) -> Self {
        Progress {
            bar: None,
            terminal,
            state: RunState::default(),
        }
    }

    /// Prints what `event` adds, then folds it in.
    fn show(&mut self, event: Event) {
        self.print(&event);
        self.state.apply(event);
    }

    fn println(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => say(&line),
        }
    }

    fn print(&mut self, event: &Event) {
        match event {
            Event::RunStarted { name } => {
                self.finish();
                say(&format!("== {name}"));
            }
            Event::Started {
                epochs,
                batches_per_epoch,
                examples,
                trainable_params,
            } => {
                self.println(format!(
                    "   {examples} training examples, {epochs} epochs of {batches_per_epoch} batches, {trainable_params} trainable parameters"
                ));
                if self.terminal {
                    let bar = ProgressBar::new((epochs * batches_per_epoch) as u64);
                    bar.set_style(
                        ProgressStyle::with_template("   {bar:30} {pos}/{len} batches  {msg}")
                            .expect("valid template")
                            .progress_chars(crate::term::bar_chars()),
                    );
                    self.bar = Some(bar);
                }
            }
            Event::Batch {
                epoch,
                loss,
                examples_per_sec,
                eta_secs,
                ..
            } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                    bar.set_message(format!(
                        "epoch {epoch}  loss {loss:.4}  {examples_per_sec:.0}/s  eta {eta_secs:.0}s"
                    ));
                }
            }
            Event::Epoch(r) if shown_epoch(r.epoch, self.state.epochs) => {
                let val: Vec<String> = r.val.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
                let val = if val.is_empty() {
                    String::new()
                } else {
                    format!("  val {}", val.join("  "))
                };
                self.println(format!(
                    "   epoch {:>2}  train loss {:.4}{val}  ({:.1}s)",
                    r.epoch, r.train_loss, r.seconds
                ));
            }
            Event::Epoch(_) => {}
            Event::Note(text) => self.println(format!("   {text}")),
            Event::Stopped { epoch, batch } => {
                self.println(format!("   stopped in epoch {epoch} at batch {batch}"))
            }
            Event::Samples(samples) if samples.iter().all(|s| s.truth_mask.is_none()) => {
                let list: Vec<String> = samples
                    .iter()
                    .map(|s| format!("{} -> {}", s.truth, s.predicted))
                    .collect();
                self.println(format!(
                    "   test samples (true -> predicted): {}",
                    list.join("; ")
                ))
            }
            Event::Samples(_) => {}
            // Trained models; repeated-split baselines are summed up in the final table.
            Event::RunFinished { run, .. } if !run.epochs.is_empty() => {
                use Metric::*;
                let shown: Vec<String> = [Accuracy, BalancedAccuracy, Auc, DiceMean]
                    .into_iter()
                    .filter_map(|k| run.test_metric(k).map(|v| format!("{k} {v:.4}")))
                    .collect();
                self.println(format!("   {} done: test {}", run.name, shown.join("  ")))
            }
            Event::RunFinished { .. } => {}
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3}"))
}

pub fn render_record(record: &ExperimentRecord) -> String {
    let seeds = match &record.seeds[..] {
        [] | [_] => format!("seed {}", record.seed),
        s => format!(
            "seeds {}, mean ± std over them",
            s.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        ),
    };
    let mut out = format!(
        "\n{} ({:?} profile, {seeds}, {})\n",
        record.part.name(),
        record.profile,
        record.device
    );
    out += &format!("data: {}\n", record.data.description);
    for note in &record.notes {
        out += &format!("note: {note}\n");
    }
    for c in &record.comparisons {
        out += &format!("seeds: {}\n", c.sentence());
    }
    if record.part == Suite::Regression {
        out += &format!(
            "\n{:<28} {:>17} {:>17} {:>17} {:>8}\n",
            "model", "MAE", "RMSE", "MSE", "R2"
        );
        for r in &record.runs {
            let ms = |k: Metric| {
                r.repeated_metric(k)
                    .map_or("-".into(), |m| format!("{:.4} ± {:.4}", m.mean, m.std))
            };
            out += &format!(
                "{:<28} {:>17} {:>17} {:>17} {:>8}\n",
                r.name,
                ms(Metric::Mae),
                ms(Metric::Rmse),
                ms(Metric::Mse),
                r.repeated_metric(Metric::R2)
                    .map_or("-".into(), |m| format!("{:.3}", m.mean))
            );
        }
        let target = record.target().unwrap_or("the target");
        out += &format!("(mean ± std over random splits, in units of {target})\n");
        return out;
    }
    for r in &record.runs {
        let metrics: Vec<String> = if r.repeated.is_empty() {
            r.test.iter().map(|(k, v)| format!("{k} {v:.4}")).collect()
        } else {
            r.repeated
                .iter()
                .map(|(k, m)| format!("{k} {:.4} ± {:.4}", m.mean, m.std))
                .collect()
        };
        out += &format!("\n{}: test {}\n", r.name, metrics.join("  "));
        if let Some(why) = r.unfinished() {
            out += &format!("  {why}\n");
        }
        if let Some(k) = r.resumed_after {
            out += &format!("  resumed after epoch {k}\n");
        }
        if let Some(p) = r.trainable_params {
            out += &format!("  trainable parameters: {p}\n");
        }
        for (metric, values) in &r.per_class {
            for (c, v) in values.iter().enumerate() {
                let name = record
                    .class_names
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| format!("class {c}"));
                out += &format!("  {metric:<7} {name:<40} {}\n", fmt_opt(*v));
            }
        }
        if let Some(cm) = &r.confusion
            && cm.len() <= 10
        {
            if record.seeds.len() > 1 {
                out += &format!(
                    "  confusion summed over {} seeds (rows: true, columns: predicted)\n",
                    record.seeds.len()
                );
            } else {
                out += "  confusion (rows: true, columns: predicted)\n";
            }
            for row in cm {
                out += &format!(
                    "   {}\n",
                    row.iter().map(|v| format!("{v:>6}")).collect::<String>()
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_runs_print_every_tenth_epoch() {
        let shown = |epochs| {
            (1..=epochs)
                .filter(|&e| super::shown_epoch(e, epochs))
                .count()
        };
        assert_eq!(shown(12), 12);
        assert_eq!(shown(200), 10 + 1);
        assert!(super::shown_epoch(200, 200) && super::shown_epoch(1, 200));
        assert!(!super::shown_epoch(21, 200));
    }
}
