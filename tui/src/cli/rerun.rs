//! `petri rerun RECORD`: runs what a record asked for again, from the record alone, and says
//! whether the new run reproduces every test metric.

use super::run::run_headless;
use crate::run_spec::one_of;
use anyhow::{Context, Result, anyhow};
use clap::Args;
use petri_engine::experiment::DeviceChoice;
use petri_engine::experiment::ExperimentRecord;
use std::path::{Path, PathBuf};

/// Metrics closer than this are the same: the recheck script's tolerance too.
const TOLERANCE: f64 = 1e-9;

#[derive(Args)]
pub struct RerunArgs {
    /// A run record (`petri run` prints where it saved it)
    pub record: PathBuf,
    /// Where the new record goes [default: <data dir>/runs]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Train on this device instead of the record's
    #[arg(long, value_parser = one_of(DeviceChoice::ALL, DeviceChoice::name))]
    pub device: Option<DeviceChoice>,
    /// Exit 1 when a test metric differs from the record's by more than 1e-9
    #[arg(long)]
    pub check: bool,
    /// Print the final metrics as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

pub fn rerun(args: RerunArgs, data_dir: &Path) -> Result<()> {
    let old = ExperimentRecord::load(&args.record)?;
    let mut request = old.request.clone().ok_or_else(|| {
        anyhow!(
            "{} does not say what was asked for (records written before `petri rerun` existed do not): \
             run it again with `petri run`, the options are in its `config`",
            args.record.display()
        )
    })?;
    if let Some(device) = args.device {
        request.set_device(device);
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| petri_engine::data::layout::runs_dir(data_dir));
    let work = out_dir.clone();
    let path = run_headless(&out_dir, args.json, None, move |events, stop| {
        petri_engine::experiment::rerun(&request, &work, events, stop)
    })?;
    let new = ExperimentRecord::load(&path)
        .with_context(|| format!("cannot read the new record {}", path.display()))?;
    let differences = old.differences(&new, TOLERANCE);
    let compared: usize = old.runs.iter().map(|r| r.test.len()).sum();
    if differences.is_empty() {
        eprintln!(
            "reproduced: all {compared} test metrics of {} agree to {TOLERANCE:e}",
            args.record.display()
        );
        return Ok(());
    }
    eprintln!(
        "{} of {compared} test metrics differ from {}:",
        differences.len(),
        args.record.display()
    );
    for d in &differences {
        eprintln!("  {d}");
    }
    if args.check {
        anyhow::bail!("the rerun did not reproduce the record (--check)");
    }
    Ok(())
}
