//! A student's progress: lessons read, knowledge-check scores, challenges passed, experiments
//! run. Saved atomically after every change, so a dropped SSH connection loses nothing.

use crate::{Error, Result, atomic};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuizScore {
    /// Question id to whether the latest answer was right.
    pub answers: BTreeMap<String, bool>,
    pub total: usize,
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
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    #[serde(default)]
    pub parts: BTreeMap<String, PartProgress>,
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

    pub fn save(&self, path: &Path) -> Result<()> {
        atomic::write_json_atomic(path, self)
    }

    pub fn part(&mut self, id: &str) -> &mut PartProgress {
        self.parts.entry(id.to_string()).or_default()
    }

    /// Records one answer and saves at once.
    pub fn record_answer(
        &mut self,
        path: &Path,
        part: &str,
        question: &str,
        correct: bool,
        total: usize,
    ) -> Result<()> {
        let quiz = self.part(part).quiz.get_or_insert_with(QuizScore::default);
        quiz.answers.insert(question.to_string(), correct);
        quiz.total = total;
        self.save(path)
    }
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
        std::fs::write(&path, "{ not json").unwrap();
        assert!(
            Progress::load(&path)
                .unwrap_err()
                .to_string()
                .contains("progress.json")
        );
    }
}
