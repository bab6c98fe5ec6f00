//! How a network trains: optimiser, learning rate, momentum, epochs and batch size. One type
//! for the presets of the course, the plans of `petri identify` (`plan.toml`) and the
//! challenges' `experiment.toml`; in files it is written flat, as people edit it:
//!
//! ```toml
//! optimizer = "sgd"
//! learning_rate = 0.001
//! momentum = 0.9
//! epochs = 10
//! batch_size = 16
//! ```

use super::Optimizer;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Fields", into = "Fields")]
pub struct TrainingSettings {
    pub optimizer: Optimizer,
    pub epochs: usize,
    pub batch_size: usize,
}

impl TrainingSettings {
    /// Checks what every runner needs; refusals name the field as files spell it.
    pub fn new(
        optimizer: Optimizer,
        epochs: usize,
        batch_size: usize,
    ) -> Result<TrainingSettings, String> {
        let lr = optimizer.lr();
        if !(lr > 0.0 && lr <= 10.0) {
            return Err(format!("learning_rate = {lr} must be in (0, 10]"));
        }
        if let Optimizer::Sgd { momentum, .. } = optimizer
            && !(0.0..1.0).contains(&momentum)
        {
            return Err(format!("momentum = {momentum} must be in [0, 1)"));
        }
        if epochs == 0 {
            return Err("epochs = 0: train for at least 1 epoch".into());
        }
        if batch_size == 0 {
            return Err("batch_size = 0: give at least 1".into());
        }
        Ok(TrainingSettings {
            optimizer,
            epochs,
            batch_size,
        })
    }

    /// Narrower bounds a caller sets (a challenge keeps grading time bounded).
    pub fn within(
        &self,
        epochs: std::ops::RangeInclusive<usize>,
        batch_size: std::ops::RangeInclusive<usize>,
    ) -> Result<(), String> {
        if !epochs.contains(&self.epochs) {
            return Err(format!(
                "epochs = {} must be {}-{}",
                self.epochs,
                epochs.start(),
                epochs.end()
            ));
        }
        if !batch_size.contains(&self.batch_size) {
            return Err(format!(
                "batch_size = {} must be {}-{}",
                self.batch_size,
                batch_size.start(),
                batch_size.end()
            ));
        }
        Ok(())
    }
}

/// The file form: the optimiser by name, its numbers beside it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    optimizer: String,
    learning_rate: f64,
    #[serde(default)]
    momentum: f64,
    epochs: usize,
    batch_size: usize,
}

impl TryFrom<Fields> for TrainingSettings {
    type Error = String;

    fn try_from(f: Fields) -> Result<Self, String> {
        if f.optimizer == "adam" && f.momentum != 0.0 {
            return Err(format!(
                "momentum = {}: adam has no momentum setting; remove the line or use sgd",
                f.momentum
            ));
        }
        let optimizer = Optimizer::named(&f.optimizer, f.learning_rate, f.momentum)?;
        TrainingSettings::new(optimizer, f.epochs, f.batch_size)
    }
}

impl From<TrainingSettings> for Fields {
    fn from(s: TrainingSettings) -> Fields {
        let momentum = match s.optimizer {
            Optimizer::Sgd { momentum, .. } => momentum,
            Optimizer::Adam { .. } => 0.0,
        };
        Fields {
            optimizer: s.optimizer.name().into(),
            learning_rate: s.optimizer.lr(),
            momentum,
            epochs: s.epochs,
            batch_size: s.batch_size,
        }
    }
}

/// A TOML error as people can use it: serde loses the position of fields read through
/// `#[serde(flatten)]` (it points at line 1, column 1), so then only the message is given.
pub fn toml_error(file: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) if span.start > 0 || span.end > 0 => format!("{file}: {e}"),
        _ => format!("{file}: {}", e.message().trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        name: String,
        #[serde(flatten)]
        training: TrainingSettings,
    }

    fn parse(text: &str) -> Result<File, String> {
        toml::from_str(text).map_err(|e| toml_error("f.toml", &e))
    }

    #[test]
    fn reads_and_writes_the_flat_form_and_refuses_what_cannot_train() {
        let f = parse(
            "name = 'a'\noptimizer = 'sgd'\nlearning_rate = 0.01\nmomentum = 0.9\nepochs = 3\nbatch_size = 8\n",
        )
        .unwrap();
        assert_eq!(
            f.training.optimizer,
            Optimizer::Sgd {
                lr: 0.01,
                momentum: 0.9
            }
        );
        assert_eq!((f.training.epochs, f.training.batch_size), (3, 8));
        let again = parse(&toml::to_string(&f).unwrap()).unwrap();
        assert_eq!(again.training, f.training);

        let base = "name = 'a'\nlearning_rate = 0.01\nepochs = 3\nbatch_size = 8\n";
        for (extra, wanted) in [
            ("optimizer = 'rmsprop'", "optimizer 'rmsprop'"),
            ("optimizer = 'adam'\nmomentum = 0.9", "adam has no momentum"),
            ("optimizer = 'sgd'\nmomentum = 1.5", "momentum = 1.5"),
            ("optimizer = 'sgd'\nbogus = 1", "unknown field `bogus`"),
        ] {
            let e = parse(&format!("{base}{extra}\n")).unwrap_err();
            assert!(e.contains(wanted), "{extra}: {e}");
            assert!(!e.contains("line 1"), "a position serde lost: {e}");
        }
        let e = parse(
            "name = 'a'\noptimizer = 'adam'\nlearning_rate = -1\nepochs = 3\nbatch_size = 8\n",
        )
        .unwrap_err();
        assert!(e.contains("learning_rate = -1"), "{e}");
        let e = parse(
            "name = 'a'\noptimizer = 'adam'\nlearning_rate = 0.1\nepochs = 0\nbatch_size = 8\n",
        )
        .unwrap_err();
        assert!(e.contains("epochs = 0"), "{e}");
        let s = TrainingSettings::new(Optimizer::Adam { lr: 0.1 }, 40, 8).unwrap();
        assert!(
            s.within(1..=30, 2..=256)
                .unwrap_err()
                .contains("epochs = 40")
        );
    }
}
