//! The exact chain rule on the host: forward through the devices with their own derivatives
//! (ODE forward sensitivities or closed forms), backward in f64 through the wiring.

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorCreationOptions, TensorData};

use crate::error::Result;
use crate::network::chain::DeviceNetwork;
use crate::physics::forward::{forward_host_derivatives, hardware_a};
use crate::physics::hardware::Hardware;
use crate::training::loss::{HostTargets, head_loss_host};

/// What [`exact_gradients`] returns: mean loss, correct predictions (when classifying) and
/// dLoss/dA per layer (row-major `[devices, n_a]`).
pub struct ExactGradients {
    /// Mean loss of the batch.
    pub loss: f64,
    /// Correct predictions (classification only).
    pub correct: Option<usize>,
    /// dLoss/dA per layer.
    pub grad_a: Vec<Vec<f64>>,
}

/// Forward on `hardware` and backward with the devices' exact derivatives, for a batch of
/// inputs `x` (row-major `[batch, width]`) and `targets`.
pub fn exact_gradients(
    network: &DeviceNetwork,
    x: &[f64],
    targets: &HostTargets,
    hardware: &dyn Hardware,
    bits: u32,
) -> Result<ExactGradients> {
    let batch = match targets {
        HostTargets::Labels(l) => l.len(),
        HostTargets::Values(v) => v.len() / network.layers.last().map_or(1, |l| l.devices()).max(1),
    };
    let a_hw = hardware_a(network, bits);
    let passes = forward_host_derivatives(network, hardware, &a_hw, x, batch)?;
    let last = passes.last().map(|p| p.out.clone()).unwrap_or_default();
    let (loss, correct, mut g) = head_loss_host(&network.head, &last, targets, batch)?;
    // backward through the layers: g holds dLoss/dy of the current layer
    let mut grad_a = vec![Vec::new(); network.layers.len()];
    for (l, layer) in network.layers.iter().enumerate().rev() {
        let (m, fan_in) = (layer.devices(), layer.fan_in);
        let n_a = a_hw[l].len() / m;
        let (dx, da) = passes[l].derivatives.as_ref().map_or((&[][..], &[][..]), |(dx, da)| (&dx[..], &da[..]));
        let mut ga = vec![0.0; m * n_a];
        for c in 0..batch * m {
            let j = c % m;
            for k in 0..n_a {
                ga[j * n_a + k] += g[c] * da[c * n_a + k];
            }
        }
        grad_a[l] = ga;
        if l == 0 {
            break;
        }
        let width = network.layers[l - 1].devices();
        let mut gu = vec![0.0; batch * width];
        for c in 0..batch * m {
            let (b, j) = (c / m, c % m);
            for i in 0..fan_in {
                let k = layer.indices[j * fan_in + i] as usize;
                if k < width {
                    gu[b * width + k] += g[c] * dx[c * fan_in + i] * layer.gain;
                }
            }
        }
        g = gu;
    }
    Ok(ExactGradients { loss, correct, grad_a })
}

/// [`exact_gradients`] of a classifying network for class `labels`.
pub fn exact_step(
    network: &DeviceNetwork,
    x: &[f64],
    labels: &[usize],
    hardware: &dyn Hardware,
    bits: u32,
) -> Result<ExactGradients> {
    exact_gradients(network, x, &HostTargets::Labels(labels.to_vec()), hardware, bits)
}

/// Turns host gradients of A into the optimiser's gradient container.
pub fn gradients_of(network: &DeviceNetwork, grad_a: &[Vec<f64>], device: &Device) -> GradientsParams {
    let mut grads = GradientsParams::new();
    for (layer, g) in network.layers.iter().zip(grad_a) {
        let dims = layer.a.val().dims();
        let options = TensorCreationOptions::new(device.clone()).with_dtype(layer.a.val().dtype());
        grads.register(layer.a.id, Tensor::<2>::from_data(TensorData::new(g.clone(), dims), options));
    }
    grads
}
