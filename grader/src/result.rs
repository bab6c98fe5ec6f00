//! What grading produces: a score per check, a leaderboard entry, and per submission the
//! checks, notes and, when the grader could not grade it, why. Read by reports, the tutor and
//! `--resume`/`grade-merge` (so it deserialises too).

use serde::{Deserialize, Serialize};

/// The score of one check for one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    pub name: String,
    /// `None` when the grader could not grade the submission.
    pub score: Option<f64>,
    pub max_score: f64,
    pub visible: bool,
    /// Why the score is what it is, for the student.
    pub output: String,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        self.score.is_some_and(|s| s >= self.max_score)
    }
}

/// Which way a leaderboard sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Lower is better (an error such as RMSE).
    Asc,
    /// Higher is better (AUC).
    Desc,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    pub name: String,
    pub value: f64,
    pub order: Order,
}

/// Everything graded for one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionResult {
    pub submission: String,
    pub challenge: String,
    /// `None` when the grader could not grade it (`error` says why).
    pub score: Option<f64>,
    pub max_score: f64,
    pub checks: Vec<CheckResult>,
    pub leaderboard: Option<Leaderboard>,
    /// Protections this host could not enforce, and other notes for the instructor.
    pub notes: Vec<String>,
    pub seconds: f64,
    /// When grading finished, in seconds since the Unix epoch.
    #[serde(default)]
    pub graded_at: u64,
    /// Why the grader could not grade this submission: its fault, not the student's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// SHA-256 of the submission's files, so a resumed run knows an unchanged submission.
    #[serde(default)]
    pub digest: String,
}

impl SubmissionResult {
    /// Every check at full marks (an ungraded submission has not passed).
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(CheckResult::passed)
    }
}
