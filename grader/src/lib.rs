//! `petri-grader`: challenges and the grader. A challenge is data (`challenge.toml`, a
//! statement, a starter, a reference); a task turns it into requests and scores the answers;
//! submissions build and run in a sandbox; results go out as Gradescope, JUnit, JSON lines
//! and CSV. The same code serves a student's `petri challenge check`, an instructor's
//! `petri grade` and a CI job.

pub mod bundle;
pub mod challenge;
pub mod failure;
pub mod grade;
pub mod harness;
pub mod language;
pub mod python;
pub mod report;
pub mod result;
pub mod sandbox;
pub mod shard;
pub mod tasks;

pub use challenge::{Challenge, Kind};
pub use grade::Grader;
pub use language::Language;
pub use result::{CheckResult, SubmissionResult};
