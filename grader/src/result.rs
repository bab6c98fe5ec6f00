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
    /// Why points were lost, when some were (reports give it for every lost point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<Lost>,
    /// Seconds the submission spent on this check's cases, as measured where it ran (the
    /// harness times each case); `None` where the check's work cannot be told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        self.score.is_some_and(|s| s >= self.max_score)
    }
}

/// Why a check is short of full marks: the student's side of a failure, in words a gradebook
/// can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lost {
    /// A file the challenge asks for is missing, too large, or not a plain file.
    NotSubmitted,
    /// The code does not compile, or the configuration does not parse.
    DoesNotBuild,
    /// It ran past its wall-clock or CPU time limit.
    TimedOut,
    /// It went past a memory, file-size or output limit.
    OverLimit,
    /// It crashed: a panic, a signal, an error exit.
    Crashed,
    /// It ran but wrote no answers, or answers that are not valid JSON.
    NoAnswer,
    /// It answered, and some answers are wrong.
    WrongAnswer,
}

impl Lost {
    /// As reports write it.
    pub fn label(self) -> &'static str {
        match self {
            Lost::NotSubmitted => "not submitted",
            Lost::DoesNotBuild => "does not build",
            Lost::TimedOut => "timed out",
            Lost::OverLimit => "over a limit",
            Lost::Crashed => "crashed",
            Lost::NoAnswer => "no answer",
            Lost::WrongAnswer => "wrong answer",
        }
    }
}

/// What went wrong on the submission's side, and why (for the student).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub lost: Lost,
    pub why: String,
}

impl Refusal {
    pub fn new(lost: Lost, why: impl Into<String>) -> Refusal {
        Refusal {
            lost,
            why: why.into(),
        }
    }

    /// Answers that are there but wrong (or malformed).
    pub fn wrong(why: impl Into<String>) -> Refusal {
        Refusal::new(Lost::WrongAnswer, why)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
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
