//! One pass over batches with any training step: the loop classification and regression share.

use burn::optim::ModuleOptimizer;
use burn::tensor::Tensor;

use crate::error::Result;
use crate::network::chain::DeviceNetwork;
use crate::training::step::{Batch, TrainStep};

/// What one epoch measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochTotals {
    /// Sum over batches of (mean batch loss x rows).
    pub loss_sum: f64,
    /// Correct predictions (classification only).
    pub correct: Option<usize>,
    /// Rows seen.
    pub rows: usize,
    /// Learning rate of the last step.
    pub last_lr: f64,
}

impl EpochTotals {
    /// Mean loss per row.
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.rows.max(1) as f64
    }
}

/// Runs `step` on every batch, each followed by an Adam step at `lr_at(batch index)` (in
/// half-ranges of each parameter: [`DeviceNetwork::scale_steps`]; a constant shared by
/// every device takes the step of its summed gradient: [`DeviceNetwork::tie_gradients`]) and
/// the projection of A into its bounds; `after` is told each batch index (progress bars).
pub fn run_epoch(
    mut network: DeviceNetwork,
    optim: &mut ModuleOptimizer,
    step: &dyn TrainStep,
    batches: impl Iterator<Item = Batch>,
    lr_at: &dyn Fn(usize) -> f64,
    after: &mut dyn FnMut(usize, f64),
) -> Result<(DeviceNetwork, EpochTotals)> {
    let mut totals = EpochTotals::default();
    for (b, batch) in batches.enumerate() {
        let out = step.step(&network, &batch)?;
        let lr = lr_at(b);
        totals.loss_sum += out.loss * batch.len() as f64;
        totals.rows += batch.len();
        totals.correct = match (totals.correct, out.correct) {
            (Some(t), Some(c)) => Some(t + c),
            (t, c) => t.or(c),
        };
        totals.last_lr = lr;
        let before: Vec<Tensor<2>> = network.layers.iter().map(|l| l.a.val().detach()).collect();
        let grads = network.tie_gradients(out.grads);
        network = optim.step(lr, network, grads).scale_steps(&before).project();
        after(b, lr);
    }
    Ok((network, totals))
}
