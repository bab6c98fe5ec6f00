//! `petri identify` and `petri train`: the protocol on the user's own data.

use crate::run_spec::{PlanRun, one_of};
use anyhow::{Context, Result};
use clap::Args;
use petri_engine::experiment::DeviceChoice;
use petri_engine::identify::{self, Plan};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct IdentifyArgs {
    /// A MedMNIST-style .npz, a folder of class folders, an images + masks folder, or a CSV
    pub path: PathBuf,
    /// The column to predict (tables)
    #[arg(long)]
    pub target: Option<String>,
    /// Print the identification as JSON
    #[arg(long)]
    pub json: bool,
    /// Write the plan to this file (TOML, with the reasons as comments) for `petri train`
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
}

#[derive(Args)]
pub struct TrainArgs {
    /// The data, as for `petri identify`
    pub path: PathBuf,
    /// A plan written by `petri identify --plan` (and perhaps edited) [default: identify now]
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// The column to predict (tables, when there is no plan)
    #[arg(long)]
    pub target: Option<String>,
    /// Where the run record (and data read from class folders) go [default: <data dir>/runs]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where training runs: auto picks the GPU when this binary has its backend and it
    /// opens, else the CPU
    #[arg(long, default_value = "auto", value_parser = one_of(DeviceChoice::ALL, DeviceChoice::name))]
    pub device: DeviceChoice,
    /// Print the final metrics as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn identify(args: IdentifyArgs) -> Result<()> {
    let id = identify::identify(&args.path, args.target.as_deref())?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&id)?)?;
    } else {
        crate::out!("{}", id.render())?;
    }
    if let Some(file) = &args.plan {
        petri_engine::atomic::write_atomic(file, id.plan.to_toml(&id.reasons).as_bytes())?;
        eprintln!(
            "wrote the plan to {}: edit it, then `petri train {} --plan {}`",
            file.display(),
            args.path.display(),
            file.display()
        );
    } else if !args.json {
        crate::outln!(
            "\nNext: `petri identify {} --plan plan.toml` writes this plan to edit; `petri train {}` runs it.",
            args.path.display(),
            args.path.display()
        )?;
    }
    Ok(())
}

fn read_plan(file: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the plan {}", file.display()))?;
    Plan::parse(&text, &file.display().to_string()).map_err(anyhow::Error::msg)
}

pub fn train(args: TrainArgs, data_dir: &Path) -> Result<()> {
    let plan = match &args.plan {
        Some(f) => read_plan(f)?,
        None => {
            let id = identify::identify(&args.path, args.target.as_deref())?;
            eprint!("{}", id.render());
            id.plan
        }
    };
    let run = PlanRun {
        data: args.path,
        plan,
        device: args.device,
        out: args.out,
    };
    super::run::train(&run, data_dir, args.json, None)
}
