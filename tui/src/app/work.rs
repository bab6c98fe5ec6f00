//! Background work the screens ask for besides training (which is `runs.rs`): identifying the
//! user's data and checking a challenge copy. Screens return what they want done; the app
//! starts it here on a thread, and the result comes back as one `Notification`.

use super::Options;
use super::notify::{Notification, Notifier};
use petri_grader::challenge::Challenge;
use std::path::PathBuf;

/// Identifies the data at `path` ("Your data"), reporting `Notification::Identified`.
pub fn identify(path: PathBuf, target: Option<String>, notifier: &Notifier) {
    let notifier = notifier.clone();
    std::thread::spawn(move || {
        let found =
            petri_engine::identify::identify(&path, target.as_deref()).map_err(|e| e.to_string());
        let _ = notifier.send(Notification::Identified(Box::new(found)));
    });
}

/// Runs `challenge`'s visible checks on the student's copy in `dir`, reporting
/// `Notification::Checked`; an error when the grader cannot be set up (it says why).
pub fn check(
    options: &Options,
    challenge: Challenge,
    dir: PathBuf,
    notifier: &Notifier,
) -> Result<(), String> {
    let grader = crate::grading::grader(&options.data_dir, &options.state_dir, None, false)
        .map_err(|e| format!("{e:#}"))?;
    let notifier = notifier.clone();
    std::thread::spawn(move || {
        let r = grader.grade(&challenge, &dir);
        grader.finish();
        let result = match &r.error {
            Some(e) => Err(format!("not your code's fault: {e}")),
            None => Ok(r),
        };
        let _ = notifier.send(Notification::Checked(Box::new(result)));
    });
    Ok(())
}
