//! The `petri` binary's library half: the ratatui tutor (`app`), the subcommands (`cli`) and
//! what they share. It draws and prints; everything it computes comes from `petri-engine`.
//! Kept as a library so end-to-end tests can drive the tutor with key events.

pub mod app;
pub mod cli;
pub mod course;
pub mod doctor;
pub mod jobs;
pub mod lessons;
pub mod markdown;
pub mod paths;
pub mod run_spec;
pub mod theme;
