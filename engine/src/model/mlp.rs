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

impl Mlp {
    /// Outputs `[N, outputs]` for inputs `[N, features]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = self.hidden.iter().fold(x, |x, l| relu(l.forward(x)));
        self.out.forward(x)
    }
}
