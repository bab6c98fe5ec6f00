//! A live training run: the engine trains and sends events; this view keeps what it needs of
//! them and draws a progress gauge with ETA, sparklines of batch loss and throughput, a chart of
//! train/validation loss per epoch, and the final metrics. `s` stops the run at the next batch;
//! the record is saved either way. Every run is a background job (`crate::jobs`) that outlives
//! the tutor, started and followed by `super::runs`; this screen only shows what it reports.

use super::notify::{RunId, next_run_id};
use crate::jobs::{Job, JobUpdate};
use crate::run_spec::RunArgs;
pub use crate::run_state::RunState;
use crate::theme::Theme;
use petri_engine::experiment::record::SampleSheet;
use petri_engine::experiment::{ExperimentRecord, Suite};
use petri_engine::metrics::Metric;
use petri_engine::train::EpochRecord;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, LineGauge, Paragraph, Sparkline};

/// Each transform of the augmentation part applied to the same two training images, shown
/// before training starts (captions name the transform).
pub fn augmentation_preview(path: &std::path::Path, seed: u64) -> Vec<petri_engine::train::Sample> {
    let Ok(data) = petri_engine::data::medmnist::load(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..data.train.len().min(2) {
        for (name, img) in petri_engine::augment::Pipeline::preview(&data.train.image(i), seed) {
            out.push(petri_engine::train::Sample {
                height: img.height,
                width: img.width,
                channels: img.channels,
                pixels: img.to_hwc_u8(),
                truth: name.to_string(),
                predicted: String::new(),
                truth_mask: None,
                predicted_mask: None,
            });
        }
    }
    out
}

/// What the lower half of the view shows; `Tab` cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// Loss per epoch and the log.
    Training,
    /// The finished record, runs side by side.
    Results,
    /// Test images with the model's answers.
    Samples,
}

pub struct ExperimentView {
    pub part: Suite,
    pub pane: Pane,
    /// Earlier records of this part (newest first), compared in the results pane.
    pub earlier: Vec<ExperimentRecord>,
    pub lesson_id: String,
    pub state: RunState,
    /// Which run's notifications are this view's.
    pub id: RunId,
    /// Updates are still to come (the run has not ended).
    running: bool,
    /// The saved record's path (its figures go beside it, `w`).
    pub saved: Option<String>,
    /// The record path, once, for the app to add to progress.
    unclaimed: Option<String>,
    /// The background job this view follows, if the run is one.
    job: Option<Job>,
    /// Set by `n` on a finished course run: the same run over 3 seeds, for the app to start
    /// in this view's place.
    pub again: Option<RunArgs>,
    /// The training pane's log, kept at its end while it grows.
    log_scroll: super::scroll::Scroll,
    results_scroll: super::scroll::Scroll,
}

/// Seeds `n` repeats a finished run over: enough for a spread, few enough for a quick run.
const REPEAT_SEEDS: usize = 3;

impl ExperimentView {
    /// The view of a background job, followed as run `id` (`super::runs::follow`).
    pub fn following(job: Job, id: RunId) -> Self {
        let mut view = Self::scripted(job.meta.part, &job.meta.lesson_id);
        view.state.log.push(format!(
            "runs in the background (process {}): it goes on if you quit Petri or lose the \
             connection, and shows here again when you reopen Petri",
            job.meta.pid
        ));
        view.id = id;
        view.running = true;
        view.job = Some(job);
        view
    }

    /// This view's course run over `REPEAT_SEEDS` seeds, when it is one that finished on a
    /// single seed (regression repeats over splits already).
    fn over_seeds(&self) -> Option<RunArgs> {
        let job = self.job.as_ref()?;
        let record = self.state.record.as_ref()?;
        if self.running || record.seeds.len() > 1 || self.part == Suite::Regression {
            return None;
        }
        let mut run = job.meta.request.as_ref()?.course_run()?.clone();
        run.resume = false;
        run.seeds = REPEAT_SEEDS;
        Some(run)
    }

    /// A view with no worker, fed by `state.apply` (used by tests).
    pub fn scripted(part: Suite, lesson_id: &str) -> Self {
        ExperimentView {
            part,
            pane: Pane::Training,
            earlier: Vec::new(),
            lesson_id: lesson_id.to_string(),
            state: RunState::default(),
            id: next_run_id(),
            running: false,
            saved: None,
            unclaimed: None,
            job: None,
            again: None,
            log_scroll: super::scroll::Scroll::at_end(),
            results_scroll: super::scroll::Scroll::new(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// A key on this screen; returns a message for the status line, if any.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<String> {
        if key.code == KeyCode::Char('w') {
            return Some(self.write_figures());
        }
        if matches!(key.code, KeyCode::Tab | KeyCode::BackTab) {
            self.pane = match self.pane {
                Pane::Training => Pane::Results,
                Pane::Results => Pane::Samples,
                Pane::Samples => Pane::Training,
            };
        }
        let scrolled = match self.pane {
            Pane::Training => &mut self.log_scroll,
            Pane::Results => &mut self.results_scroll,
            Pane::Samples => &mut super::scroll::Scroll::new(),
        };
        if scrolled.on_key(key.code) {
            return None;
        }
        if key.code == KeyCode::Char('n')
            && let Some(args) = self.over_seeds()
        {
            self.again = Some(args);
            return Some(format!(
                "repeating this run over {REPEAT_SEEDS} seeds: mean ± std, and whether the runs differ by more than the spread"
            ));
        }
        if key.code == KeyCode::Char('s') && self.is_running() {
            if let Some(job) = &self.job {
                job.stop();
            }
            self.state.stopping = true;
        }
        None
    }

    /// Writes the saved record's figures beside it (`petri figures`), and says where.
    fn write_figures(&self) -> String {
        let (Some(path), Some(record)) = (&self.saved, &self.state.record) else {
            return "figures can be written once the run has finished and its record is saved"
                .into();
        };
        let path = std::path::Path::new(path);
        let dir = crate::figures::default_dir(path);
        // The job kept its samples beside the record; a run followed from its start saw them.
        let sheet = match SampleSheet::load(path) {
            Ok(Some(sheet)) => sheet,
            _ => self.state.sheet.clone(),
        };
        match crate::figures::write_all(record, Some(&sheet), &dir) {
            Ok(files) => format!("{} figures written to {}", files.len(), dir.display()),
            Err(e) => format!("could not write figures: {e:#}"),
        }
    }

    /// An update of this view's job; returns whether the view changed.
    pub fn on_update(&mut self, update: JobUpdate) -> bool {
        match update {
            JobUpdate::Event(e) => self.state.apply(e),
            JobUpdate::Ended(result) => {
                self.job_ended(result);
                self.running = false;
            }
        }
        true
    }

    /// A background job ended: its record (saved by the job) is loaded and shown, and the job's
    /// folder goes once the app has added the record to progress (`take_saved_record`).
    fn job_ended(&mut self, result: Result<crate::run_spec::JobResult, String>) {
        match result {
            Ok(r) => {
                if let Some(e) = r.error {
                    self.state.fail(e);
                }
                if r.stopped {
                    self.state.log.push(
                        "stopped: what finished is saved; `petri run ... --resume` continues it"
                            .into(),
                    );
                }
                if let Some(path) = r.record {
                    match ExperimentRecord::load(&path) {
                        Ok(record) => {
                            self.saved = Some(path.display().to_string());
                            self.unclaimed = self.saved.clone();
                            self.state.record = Some(record);
                            self.pane = Pane::Results;
                        }
                        Err(e) => self.state.fail(e.to_string()),
                    }
                }
            }
            Err(e) => self.state.fail(e),
        }
        if self.unclaimed.is_none()
            && let Some(job) = self.job.take()
        {
            job.remove();
        }
    }

    pub fn take_saved_record(&mut self) -> Option<(String, String)> {
        if self.unclaimed.is_some()
            && let Some(job) = self.job.take()
        {
            job.remove();
        }
        self.unclaimed.take().map(|p| (self.lesson_id.clone(), p))
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let s = &self.state;
        let [head, gauge, sparks, bottom, help] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(5),
            Constraint::Min(6),
            Constraint::Length(1),
        ])
        .areas(area);
        let status = self.status(head.width, theme);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(format!("{} ", self.part.name()), theme.h2),
                Span::raw(format!("{}  ", s.run)),
                status,
            ])),
            head,
        );
        let label = format!(
            "epoch {}/{}  batch {}/{}  eta {:.0}s",
            s.epoch, s.epochs, s.batch, s.batches_per_epoch, s.eta_secs
        );
        // The text first and the bar after it: a block gauge draws its label over the bar,
        // where the filled part runs into the text (issue 34).
        frame.render_widget(
            LineGauge::default()
                .ratio(s.progress())
                .label(format!("{label} {:3.0}%", s.progress() * 100.0))
                .filled_symbol("█")
                .unfilled_symbol("░")
                .filled_style(theme.accent)
                .unfilled_style(theme.dim),
            gauge,
        );

        self.draw_sparklines(frame, sparks, theme);

        self.draw_pane(frame, bottom, theme);
        let keys = if self.is_running() {
            "s stop  Tab training/results/samples  ↑↓ scroll  ? help"
        } else if self.over_seeds().is_some() {
            "Tab training/results/samples  w figures  n 3 seeds  Esc back  ? help  q quit"
        } else {
            "Tab training/results/samples  w save figures  Esc back  ? help  q quit"
        };
        frame.render_widget(Paragraph::new(Line::styled(keys, theme.dim)), help);
    }

    /// The header's state: failed, stopped (and how far), finished, stopping or training.
    fn status(&self, head_width: u16, theme: &Theme) -> Span<'static> {
        let s = &self.state;
        if let Some(e) = &s.error {
            // The reason is in the log too, whole: say so when the header cannot hold it.
            let room = (head_width as usize)
                .saturating_sub(self.part.name().len() + s.run.chars().count() + 3);
            let text = format!("failed: {e}");
            if text.chars().count() <= room {
                Span::styled(text, theme.bad)
            } else {
                Span::styled(
                    "failed: the log below says why and how to continue",
                    theme.bad,
                )
            }
        } else if let Some(r) = s.record.as_ref().filter(|r| {
            r.runs
                .iter()
                .any(|m| m.outcome == petri_engine::train::Outcome::Stopped)
        }) {
            // Stopped with `s` (or a hang-up): its metrics are of a model part-way through.
            let finished: Vec<String> = r
                .runs
                .iter()
                .filter(|m| m.outcome == petri_engine::train::Outcome::Stopped)
                .map(|m| format!("{} after {} of {} epochs", m.name, m.epochs.len(), s.epochs))
                .collect();
            Span::styled(
                format!(
                    "stopped: {}; r on the lesson continues it",
                    finished.join(", ")
                ),
                theme.warning,
            )
        } else if s.record.is_some() {
            Span::styled("finished", theme.good)
        } else if s.stopping {
            Span::styled("stopping at the next batch…", theme.warning)
        } else if self.running {
            Span::styled("training", theme.accent)
        } else {
            Span::raw("")
        }
    }

    /// Batch loss and throughput as sparklines, side by side.
    fn draw_sparklines(&self, frame: &mut Frame, sparks: Rect, theme: &Theme) {
        let s = &self.state;
        let [loss_area, speed_area] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(sparks);
        let tail = |v: &[u64], w: u16| v[v.len().saturating_sub(w as usize)..].to_vec();
        let losses: Vec<u64> = s.losses.iter().map(|l| (l * 1000.0) as u64).collect();
        let speed: Vec<u64> = s.throughput.iter().map(|v| *v as u64).collect();
        let last_loss = s.losses.last().map_or("-".into(), |l| format!("{l:.3}"));
        let last_speed = s
            .throughput
            .last()
            .map_or("-".into(), |v| format!("{v:.0}/s"));
        let bar_set = if theme.ascii {
            ratatui::symbols::bar::THREE_LEVELS
        } else {
            ratatui::symbols::bar::NINE_LEVELS
        };
        frame.render_widget(
            Sparkline::default()
                .block(Block::bordered().title(format!(" batch loss {last_loss} ")))
                .data(tail(&losses, loss_area.width.saturating_sub(2)))
                .bar_set(bar_set.clone())
                .style(theme.accent),
            loss_area,
        );
        frame.render_widget(
            Sparkline::default()
                .block(Block::bordered().title(format!(" examples/s {last_speed} ")))
                .data(tail(&speed, speed_area.width.saturating_sub(2)))
                .bar_set(bar_set)
                .style(theme.code),
            speed_area,
        );
    }

    /// The bottom pane: results, sample predictions or the training log and chart.
    fn draw_pane(&self, frame: &mut Frame, bottom: Rect, theme: &Theme) {
        let s = &self.state;
        match self.pane {
            Pane::Results => {
                let shown = match &s.record {
                    Some(r) => super::results::Shown::record(r),
                    None => super::results::Shown {
                        runs: &s.finished,
                        class_names: &s.class_names,
                        expected: &[],
                        seeds: &[],
                        comparisons: &[],
                        notes: &[],
                        complete: false,
                    },
                };
                super::results::draw(
                    frame,
                    bottom,
                    shown,
                    &self.earlier,
                    theme,
                    &self.results_scroll,
                )
            }
            Pane::Samples => {
                let names = s
                    .record
                    .as_ref()
                    .map(|r| r.class_names.clone())
                    .unwrap_or_default();
                super::samples::draw(frame, bottom, &s.samples, &names, theme)
            }
            Pane::Training => self.draw_training(frame, bottom, theme),
        }
    }

    /// The loss chart beside the log (and, once finished, the final metrics).
    fn draw_training(&self, frame: &mut Frame, bottom: Rect, theme: &Theme) {
        let s = &self.state;
        let [chart_area, side] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(bottom);
        self.draw_chart(frame, chart_area, theme);
        let mut lines: Vec<Line> = Vec::new();
        if let Some(r) = &s.record {
            for run in &r.runs {
                let m: Vec<String> = run
                    .test
                    .iter()
                    .filter(|(k, _)| k.as_str() != Metric::Loss.name())
                    .map(|(k, v)| format!("{k} {v:.3}"))
                    .collect();
                lines.push(Line::from(vec![
                    Span::styled(format!("{}: ", run.name), theme.h3),
                    Span::raw(m.join("  ")),
                ]));
            }
            if let Some(p) = &self.saved {
                lines.push(Line::styled(format!("record: {p}"), theme.dim));
            }
        }
        // The whole log, scrolled (kept at its end while it grows); a long record path wraps
        // instead of being cut.
        let mut all: Vec<Line> = s.log.iter().map(|l| Line::raw(l.clone())).collect();
        all.extend(lines);
        self.log_scroll
            .draw(frame, side, all, Block::bordered().title(" Log "));
    }

    fn draw_chart(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let s = &self.state;
        let current: Vec<&EpochRecord> = s
            .history
            .iter()
            .filter(|(run, _)| *run == s.run)
            .map(|(_, r)| r)
            .collect();
        let train: Vec<(f64, f64)> = current
            .iter()
            .map(|r| (r.epoch as f64, r.train_loss))
            .collect();
        let val: Vec<(f64, f64)> = current
            .iter()
            .filter_map(|r| r.val_metric(Metric::Loss).map(|l| (r.epoch as f64, l)))
            .collect();
        let max_y = train
            .iter()
            .chain(&val)
            .map(|p| p.1)
            .fold(0.1f64, f64::max)
            .min(10.0)
            * 1.1;
        let marker = if theme.ascii {
            Marker::Dot
        } else {
            Marker::Braille
        };
        let datasets = vec![
            Dataset::default()
                .name("train loss")
                .marker(marker)
                .graph_type(GraphType::Line)
                .style(theme.accent)
                .data(&train),
            Dataset::default()
                .name("val loss")
                .marker(marker)
                .graph_type(GraphType::Line)
                .style(theme.code)
                .data(&val),
        ];
        let epochs = s.epochs.max(1) as f64;
        let chart = Chart::new(datasets)
            .block(Block::bordered().title(" loss per epoch "))
            .x_axis(Axis::default().bounds([1.0, epochs.max(2.0)]).labels(vec![
                Line::raw("1"),
                Line::raw(format!("{}", s.epochs.max(2))),
            ]))
            .y_axis(
                Axis::default()
                    .bounds([0.0, max_y])
                    .labels(vec![Line::raw("0"), Line::raw(format!("{max_y:.2}"))]),
            );
        frame.render_widget(chart, area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petri_engine::experiment::Profile;
    use petri_engine::experiment::record::DataRef;

    fn finished_job_view(run: RunArgs) -> ExperimentView {
        let part = run.part;
        let mut v = ExperimentView::scripted(part, "01-classification");
        v.job = Some(Job {
            dir: "job".into(),
            meta: crate::jobs::JobMeta {
                pid: 1,
                part,
                lesson_id: "01-classification".into(),
                started_unix: 0,
                request: Some(crate::jobs::JobRequest {
                    data_dir: "/d".into(),
                    work: crate::jobs::Work::Run(run),
                }),
            },
        });
        let data = DataRef {
            path: "x".into(),
            sha256: None,
            description: "x".into(),
        };
        v.state.record = Some(ExperimentRecord::new(
            part,
            Profile::Quick,
            0,
            "cpu",
            data,
            serde_json::json!({}),
        ));
        v
    }

    #[test]
    fn n_repeats_a_finished_run_over_three_seeds_with_the_same_arguments() {
        let mut args = RunArgs::for_part(Suite::Augmentation);
        args.data = Some("/d/chest.npz".into());
        args.seeds = 2;
        args.resume = true;
        let mut v = finished_job_view(args.clone());
        let said = v.on_key(KeyEvent::from(KeyCode::Char('n')));
        assert!(said.is_some_and(|s| s.contains("3 seeds")));
        let mut expected = args.clone();
        expected.seeds = 3;
        expected.resume = false;
        assert_eq!(v.again, Some(expected));
        // Not while it runs, not for regression (it repeats over splits), not twice.
        let mut running = finished_job_view(args.clone());
        running.running = true;
        running.on_key(KeyEvent::from(KeyCode::Char('n')));
        assert!(running.again.is_none());
        let mut regression = finished_job_view(RunArgs::for_part(Suite::Regression));
        regression.on_key(KeyEvent::from(KeyCode::Char('n')));
        assert!(regression.again.is_none());
        let mut repeated = finished_job_view(args);
        repeated.state.record.as_mut().unwrap().seeds = vec![0, 1, 2];
        repeated.on_key(KeyEvent::from(KeyCode::Char('n')));
        assert!(repeated.again.is_none());
    }
}
