//! What was asked for, kept in every record so that the record alone can run again
//! (`petri rerun RECORD`, `experiment::rerun`): a course part with its options, or a plan on a
//! user's data. Only the type lives here: the record embeds it, so it must not reach back to
//! the runners that make records.

use super::RunOptions;
use crate::identify::Plan;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
}
