//! Terminal benchmarks: drawing the live training dashboard at 200x60 (target: under 5 ms a
//! frame) and the tutor's start-up (target: under 200 ms). Frames are encoded by crossterm into
//! memory, as they would be for an SSH session, with one new batch event between frames so every
//! frame has something to redraw.

use crate::step::median;
use petri::app::{App, ExperimentView, Options, Pane, Screen};
use petri::theme::Theme;
use petri_engine::experiment::Suite;
use petri_engine::metrics::Metric;
use petri_engine::train::{EpochRecord, Event, Sample};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct TerminalTiming {
    pub what: String,
    pub median_ms: f64,
    pub worst_ms: f64,
    pub target_ms: f64,
}

impl TerminalTiming {
    fn new(what: &str, times: &[f64], target_ms: f64) -> Self {
        TerminalTiming {
            what: what.to_string(),
            median_ms: median(times) * 1e3,
            worst_ms: times.iter().copied().fold(0.0, f64::max) * 1e3,
            target_ms,
        }
    }
}

fn options(state: &Path) -> Options {
    Options {
        data_dir: state.join("data"),
        state_dir: state.join("state"),
        ascii: false,
        mouse: false,
        // The benchmark starts no runs.
        petri: "petri".into(),
    }
}

fn batch_event(epoch: usize, batch: usize) -> Event {
    Event::Batch {
        epoch,
        batch,
        batches: 100,
        loss: 1.0 / (1.0 + (epoch * 100 + batch) as f32 * 0.01),
        examples_per_sec: 400.0 + (batch % 7) as f64 * 10.0,
        eta_secs: 120.0,
    }
}

/// A view part-way through a long run: 12 epochs of 100 batches, curves, 16 test samples.
fn busy_view() -> ExperimentView {
    let mut view = ExperimentView::scripted(Suite::Classification, "01-classification");
    view.state.apply(Event::RunStarted {
        name: "finetune".into(),
    });
    view.state.apply(Event::Started {
        epochs: 20,
        batches_per_epoch: 100,
        examples: 89_996,
        trainable_params: 11_181_129,
    });
    for epoch in 1..=12 {
        for batch in 1..=100 {
            view.state.apply(batch_event(epoch, batch));
        }
        let f = epoch as f64;
        view.state.apply(Event::Epoch(EpochRecord {
            epoch,
            train_loss: 1.0 / f,
            val: [
                (Metric::Loss.name().to_string(), 1.1 / f),
                (Metric::Accuracy.name().to_string(), 0.9 - 0.3 / f),
            ]
            .into_iter()
            .collect(),
            seconds: 60.0,
        }));
    }
    let samples = (0..16)
        .map(|i| Sample {
            height: 28,
            width: 28,
            channels: 3,
            pixels: (0..28 * 28 * 3)
                .map(|p| ((p * 7 + i * 31) % 256) as u8)
                .collect(),
            truth: format!("class {}", i % 9),
            predicted: format!("class {}", (i + i / 5) % 9),
            truth_mask: None,
            predicted_mask: None,
        })
        .collect();
    view.state.apply(Event::Samples(samples));
    view
}

/// Median time to take one batch event and draw the dashboard's `pane` at 200x60.
fn dashboard(pane: Pane, frames: usize) -> Vec<f64> {
    let state = scratch_dir();
    let mut app = App::new(options(&state), Vec::new(), Theme::new(true, false));
    let mut view = busy_view();
    view.pane = pane;
    app.stack.push(Screen::Experiment(Box::new(view)));
    let backend = CrosstermBackend::new(std::io::sink());
    let mut terminal = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 200, 60)),
        },
    )
    .expect("a terminal over a sink");
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames + 5 {
        let t = Instant::now();
        if let Some(Screen::Experiment(view)) = app.stack.last_mut() {
            view.state.apply(batch_event(13, 1 + i % 100));
        }
        terminal.draw(|f| app.draw(f)).expect("drawing into memory");
        if i >= 5 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    let _ = std::fs::remove_dir_all(&state);
    times
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("petri-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// In-process start-up: the built-in lessons parsed, the app built (progress read), the home
/// screen's first frame drawn at 80x24.
fn startup_in_process(runs: usize) -> Vec<f64> {
    let state = scratch_dir();
    let times = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let lessons = petri::lessons::load_ok(None).expect("the built-in lessons parse");
            let app = App::new(options(&state), lessons, Theme::new(true, false));
            let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
            terminal.draw(|f| app.draw(f)).expect("drawing");
            t.elapsed().as_secs_f64()
        })
        .collect();
    let _ = std::fs::remove_dir_all(&state);
    times
}

/// The `petri` process from exec to exit with stdout not a terminal (it prints the overview):
/// the cost of loading the binary, parsing lessons and reading progress.
fn startup_process(petri: &Path, runs: usize) -> Option<Vec<f64>> {
    let state = scratch_dir();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let status = Command::new(petri)
            .env("PETRI_DATA", state.join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        times.push(t.elapsed().as_secs_f64());
    }
    let _ = std::fs::remove_dir_all(&state);
    Some(times)
}

/// Every terminal benchmark; the process start-up only when the `petri` binary is given.
pub fn run(petri: Option<&Path>) -> Vec<TerminalTiming> {
    let mut out = vec![
        TerminalTiming::new(
            "dashboard frame, training pane, 200x60",
            &dashboard(Pane::Training, 200),
            5.0,
        ),
        TerminalTiming::new(
            "dashboard frame, samples pane, 200x60",
            &dashboard(Pane::Samples, 200),
            5.0,
        ),
        TerminalTiming::new(
            "start-up to first frame, in process",
            &startup_in_process(20),
            200.0,
        ),
    ];
    if let Some(times) = petri.and_then(|p| startup_process(p, 10)) {
        out.push(TerminalTiming::new(
            "`petri` process, not a terminal",
            &times,
            200.0,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dashboard_frames_are_timed() {
        let times = super::dashboard(super::Pane::Training, 3);
        assert_eq!(times.len(), 3);
        assert!(times.iter().all(|t| *t > 0.0));
    }
}
