//! Gradients made contiguous before an optimizer reads them.
//!
//! burn computes a convolution's weight gradient as a convolution of swapped tensors and hands
//! it over as a transposed view. burn's CPU backend runs element-wise ops on such a view one
//! index at a time: 30 ms for one 512x512x3x3 weight on 2 cores, where a contiguous tensor
//! takes 1-4 ms. Adam reads every gradient twice that way (`g`, `g^2`).

use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

/// `t` laid out contiguously: a reshape copies a strided view with a tiled copy, and costs
/// nothing when `t` is already contiguous.
pub fn contiguous<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    let dims = t.dims();
    t.reshape([dims.iter().product::<usize>()]).reshape(dims)
}

/// Any optimizer, given contiguous gradients.
#[derive(Clone)]
pub struct ContiguousGrads<O>(pub O);

impl<O: Optimizer> Optimizer for ContiguousGrads<O> {
    type State<const D: usize> = O::State<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        self.0.step(lr, tensor, contiguous(grad), state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        O::to_device(state, device)
    }
}
