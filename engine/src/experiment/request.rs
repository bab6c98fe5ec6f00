//! What was asked for, kept in every record so that the record alone can run again
//! (`petri rerun RECORD`): a course part with its options, or a plan on a user's data.

use super::{ExperimentRecord, RunOptions};
use crate::identify::Plan;
use crate::train::Event;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RunRequest {
    /// `petri run PART ...` (and the tutor's runs of a lesson).
    Part { options: RunOptions },
    /// `petri train DATA` with a plan.
    Plan {
        data: PathBuf,
        plan: Box<Plan>,
        options: RunOptions,
    },
}

impl RunRequest {
    pub fn options(&self) -> &RunOptions {
        match self {
            RunRequest::Part { options } | RunRequest::Plan { options, .. } => options,
        }
    }

    /// Trains on `device` instead of the recorded one.
    pub fn set_device(&mut self, device: super::DeviceChoice) {
        match self {
            RunRequest::Part { options } | RunRequest::Plan { options, .. } => {
                options.device = device
            }
        }
    }

    /// Runs the request again, its outputs (checkpoints, predictions, a plan's converted data)
    /// going to `out_dir`, and returns the new record.
    pub fn rerun(
        &self,
        out_dir: &Path,
        events: &dyn Fn(Event),
        stop: &AtomicBool,
    ) -> Result<ExperimentRecord> {
        let with_outputs = |o: &RunOptions| {
            let mut o = o.clone();
            o.outputs_in(out_dir);
            o.resume_dir = None;
            o.resume = false;
            o
        };
        match self {
            RunRequest::Part { options } => super::run(&with_outputs(options), events, stop),
            RunRequest::Plan {
                data,
                plan,
                options,
            } => {
                if !data.exists() {
                    return Err(Error::invalid(format!(
                        "the record's data {} is not there any more: put it back to rerun the plan",
                        data.display()
                    )));
                }
                super::custom::train(data, plan, &with_outputs(options), out_dir, events, stop)
            }
        }
    }
}
