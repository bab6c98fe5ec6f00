//! Subcommands that print to stdout (and work without a terminal). One file per command group.

pub mod challenge;
pub mod completions;
pub mod content;
pub mod data;
pub mod entry;
pub mod grade;
pub mod identify;
pub mod man;
pub mod rerun;
pub mod run;
