//! The course's outline as the binary shows it: parts, their datasets, and the plain-text
//! overview printed when stdout is not a terminal.

use petri_engine::data::fetchable::Fetchable;
use std::fmt::Write;
use std::path::Path;

pub struct Part {
    pub title: &'static str,
    pub summary: &'static str,
    /// Registry name of the part's main dataset, if it has one.
    pub dataset: Option<&'static str>,
    /// Its transfer-learning runs need ImageNet ResNet-18 weights.
    pub needs_weights: bool,
}

pub const PARTS: [Part; 5] = [
    Part {
        title: "The protocol",
        summary: "From data and question to task, network, loss and metric",
        dataset: None,
        needs_weights: false,
    },
    Part {
        title: "Classification",
        summary: "ResNet-18 on PathMNIST: random weights, frozen features, fine-tuning",
        dataset: Some("pathmnist"),
        needs_weights: true,
    },
    Part {
        title: "Augmentation",
        summary: "Flips, rotations, crops and colour jitter on ChestMNIST and BreastMNIST",
        dataset: Some("breastmnist"),
        needs_weights: false,
    },
    Part {
        title: "Segmentation",
        summary: "A 4-level U-Net on skin autofluorescence images, 4 tissue classes",
        dataset: Some("skin-autofluorescence"),
        needs_weights: false,
    },
    Part {
        title: "Regression",
        summary: "Mean nuclear radius in Breast Cancer Wisconsin: baselines vs a network",
        dataset: Some("breast-cancer-wisconsin"),
        needs_weights: false,
    },
];

/// The progress key (lesson id, `02-augmentation`) of a part named as challenges and
/// experiments name it (`augmentation`).
pub fn progress_key(part: &str) -> String {
    match PARTS
        .iter()
        .position(|p| p.title.eq_ignore_ascii_case(part))
    {
        Some(i) => format!("{i:02}-{}", part.to_ascii_lowercase()),
        None => part.to_string(),
    }
}

/// What a part needs downloaded: its dataset (unless embedded) and, for part 1, the ImageNet
/// weights.
pub fn part_items(part: &Part) -> Vec<Fetchable> {
    let mut items: Vec<Fetchable> = part
        .dataset
        .filter(|d| *d != "breast-cancer-wisconsin")
        .and_then(|d| Fetchable::named(d, 28).ok())
        .into_iter()
        .collect();
    if part.needs_weights {
        items.push(Fetchable::Resnet18Weights);
    }
    items
}

/// Whether a dataset is ready to use (present, or embedded in the binary).
pub fn dataset_present(data_dir: &Path, name: &str) -> bool {
    name == "breast-cancer-wisconsin"
        || Fetchable::named(name, 28).is_ok_and(|f| f.status(data_dir, false).is_usable())
}

pub fn plain_overview(data_dir: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Petri: identify and train deep networks on biomedical data\n"
    );
    let _ = writeln!(out, "Course parts:");
    for (i, p) in PARTS.iter().enumerate() {
        let data = match p.dataset {
            Some(d) if dataset_present(data_dir, d) => format!("  [data: {d}, present]"),
            Some(d) => format!("  [data: {d}, run `petri data fetch {d}`]"),
            None => String::new(),
        };
        let _ = writeln!(out, "  {i}. {:<15} {}{data}", p.title, p.summary);
    }
    let _ = writeln!(
        out,
        "\nstdout is not a terminal, so the tutor did not open. Commands that work anywhere:"
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
