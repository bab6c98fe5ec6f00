//! `petri data`: list, fetch, inspect and verify datasets.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use petri_engine::data::fetchable::{Fetchable, Status};
use petri_engine::data::registry::{self, OTHER};
use petri_engine::data::summary::{self, SplitSummary, Summary};
use petri_engine::data::tabular::Categorical;
use petri_engine::download::human_bytes;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum DataCommand {
    /// Known datasets, whether they are present, their size and licence
    List,
    /// Download a dataset into the data dir (resumes an interrupted download)
    Fetch {
        /// A name from `petri data list` (e.g. breastmnist, path, chest)
        name: String,
        /// Image size for MedMNIST: 28, 64, 128 or 224
        #[arg(long, default_value_t = 28, value_parser = medmnist_size)]
        size: u32,
    },
    /// Describe a dataset file or folder: kind, task, shapes, splits, class balance
    Info {
        /// A .npz, a folder of class folders, an images + masks folder, a CSV, or a weights file
        path: PathBuf,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Check downloaded files against their checksums
    Verify,
}

/// `--size`: one of MedMNIST's four (a usage error otherwise, exit 2).
fn medmnist_size(s: &str) -> std::result::Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n @ (28 | 64 | 128 | 224)) => Ok(n),
        _ => Err(format!(
            "'{s}' is not a MedMNIST size: use 28, 64, 128 or 224"
        )),
    }
}

pub fn run(command: DataCommand, data_dir: &Path) -> Result<()> {
    match command {
        DataCommand::List => {
            crate::out!("{}", list(data_dir))?;
            Ok(())
        }
        DataCommand::Fetch { name, size } => fetch(&name, size, data_dir),
        DataCommand::Info { path, json } => {
            let summary = summary::describe(&path)?;
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&summary)?)?;
            } else {
                crate::out!("{}", render_summary(&summary))?;
            }
            Ok(())
        }
        DataCommand::Verify => verify(data_dir),
    }
}

/// What a status means for the student, with what to do.
pub fn explain(item: &Fetchable, status: &Status) -> String {
    match status {
        Status::Present => "present".into(),
        Status::NotOfficial { why } => format!("present, not the official file: {why}"),
        Status::Misplaced { found, expected } => format!(
            "in the wrong place: found {}, Petri reads {} (move it there)",
            found.display(),
            expected.display()
        ),
        Status::Partial { bytes } => format!(
            "partly downloaded ({}): `{}` resumes",
            human_bytes(*bytes),
            item.fetch_command()
        ),
        Status::Missing => format!("missing: `{}` fetches it", item.fetch_command()),
    }
}

pub fn list(data_dir: &Path) -> String {
    let mut out = format!(
        "Datasets and weights (data dir: {})\n\n",
        data_dir.display()
    );
    out += &format!(
        "{:<26} {:<28} {:>9}  {:<10} {}\n",
        "NAME", "TASK", "SIZE", "STATUS", "LICENCE"
    );
    let mut notes = Vec::new();
    for item in Fetchable::all() {
        // Checksums compared, as `data info`, `data verify` and `identify` do, so the commands
        // agree on a file (MD5 of MedMNIST's 28 px files: well under a second each).
        let status = item.status(data_dir, true);
        if !matches!(status, Status::Present | Status::Missing) {
            notes.push(format!("{}: {}", item.name(), explain(&item, &status)));
        }
        out += &format!(
            "{:<26} {:<28} {:>9}  {:<10} {}\n",
            item.name(),
            item.task(),
            item.approx_bytes()
                .map_or("?".to_string(), |b| format!("~{}", human_bytes(b))),
            status.label(),
            item.licence()
        );
    }
    for d in OTHER.iter().filter(|d| d.name == "breast-cancer-wisconsin") {
        out += &format!(
            "{:<26} {:<28} {:>9}  {:<10} {}\n",
            d.name,
            d.task.to_string(),
            "120 KB",
            "embedded",
            d.licence
        );
    }
    for n in notes {
        out += &format!("\n{n}");
    }
    out += "\n\nMedMNIST sizes are for 28 px; add --size 64|128|224 to `petri data fetch` for larger images.\n";
    out
}

/// A progress display for a download: a bar on a terminal, a line per tenth otherwise.
pub fn with_progress<T>(job: impl FnOnce(&mut dyn FnMut(u64, Option<u64>)) -> T) -> T {
    if crate::term::interactive(std::io::stderr().is_terminal()) {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("valid template")
            .progress_chars(crate::term::bar_chars()),
        );
        let r = job(&mut |done, total| {
            if let Some(t) = total {
                bar.set_length(t);
            }
            bar.set_position(done);
        });
        bar.finish_and_clear();
        r
    } else {
        let mut last_tenth = u64::MAX;
        job(&mut |done, total| {
            if let Some(t) = total.filter(|&t| t > 0) {
                let tenth = done * 10 / t;
                if tenth != last_tenth {
                    last_tenth = tenth;
                    eprintln!(
                        "  {}% ({} of {})",
                        tenth * 10,
                        human_bytes(done),
                        human_bytes(t)
                    );
                }
            }
        })
    }
}

fn fetch(name: &str, size: u32, data_dir: &Path) -> Result<()> {
    if name == "breast-cancer-wisconsin" {
        crate::outln!("{name} is embedded in Petri: nothing to download.")?;
        return Ok(());
    }
    let item = Fetchable::named(name, size)?;
    eprintln!(
        "Fetching {} into {}",
        item.name(),
        item.dest(data_dir).display()
    );
    let report = with_progress(|p| item.fetch(data_dir, p))
        .with_context(|| format!("fetching {}", item.name()))?;
    if report.already_present {
        crate::outln!(
            "{} is already present at {}",
            item.name(),
            report.path.display()
        )?;
        return Ok(());
    }
    crate::outln!(
        "Saved {} ({}, {} file(s)) to {}{}",
        item.name(),
        human_bytes(report.bytes),
        report.files,
        report.path.display(),
        report
            .sha256
            .map(|s| format!("\n  sha256 {s}"))
            .unwrap_or_default()
    )?;
    Ok(())
}

/// Checks every item that is there against its checksum; lists what is missing.
fn verify(data_dir: &Path) -> Result<()> {
    let mut bad = 0;
    let mut present = 0;
    for item in Fetchable::all() {
        let status = item.status(data_dir, true);
        if status == Status::Missing {
            continue;
        }
        present += 1;
        if !matches!(status, Status::Present) {
            bad += 1;
        }
        crate::outln!("{:<26} {}", item.name(), explain(&item, &status))?;
    }
    if present == 0 {
        crate::outln!(
            "Nothing downloaded in {} yet. `petri data list` shows what can be fetched.",
            data_dir.display()
        )?;
    }
    if bad > 0 {
        bail!("{bad} item(s) are not the official files or not where Petri reads them");
    }
    Ok(())
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

/// `petri data info`'s text: what the dataset is, its shape, splits and class balance.
pub fn render_summary(s: &Summary) -> String {
    match s {
        Summary::Medmnist {
            path,
            flag,
            official,
            task,
            channels,
            height,
            width,
            class_names,
            splits,
        } => {
            let mut out = format!("{}\n", path.display());
            out += &format!(
                "  kind: MedMNIST .npz ({})\n",
                medmnist_kind(flag.as_deref(), *official)
            );
            out += &format!("  task: {task}, {} classes\n", class_names.len());
            let colour = if *channels == 1 {
                "grey"
            } else {
                "colour (RGB)"
            };
            out += &format!("  images: {colour} {width}x{height}, {channels} channel(s)\n");
            out += &split_sizes(splits);
            out + &class_balance(*task, class_names, splits)
        }
        Summary::Table {
            path,
            layout,
            rows_with_missing,
            rows,
            columns,
            categorical,
            breast_cancer,
        } => {
            let mut out = format!("{}\n  kind: CSV table ({layout})\n", path.display());
            out += &format!("  rows: {rows}, columns: {}\n", columns.len());
            if *rows_with_missing > 0 {
                out += &format!(
                    "  {rows_with_missing} more row(s) have a missing value (empty, NA, NaN, null or ?): training leaves them out, as `petri identify` says\n"
                );
            }
            if *breast_cancer {
                out += "  recognised: Breast Cancer Wisconsin Diagnostic (the regression part's data)\n";
            }
            out += &categorical_codes(categorical);
            let shown: Vec<&str> = columns.iter().take(8).map(String::as_str).collect();
            out + &format!(
                "  columns: {}{}\n",
                shown.join(", "),
                if columns.len() > 8 { ", ..." } else { "" }
            )
        }
        Summary::Segmentation {
            path,
            task,
            label_map,
            class_names,
            image_sizes,
            channels,
            splits,
            unpaired,
        } => {
            let mut out = format!(
                "{}\n  kind: image + mask folders\n  task: {task}\n",
                path.display()
            );
            out += &format!(
                "  label map: {label_map}\n  images: {channels} channel(s), sizes {}\n",
                image_sizes.join(", ")
            );
            out += &pixel_shares(class_names, splits);
            if let Some(first) = unpaired.first() {
                out += &format!(
                    "  {} image(s) without a mask (not used), e.g. {}\n",
                    unpaired.len(),
                    first.display()
                );
            }
            out
        }
    }
}

/// What a MedMNIST file is: official (by checksum), a look-alike, or a custom dataset.
fn medmnist_kind(flag: Option<&str>, official: Option<bool>) -> String {
    match (flag, official) {
        (None, _) => "custom dataset, task inferred from labels".to_string(),
        (Some(f), Some(true)) => format!("official {f}, checksum matches"),
        (Some(f), Some(false)) => format!(
            "{f}'s splits and shape, but not the official file: its MD5 differs from MedMNIST's"
        ),
        (Some(f), None) => {
            format!("{f}'s splits and shape; no official checksum known for this size")
        }
    }
}

/// The splits' sizes on one line: "train 546 / val 78 / test 156 (780 images)".
fn split_sizes(splits: &[SplitSummary]) -> String {
    let total: usize = splits.iter().map(|s| s.count).sum();
    format!(
        "  splits: {} ({} images)\n",
        splits
            .iter()
            .map(|s| format!("{} {}", s.name, s.count))
            .collect::<Vec<_>>()
            .join(" / "),
        total
    )
}

/// A table of images per class (positives per label for multi-label), a column per split.
fn class_balance(task: registry::Task, class_names: &[String], splits: &[SplitSummary]) -> String {
    let what = if task == registry::Task::MultiLabel {
        "positives per label"
    } else {
        "class balance"
    };
    let mut out = format!("  {what}:\n");
    out += &format!("    {:<36}", "class");
    for sp in splits {
        out += &format!(" {:>15}", sp.name);
    }
    out += "\n";
    for (c, name) in class_names.iter().enumerate() {
        out += &format!("    {:<36}", format!("{c} {name}"));
        for sp in splits {
            let n = sp.class_counts[c];
            out += &format!(" {:>15}", format!("{n} ({})", percent(n, sp.count as u64)));
        }
        out += "\n";
    }
    out
}

/// A line per categorical column of a table: the number each level is encoded as.
fn categorical_codes(categorical: &[Categorical]) -> String {
    let mut out = String::new();
    for c in categorical {
        let codes: Vec<String> = c
            .levels
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{l}={i}"))
            .collect();
        out += &format!(
            "  categorical column '{}' encoded as {}\n",
            c.column,
            codes.join(", ")
        );
    }
    out
}

/// A line per split of a segmentation folder: its pairs and each class's share of the pixels.
fn pixel_shares(class_names: &[String], splits: &[SplitSummary]) -> String {
    let mut out = String::new();
    for sp in splits {
        let total: u64 = sp.class_counts.iter().sum();
        let shares: Vec<String> = class_names
            .iter()
            .zip(&sp.class_counts)
            .map(|(n, &c)| format!("{n} {}", percent(c, total)))
            .collect();
        out += &format!(
            "  {}: {} pairs; pixels: {}\n",
            sp.name,
            sp.count,
            shares.join(", ")
        );
    }
    out
}
