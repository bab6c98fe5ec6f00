//! `petri-bench`: times Petri's training step and inference of ResNet-18 and the U-Net at the
//! course's shapes, and the tutor's drawing and start-up, then prints one table with PyTorch's
//! figures from the same run beside them. `bench/run` builds this, runs `bench/pytorch.py` and
//! passes its output here with `--baseline`.
//!
//! Invoked under the name `petri` (a hard link or a copy named so), this binary is `petri`
//! itself: the GPU check carries one CUDA binary instead of two, because each statically links
//! LLVM for run-time PTX compilation (188 and 171 MB stripped, about 40 MB each with xz, over
//! the device tool's 64 MiB carry limit together; measured 2026-12-04).

mod memory;
mod rows;
mod step;
mod table;
mod terminal;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use petri_engine::experiment::DeviceChoice;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "petri-bench", about = "Benchmarks of Petri next to PyTorch")]
struct Args {
    /// Where the models run: cpu, cuda or vulkan (GPU builds need `--features cuda|wgpu`)
    #[arg(long, default_value = "cpu")]
    device: String,
    /// CPU threads for the kernels [default: all cores]
    #[arg(long)]
    threads: Option<usize>,
    /// Timed steps per row; the figure is their median
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Untimed steps first (allocator and kernel caches warm up)
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Only rows whose name contains this text (repeatable), e.g. `--only resnet18`
    #[arg(long)]
    only: Vec<String>,
    /// Which steps to time
    #[arg(long, value_enum, default_value_t = Mode::Both)]
    mode: Mode,
    /// PyTorch's figures from `bench/pytorch.py` (JSON lines) to print beside Petri's
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Also write Petri's figures here as JSON lines
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Skip the model rows
    #[arg(long)]
    no_models: bool,
    /// Skip the terminal benchmarks
    #[arg(long)]
    no_terminal: bool,
    /// The `petri` binary whose start-up to time [default: the one next to this binary]
    #[arg(long, value_name = "PATH")]
    petri: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Train,
    Infer,
    Both,
}

fn main() -> std::process::ExitCode {
    if invoked_as_petri() {
        return petri::cli::entry::main();
    }
    match bench() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether the program's name (argv[0]) is `petri`.
fn invoked_as_petri() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n == "petri"))
        .unwrap_or(false)
}

fn bench() -> Result<()> {
    petri_engine::allocator::tune_for_training();
    let args = Args::parse();
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .context("setting up the CPU thread pool")?;
    let choice = DeviceChoice::parse(&args.device)?;
    let baseline = match &args.baseline {
        Some(path) => table::Baseline::read(path)?,
        None => table::Baseline::default(),
    };
    let steps = step::Steps {
        warmup: args.warmup,
        timed: args.steps,
    };

    println!(
        "# Petri {} on {} ({} CPU threads), median of {} steps after {} warm-up",
        env!("CARGO_PKG_VERSION"),
        choice.name(),
        threads,
        steps.timed,
        steps.warmup
    );
    if let Some(about) = &baseline.about {
        println!("# PyTorch: {about}");
    }

    if !args.no_models {
        let device = choice.training_device()?;
        let rows: Vec<rows::Row> = rows::all()
            .into_iter()
            .filter(|r| args.only.is_empty() || args.only.iter().any(|o| r.name().contains(o)))
            .collect();
        if rows.is_empty() {
            bail!(
                "no row matches --only {:?}; rows are listed in bench/rows.txt",
                args.only
            );
        }
        let mut timings = Vec::new();
        for row in &rows {
            if args.mode != Mode::Infer {
                timings.push(report(step::train(row, &device, steps)));
            }
            if args.mode != Mode::Train {
                timings.push(report(step::infer(row, &device, steps)));
            }
        }
        if let Some(path) = &args.json {
            let lines: Vec<String> = timings
                .iter()
                .map(|t| serde_json::to_string(t).expect("timings serialise"))
                .collect();
            petri_engine::atomic::write_atomic(path, format!("{}\n", lines.join("\n")).as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        println!();
        print!("{}", table::models(&timings, &baseline));
    }

    if !args.no_terminal {
        let petri = args.petri.clone().or_else(|| {
            let sibling = std::env::current_exe().ok()?.with_file_name("petri");
            sibling.exists().then_some(sibling)
        });
        println!();
        print!("{}", table::terminal(&terminal::run(petri.as_deref())));
    }
    Ok(())
}

/// Prints a row as soon as it is measured (the whole table can take many minutes on a CPU).
fn report(t: step::Timing) -> step::Timing {
    eprintln!(
        "{:<22} {:<5} {:>9.1} img/s  median {:>8.1} ms  peak {} MiB  steps {:?}",
        t.row,
        t.mode,
        t.images_per_sec,
        t.median_step_ms,
        t.peak_mib.map_or("-".into(), |m| format!("{m:.0}")),
        t.steps_ms
    );
    t
}
