//! The course's outline as the binary shows it: what each part (its lesson's front matter,
//! `content::Part`) needs downloaded, and the plain-text overview printed when stdout is not a
//! terminal.

use crate::content::Lesson;
pub use crate::content::Part;
use petri_engine::data::fetchable::Fetchable;
use std::fmt::Write;
use std::path::Path;

/// The part a challenge or command names (`augmentation`), among the lessons' parts.
pub fn part_named<'a>(lessons: &'a [Lesson], name: &str) -> Option<&'a Part> {
    lessons
        .iter()
        .map(|l| &l.part)
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// What a part needs downloaded: its dataset (unless embedded) and, for part 1, the ImageNet
/// weights.
pub fn part_items(part: &Part) -> Vec<Fetchable> {
    let mut items: Vec<Fetchable> = part
        .dataset()
        .filter(|d| *d != "breast-cancer-wisconsin")
        .and_then(|d| Fetchable::named(d, 28).ok())
        .into_iter()
        .collect();
    if part.imagenet_weights() {
        items.push(Fetchable::Resnet18Weights);
    }
    items
}

/// Whether a dataset is ready to use (present, or embedded in the binary).
pub fn dataset_present(data_dir: &Path, name: &str) -> bool {
    name == "breast-cancer-wisconsin"
        || Fetchable::named(name, 28).is_ok_and(|f| f.status(data_dir, false).is_usable())
}

pub fn plain_overview(data_dir: &Path, lessons: &[Lesson]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Petri: identify and train deep networks on biomedical data\n"
    );
    let _ = writeln!(out, "Course parts:");
    for (i, p) in lessons.iter().map(|l| &l.part).enumerate() {
        let data = match p.dataset() {
            Some(d) if dataset_present(data_dir, d) => format!("  [data: {d}, present]"),
            Some(d) => format!("  [data: {d}, run `petri data fetch {d}`]"),
            None => String::new(),
        };
        let _ = writeln!(out, "  {i}. {:<15} {}{data}", p.short_title, p.summary);
    }
    let _ = writeln!(
        out,
        "\n{}, so the tutor did not open. Commands that work anywhere:",
        if crate::term::dumb() {
            "TERM=dumb cannot draw full screen"
        } else {
            "stdout is not a terminal"
        }
    );
    for (cmd, what) in [
        ("petri data list", "datasets, present or not"),
        (
            "petri data fetch NAME",
            "download a dataset (checksummed, resumable)",
        ),
        (
            "petri data info PATH",
            "what a dataset file or folder holds",
        ),
        (
            "petri data verify",
            "check downloaded files against their checksums",
        ),
    ] {
        let _ = writeln!(out, "  {cmd:<24} {what}");
    }
    let _ = writeln!(out, "\nData dir: {}", data_dir.display());
    out
}
