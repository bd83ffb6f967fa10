//! The loss of a classifying device network, its accuracy, and the learning-rate schedule.

use burn::tensor::activation::log_softmax;
use burn::tensor::{DType, Device, Int, Tensor};

use crate::batch;
use crate::images::ImageSet;
use crate::network::DeviceNetwork;

/// Cross-entropy of logits against labels and the number of correct predictions.
///
/// # Shapes
/// - logits: `[batch, classes]`
/// - labels: `[batch]`
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> (Tensor<1>, Tensor<1, Int>) {
    let correct = logits.clone().argmax(1).squeeze_dim::<1>(1).equal(labels.clone()).int().sum();
    let picked = log_softmax(logits, 1).gather(1, labels.unsqueeze_dim(1));
    (picked.mean().neg(), correct)
}

/// Test accuracy of `network` (any device) on the first `limit` images of `set` (0 = all).
pub fn accuracy(network: &DeviceNetwork, set: &ImageSet, limit: usize, dtype: DType, device: &Device) -> f64 {
    let n = if limit == 0 { set.len() } else { limit.min(set.len()) };
    let idx: Vec<usize> = (0..n).collect();
    let mut correct = 0i64;
    for chunk in idx.chunks(500) {
        let x = batch::images(set, chunk, None, dtype, device);
        let y = batch::labels(set, chunk, device);
        let (_, c) = cross_entropy(network.forward(x), y);
        correct += c.into_scalar::<i64>();
    }
    correct as f64 / n.max(1) as f64
}

/// The learning rate at `step` of `total`: `base`, cosine-decayed to 1 % of it.
pub fn cosine_lr(base: f64, step: f64, total: f64) -> f64 {
    base * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * step / total.max(1.0)).cos()))
}
