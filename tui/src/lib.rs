//! The `petri` binary's library half: the ratatui tutor (`app`), the subcommands (`cli`) and
//! what they share: the course (`course`, `content`: lessons, knowledge checks and the checks
//! of their facts) and the student's `progress`. It draws and prints; what it trains and
//! scores comes from `petri-engine` and `petri-grader`. Kept as a library so end-to-end tests
//! can drive the tutor with key events.

pub mod app;
pub mod cli;
pub mod content;
pub mod course;
pub mod doctor;
pub mod figures;
pub mod grading;
pub mod installed;
pub mod jobs;
pub mod lessons;
pub mod markdown;
pub mod out;
pub mod paths;
pub mod progress;
pub mod run_spec;
pub mod run_state;
pub mod signals;
pub mod term;
pub mod text;
pub mod theme;
