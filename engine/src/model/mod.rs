//! The course's networks, in burn: ResNet-18 (classification), U-Net (segmentation) and an MLP
//! (regression). Each file holds one architecture and its config.

pub mod mlp;
pub mod resnet;
pub mod unet;
pub mod weights;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use std::sync::Mutex;

/// Held by whoever seeds or draws from the backend's global random generator (model
/// initialisation here, the training loop's seeding in `train::fit`).
pub(crate) static RNG: Mutex<()> = Mutex::new(());

/// Builds a model from the device's random generator seeded with `seed`. The generator is
/// global to the backend, so the seeding and the draws happen under one lock: two models built
/// at once (parallel tests, a tutor with a run in progress) cannot take each other's numbers.
/// burn initialises parameters lazily, on first use, so every parameter is touched here.
pub fn init_seeded<T: Module>(device: &Device, seed: u64, init: impl FnOnce(&Device) -> T) -> T {
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    let _guard = RNG.lock().unwrap_or_else(|e| e.into_inner());
    device.seed(seed);
    let model = init(device);
    model.visit(&mut Touch);
    model
}

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
