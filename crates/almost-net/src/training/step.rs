//! The training seam: one step of any mode behind one signature.
//!
//! A [`TrainStep`] takes the network and a [`Batch`] and returns the batch's loss, its
//! correct predictions (when classifying) and the gradients of every layer's A. The loop
//! ([`super::train`], [`super::regression`]) neither knows nor cares which mode it runs: the
//! modes are in [`super::modes`]. A new mode is one type implementing [`TrainStep`] and one
//! arm of [`super::modes::step_for`].

use burn::optim::GradientsParams;
use burn::tensor::Tensor;

use crate::error::Result;
use crate::network::chain::DeviceNetwork;
use crate::training::loss::Targets;

/// A batch: inputs on the training (autodiff) device and what they are trained towards.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Inputs, `[batch, width]`.
    pub x: Tensor<2>,
    /// Labels or target values.
    pub targets: Targets,
}

impl Batch {
    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.x.dims()[0]
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one step measured and the gradients it produced.
pub struct StepOutcome {
    /// Mean loss of the batch.
    pub loss: f64,
    /// Correct predictions (classification only).
    pub correct: Option<usize>,
    /// dLoss/dA of every layer, for the optimiser.
    pub grads: GradientsParams,
}

/// One training step of a mode.
pub trait TrainStep {
    /// Loss, correct predictions and A-gradients of `batch` for `network` as it is.
    fn step(&self, network: &DeviceNetwork, batch: &Batch) -> Result<StepOutcome>;
}
