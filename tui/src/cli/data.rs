//! `petri data`: list, fetch, inspect and verify datasets.

use crate::paths;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use petri_engine::data::registry::{self, MEDMNIST, OTHER};
use petri_engine::data::summary::{self, Summary};
use petri_engine::download::{self, Checksum};
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
        #[arg(long, default_value_t = 28)]
        size: u32,
    },
    /// Describe a dataset file or folder: kind, task, shapes, splits, class balance
    Info {
        path: PathBuf,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Check downloaded files against their checksums
    Verify,
}

pub fn run(command: DataCommand, data_dir: &Path) -> Result<()> {
    match command {
        DataCommand::List => {
            print!("{}", list(data_dir));
            Ok(())
        }
        DataCommand::Fetch { name, size } => fetch(&name, size, data_dir),
        DataCommand::Info { path, json } => {
            let summary = summary::describe(&path)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print!("{}", render_summary(&summary));
            }
            Ok(())
        }
        DataCommand::Verify => verify(data_dir),
    }
}

fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.0} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

pub fn list(data_dir: &Path) -> String {
    let mut out = format!("Datasets (data dir: {})\n\n", data_dir.display());
    out += &format!(
        "{:<26} {:<28} {:>9}  {:<9} {}\n",
        "NAME", "TASK", "SIZE", "STATUS", "LICENCE"
    );
    for d in MEDMNIST {
        let present = paths::medmnist_file(data_dir, &d.file_name(28)).exists();
        out += &format!(
            "{:<26} {:<28} {:>9}  {:<9} {}\n",
            d.flag,
            d.task.to_string(),
            format!("~{}", human_bytes(d.approx_bytes_28)),
            if present { "present" } else { "fetchable" },
            d.licence
        );
    }
    for d in OTHER {
        let status = if d.name == "breast-cancer-wisconsin" {
            "embedded"
        } else if data_dir.join(d.name).is_dir() {
            "present"
        } else {
            "fetchable"
        };
        out += &format!(
            "{:<26} {:<28} {:>9}  {:<9} {}\n",
            d.name,
            d.task.to_string(),
            "?",
            status,
            d.licence
        );
    }
    out += "\nMedMNIST sizes are for 28 px; add --size 64|128|224 to `petri data fetch` for larger images.\n";
    out
}

/// Where a MedMNIST file comes from, where it goes, and the checksum it must match (MD5 for
/// the 28 px files Petri knows; others are recorded on arrival).
pub fn download_plan(
    info: &registry::MedMnistInfo,
    size: u32,
    data_dir: &Path,
) -> (String, PathBuf, Checksum) {
    let dest = paths::medmnist_file(data_dir, &info.file_name(size));
    let checksum = match (size, info.md5_28) {
        (28, Some(md5)) => Checksum::Md5(md5.to_string()),
        _ => Checksum::Unknown,
    };
    (info.url(size), dest, checksum)
}

fn fetch(name: &str, size: u32, data_dir: &Path) -> Result<()> {
    if let Some(d) = OTHER.iter().find(|d| d.name == name) {
        if d.name == "breast-cancer-wisconsin" {
            println!("{} is embedded in Petri: nothing to download.", d.name);
            return Ok(());
        }
        bail!(
            "{} is not downloadable by Petri yet. Copy its training/, validation/ and testing/ folders from {} into {}",
            d.name,
            d.source,
            data_dir.join(d.name).display()
        );
    }
    let Some(info) = registry::medmnist(name) else {
        let names: Vec<&str> = MEDMNIST
            .iter()
            .map(|d| d.flag)
            .chain(OTHER.iter().map(|d| d.name))
            .collect();
        bail!(
            "unknown dataset '{name}'; known datasets: {}",
            names.join(", ")
        );
    };
    if !registry::MEDMNIST_SIZES.contains(&size) {
        bail!("--size {size} is not published; MedMNIST comes in 28, 64, 128 and 224 px");
    }
    let (url, dest, checksum) = download_plan(info, size, data_dir);
    if dest.exists() {
        if download::verify(&dest, &checksum)? {
            println!("{} is already present at {}", info.flag, dest.display());
            return Ok(());
        }
        bail!(
            "{} exists but does not match its checksum; delete it and fetch again",
            dest.display()
        );
    }
    eprintln!("Fetching {} ({} px) from {url}", info.flag, size);
    let fetched = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("valid template"),
        );
        let r = download::fetch(&url, &dest, &checksum, &mut |done, total| {
            if let Some(t) = total {
                bar.set_length(t);
            }
            bar.set_position(done);
        });
        bar.finish_and_clear();
        r
    } else {
        let mut last_tenth = u64::MAX;
        download::fetch(&url, &dest, &checksum, &mut |done, total| {
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
    .with_context(|| format!("fetching {}", info.flag))?;
    println!(
        "Saved {} ({}) to {}\n  md5 {}\n  sha256 {}{}",
        info.flag,
        human_bytes(fetched.bytes),
        fetched.path.display(),
        fetched.md5,
        fetched.sha256,
        if checksum == Checksum::Unknown {
            "\n  (no published checksum in Petri's registry: recorded for your runs)"
        } else {
            ""
        }
    );
    Ok(())
}

fn verify(data_dir: &Path) -> Result<()> {
    let mut checked = 0;
    let mut bad = Vec::new();
    for d in MEDMNIST {
        for size in registry::MEDMNIST_SIZES {
            let path = paths::medmnist_file(data_dir, &d.file_name(size));
            if !path.exists() {
                continue;
            }
            checked += 1;
            let (md5, _) = download::digests(&path)?;
            let verdict = match (size, d.md5_28) {
                (28, Some(want)) if want == md5 => "ok".to_string(),
                (28, Some(want)) => {
                    bad.push(path.clone());
                    format!("MISMATCH (expected md5 {want}, found {md5}): fetch it again")
                }
                _ => format!("present, md5 {md5} (no published checksum to compare)"),
            };
            println!("{:<40} {verdict}", path.display());
        }
    }
    if checked == 0 {
        println!(
            "No downloaded datasets in {}. `petri data fetch NAME` gets one.",
            data_dir.display()
        );
    }
    if !bad.is_empty() {
        bail!("{} file(s) failed verification", bad.len());
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

pub fn render_summary(s: &Summary) -> String {
    let mut out = String::new();
    match s {
        Summary::Medmnist {
            path,
            flag,
            task,
            channels,
            height,
            width,
            class_names,
            splits,
        } => {
            out += &format!("{}\n", path.display());
            out += &format!(
                "  kind: MedMNIST .npz ({})\n",
                flag.as_deref().map_or(
                    "custom dataset, task inferred from labels".to_string(),
                    |f| format!("official {f}")
                )
            );
            out += &format!("  task: {task}, {} classes\n", class_names.len());
            let colour = if *channels == 1 {
                "grey"
            } else {
                "colour (RGB)"
            };
            out += &format!("  images: {colour} {width}x{height}, {channels} channel(s)\n");
            let total: usize = splits.iter().map(|s| s.count).sum();
            out += &format!(
                "  splits: {} ({} images)\n",
                splits
                    .iter()
                    .map(|s| format!("{} {}", s.name, s.count))
                    .collect::<Vec<_>>()
                    .join(" / "),
                total
            );
            let what = if *task == registry::Task::MultiLabel {
                "positives per label"
            } else {
                "class balance"
            };
            out += &format!("  {what}:\n");
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
        }
        Summary::Table {
            path,
            layout,
            rows,
            columns,
            categorical,
            breast_cancer,
        } => {
            out += &format!("{}\n  kind: CSV table ({layout})\n", path.display());
            out += &format!("  rows: {rows}, columns: {}\n", columns.len());
            if *breast_cancer {
                out += "  recognised: Breast Cancer Wisconsin Diagnostic (the regression part's data)\n";
            }
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
            let shown: Vec<&str> = columns.iter().take(8).map(String::as_str).collect();
            out += &format!(
                "  columns: {}{}\n",
                shown.join(", "),
                if columns.len() > 8 { ", ..." } else { "" }
            );
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
            out += &format!(
                "{}\n  kind: image + mask folders\n  task: {task}\n",
                path.display()
            );
            out += &format!(
                "  label map: {label_map}\n  images: {channels} channel(s), sizes {}\n",
                image_sizes.join(", ")
            );
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
            if !unpaired.is_empty() {
                out += &format!(
                    "  {} image(s) without a mask (not used), e.g. {}\n",
                    unpaired.len(),
                    unpaired[0].display()
                );
            }
        }
    }
    out
}
