//! Starting and following the tutor's training runs. Every run the tutor asks for (a lesson's
//! `r`, `n` to repeat over seeds, Ctrl-T on "Your data") is checked here, written as a typed
//! request for a background job (`crate::jobs`), and followed: the job's updates reach the app's
//! loop as `Notification::Run`, and the experiment screen only shows what arrives.

use super::Options;
use super::experiment::ExperimentView;
use super::notify::{Notification, Notifier, next_run_id};
use crate::jobs::{self, Job, JobRequest, Work};
use crate::run_spec::{PlanRun, RunArgs};
use petri_engine::experiment::{self, Suite};
use std::path::Path;

/// A part's quick run from the tutor; `data` replaces the part's own dataset. Without
/// ImageNet weights the classification run skips frozen and fine-tune itself, and says why in
/// the log and the record (naming only `scratch` here would hide that).
pub fn course_run(part: Suite, data: Option<&Path>) -> RunArgs {
    let mut args = RunArgs::for_part(part);
    args.data = data.map(Path::to_path_buf);
    args
}

/// Starts `work` as a background job, which keeps training when the terminal goes away, and
/// follows it; its record goes to `lesson_id`'s progress. A course run that cannot start (its
/// data is missing, a setting does not fit) fails here, in the tutor: the job builds the same
/// spec from the same request.
pub fn start(
    options: &Options,
    lesson_id: &str,
    work: Work,
    notifier: &Notifier,
) -> anyhow::Result<ExperimentView> {
    let part = match &work {
        Work::Run(run) => {
            let (run_options, _) = crate::run_spec::options(run, &options.data_dir)?;
            experiment::Spec::build(&run_options)?;
            run.part
        }
        Work::Train(plan) => {
            plan.plan
                .validate()
                .map_err(|p| anyhow::anyhow!("plan: {p}"))?;
            plan.part()
        }
    };
    let request = JobRequest {
        data_dir: options.data_dir.clone(),
        work,
    };
    let job = jobs::spawn(&options.petri, &options.state_dir, part, lesson_id, request)?;
    Ok(follow(job, notifier))
}

/// A plan from "Your data" on `data`, trained as a job like a course run.
pub fn train_plan(
    options: &Options,
    data: &Path,
    plan: petri_engine::identify::Plan,
    notifier: &Notifier,
) -> anyhow::Result<ExperimentView> {
    let run = PlanRun {
        data: data.to_path_buf(),
        plan,
        device: petri_engine::experiment::DeviceChoice::Auto,
        out: None,
    };
    start(options, "your-data", Work::Train(run), notifier)
}

/// Follows a background job: its events so far are replayed, then new ones as they come, each
/// relayed to the app's loop for the view this returns.
pub fn follow(job: Job, notifier: &Notifier) -> ExperimentView {
    let id = next_run_id();
    let (updates, from_job) = std::sync::mpsc::channel();
    job.follow(updates);
    let notifier = notifier.clone();
    std::thread::spawn(move || {
        for update in from_job {
            if notifier
                .send(Notification::Run { run: id, update })
                .is_err()
            {
                return;
            }
        }
    });
    ExperimentView::following(job, id)
}
