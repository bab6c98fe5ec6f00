//! A class graded in shares (`petri grade --shard I/N`, for a CI matrix or a Slurm array) and
//! merged back (`petri grade-merge`). Each shard's `--out` holds a `shard.json` that says which
//! share of how many it is, of which class (a digest of every submission's name) and which
//! submissions it holds, so a merge can refuse a missing, duplicated, foreign or unfinished
//! shard instead of writing a gradebook that silently lacks students.

use crate::result::SubmissionResult;
use petri_engine::atomic::write_json_atomic;
use petri_engine::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A share of a class: the `index`-th of `count` (1-based), e.g. `--shard 2/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let bad = || format!("--shard {s}: write I/N with 1 <= I <= N, e.g. 2/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the `position`-th submission (in name order) is this shard's: round robin, so
    /// shards differ by at most one submission and the split depends only on the names.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

/// What a shard's `--out` folder is a share of (`shard.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardManifest {
    pub challenge: String,
    pub shard: Shard,
    /// SHA-256 over the names of every submission of the class, in name order: shards of the
    /// same class agree on it.
    pub class: String,
    pub class_size: usize,
    /// The submissions this shard grades, by name.
    pub submissions: Vec<String>,
}

pub const MANIFEST: &str = "shard.json";

impl ShardManifest {
    /// The manifest of `shard` of a class whose submissions are `class` (names, in order).
    pub fn new(challenge: &str, shard: Shard, class: &[String]) -> ShardManifest {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for name in class {
            h.update((name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
        }
        ShardManifest {
            challenge: challenge.to_string(),
            shard,
            class: h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
            class_size: class.len(),
            submissions: class
                .iter()
                .enumerate()
                .filter(|(i, _)| shard.holds(*i))
                .map(|(_, n)| n.clone())
                .collect(),
        }
    }

    pub fn save(&self, out: &Path) -> Result<()> {
        write_json_atomic(&out.join(MANIFEST), self)
    }

    /// The manifest in a shard's folder, `None` when it has none.
    pub fn load(dir: &Path) -> Result<Option<ShardManifest>> {
        let path = dir.join(MANIFEST);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                Error::invalid(format!(
                    "{}: not a shard manifest of `petri grade --shard` ({e})",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }
}

/// One shard folder given to a merge: its manifest (if any) and its results.
pub struct ShardOutput {
    pub dir: PathBuf,
    pub manifest: Option<ShardManifest>,
    pub results: Vec<SubmissionResult>,
}

/// What keeps a set of shards from being the whole class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub message: String,
    /// A merge told `--partial` may go on without what is missing (an absent or unfinished
    /// shard, one with no manifest); a duplicated or foreign shard is never merged.
    pub partial_ok: bool,
}

/// What keeps a set of shards from being the whole class, one sentence each.
pub fn gaps(shards: &[ShardOutput]) -> Vec<Gap> {
    let gap = |partial_ok: bool| {
        move |message: String| Gap {
            message,
            partial_ok,
        }
    };
    let (lacking, wrong) = (gap(true), gap(false));
    let mut gaps = Vec::new();
    let mut seen: BTreeMap<usize, &Path> = BTreeMap::new();
    let mut first: Option<(&ShardManifest, &Path)> = None;
    for s in shards {
        let Some(m) = &s.manifest else {
            gaps.push(lacking(format!(
                "{} has no {MANIFEST}: it was not graded with `petri grade --shard I/N`, so \
                 nothing says which share of the class it holds",
                s.dir.display()
            )));
            continue;
        };
        match first {
            None => first = Some((m, &s.dir)),
            Some((f, f_dir)) if f.class != m.class || f.shard.count != m.shard.count => {
                gaps.push(wrong(format!(
                    "{} is shard {} of a class of {} and {} is shard {} of a class of {}: they                      are not shares of the same class and split; grade every shard from the                      same submissions with the same N",
                    s.dir.display(),
                    m.shard,
                    m.class_size,
                    f_dir.display(),
                    f.shard,
                    f.class_size
                )))
            }
            Some(_) => {}
        }
        if let Some(other) = seen.insert(m.shard.index, &s.dir) {
            gaps.push(wrong(format!(
                "shard {} is given twice ({} and {})",
                m.shard,
                other.display(),
                s.dir.display()
            )));
        }
        let graded: std::collections::BTreeSet<&str> =
            s.results.iter().map(|r| r.submission.as_str()).collect();
        let missing: Vec<&str> = m
            .submissions
            .iter()
            .map(String::as_str)
            .filter(|n| !graded.contains(n))
            .collect();
        if !missing.is_empty() {
            gaps.push(lacking(format!(
                "shard {} ({}) has not finished: {} of its {} submissions are not in its \
                 results ({}); continue it with `petri grade ... --shard {} --resume`",
                m.shard,
                s.dir.display(),
                missing.len(),
                m.submissions.len(),
                missing.join(", "),
                m.shard
            )));
        }
    }
    if let Some((f, _)) = first {
        let absent: Vec<String> = (1..=f.shard.count)
            .filter(|i| !seen.contains_key(i))
            .map(|i| format!("{i}/{}", f.shard.count))
            .collect();
        if !absent.is_empty() {
            gaps.push(lacking(format!(
                "shard(s) {} of this class are missing: give every shard's --out folder",
                absent.join(", ")
            )));
        }
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s{i:02}")).collect()
    }

    fn output(m: ShardManifest) -> ShardOutput {
        let results = m
            .submissions
            .iter()
            .map(|n| SubmissionResult {
                submission: n.clone(),
                challenge: m.challenge.clone(),
                score: Some(1.0),
                max_score: 1.0,
                checks: Vec::new(),
                leaderboard: None,
                notes: Vec::new(),
                seconds: 0.0,
                graded_at: 0,
                error: None,
                digest: String::new(),
            })
            .collect();
        ShardOutput {
            dir: PathBuf::from(format!("shard-{}", m.shard.index)),
            manifest: Some(m),
            results,
        }
    }

    fn shard(i: usize, n: usize, class: &[String]) -> ShardOutput {
        output(ShardManifest::new(
            "dice",
            Shard { index: i, count: n },
            class,
        ))
    }

    #[test]
    fn a_whole_class_has_no_gaps_and_shares_split_it() {
        let c = class(7);
        let all: Vec<ShardOutput> = (1..=3).map(|i| shard(i, 3, &c)).collect();
        assert!(gaps(&all).is_empty(), "{:?}", gaps(&all));
        let mut names: Vec<&String> = all
            .iter()
            .flat_map(|s| &s.manifest.as_ref().unwrap().submissions)
            .collect();
        names.sort();
        assert_eq!(names, c.iter().collect::<Vec<_>>());
    }

    #[test]
    fn missing_duplicated_foreign_and_unfinished_shards_are_named() {
        let c = class(7);
        let g = gaps(&[shard(1, 3, &c), shard(3, 3, &c)]);
        assert!(
            g.iter().any(|x| x.message.contains("shard(s) 2/3")),
            "{g:?}"
        );
        assert!(g.iter().all(|x| x.partial_ok), "{g:?}");

        let g = gaps(&[shard(1, 2, &c), shard(1, 2, &c), shard(2, 2, &c)]);
        assert!(
            g.iter()
                .any(|x| x.message.contains("shard 1/2 is given twice") && !x.partial_ok),
            "{g:?}"
        );

        let g = gaps(&[shard(1, 2, &c), shard(2, 2, &class(8))]);
        assert!(
            g.iter()
                .any(|x| x.message.contains("not shares of the same class")),
            "{g:?}"
        );

        let mut cut = shard(2, 2, &c);
        cut.results.pop();
        let g = gaps(&[shard(1, 2, &c), cut]);
        assert!(
            g.iter().any(|x| x.message.contains("has not finished")),
            "{g:?}"
        );

        let mut bare = shard(2, 2, &c);
        bare.manifest = None;
        let g = gaps(&[shard(1, 2, &c), bare]);
        assert!(
            g.iter().any(|x| x.message.contains("no shard.json")),
            "{g:?}"
        );
    }
}
