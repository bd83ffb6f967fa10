//! [`FusedNet`]: a device network's forward and backward passes on the host kernel, and the
//! training steps built on them (surrogate mode, and the surrogate half of physics-aware).

use almost_surrogate::kernel::pool::recycle;
use almost_surrogate::tensor_io::{f32s, to_f32};

use crate::error::Result;
use crate::fused::layer::FusedLayer;
use crate::network::chain::{DeviceNetwork, Head};
use crate::training::exact::gradients_of;
use crate::training::loss::head_loss_host;
use crate::training::step::{Batch, StepOutcome};

/// Every layer of a network on the host kernel (the surrogates' weights, frozen; A is read
/// from the network at each call).
#[derive(Clone, Debug)]
pub struct FusedNet {
    layers: Vec<FusedLayer>,
}

impl FusedNet {
    /// The network on the host kernel; `None` when a layer's surrogate is not an MLP.
    pub fn new(network: &DeviceNetwork) -> Option<Self> {
        network.layers.iter().map(FusedLayer::new).collect::<Option<Vec<_>>>().map(|layers| Self { layers })
    }

    /// Forward multiply-adds of one image (per-sample part).
    pub fn multiply_adds(&self) -> usize {
        self.layers.iter().map(FusedLayer::multiply_adds).sum()
    }

    fn a32(network: &DeviceNetwork) -> Vec<Vec<f32>> {
        network.a_values().iter().map(|a| f32s(a)).collect()
    }

    /// The outputs of every layer (`[batch, devices]` each, input first) for images `x`
    /// (`[batch, pixels]`), with the network's current A.
    pub fn activations(&self, network: &DeviceNetwork, x: &[f32], batch: usize, threads: usize) -> Vec<Vec<f32>> {
        let a = Self::a32(network);
        let mut out: Vec<Vec<f32>> = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let u = out.last().map_or(x, Vec::as_slice);
            let y = layer.forward(u, batch, &a[l], threads);
            out.push(y);
        }
        out
    }

    /// What the head makes of the last layer for images `x`: logits (`[batch, classes]`) or
    /// the last layer's outputs, in f64.
    pub fn outputs(&self, network: &DeviceNetwork, x: &[f32], batch: usize, threads: usize) -> Vec<f64> {
        let mut acts = self.activations(network, x, batch, threads);
        let last: Vec<f64> = acts.pop().map(|v| v.iter().map(|&y| f64::from(y)).collect()).unwrap_or_default();
        acts.into_iter().for_each(recycle);
        match &network.head {
            Head::Classes(r) => {
                let width = last.len() / batch.max(1);
                last.chunks(width.max(1)).flat_map(|row| r.logits_host(row)).collect()
            }
            Head::Outputs => last,
        }
    }

    /// dLoss/dA of every layer (`[devices, n_a]`, f64) for the gradient `g` of the loss with
    /// respect to the last layer's outputs, each layer differentiated at its upstream signals
    /// `inputs[l]` (layer 0: the images). The surrogate path passes its own activations; the
    /// physics-aware path passes the physical ones.
    pub fn gradients(
        &self,
        network: &DeviceNetwork,
        inputs: &[&[f32]],
        batch: usize,
        mut g: Vec<f32>,
        threads: usize,
    ) -> Vec<Vec<f64>> {
        let a = Self::a32(network);
        let mut grads = vec![Vec::new(); self.layers.len()];
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let (ga, gu) = layer.backward(inputs[l], batch, &a[l], &g, threads, l > 0);
            grads[l] = ga.iter().map(|&v| f64::from(v)).collect();
            recycle(std::mem::replace(&mut g, gu));
        }
        recycle(g);
        grads
    }

    /// One surrogate-mode step: forward and backward through the surrogates on the host.
    pub fn surrogate_step(&self, network: &DeviceNetwork, batch: &Batch, threads: usize) -> Result<StepOutcome> {
        let rows = batch.len();
        let x = to_f32(&batch.x);
        let acts = self.activations(network, &x, rows, threads);
        let last: Vec<f64> = acts.last().map(|v| v.iter().map(|&y| f64::from(y)).collect()).unwrap_or_default();
        let (loss, correct, g) = head_loss_host(&network.head, &last, &batch.targets.host(), rows)?;
        let mut inputs: Vec<&[f32]> = vec![&x];
        inputs.extend(acts.iter().take(self.layers.len().saturating_sub(1)).map(Vec::as_slice));
        let grad_a = self.gradients(network, &inputs, rows, f32s(&g), threads);
        acts.into_iter().for_each(recycle);
        let inner = batch.x.device().inner();
        Ok(StepOutcome { loss, correct, grads: gradients_of(network, &grad_a, &inner) })
    }
}
