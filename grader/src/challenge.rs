//! Challenge definitions: `challenges/<part>/<name>/challenge.toml`, a statement, a starter
//! and a reference solution. Challenges are data; the grader is generic over them except for
//! the task that produces inputs and scores outputs (see `tasks`).

use crate::language::Language;
use crate::result::{Lost, Refusal};
use petri_engine::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Marks a folder made by `petri challenge start`; holds the challenge's id and, for a code
/// challenge, the language it is answered in (one per line).
pub const MARKER: &str = ".petri-challenge";

/// What a challenge folder's marker says.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub id: String,
    pub language: Option<Language>,
}

impl Marker {
    /// The marker of `dir`; `None` when it has none.
    pub fn read(dir: &Path) -> Option<Marker> {
        let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let id = lines.next()?.to_string();
        let language = lines.next().and_then(|l| l.parse().ok());
        Some(Marker { id, language })
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MARKER);
        let mut text = format!("{}\n", self.id);
        if let Some(l) = self.language {
            text.push_str(&format!("{l}\n"));
        }
        petri_engine::atomic::write_atomic(&path, text.as_bytes())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The student edits one source file, in Rust (compiled into a harness the grader owns) or
    /// in Python with numpy (imported by one).
    Code,
    /// The student edits an experiment file that the engine runs.
    Config,
}

/// One check of a challenge, as written in `challenge.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    pub id: String,
    pub name: String,
    pub points: f64,
    /// Hidden checks run only when grading; students see their score after publication.
    #[serde(default = "yes")]
    pub visible: bool,
    /// For metric checks: the value that earns nothing and the value that earns full marks;
    /// credit is linear in between (either direction: lower-is-better when target < floor).
    #[serde(default)]
    pub floor: Option<f64>,
    #[serde(default)]
    pub target: Option<f64>,
}

fn yes() -> bool {
    true
}

impl CheckSpec {
    /// Credit in [0, 1] for a metric value between `floor` and `target`.
    pub fn credit(&self, value: f64) -> f64 {
        match (self.floor, self.target) {
            (Some(f), Some(t)) if value.is_finite() && f != t => {
                ((value - f) / (t - f)).clamp(0.0, 1.0)
            }
            _ => 0.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// `<part>/<name>`, from the folder.
    #[serde(skip)]
    pub id: String,
    #[serde(skip)]
    pub dir: PathBuf,
    pub title: String,
    pub part: String,
    pub kind: Kind,
    /// Which grader task produces inputs and scores outputs.
    pub task: String,
    /// Statement file (Markdown), relative to the challenge folder.
    pub statement: String,
    /// The files the student edits; the only ones taken from a submission. A code challenge
    /// names its Rust file (`dice.rs`); its Python answer is the same name in `.py`.
    pub files: Vec<String>,
    #[serde(default = "default_time")]
    pub time_limit_s: u64,
    #[serde(default = "default_memory")]
    pub memory_limit_mb: u64,
    /// Wall-clock limit of compiling one code submission: a file that makes the compiler spin
    /// costs only itself. A correct one builds in 1-3 s.
    #[serde(default = "default_build_time")]
    pub build_time_limit_s: u64,
    #[serde(default)]
    pub hints: Vec<String>,
    /// Hints for Python answers, where they differ from `hints` (which they then replace).
    #[serde(default)]
    pub python_hints: Vec<String>,
    #[serde(rename = "check")]
    pub checks: Vec<CheckSpec>,
}

fn default_time() -> u64 {
    60
}
fn default_build_time() -> u64 {
    180
}
fn default_memory() -> u64 {
    1024
}

impl Challenge {
    pub fn load(dir: &Path, root: &Path) -> Result<Challenge> {
        let path = dir.join("challenge.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let mut c: Challenge =
            toml::from_str(&text).map_err(|e| Error::format(&path, e.to_string()))?;
        c.id = dir
            .strip_prefix(root)
            .unwrap_or(dir)
            .to_string_lossy()
            .replace('\\', "/");
        c.dir = dir.to_path_buf();
        c.validate().map_err(|p| Error::format(&path, p))?;
        // Every language a student can choose has its starter.
        for l in Language::ALL {
            for f in c.files_for(l) {
                if !c.starter_dir().join(&f).is_file() {
                    return Err(Error::format(
                        &path,
                        format!("starter/{f} is missing (a {} starter)", l.title()),
                    ));
                }
            }
        }
        Ok(c)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.checks.is_empty() {
            return Err("a challenge needs at least one [[check]]".into());
        }
        if self.files.is_empty() {
            return Err("`files` must name the files the student edits".into());
        }
        for f in &self.files {
            if f.contains("..") || f.starts_with('/') || f.contains('\\') {
                return Err(format!("file '{f}' must be a plain relative name"));
            }
            if self.kind == Kind::Code && !f.ends_with(".rs") {
                return Err(format!(
                    "a code challenge names its Rust file (its Python answer is the same name in .py), not '{f}'"
                ));
            }
        }
        if self.kind == Kind::Code && self.files.len() != 1 {
            return Err("a code challenge takes exactly one file".into());
        }
        if self.kind == Kind::Config && !self.python_hints.is_empty() {
            return Err("python_hints are for code challenges".into());
        }
        let mut ids: Vec<&str> = self.checks.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err("check ids must be unique".into());
        }
        for c in &self.checks {
            if c.points <= 0.0 {
                return Err(format!("check '{}': points must be positive", c.id));
            }
            if c.floor.is_some() != c.target.is_some() || c.floor.is_some() && c.floor == c.target {
                return Err(format!(
                    "check '{}': give both floor and target, and make them differ",
                    c.id
                ));
            }
        }
        Ok(())
    }

    pub fn max_points(&self) -> f64 {
        self.checks.iter().map(|c| c.points).sum()
    }

    pub fn starter_dir(&self) -> PathBuf {
        self.dir.join("starter")
    }

    pub fn reference_dir(&self) -> PathBuf {
        self.dir.join("reference")
    }

    /// The statement as written, with every language's code.
    pub fn statement_text(&self) -> Result<String> {
        let p = self.dir.join(&self.statement);
        std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))
    }

    /// The statement for an answer in `language`: code blocks fenced as another language are
    /// left out, and the answer file's name is the language's (`dice.rs` becomes `dice.py`).
    pub fn statement_for(&self, language: Language) -> Result<String> {
        let text = self.statement_text()?;
        if self.kind != Kind::Code {
            return Ok(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut skipping = false;
        let mut in_block = false;
        for line in text.lines() {
            let fence = line.trim_start().strip_prefix("```");
            match fence {
                Some(info) if !in_block => {
                    in_block = true;
                    let tag = info.trim();
                    skipping = Language::ALL
                        .iter()
                        .any(|l| l.name() == tag && *l != language);
                    if skipping {
                        continue;
                    }
                }
                Some(_) => {
                    in_block = false;
                    if std::mem::take(&mut skipping) {
                        continue;
                    }
                }
                None if skipping => continue,
                None => {}
            }
            out.push_str(line);
            out.push('\n');
        }
        // A blank line left twice where a block was dropped.
        while out.contains("\n\n\n") {
            out = out.replace("\n\n\n", "\n\n");
        }
        for f in &self.files {
            out = out.replace(&format!("`{f}`"), &format!("`{}`", language.file_name(f)));
        }
        Ok(out)
    }

    /// The hints for an answer in `language`.
    pub fn hints_for(&self, language: Option<Language>) -> &[String] {
        match language {
            Some(Language::Python) if !self.python_hints.is_empty() => &self.python_hints,
            _ => &self.hints,
        }
    }

    /// The files a student edits to answer in `language` (a config challenge's own files,
    /// whatever the language).
    pub fn files_for(&self, language: Language) -> Vec<String> {
        match self.kind {
            Kind::Code => self.files.iter().map(|f| language.file_name(f)).collect(),
            Kind::Config => self.files.clone(),
        }
    }

    /// Every file a submission may answer with: a code challenge's file in each language, a
    /// config challenge's files.
    pub fn answer_files(&self) -> Vec<String> {
        match self.kind {
            Kind::Code => Language::ALL
                .into_iter()
                .flat_map(|l| self.files_for(l))
                .collect(),
            Kind::Config => self.files.clone(),
        }
    }

    /// The language a code submission in `dir` is answered in: the one whose file is there, or
    /// where both are, the one its marker names. A refusal says what is missing or ambiguous.
    pub fn answer_language(&self, dir: &Path) -> std::result::Result<Language, Refusal> {
        let present: Vec<Language> = Language::ALL
            .into_iter()
            .filter(|l| {
                self.files_for(*l)
                    .iter()
                    .any(|f| std::fs::symlink_metadata(dir.join(f)).is_ok())
            })
            .collect();
        let names = |l: Language| self.files_for(l).join(", ");
        match present.as_slice() {
            [one] => Ok(*one),
            [] => Err(Refusal::new(
                Lost::NotSubmitted,
                format!(
                    "{} (Rust) or {} (Python) is missing from the submission ({})",
                    names(Language::Rust),
                    names(Language::Python),
                    dir.display()
                ),
            )),
            _ => Marker::read(dir).and_then(|m| m.language).ok_or_else(|| {
                Refusal::new(
                    Lost::NotSubmitted,
                    format!(
                        "both {} and {} are in the submission: keep only the one to be graded",
                        names(Language::Rust),
                        names(Language::Python)
                    ),
                )
            }),
        }
    }

    /// Copies the starter's files for `language` (never the reference), the statement as
    /// README.md and a marker naming the challenge and language into `dir`, which must be
    /// missing or empty. `language` is ignored by config challenges.
    pub fn copy_starter(&self, dir: &Path, language: Language) -> Result<()> {
        let non_empty = dir.exists()
            && std::fs::read_dir(dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true);
        if non_empty {
            return Err(Error::invalid(format!(
                "{} already exists and is not empty: pick another folder, or check it with `petri challenge check {}`",
                dir.display(),
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for f in self.files_for(language) {
            let from = self.starter_dir().join(&f);
            std::fs::copy(&from, dir.join(&f)).map_err(|e| Error::io(&from, e))?;
        }
        let readme = dir.join("README.md");
        std::fs::write(&readme, self.statement_for(language)?)
            .map_err(|e| Error::io(&readme, e))?;
        Marker {
            id: self.id.clone(),
            language: (self.kind == Kind::Code).then_some(language),
        }
        .write(dir)
    }

    pub fn check(&self, id: &str) -> Option<&CheckSpec> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// Every challenge under `root` (`<root>/<part>/<name>/challenge.toml`), sorted by part order
/// then name.
pub fn load_all(root: &Path) -> Result<Vec<Challenge>> {
    let mut out = Vec::new();
    let parts = std::fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    for part in parts.flatten() {
        if !part.path().is_dir() {
            continue;
        }
        let names = std::fs::read_dir(part.path()).map_err(|e| Error::io(part.path(), e))?;
        for entry in names.flatten() {
            if entry.path().join("challenge.toml").is_file() {
                out.push(Challenge::load(&entry.path(), root)?);
            }
        }
    }
    let order = |p: &str| {
        [
            "classification",
            "augmentation",
            "segmentation",
            "regression",
        ]
        .iter()
        .position(|x| *x == p)
        .unwrap_or(9)
    };
    out.sort_by(|a, b| order(&a.part).cmp(&order(&b.part)).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Finds a challenge by id (`regression/feature-selection`) or by its last part.
pub fn find(root: &Path, id: &str) -> Result<Challenge> {
    let all = load_all(root)?;
    let names: Vec<String> = all.iter().map(|c| c.id.clone()).collect();
    all.into_iter()
        .find(|c| c.id == id || c.id.rsplit('/').next() == Some(id))
        .ok_or_else(|| {
            // Where the challenges were unpacked is Petri's business, not the student's.
            Error::invalid(format!(
                "no challenge '{id}'; there are: {} (`petri challenge list` describes them)",
                names.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(floor: f64, target: f64) -> CheckSpec {
        CheckSpec {
            id: "c".into(),
            name: "c".into(),
            points: 1.0,
            visible: true,
            floor: Some(floor),
            target: Some(target),
        }
    }

    #[test]
    fn credit_is_linear_between_floor_and_target_in_both_directions() {
        let higher = check(0.5, 0.9);
        assert_eq!(higher.credit(0.4), 0.0);
        assert!((higher.credit(0.7) - 0.5).abs() < 1e-12);
        assert_eq!(higher.credit(0.95), 1.0);
        let lower = check(0.2, 0.1);
        assert_eq!(lower.credit(0.25), 0.0);
        assert!((lower.credit(0.15) - 0.5).abs() < 1e-12);
        assert_eq!(lower.credit(0.05), 1.0);
        assert_eq!(lower.credit(f64::NAN), 0.0);
    }
}
