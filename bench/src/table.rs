//! The comparison table: each of Petri's rows next to the PyTorch figure for the same row,
//! read from the JSON lines `bench/pytorch.py` prints, with the Petri/PyTorch ratio.

use crate::step::Timing;
use crate::terminal::TerminalTiming;
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

/// One row of PyTorch's output.
#[derive(Debug, Deserialize)]
pub struct BaselineRow {
    pub row: String,
    pub mode: String,
    pub images_per_sec: f64,
    pub peak_mib: Option<f64>,
}

/// PyTorch's figures by (row, mode), and its description line (version, device, threads).
#[derive(Debug, Default)]
pub struct Baseline {
    pub rows: HashMap<(String, String), BaselineRow>,
    pub about: Option<String>,
}

impl Baseline {
    /// Reads the script's JSON lines; lines that are not JSON objects (warnings) are skipped.
    pub fn read(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the PyTorch figures in {}", path.display()))?;
        Ok(Baseline::parse(&text))
    }

    pub fn parse(text: &str) -> Baseline {
        let mut baseline = Baseline::default();
        for line in text.lines().filter(|l| l.trim_start().starts_with('{')) {
            if let Ok(row) = serde_json::from_str::<BaselineRow>(line) {
                baseline
                    .rows
                    .insert((row.row.clone(), row.mode.clone()), row);
            } else if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
                && let Some(about) = v.get("about").and_then(|a| a.as_str())
            {
                baseline.about = Some(about.to_string());
            }
        }
        baseline
    }
}

fn mib(v: Option<f64>) -> String {
    v.map_or("-".into(), |m| format!("{m:.0}"))
}

/// The models table in Markdown: readable in a terminal, pasted as is into bench/README.md.
pub fn models(timings: &[Timing], baseline: &Baseline) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| row | mode | Petri img/s | PyTorch img/s | Petri/PyTorch | Petri peak MiB | PyTorch peak MiB |"
    );
    let _ = writeln!(s, "| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for t in timings {
        let base = baseline.rows.get(&(t.row.clone(), t.mode.to_string()));
        let (torch, ratio) = match base {
            Some(b) if b.images_per_sec > 0.0 => (
                format!("{:.1}", b.images_per_sec),
                format!("{:.2}x", t.images_per_sec / b.images_per_sec),
            ),
            _ => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {} | {} | {} | {} |",
            t.row,
            t.mode,
            t.images_per_sec,
            torch,
            ratio,
            mib(t.peak_mib),
            mib(base.and_then(|b| b.peak_mib)),
        );
    }
    s
}

/// The terminal table: median and worst frame or start-up time against its target.
pub fn terminal(timings: &[TerminalTiming]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| what | median ms | worst ms | target ms | |");
    let _ = writeln!(s, "| --- | ---: | ---: | ---: | --- |");
    for t in timings {
        let verdict = if t.median_ms <= t.target_ms {
            "ok"
        } else {
            "over target"
        };
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.2} | {:.0} | {verdict} |",
            t.what, t.median_ms, t.worst_ms, t.target_ms
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pair_with_the_baseline_and_show_the_ratio() {
        let baseline = Baseline::parse(
            "warning: something\n\
             {\"row\": \"resnet18 3x28x28 b64\", \"mode\": \"train\", \"images_per_sec\": 400.0, \"peak_mib\": 900}\n\
             {\"about\": \"torch 2.11 cpu, 2 threads\"}\n",
        );
        assert_eq!(baseline.about.as_deref(), Some("torch 2.11 cpu, 2 threads"));
        let t = |mode| Timing {
            row: "resnet18 3x28x28 b64".into(),
            mode,
            images_per_sec: 100.0,
            median_step_ms: 640.0,
            steps_ms: vec![640.0],
            peak_mib: Some(1200.0),
            loss: Some(2.2),
        };
        let table = models(&[t("train"), t("infer")], &baseline);
        assert!(
            table.contains("| resnet18 3x28x28 b64 | train | 100.0 | 400.0 | 0.25x | 1200 | 900 |"),
            "{table}"
        );
        assert!(
            table.contains("| infer | 100.0 | - | - | 1200 | - |"),
            "{table}"
        );
    }
}
