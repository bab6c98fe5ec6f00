//! The record of an experiment: configuration, seed, versions, data checksum, per-epoch curves
//! and final metrics, written atomically as JSON so a crash never leaves half a record.

use super::{Profile, Suite};
use crate::{Result, atomic};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Defined with the training events (a finished model is reported as one).
pub use crate::train::{ModelRun, SeedRun};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRef {
    pub path: String,
    /// SHA-256 of the data file (`None` for embedded data or folders).
    pub sha256: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentRecord {
    pub part: Suite,
    pub profile: Profile,
    pub seed: u64,
    pub device: String,
    pub threads: usize,
    pub petri_version: String,
    pub burn_version: String,
    /// The compiler that built Petri, and the system it ran on.
    #[serde(default)]
    pub rustc_version: String,
    #[serde(default)]
    pub os: String,
    pub data: DataRef,
    /// The preset's settings after the user's overrides (epochs, batch size, optimiser, ...).
    pub config: serde_json::Value,
    pub class_names: Vec<String>,
    pub runs: Vec<ModelRun>,
    pub notes: Vec<String>,
    /// What the lesson expects these runs to show, and whether they do (`expected::check`).
    #[serde(default)]
    pub expected: Vec<super::findings::Expected>,
    /// The seeds the runs were repeated over (`--seeds`); empty for a single seed (`seed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<u64>,
    /// Pairs of runs compared against the seed-to-seed spread (`seeds::compare`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<super::findings::Comparison>,
    /// What was asked for: enough to run it again (`petri rerun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<super::request::RunRequest>,
    pub started_unix: u64,
    pub seconds: f64,
}

impl ExperimentRecord {
    pub fn new(
        part: Suite,
        profile: Profile,
        seed: u64,
        device: &str,
        data: DataRef,
        config: serde_json::Value,
    ) -> Self {
        ExperimentRecord {
            part,
            profile,
            seed,
            device: device.to_string(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            petri_version: env!("CARGO_PKG_VERSION").to_string(),
            // Pinned with `=` in engine/Cargo.toml.
            burn_version: "0.22.1".to_string(),
            rustc_version: env!("PETRI_RUSTC_VERSION").to_string(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            data,
            config,
            class_names: Vec::new(),
            runs: Vec::new(),
            notes: Vec::new(),
            expected: Vec::new(),
            seeds: Vec::new(),
            comparisons: Vec::new(),
            request: None,
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            seconds: 0.0,
        }
    }

    /// Adds a finished (or stopped) model and reports it, so its results can be shown before the
    /// rest of the experiment ends.
    pub fn push_run(&mut self, run: ModelRun, events: &dyn Fn(crate::train::Event)) {
        events(crate::train::Event::RunFinished {
            run: Box::new(run.clone()),
            class_names: self.class_names.clone(),
        });
        self.runs.push(run);
    }

    /// Writes the record into `dir` as `PART-UNIXTIME-seedSEED.json` (with `-2`, `-3`, ... when
    /// another run of the same second took that name) and returns its path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf> {
        let path = atomic::reserve_new_path(&dir.join(format!(
            "{}-{}-seed{}.json",
            self.part.name(),
            self.started_unix,
            self.seed
        )))?;
        atomic::write_json_atomic(&path, self)?;
        Ok(path)
    }

    /// Each test metric of this record's runs that `other` does not reproduce within
    /// `tolerance`, as "run metric: this -> other" (a run or metric `other` lacks is named too).
    pub fn differences(&self, other: &ExperimentRecord, tolerance: f64) -> Vec<String> {
        let mut out = Vec::new();
        for run in &self.runs {
            let Some(again) = other.runs.iter().find(|r| r.name == run.name) else {
                out.push(format!("{}: not in the new record", run.name));
                continue;
            };
            for (metric, v) in &run.test {
                match again.test.get(metric) {
                    Some(w) if (v - w).abs() <= tolerance || (v.is_nan() && w.is_nan()) => {}
                    Some(w) => out.push(format!("{} {metric}: {v} -> {w}", run.name)),
                    None => out.push(format!("{} {metric}: {v} -> none", run.name)),
                }
            }
        }
        out
    }

    /// The column a table run predicts (`config.target`, written by the table runners).
    pub fn target(&self) -> Option<&str> {
        self.config.get("target").and_then(|t| t.as_str())
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| crate::Error::format(path, format!("not a Petri run record: {e}")))
    }
}

/// The test examples each model of a run showed with its answers (its last `Event::Samples`),
/// kept beside the record as `samples/RECORD.json` for the sample figure: the record itself
/// stays small enough to load by the dozen, without pixels (and `runs/*.json` stays records).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleSheet {
    pub runs: Vec<RunSamples>,
    /// The run the next `Samples` event belongs to (the last `RunStarted`).
    #[serde(skip)]
    current: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSamples {
    pub run: String,
    pub samples: Vec<crate::train::Sample>,
}

impl SampleSheet {
    /// Takes note of one training event.
    pub fn see(&mut self, event: &crate::train::Event) {
        use crate::train::Event;
        match event {
            Event::RunStarted { name } => self.current = name.clone(),
            Event::Samples(samples) => {
                self.runs.retain(|r| r.run != self.current);
                self.runs.push(RunSamples {
                    run: self.current.clone(),
                    samples: samples.clone(),
                });
            }
            _ => {}
        }
    }

    /// Where the samples of the record at `record` are kept.
    pub fn path_for(record: &Path) -> PathBuf {
        let name = record.file_name().unwrap_or_default();
        record.with_file_name("samples").join(name)
    }

    pub fn save(&self, record: &Path) -> Result<PathBuf> {
        let path = Self::path_for(record);
        atomic::write_json_atomic(&path, self)?;
        Ok(path)
    }

    /// The samples kept beside `record`, if any were.
    pub fn load(record: &Path) -> Result<Option<SampleSheet>> {
        let path = Self::path_for(record);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| crate::Error::io(&path, e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| crate::Error::format(&path, format!("not a Petri sample sheet: {e}")))
    }
}

/// SHA-256 of a file, for the record.
pub fn file_sha256(path: &Path) -> Option<String> {
    crate::download::digests(path).ok().map(|(_, sha)| sha)
}
