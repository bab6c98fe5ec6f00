//! A student's progress: lessons read, knowledge-check scores, challenges passed, experiments
//! run. Saved atomically after every change, so a dropped SSH connection loses nothing.
//!
//! Every change goes through [`Progress::update`]: under a file lock it re-reads the file,
//! applies the change and writes it back, so two `petri` processes of one student (two SSH
//! windows) never lose each other's answers.
//!
//! The hints of a challenge revealed so far are counted in the student's copy of it instead
//! ([`hints_shown`]).

use petri_engine::{Error, Result, atomic};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuizScore {
    /// Question id to whether the latest answer was right.
    pub answers: BTreeMap<String, bool>,
    pub total: usize,
    /// The seed of the option order the student sees in this attempt; a fresh attempt draws a
    /// new one. Absent in files written before options were shuffled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl QuizScore {
    pub fn correct(&self) -> usize {
        self.answers.values().filter(|&&v| v).count()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartProgress {
    #[serde(default)]
    pub lesson_read: bool,
    #[serde(default)]
    pub quiz: Option<QuizScore>,
    #[serde(default)]
    pub challenges_passed: BTreeSet<String>,
    /// Paths of run records of this part's experiments.
    #[serde(default)]
    pub runs: Vec<String>,
    /// The data the student last chose for this part's run (`None`: the course's dataset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    #[serde(default)]
    pub parts: BTreeMap<String, PartProgress>,
    /// The language the student answers code challenges in, once chosen (the tutor asks the
    /// first time; `petri challenge start --lang` sets it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<petri_grader::Language>,
}

impl Progress {
    /// Reads progress; a missing file is a fresh start.
    pub fn load(path: &Path) -> Result<Progress> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Error::format(
                    path,
                    format!("progress file is damaged ({e}); move it aside to start afresh"),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Applies `change` to the progress saved at `path` (not to a copy held in memory, which
    /// another process may have outdated), saves it, and returns the result.
    pub fn update(path: &Path, change: impl FnOnce(&mut Progress)) -> Result<Progress> {
        let _lock = atomic::FileLock::exclusive(path)?;
        let mut progress = Progress::load(path)?;
        change(&mut progress);
        atomic::write_json_atomic(path, &progress)?;
        Ok(progress)
    }

    pub fn part(&mut self, id: &str) -> &mut PartProgress {
        self.parts.entry(id.to_string()).or_default()
    }

    /// Records one answer and saves at once; `self` becomes the saved state.
    pub fn record_answer(
        &mut self,
        path: &Path,
        part: &str,
        question: &str,
        correct: bool,
        total: usize,
    ) -> Result<()> {
        *self = Progress::update(path, |p| {
            let quiz = p.part(part).quiz.get_or_insert_with(QuizScore::default);
            quiz.answers.insert(question.to_string(), correct);
            quiz.total = total;
        })?;
        Ok(())
    }

    /// The seed of the student's current attempt at `part`'s check: the saved one, or a new one
    /// drawn and saved, so a resumed or retaken check shows the same option order.
    pub fn quiz_seed(&mut self, path: &Path, part: &str) -> Result<u64> {
        if let Some(seed) = self.parts.get(part).and_then(|p| p.quiz.as_ref()?.seed) {
            return Ok(seed);
        }
        *self = Progress::update(path, |p| {
            let quiz = p.part(part).quiz.get_or_insert_with(QuizScore::default);
            quiz.seed.get_or_insert_with(fresh_seed);
        })?;
        Ok(self.parts[part]
            .quiz
            .as_ref()
            .and_then(|q| q.seed)
            .unwrap_or(0))
    }

    /// A fresh attempt at `part`'s check: answers cleared, a new option order. Returns its seed.
    pub fn fresh_quiz(&mut self, path: &Path, part: &str) -> Result<u64> {
        let seed = fresh_seed();
        *self = Progress::update(path, |p| {
            p.part(part).quiz = Some(QuizScore {
                seed: Some(seed),
                ..QuizScore::default()
            });
        })?;
        Ok(seed)
    }
}

/// The file in a student's copy of a challenge that counts its hints revealed. Kept with the
/// copy rather than in the progress file: `petri challenge hint` knows only the copy's folder.
const HINTS_FILE: &str = ".petri-hints";

/// How many hints of the challenge copied into `copy_dir` the student has revealed (none when
/// the count is missing or unreadable). The tutor's `h` and `petri challenge hint` share it.
pub fn hints_shown(copy_dir: &Path) -> usize {
    std::fs::read_to_string(copy_dir.join(HINTS_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Records that `shown` hints of the challenge copied into `copy_dir` are revealed.
pub fn set_hints_shown(copy_dir: &Path, shown: usize) -> std::io::Result<()> {
    std::fs::write(copy_dir.join(HINTS_FILE), format!("{shown}\n"))
}

/// A seed no other attempt is likely to share (the standard library's per-process random keys).
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/progress.json");
        assert_eq!(Progress::load(&path).unwrap(), Progress::default());
        let mut p = Progress::default();
        p.record_answer(&path, "01-classification", "q1", true, 9)
            .unwrap();
        p.record_answer(&path, "01-classification", "q2", false, 9)
            .unwrap();
        let back = Progress::load(&path).unwrap();
        assert_eq!(
            back.parts["01-classification"]
                .quiz
                .as_ref()
                .unwrap()
                .correct(),
            1
        );
        // The order's seed is kept until a fresh attempt.
        let seed = p.quiz_seed(&path, "01-classification").unwrap();
        let mut again = Progress::load(&path).unwrap();
        assert_eq!(again.quiz_seed(&path, "01-classification").unwrap(), seed);
        assert_eq!(
            again.parts["01-classification"]
                .quiz
                .as_ref()
                .unwrap()
                .correct(),
            1
        );
        let fresh = again.fresh_quiz(&path, "01-classification").unwrap();
        assert_ne!(fresh, seed);
        assert_eq!(
            again.parts["01-classification"]
                .quiz
                .as_ref()
                .unwrap()
                .correct(),
            0
        );
        std::fs::write(&path, "{ not json").unwrap();
        assert!(
            Progress::load(&path)
                .unwrap_err()
                .to_string()
                .contains("progress.json")
        );
    }

    /// Two processes of one student, each holding its own copy in memory: every answer of both
    /// ends up in the file.
    #[test]
    fn two_writers_keep_each_others_answers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.json");
        let exe = std::env::current_exe().unwrap();
        let children: Vec<_> = ["a", "b"]
            .iter()
            .map(|w| {
                std::process::Command::new(&exe)
                    .args(["--exact", "progress::tests::writer_child", "--nocapture"])
                    .env("PETRI_TEST_PROGRESS", &path)
                    .env("PETRI_TEST_WRITER", w)
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let back = Progress::load(&path).unwrap();
        let quiz = back.parts["00-protocol"].quiz.as_ref().unwrap();
        assert_eq!(quiz.answers.len(), 2 * WRITES, "{quiz:?}");
        assert!(back.parts["01-classification"].lesson_read);
    }

    const WRITES: usize = 40;

    /// One of the two writers above (does nothing when run on its own).
    #[test]
    fn writer_child() {
        let (Some(path), Some(w)) = (
            std::env::var_os("PETRI_TEST_PROGRESS"),
            std::env::var("PETRI_TEST_WRITER").ok(),
        ) else {
            return;
        };
        let path = std::path::PathBuf::from(path);
        let mut mine = Progress::load(&path).unwrap();
        for i in 0..WRITES {
            mine.record_answer(&path, "00-protocol", &format!("{w}{i}"), true, 2 * WRITES)
                .unwrap();
            if w == "b" && i == WRITES / 2 {
                Progress::update(&path, |p| p.part("01-classification").lesson_read = true)
                    .unwrap();
            }
        }
    }
}
