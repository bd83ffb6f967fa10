//! The loss of a device network (cross-entropy on a summing readout, or squared error of
//! the last layer's outputs), on tensors and on the host; accuracy; the learning-rate schedule.

use burn::tensor::activation::log_softmax;
use burn::tensor::{DType, Device, Int, Tensor};

use crate::data::batch;
use crate::data::images::ImageSet;
use crate::error::{NetError, Result};
use crate::fused::FusedNet;
use crate::network::chain::{DeviceNetwork, Head, argmax};

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

/// Test accuracy of `network` (any device) on the first `limit` images of `set` (0 = all):
/// on the host kernel ([`FusedNet`], rayon's threads) for f32 on the CPU backend, else
/// through burn.
pub fn accuracy(network: &DeviceNetwork, set: &ImageSet, limit: usize, dtype: DType, device: &Device) -> f64 {
    let n = if limit == 0 { set.len() } else { limit.min(set.len()) };
    let idx: Vec<usize> = (0..n).collect();
    let fused = (dtype == DType::F32 && almost_surrogate::backend::is_flex(device)).then(|| FusedNet::new(network));
    if let Some(Some(fused)) = fused {
        let correct: usize = idx
            .chunks(500)
            .map(|chunk| {
                let x = batch::host_images(set, chunk, None);
                let logits = fused.outputs(network, &x, chunk.len(), rayon::current_num_threads());
                let width = logits.len() / chunk.len().max(1);
                chunk
                    .iter()
                    .enumerate()
                    .filter(|(b, i)| argmax(&logits[b * width..(b + 1) * width]) == usize::from(set.labels[**i]))
                    .count()
            })
            .sum();
        return correct as f64 / n.max(1) as f64;
    }
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

/// What a batch is trained towards: class labels (classification) or values of the last
/// layer's outputs (regression).
#[derive(Clone, Debug)]
pub enum Targets {
    /// Class labels, `[batch]`.
    Labels(Tensor<1, Int>),
    /// Target outputs, `[batch, devices of the last layer]`.
    Values(Tensor<2>),
}

impl Targets {
    /// Rows `a..b` of the targets.
    pub fn rows(&self, a: usize, b: usize) -> Self {
        match self {
            Self::Labels(y) => Self::Labels(y.clone().slice(a..b)),
            Self::Values(t) => {
                let [_, w] = t.dims();
                Self::Values(t.clone().slice([a..b, 0..w]))
            }
        }
    }

    /// The same targets on the host: labels, or row-major values.
    pub fn host(&self) -> HostTargets {
        match self {
            Self::Labels(y) => HostTargets::Labels(
                y.clone()
                    .into_data()
                    .convert::<i64>()
                    .try_to_vec::<i64>()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| v as usize)
                    .collect(),
            ),
            Self::Values(t) => HostTargets::Values(almost_surrogate::tensor_io::to_vec(t.clone())),
        }
    }
}

/// [`Targets`] on the host, for the steps that run the chain rule in f64.
#[derive(Clone, Debug, PartialEq)]
pub enum HostTargets {
    /// Class labels.
    Labels(Vec<usize>),
    /// Target outputs, row-major `[batch, devices]`.
    Values(Vec<f64>),
}

/// Mean loss of a batch from the last layer's outputs `last`, and the number of correct
/// predictions when classifying: cross-entropy on the readout's logits against labels, or
/// the mean squared error of the outputs against values.
///
/// # Shapes
/// - last: `[batch, devices of the last layer]`
pub fn head_loss(head: &Head, last: Tensor<2>, targets: &Targets) -> Result<(Tensor<1>, Option<Tensor<1, Int>>)> {
    match (head, targets) {
        (Head::Classes(r), Targets::Labels(y)) => {
            let (loss, correct) = cross_entropy(r.logits(last), y.clone());
            Ok((loss, Some(correct)))
        }
        (Head::Outputs, Targets::Values(t)) => Ok(((last - t.clone()).square().mean(), None)),
        _ => Err(mismatch(head)),
    }
}

fn mismatch(head: &Head) -> NetError {
    NetError::dimension(
        "head",
        match head {
            Head::Classes(_) => "a classifying network is trained on class labels, not on target values",
            Head::Outputs => "a regression network is trained on target values, not on class labels",
        },
    )
}

/// [`head_loss`] on the host in f64, with dLoss/d(last-layer outputs): `u` is row-major
/// `[batch, devices]`. Returns (mean loss, correct predictions when classifying, gradient).
pub fn head_loss_host(
    head: &Head,
    u: &[f64],
    targets: &HostTargets,
    batch: usize,
) -> Result<(f64, Option<usize>, Vec<f64>)> {
    let width = u.len() / batch.max(1);
    let mut g = vec![0.0; u.len()];
    match (head, targets) {
        (Head::Classes(r), HostTargets::Labels(labels)) => {
            let (mut loss, mut correct) = (0.0, 0);
            for (b, &label) in labels.iter().enumerate().take(batch) {
                let logits = r.logits_host(&u[b * width..(b + 1) * width]);
                let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = logits.iter().map(|v| (v - max).exp()).sum();
                loss += -(logits[label] - max - z.ln());
                correct += usize::from(argmax(&logits) == label);
                for (c, logit) in logits.iter().enumerate() {
                    let dlogit = ((logit - max).exp() / z - f64::from(u8::from(c == label))) / batch as f64;
                    for k in 0..r.per_class {
                        g[b * width + r.device(c, k)] = r.scale * dlogit;
                    }
                }
            }
            Ok((loss / batch as f64, Some(correct), g))
        }
        (Head::Outputs, HostTargets::Values(t)) => {
            let n = u.len().max(1) as f64;
            let mut loss = 0.0;
            for ((gi, ui), ti) in g.iter_mut().zip(u).zip(t) {
                loss += (ui - ti) * (ui - ti);
                *gi = 2.0 * (ui - ti) / n;
            }
            Ok((loss / n, None, g))
        }
        _ => Err(mismatch(head)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::chain::Readout;
    use crate::network::config::ReadoutOrder;

    #[test]
    fn the_host_gradient_matches_finite_differences_in_both_orders() {
        let u: Vec<f64> = (0..12).map(|i| (i as f64 * 0.37).sin()).collect();
        let targets = HostTargets::Labels(vec![2, 0]);
        for order in [ReadoutOrder::Blocks, ReadoutOrder::Interleaved] {
            let head = Head::Classes(Readout { classes: 3, per_class: 2, scale: 1.5, order });
            let (_, _, g) = head_loss_host(&head, &u, &targets, 2).unwrap();
            for k in 0..u.len() {
                let h = 1e-6;
                let (mut up, mut down) = (u.clone(), u.clone());
                up[k] += h;
                down[k] -= h;
                let fd = (head_loss_host(&head, &up, &targets, 2).unwrap().0
                    - head_loss_host(&head, &down, &targets, 2).unwrap().0)
                    / (2.0 * h);
                assert!((fd - g[k]).abs() < 1e-7, "{order:?} device {k}: {fd} vs {}", g[k]);
            }
        }
    }
}
