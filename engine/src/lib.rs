//! `petri-engine`: everything Petri computes — datasets, augmentation, models, training,
//! metrics and grading logic. It never draws or prints: callers get values back and, for long
//! jobs, events over a channel. The `petri` binary (in `tui/`) is the only terminal code.

pub mod allocator;
pub mod atomic;
pub mod augment;
pub mod data;
pub mod download;
pub mod error;
pub mod experiment;
pub mod identify;
pub mod metrics;
pub mod model;
pub use petri_core::rng;
pub mod train;

/// The deep-learning crate, re-exported so the grader's harness and tools use the same version.
pub use burn;
pub use error::{Error, Result};
