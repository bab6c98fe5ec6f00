//! What the tutor's background work reports, as one type on one channel to the one loop in
//! `app::run` (gitui's asyncgit model): key presses from the input thread, download progress,
//! training messages, identifications and challenge checks. Workers hold a `Notifier`; the
//! app hands each notification to the screen it concerns, and draws when something changed.

use crate::jobs::JobUpdate;
use petri_engine::identify::Identification;
use petri_grader::SubmissionResult;
use std::sync::mpsc::Sender;

/// The sending end every background worker gets a clone of.
pub type Notifier = Sender<Notification>;

/// Which experiment view a training message is for (several runs can be open at once).
pub type RunId = u64;

pub enum Notification {
    /// A key, a resize or the mouse, from the input thread.
    Input(ratatui::crossterm::event::Event),
    /// The download started with `f` on home.
    Fetch(FetchProgress),
    /// A training job's event or end, for the view following run `run`.
    Run { run: RunId, update: JobUpdate },
    /// "Your data": the identification finished.
    Identified(Box<Result<Identification, String>>),
    /// A challenge's visible checks finished.
    Checked(Box<Result<SubmissionResult, String>>),
}

/// What the download thread reports.
pub enum FetchProgress {
    Bytes(u64, Option<u64>),
    Done(Result<(), String>),
}

/// A fresh id for an experiment view.
pub fn next_run_id() -> RunId {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
