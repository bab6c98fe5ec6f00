//! The course's networks, in burn: ResNet-18 (classification), U-Net (segmentation) and an MLP
//! (regression). Each file holds one architecture and its config.

pub mod mlp;
pub mod resnet;
pub mod unet;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// Counts parameters that will be trained (those that require a gradient). BatchNorm running
/// statistics are not parameters in this sense; PyTorch does not count them either.
pub fn trainable_params<M: Module>(model: &M) -> usize {
    struct Count(usize);
    impl ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.is_require_grad() {
                self.0 += param.lazy_shape().num_elements();
            }
        }
    }
    let mut c = Count(0);
    model.visit(&mut c);
    c.0
}
