//! What a course run is asked to do: `RunArgs` (parsed from `petri run`, or made by the tutor
//! and handed to its background job as JSON, `jobs.rs`), the engine options they become, and
//! what a finished run reports. Both build a run from the same typed arguments in one place.

use anyhow::Result;
use clap::Args;
use petri_engine::experiment::segment::SegmentationLoss;
use petri_engine::experiment::{
    ClassWeights, DeviceChoice, Experiment, Profile, RunOptions, Suite,
};
use std::path::{Path, PathBuf};

/// A course run as asked for: parsed from `petri run`'s command line, or made by the tutor,
/// which hands it to its background job as JSON (`jobs::JobRequest`). Either way it becomes the
/// engine's options in one place, `options`, where the run executes (so `--device auto` is
/// resolved on the machine that trains).
#[derive(Args, Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunArgs {
    /// The part whose experiments run
    #[arg(value_parser = one_of(Suite::ALL, Suite::name))]
    pub part: Suite,
    /// Run only this experiment (repeatable), e.g. scratch, combined, forest
    #[arg(long = "experiment", short = 'e', value_parser = one_of(Experiment::ALL, Experiment::name))]
    pub experiments: Vec<Experiment>,
    /// A data file or folder instead of the part's default dataset
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// quick (minutes on a laptop CPU) or paper (the original's epochs and data)
    #[arg(long, default_value = "quick", value_parser = one_of(Profile::ALL, Profile::name))]
    pub profile: Profile,
    /// Train every model this many epochs instead of the profile's
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Use at most N training images (regression: N random splits)
    #[arg(long)]
    pub limit: Option<usize>,
    /// Where training runs: auto picks the GPU when this binary has its backend (cargo feature
    /// cuda or wgpu) and it opens, else the CPU; the record names the device used
    #[arg(long, default_value = "auto", value_parser = one_of(DeviceChoice::ALL, DeviceChoice::name))]
    pub device: DeviceChoice,
    /// Seed of every random choice (splits, initialisation, augmentation, batches); recorded
    /// with the result
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Repeat every experiment over N seeds (--seed, --seed + 1, ...) and report mean ± std,
    /// and whether two runs differ by more than the seed-to-seed spread
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seeds: usize,
    /// Loss weight per class (classification, augmentation, segmentation): `balanced` or e.g. `1,1,5`
    #[arg(long, value_parser = class_weights_arg)]
    pub class_weights: Option<ClassWeights>,
    /// Segmentation loss: ce (per-pixel cross-entropy) or ce+dice (plus soft Dice)
    #[arg(long, value_parser = one_of(SegmentationLoss::ALL, SegmentationLoss::name))]
    pub loss: Option<SegmentationLoss>,
    /// ImageNet ResNet-18 weights for frozen and finetune (classification): torchvision's .pth
    /// or timm's model.safetensors [default: the data dir, torch hub's and timm's caches]
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Where the run record goes [default: <data dir>/runs]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the final metrics as JSON on stdout
    #[arg(long)]
    #[serde(skip)]
    pub json: bool,
    /// Continue an interrupted run with the same settings from its last finished epoch
    #[arg(long)]
    pub resume: bool,
    /// Report to a job folder for the tutor (events.jsonl, result.json)
    #[arg(long, hide = true, value_name = "DIR")]
    #[serde(skip)]
    pub job: Option<PathBuf>,
}

/// A value clap chooses from `all` by `name`: help and completions list the names, and any
/// other word is a usage error that lists them.
pub fn one_of<T: Copy + Send + Sync + 'static, const N: usize>(
    all: [T; N],
    name: fn(T) -> &'static str,
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(all.map(name)).map(move |s| {
        *all.iter()
            .find(|v| name(**v) == s)
            .expect("clap accepts only the listed names")
    })
}

fn class_weights_arg(s: &str) -> Result<ClassWeights, String> {
    ClassWeights::parse(s).map_err(|e| e.to_string())
}

impl RunArgs {
    /// A part's run with every setting at its default (`petri run PART`).
    pub fn for_part(part: Suite) -> RunArgs {
        RunArgs {
            part,
            experiments: Vec::new(),
            data: None,
            profile: Profile::Quick,
            epochs: None,
            limit: None,
            device: DeviceChoice::Auto,
            seed: 0,
            seeds: 1,
            class_weights: None,
            loss: None,
            weights: None,
            out: None,
            json: false,
            resume: false,
            job: None,
        }
    }

    /// The `petri run ...` command that asks for this run, for messages ("... --resume
    /// continues it"): `argv`, quoted for a shell.
    pub fn command_line(&self) -> String {
        self.argv()
            .iter()
            .map(|w| {
                if w.is_empty()
                    || w.contains(|c: char| c.is_whitespace() || "'\"$`\\*?~".contains(c))
                {
                    format!("'{}'", w.replace('\'', "'\\''"))
                } else {
                    w.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `petri`'s arguments for this run (`run PART ...`): only what differs from the defaults.
    pub fn argv(&self) -> Vec<String> {
        let mut words = vec!["run".to_string(), self.part.name().to_string()];
        let mut flag = |name: &str, value: String| {
            words.push(format!("--{name}"));
            words.push(value);
        };
        for e in &self.experiments {
            flag("experiment", e.name().to_string());
        }
        if let Some(d) = &self.data {
            flag("data", d.display().to_string());
        }
        if self.profile != Profile::Quick {
            flag("profile", self.profile.name().to_string());
        }
        if let Some(n) = self.epochs {
            flag("epochs", n.to_string());
        }
        if let Some(n) = self.limit {
            flag("limit", n.to_string());
        }
        if self.device != DeviceChoice::Auto {
            flag("device", self.device.name().to_string());
        }
        if self.seed != 0 {
            flag("seed", self.seed.to_string());
        }
        if self.seeds != 1 {
            flag("seeds", self.seeds.to_string());
        }
        if let Some(w) = &self.class_weights {
            flag("class-weights", w.name());
        }
        if let Some(l) = self.loss {
            flag("loss", l.name().to_string());
        }
        if let Some(w) = &self.weights {
            flag("weights", w.display().to_string());
        }
        if let Some(o) = &self.out {
            flag("out", o.display().to_string());
        }
        if self.resume {
            words.push("--resume".into());
        }
        words
    }
}

/// A plan trained on the user's data, as asked for: `petri train DATA`, or Ctrl-T on the
/// tutor's "Your data" screen, which hands it to its background job as JSON
/// (`jobs::Work::Train`). Either way it becomes the engine's options in one place, `options`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanRun {
    /// The user's data (a file or folder).
    pub data: PathBuf,
    pub plan: petri_engine::identify::Plan,
    pub device: DeviceChoice,
    /// Where the record goes [default: <data dir>/runs].
    pub out: Option<PathBuf>,
}

impl PlanRun {
    /// The course part whose kind of task the plan is (it names the job and its progress).
    pub fn part(&self) -> Suite {
        use petri_engine::data::registry::Task;
        match self.plan.task {
            Task::Segmentation => Suite::Segmentation,
            Task::Regression => Suite::Regression,
            _ => Suite::Classification,
        }
    }

    /// The engine's options for this plan and where its record goes; checkpoints and
    /// predictions go beside the record, as for a course run.
    pub fn options(&self, data_dir: &Path) -> (RunOptions, PathBuf) {
        let mut options = RunOptions::new(self.part(), data_dir.to_path_buf());
        options.device = self.device;
        let out_dir = self
            .out
            .clone()
            .unwrap_or_else(|| petri_engine::data::layout::runs_dir(data_dir));
        options.outputs_in(&out_dir);
        (options, out_dir)
    }
}

/// A run that was asked to stop (Ctrl-C, hang-up, SIGTERM) before it finished: what finished
/// is saved. `main` exits with status 130 for it, as shells do for an interrupted command.
#[derive(Debug)]
pub struct Interrupted {
    pub record: PathBuf,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped before the end; what finished is saved in {}. Add --resume to the same \
             command to continue from the last finished epoch.",
            self.record.display()
        )
    }
}

impl std::error::Error for Interrupted {}

/// What the tutor reads back from a job folder when the run ends.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct JobResult {
    /// The run record, when one was saved (also after a stop).
    pub record: Option<PathBuf>,
    pub error: Option<String>,
    pub stopped: bool,
}

/// The engine's options for `petri run` arguments, and where its records go: the one place
/// they are built, for the command line and for the tutor's background runs alike.
pub fn options(args: &RunArgs, data_dir: &Path) -> Result<(RunOptions, PathBuf)> {
    let part = args.part;
    let mut options = RunOptions::new(part, data_dir.to_path_buf());
    options.experiments = args.experiments.clone();
    options.data = args.data.clone();
    options.profile = args.profile;
    options.epochs = args.epochs;
    options.limit = args.limit;
    // `auto` stays: the engine resolves it where the run executes (in the job, not the tutor).
    options.device = args.device;
    options.seed = args.seed;
    options.seeds = args.seeds;
    options.class_weights = args.class_weights.clone();
    if let Some(w) = &args.weights {
        if part != Suite::Classification {
            return Err(Usage(
                "--weights applies to the classification part only (its frozen and finetune runs)"
                    .into(),
            )
            .into());
        }
        options.weights = Some(w.clone());
    }
    if let Some(loss) = &args.loss {
        if part != Suite::Segmentation {
            return Err(Usage("--loss applies to the segmentation part only".into()).into());
        }
        options.overrides.segmentation_loss = Some(*loss);
    }
    if let Err(e) = options.selected() {
        let named = args.experiments.iter().find(|e| e.suite() != part);
        let flag = named.map_or(String::new(), |e| format!("--experiment {e}: "));
        return Err(Usage(format!("{flag}{e}")).into());
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| petri_engine::data::layout::runs_dir(data_dir));
    options.outputs_in(&out_dir);
    options.resume_dir = Some(out_dir.join("resume"));
    options.resume = args.resume;
    Ok((options, out_dir))
}

/// Parses `petri run` arguments (without the leading `run`).
pub fn parse_args(args: &[String]) -> Result<RunArgs> {
    #[derive(clap::Parser)]
    struct Only {
        #[command(flatten)]
        args: RunArgs,
    }
    use clap::Parser;
    Ok(Only::try_parse_from(std::iter::once("run".to_string()).chain(args.iter().cloned()))?.args)
}

/// Whether a run with these arguments was interrupted and can be resumed: the epochs its
/// model in training had finished (0 when only whole models were kept).
pub fn interrupted(args: &RunArgs, data_dir: &Path) -> Option<usize> {
    let (options, _) = options(args, data_dir).ok()?;
    let state = options.resume_state().filter(|s| s.exists())?;
    let epochs = std::fs::read_dir(&state.dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("latest")).ok())
        .filter_map(|t| t.trim().parse().ok())
        .max();
    Some(epochs.unwrap_or(0))
}

/// A flag that parses but does not fit the rest of the command line (`main` exits 2 for it,
/// as for clap's own usage errors).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_s_defaults_are_the_command_line_s() {
        for part in Suite::ALL {
            let parsed = parse_args(&[part.name().to_string()]).unwrap();
            assert_eq!(RunArgs::for_part(part), parsed);
            assert_eq!(parsed.command_line(), format!("run {}", part.name()));
        }
    }

    #[test]
    fn the_command_line_says_what_differs_and_parses_back() {
        let mut args = RunArgs::for_part(Suite::Augmentation);
        args.data = Some("/my data/chest.npz".into());
        args.seeds = 3;
        args.device = DeviceChoice::Cpu;
        args.class_weights = Some(ClassWeights::Given(vec![1.0, 0.5, 5.0]));
        args.resume = true;
        let line = args.command_line();
        assert_eq!(
            line,
            "run augmentation --data '/my data/chest.npz' --device cpu --seeds 3 --class-weights 1,0.5,5 --resume"
        );
        let parsed = parse_args(&args.argv()[1..]).unwrap();
        assert_eq!(parsed, args);
    }
}
