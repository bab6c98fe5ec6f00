//! A multilayer perceptron: optional hidden layers with ReLU, then one output (regression) or
//! one per class. With no hidden layers it is the original module's single `Linear(30, 1)`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub inputs: usize,
    #[config(default = "Vec::new()")]
    pub hidden: Vec<usize>,
    /// Output units: 1 for regression, one per class for classification.
    #[config(default = 1)]
    pub outputs: usize,
}

#[derive(Module, Debug)]
pub struct Mlp {
    pub hidden: Vec<Linear>,
    pub out: Linear,
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        let mut width = self.inputs;
        let hidden = self
            .hidden
            .iter()
            .map(|&h| {
                let l = LinearConfig::new(width, h).init(device);
                width = h;
                l
            })
            .collect();
        Mlp {
            hidden,
            out: LinearConfig::new(width, self.outputs).init(device),
        }
    }
}

impl MlpConfig {
    /// The layers in words, for records: "MLP 30 -> 64 -> 32 -> 1 (ReLU between layers)".
    pub fn describe(&self) -> String {
        let widths: Vec<String> = std::iter::once(self.inputs)
            .chain(self.hidden.iter().copied())
            .chain(std::iter::once(self.outputs))
            .map(|w| w.to_string())
            .collect();
        let relu = if self.hidden.is_empty() {
            " (one linear layer)"
        } else {
            " (ReLU between layers)"
        };
        format!("MLP {}{relu}", widths.join(" -> "))
    }

    /// Weights and biases: the trainable parameter count of the model `init` builds.
    pub fn parameters(&self) -> usize {
        let mut width = self.inputs;
        let mut n = 0;
        for &h in self.hidden.iter().chain(std::iter::once(&self.outputs)) {
            n += (width + 1) * h;
            width = h;
        }
        n
    }
}

impl Mlp {
    /// Outputs `[N, outputs]` for inputs `[N, features]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = self.hidden.iter().fold(x, |x, l| relu(l.forward(x)));
        self.out.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_count_is_the_built_models() {
        let config = MlpConfig::new(30).with_hidden(vec![64, 32]);
        let model = config.init(&burn::tensor::Device::flex());
        assert_eq!(config.parameters(), model.num_params());
        assert_eq!(config.parameters(), 31 * 64 + 65 * 32 + 33);
        assert_eq!(
            config.describe(),
            "MLP 30 -> 64 -> 32 -> 1 (ReLU between layers)"
        );
    }
}
