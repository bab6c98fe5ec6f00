//! Where the tutor's lessons come from: a folder given with `--lessons` (or `$PETRI_LESSONS`),
//! else the copy embedded in the binary at build time.

use crate::content::{self, Lesson, Problem};
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_lessons.rs"));
}

pub fn source(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("PETRI_LESSONS")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Every lesson, parsed; a lesson that does not parse is returned as its problem.
pub fn load(dir: Option<&Path>) -> anyhow::Result<Vec<Result<Lesson, Problem>>> {
    match dir {
        Some(d) => Ok(content::load_all(d)?),
        None => Ok(embedded::LESSONS
            .iter()
            .map(|(name, md, check)| {
                content::parse_lesson(
                    &Path::new("lessons").join(name),
                    md.to_string(),
                    check.to_string(),
                )
            })
            .collect()),
    }
}

/// The lessons that parse (problems are for `petri content check` to report).
pub fn load_ok(dir: Option<&Path>) -> anyhow::Result<Vec<Lesson>> {
    Ok(load(dir)?.into_iter().filter_map(Result::ok).collect())
}

/// Finds a lesson by id (`01-classification`), number (`1`: the id's `NN-` prefix) or its
/// part's name (`classification`).
pub fn find<'a>(lessons: &'a [Lesson], key: &str) -> Option<&'a Lesson> {
    let key = key.to_ascii_lowercase();
    let number = key.parse::<u32>().ok();
    lessons.iter().find(|l| {
        let prefix = l
            .part
            .id
            .split('-')
            .next()
            .and_then(|n| n.parse::<u32>().ok());
        l.part.id == key || l.part.name == key || (number.is_some() && number == prefix)
    })
}

/// The part names of the built-in lessons (`classification`, ...), for completion scripts.
pub fn embedded_part_names() -> Vec<String> {
    load_ok(None)
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.part.name)
        .collect()
}
