//! The two training steps that use the physics: physics-aware and exact.
//!
//! **Physics-aware** (Wright et al., Nature 601:549, 2022): the forward pass runs on the
//! hardware; the backward pass uses the frozen surrogate's Jacobian evaluated at the physical
//! activations. Built as an explicit straight-through construction, not a custom backward
//! op: each layer's output is `y_sur + (y_phys - y_sur).detach()`, where `y_sur` is the
//! surrogate at the layer's *physical* inputs. Its value is `y_phys`; its gradient is the
//! surrogate's, at the physical operating point, chained through the physical activations.
//!
//! **Exact**: forward on the hardware, backward with the devices' own derivatives (forward
//! ODE sensitivities, or closed forms), by an explicit chain rule on the host in f64. No
//! surrogate is involved; it is the reference that shows how good the surrogate gradients are.

use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorCreationOptions, TensorData};
use rayon::prelude::*;

use almost_surrogate::tensor_io::to_vec;

use crate::error::{NetError, Result};
use crate::hardware::{Hardware, LayerCall};
use crate::imperfect::quantize;
use crate::loss::cross_entropy;
use crate::network::DeviceNetwork;

/// A in host memory as the hardware sees it (quantised to `bits` if non-zero), per layer.
pub fn hardware_a(network: &DeviceNetwork, bits: u32) -> Vec<Vec<f64>> {
    network
        .layers
        .iter()
        .zip(network.a_values())
        .map(|(layer, mut a)| {
            quantize(&mut a, &layer.a_lo, &layer.a_hi, bits);
            a
        })
        .collect()
}

/// Loss, correct count and A-gradients of one batch with the forward pass on `hardware`
/// and the backward pass through the surrogates at the physical activations.
///
/// # Shapes
/// - x: `[batch, pixels]`, y: `[batch]`
pub fn physics_aware_step(
    network: &DeviceNetwork,
    x: Tensor<2>,
    y: Tensor<1, Int>,
    hardware: &dyn Hardware,
    bits: u32,
) -> (Tensor<1>, Tensor<1, Int>, GradientsParams) {
    let a_hw = hardware_a(network, bits);
    let mut u = x;
    for (l, layer) in network.layers.iter().enumerate() {
        let inputs = layer.device_inputs(u);
        let [batch, m, fan_in] = inputs.dims();
        let y_sur = layer.respond(inputs.clone());
        let xh = to_vec(inputs.detach());
        let call = LayerCall { layer: l, x: &xh, fan_in, a: &a_hw[l], n_a: a_hw[l].len() / m, output: layer.output };
        let sur_host = to_vec(y_sur.clone().detach());
        // a failed solve falls back to the surrogate's value for that device
        let phys: Vec<f64> =
            hardware.respond_layer(&call).into_iter().zip(&sur_host).map(|(p, s)| p.unwrap_or(*s)).collect();
        let options = TensorCreationOptions::new(y_sur.device()).with_dtype(y_sur.dtype());
        let y_phys = Tensor::<2>::from_data(TensorData::new(phys, [batch, m]), options);
        u = y_sur.clone() + (y_phys - y_sur.detach());
    }
    let (loss, correct) = cross_entropy(network.read_out(u), y);
    let grads = GradientsParams::from_grads(loss.backward(), network);
    (loss.detach(), correct, grads)
}

/// What [`exact_step`] returns: mean loss, correct predictions and dLoss/dA per layer
/// (row-major `[devices, n_a]`).
pub struct ExactStep {
    /// Mean cross-entropy of the batch.
    pub loss: f64,
    /// Correct predictions.
    pub correct: usize,
    /// dLoss/dA per layer.
    pub grad_a: Vec<Vec<f64>>,
}

/// Forward on `hardware` and backward with the devices' exact derivatives, for a batch of
/// inputs `x` (row-major `[batch, width]`, values in [0, 1]) and `labels`.
pub fn exact_step(
    network: &DeviceNetwork,
    x: &[f64],
    labels: &[usize],
    hardware: &dyn Hardware,
    bits: u32,
) -> Result<ExactStep> {
    let batch = labels.len();
    let a_hw = hardware_a(network, bits);
    let mut u = x.to_vec();
    // per layer: (dy/dx, dy/dA) of every call
    let mut tape: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    for (l, layer) in network.layers.iter().enumerate() {
        let m = layer.devices();
        let xin = layer.device_inputs_host(&u, batch);
        let call = LayerCall {
            layer: l,
            x: &xin,
            fan_in: layer.fan_in,
            a: &a_hw[l],
            n_a: a_hw[l].len() / m,
            output: layer.output,
        };
        let jacs: Vec<Option<almost_sim::Result<almost_sim::Jacobian>>> = (0..call.calls())
            .into_par_iter()
            .map(|c| {
                let (j, x, a) = call.call(c);
                hardware.jacobian(l, j, x, a)
            })
            .collect();
        let (mut y, mut dx, mut da) = (Vec::with_capacity(batch * m), Vec::new(), Vec::new());
        for jac in jacs {
            let jac = jac
                .ok_or_else(|| NetError::NoDerivatives { layer: l, kind: hardware.kind(l) })?
                .map_err(|source| NetError::Derivatives { layer: l, source })?;
            y.push(jac.y[layer.output]);
            dx.extend_from_slice(&jac.dy_dx[layer.output]);
            da.extend_from_slice(&jac.dy_da[layer.output]);
        }
        tape.push((dx, da));
        u = y;
    }
    // softmax cross-entropy on the summing readout
    let r = &network.readout;
    let mut g = vec![0.0; u.len()];
    let (mut loss, mut correct) = (0.0, 0);
    for b in 0..batch {
        let row = &u[b * r.classes * r.per_class..(b + 1) * r.classes * r.per_class];
        let logits: Vec<f64> =
            (0..r.classes).map(|c| r.scale * row[c * r.per_class..(c + 1) * r.per_class].iter().sum::<f64>()).collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = logits.iter().map(|v| (v - max).exp()).sum();
        loss += -(logits[labels[b]] - max - z.ln());
        let best = logits.iter().enumerate().max_by(|p, q| p.1.total_cmp(q.1)).map_or(0, |(c, _)| c);
        correct += usize::from(best == labels[b]);
        for c in 0..r.classes {
            let dlogit = ((logits[c] - max).exp() / z - f64::from(u8::from(c == labels[b]))) / batch as f64;
            for k in 0..r.per_class {
                g[b * r.classes * r.per_class + c * r.per_class + k] = r.scale * dlogit;
            }
        }
    }
    // backward through the layers: g holds dLoss/dy of the current layer
    let mut grad_a = vec![Vec::new(); network.layers.len()];
    for (l, layer) in network.layers.iter().enumerate().rev() {
        let (m, fan_in) = (layer.devices(), layer.fan_in);
        let n_a = a_hw[l].len() / m;
        let (dx, da) = &tape[l];
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
    Ok(ExactStep { loss: loss / batch as f64, correct, grad_a })
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
