//! The training plan `petri identify` proposes and `petri train` runs: every choice with the
//! reason and the lesson that explains it, written as an editable TOML file.

use crate::augment::Transform;
use crate::data::registry::Task;
use crate::train::TrainingSettings;
use serde::{Deserialize, Serialize};

/// One decision of the plan, for people: what, why, and where the course explains it.
#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    pub item: &'static str,
    pub choice: String,
    pub why: String,
    pub lesson: &'static str,
}

/// What `petri train` reads. Every field can be edited in the written `plan.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub task: Task,
    /// `resnet18`, `unet` or `mlp`.
    pub network: String,
    /// Square input size for images (resize); `None` keeps the data's size.
    #[serde(default)]
    pub input_size: Option<usize>,
    /// Start from ImageNet weights (needs them in the data dir) and fine-tune all layers.
    #[serde(default)]
    pub pretrained: bool,
    pub loss: String,
    /// `balanced` or none.
    #[serde(default)]
    pub class_weights: Option<String>,
    /// `optimizer`, `learning_rate`, `momentum`, `epochs`, `batch_size`, written flat.
    #[serde(flatten)]
    pub training: TrainingSettings,
    /// Hidden layer sizes (mlp).
    #[serde(default)]
    pub hidden: Vec<usize>,
    /// Training-time augmentation (images).
    #[serde(default, rename = "transform")]
    pub augmentation: Vec<Transform>,
    /// The metric to report.
    pub metric: String,
    /// Target column (tables).
    #[serde(default)]
    pub target: Option<String>,
    /// Fractions for train/val/test when the data has no splits of its own.
    pub split: [f64; 3],
    pub seed: u64,
}

impl Plan {
    /// A plan file's text; errors name the file and the field.
    pub fn parse(text: &str, file: &str) -> Result<Plan, String> {
        let plan: Plan =
            toml::from_str(text).map_err(|e| crate::train::settings::toml_error(file, &e))?;
        plan.validate().map_err(|e| format!("{file}: {e}"))?;
        Ok(plan)
    }

    /// What the fields cannot say alone (the training settings check themselves when read).
    pub fn validate(&self) -> Result<(), String> {
        let s: f64 = self.split.iter().sum();
        if (s - 1.0).abs() > 1e-6 || self.split.iter().any(|f| *f < 0.0) || self.split[0] <= 0.0 {
            return Err(format!(
                "split {:?} must be three non-negative fractions summing to 1",
                self.split
            ));
        }
        if !matches!(self.network.as_str(), "resnet18" | "unet" | "mlp") {
            return Err(format!(
                "network '{}': use resnet18, unet or mlp",
                self.network
            ));
        }
        if let Some(w) = &self.class_weights
            && w != "balanced"
        {
            return Err(format!(
                "class_weights = '{w}': use \"balanced\" or remove the line"
            ));
        }
        crate::augment::Pipeline::new(self.augmentation.clone()).validate()
    }

    /// The plan as TOML, each choice preceded by its reason as a comment.
    pub fn to_toml(&self, reasons: &[Reason]) -> String {
        let mut out = String::from(
            "# Training plan written by `petri identify`. Edit any value, then run\n# `petri train DATA --plan THIS_FILE`.\n\n",
        );
        let body = toml::to_string(self).unwrap_or_default();
        let mut commented = Vec::new();
        for line in body.lines() {
            let key = match line
                .trim()
                .strip_prefix("[[")
                .and_then(|l| l.strip_suffix("]]"))
            {
                Some(table) => table,
                None => line.split('=').next().unwrap_or("").trim(),
            };
            if commented.contains(&key) {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            commented.push(key);
            for r in reasons.iter().filter(|r| r.item == key) {
                out.push_str(&format!("# {} (lesson: {})\n", r.why, r.lesson));
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}
