//! The runners, described once: what each is called in messages, which settings it cannot use
//! (refused by name, for `RunOptions` in `Spec::build` and for a plan's fields in
//! `custom::check`), which losses it trains with and which metrics it reports.

use super::RunOptions;
use crate::data::registry::Task;
use crate::identify::Plan;
use crate::metrics::Metric;
use crate::{Error, Result};

/// A runner: the code that trains one kind of model on one kind of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// ResNet-18 on images (the classification and augmentation parts; `images.rs`).
    Images,
    /// The U-Net on image/mask pairs (`segment.rs`).
    Segmentation,
    /// Linear, tree, forest and network baselines over repeated splits of a table
    /// (`regression.rs`).
    TableRegression,
    /// Logistic, tree, forest and network over repeated splits of a table with a class target
    /// (`table_classify.rs`).
    TableClasses,
}

/// A setting some runners cannot use, as plans and flags spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    ClassWeights,
    Weights,
    Loss,
    InputSize,
    Transform,
    Hidden,
    Target,
    Split,
}

impl Setting {
    /// As the options name it (`Spec::build`'s refusals).
    fn name(self) -> &'static str {
        match self {
            Setting::ClassWeights => "class_weights (--class-weights)",
            Setting::Weights => "ImageNet weights (--weights)",
            Setting::Loss => "loss (--loss)",
            Setting::InputSize => "input_size",
            Setting::Transform => "transform",
            Setting::Hidden => "hidden",
            Setting::Target => "target",
            Setting::Split => "split",
        }
    }

    fn is_set(self, o: &RunOptions) -> bool {
        let v = &o.overrides;
        match self {
            Setting::ClassWeights => o.class_weights.is_some(),
            Setting::Weights => o.weights.is_some(),
            Setting::Loss => v.segmentation_loss.is_some(),
            Setting::InputSize => v.input_size.is_some(),
            Setting::Transform => v.augmentation.is_some(),
            Setting::Hidden => v.nn_hidden.is_some(),
            Setting::Target => v.target.is_some(),
            Setting::Split => v.split.is_some(),
        }
    }

    /// The plan field that sets it, when the plan sets it, and what the field does. A plan's
    /// `loss` and `split` are checked on their values instead (`custom::check`); ImageNet
    /// weights are not a plan field.
    fn in_plan(self, plan: &Plan) -> Option<(&'static str, &'static str)> {
        match self {
            Setting::InputSize if plan.input_size.is_some() => {
                Some(("input_size", "resizes images"))
            }
            Setting::Transform if !plan.augmentation.is_empty() => {
                Some(("transform", "augments images"))
            }
            Setting::Target if plan.target.is_some() => Some(("target", "names a table column")),
            Setting::Hidden if !plan.hidden.is_empty() => {
                Some(("hidden", "sets the layers of a table network"))
            }
            Setting::ClassWeights if plan.class_weights.is_some() => {
                Some(("class_weights", "weights the loss per class"))
            }
            _ => None,
        }
    }
}

impl Runner {
    /// The runner a plan goes to, by its task and network.
    pub fn for_plan(plan: &Plan) -> Result<Runner> {
        Ok(match (plan.task, plan.network.as_str()) {
            (Task::Binary | Task::MultiClass | Task::MultiLabel, "resnet18") => Runner::Images,
            (Task::Segmentation, _) => Runner::Segmentation,
            (Task::Regression, _) => Runner::TableRegression,
            (Task::Binary | Task::MultiClass, "mlp") => Runner::TableClasses,
            (task, network) => {
                return Err(Error::invalid(format!(
                    "petri train cannot run {task} with network '{network}': use resnet18 for images, unet for \
                     masks, mlp for tables"
                )));
            }
        })
    }

    /// As messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Runner::Images => "the image classifier (resnet18)",
            Runner::Segmentation => "the segmentation runner (unet)",
            Runner::TableRegression => "the table regression runner",
            Runner::TableClasses => "the table classification runner",
        }
    }

    /// The settings it cannot use.
    pub fn refuses(self) -> &'static [Setting] {
        use Setting::*;
        match self {
            Runner::Images => &[Loss, InputSize, Hidden, Target, Split],
            Runner::Segmentation => &[Weights, Hidden, Target],
            Runner::TableRegression | Runner::TableClasses => {
                &[ClassWeights, Weights, Loss, InputSize, Transform]
            }
        }
    }

    /// Refuses the first setting in `options` it cannot use, naming it and this runner.
    pub fn refuse_unused(self, options: &RunOptions) -> Result<()> {
        match self.refuses().iter().find(|s| s.is_set(options)) {
            Some(s) => Err(Error::invalid(format!(
                "{} is set, but {} cannot use it: remove it",
                s.name(),
                self.name()
            ))),
            None => Ok(()),
        }
    }

    /// The first field of `plan` this runner cannot use, with what the field does. A plan's
    /// `input_size` for images is honoured before the runner (`custom.rs` reads class folders
    /// at that size and checks an .npz against it), so it is not refused here.
    pub fn unused_plan_field(self, plan: &Plan) -> Option<(&'static str, &'static str)> {
        self.refuses()
            .iter()
            .filter(|s| !(self == Runner::Images && **s == Setting::InputSize))
            .find_map(|s| s.in_plan(plan))
    }

    /// The losses it can train with (the first is what it uses for `task`).
    pub fn losses(self, task: Task) -> &'static [&'static str] {
        match self {
            Runner::Images if task == Task::MultiLabel => &["binary-cross-entropy"],
            Runner::Images | Runner::TableClasses => &["cross-entropy"],
            Runner::Segmentation => &["cross-entropy", "ce", "ce+dice"],
            Runner::TableRegression => &["mse"],
        }
    }

    /// The metrics it reports on the test data.
    pub fn metrics(self) -> &'static [Metric] {
        use Metric::*;
        match self {
            Runner::Images => &[Accuracy, Auc, BalancedAccuracy, Loss],
            Runner::Segmentation => &[DiceMean, IouMean, PixelAccuracy, DiceForeground],
            Runner::TableRegression => &[Mae, Rmse, Mse, R2],
            Runner::TableClasses => &[Accuracy, BalancedAccuracy],
        }
    }
}
