//! A training run's resumable state, saved after every epoch: the model's weights, the
//! optimiser's state (momentum, Adam's moments and step count), and the epochs so far. Nothing
//! else is needed to continue exactly: batches and augmentation draws come from the run's seed
//! and the epoch number (`fit`), never from a generator that carries over between epochs.
//!
//! Layout under the run's folder: `epoch-N/` (`model.safetensors`, `optimizer.bpk`,
//! `state.json`) and `latest`, naming the newest complete epoch. An epoch's folder is written
//! under a temporary name and renamed, and `latest` is replaced atomically afterwards, so a run
//! killed at any moment leaves the previous epoch to resume from.

use super::{EpochRecord, TrainConfig};
use crate::{Error, Result, atomic};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::ModuleOptimizer;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where a run keeps its resumable state, and whether to continue from it.
#[derive(Debug, Clone)]
pub struct Checkpointing {
    pub dir: PathBuf,
    /// Continue from the newest saved epoch, if there is one.
    pub resume: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    config: TrainConfig,
    epochs: Vec<EpochRecord>,
    /// The model's parameter ids in visiting order: the optimiser's state is keyed by them, and a
    /// freshly built model has new ones.
    param_ids: Vec<u64>,
}

/// What a resumed run starts from.
pub struct Resumed<M> {
    pub model: M,
    pub optimizer: ModuleOptimizer,
    pub epochs: Vec<EpochRecord>,
}

struct CollectIds(Vec<u64>);

impl ModuleVisitor for CollectIds {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.id.val());
    }
}

struct AssignIds<'a>(std::slice::Iter<'a, u64>);

impl ModuleMapper for AssignIds<'_> {
    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if let Some(&id) = self.0.next() {
            param.id = ParamId::from(id);
        }
        param
    }
}

impl Checkpointing {
    /// Saves the state after `epochs` (the last of which just finished).
    pub fn save<M: Module>(
        &self,
        model: &M,
        optimizer: &ModuleOptimizer,
        config: &TrainConfig,
        epochs: &[EpochRecord],
    ) -> Result<()> {
        let n = epochs.len();
        let done = self.dir.join(format!("epoch-{n}"));
        let tmp = self
            .dir
            .join(format!(".epoch-{n}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut ids = CollectIds(Vec::new());
        model.visit(&mut ids);
        let state = State {
            config: config.clone(),
            epochs: epochs.to_vec(),
            param_ids: ids.0,
        };
        crate::model::weights::save_checkpoint(
            model,
            &tmp.join("model.safetensors"),
            &serde_json::json!({ "epoch": n }),
        )?;
        let opt_path = tmp.join("optimizer.bpk");
        optimizer
            .save(&opt_path)
            .map_err(|e| Error::format(&opt_path, format!("cannot write optimiser state: {e}")))?;
        atomic::write_json_atomic(&tmp.join("state.json"), &state)?;
        let _ = std::fs::remove_dir_all(&done);
        std::fs::rename(&tmp, &done).map_err(|e| Error::io(&done, e))?;
        atomic::write_atomic(&self.dir.join("latest"), n.to_string().as_bytes())?;
        // Older epochs are no longer needed once `latest` names this one.
        for old in 1..n {
            let _ = std::fs::remove_dir_all(self.dir.join(format!("epoch-{old}")));
        }
        Ok(())
    }

    /// The newest saved epoch's number, if any.
    pub fn latest(&self) -> Option<usize> {
        std::fs::read_to_string(self.dir.join("latest"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Loads the newest saved state into `model` (freshly built, same architecture) when
    /// resuming; `None` when there is nothing to resume. A state saved with other settings is an
    /// error that says so, never silently mixed in.
    pub fn load<M: Module>(&self, model: M, config: &TrainConfig) -> Result<Option<Resumed<M>>> {
        if !self.resume {
            return Ok(None);
        }
        let Some(n) = self.latest() else {
            return Ok(None);
        };
        let dir = self.dir.join(format!("epoch-{n}"));
        let state_path = dir.join("state.json");
        let text = std::fs::read_to_string(&state_path).map_err(|e| Error::io(&state_path, e))?;
        let state: State = serde_json::from_str(&text)
            .map_err(|e| Error::format(&state_path, format!("damaged checkpoint state: {e}")))?;
        if state.config.seed != config.seed
            || state.config.settings.batch_size != config.settings.batch_size
            || state.config.settings.optimizer != config.settings.optimizer
        {
            return Err(Error::invalid(format!(
                "{} was saved with other settings (seed {}, batch {}, {:?}); resume with the same \
                 settings or start afresh without --resume",
                dir.display(),
                state.config.seed,
                state.config.settings.batch_size,
                state.config.settings.optimizer
            )));
        }
        let model = crate::model::weights::load_checkpoint(model, &dir.join("model.safetensors"))?;
        let model = model.map(&mut AssignIds(state.param_ids.iter()));
        let opt_path = dir.join("optimizer.bpk");
        let optimizer = config
            .settings
            .optimizer
            .build()
            .load(&opt_path)
            .map_err(|e| Error::format(&opt_path, format!("cannot read optimiser state: {e}")))?;
        Ok(Some(Resumed {
            model,
            optimizer,
            epochs: state.epochs,
        }))
    }

    /// Removes the saved state (the run finished and its record holds everything).
    pub fn clear(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `path` holds a run's saved state.
pub fn has_state(path: &Path) -> bool {
    path.join("latest").is_file()
}
