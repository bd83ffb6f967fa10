//! [`DeviceNetwork`]: device layers in a chain, a fixed summing readout, built and checked
//! from a [`NetConfig`] before any data is seen.

use burn::module::Module;
use burn::tensor::{DType, Device, Tensor};

use almost_surrogate::{SurrogateMeta, load};

use crate::error::{NetError, Result};
use crate::network::config::{NetConfig, ReadoutConfig, ReadoutOrder, auto_scale};
use crate::network::layer::{DeviceLayer, LayerPlan};
use crate::network::wiring::MapShape;

/// The fixed readout: `logits[c] = scale * (sum of the outputs of class c's K devices)`, the
/// devices `c*K .. (c+1)*K` or, interleaved, `c, c + classes, ...`.
#[derive(Clone, Debug, PartialEq)]
pub struct Readout {
    /// Classes.
    pub classes: usize,
    /// Devices per class.
    pub per_class: usize,
    /// Gain to logits.
    pub scale: f64,
    /// Which devices a class sums.
    pub order: ReadoutOrder,
}

impl Readout {
    /// Logits of one image from its last-layer outputs (host, f64).
    pub fn logits_host(&self, last: &[f64]) -> Vec<f64> {
        (0..self.classes)
            .map(|c| self.scale * (0..self.per_class).map(|k| last[self.device(c, k)]).sum::<f64>())
            .collect()
    }

    /// Index in the last layer of the `k`-th device of class `c`.
    pub fn device(&self, c: usize, k: usize) -> usize {
        match self.order {
            ReadoutOrder::Blocks => c * self.per_class + k,
            ReadoutOrder::Interleaved => k * self.classes + c,
        }
    }

    /// The predicted class of one image from its last-layer outputs (host, f64).
    pub fn class_host(&self, last: &[f64]) -> usize {
        argmax(&self.logits_host(last))
    }

    /// Logits of a batch from its last-layer outputs.
    ///
    /// # Shapes
    /// - last: `[batch, classes * per_class]`
    /// - output: `[batch, classes]`
    pub fn logits(&self, last: Tensor<2>) -> Tensor<2> {
        let [batch, _] = last.dims();
        let summed = match self.order {
            ReadoutOrder::Blocks => last.reshape([batch, self.classes, self.per_class]).sum_dim(2),
            ReadoutOrder::Interleaved => last.reshape([batch, self.per_class, self.classes]).sum_dim(1),
        };
        summed.reshape([batch, self.classes]) * self.scale
    }
}

/// Index of the largest value (the last one on ties; 0 for an empty slice).
pub fn argmax(v: &[f64]) -> usize {
    v.iter().enumerate().max_by(|p, q| p.1.total_cmp(q.1)).map_or(0, |(c, _)| c)
}

/// What a network's last layer feeds.
#[derive(Clone, Debug, PartialEq)]
pub enum Head {
    /// Classification: class scores from a fixed summing readout (cross-entropy).
    Classes(Readout),
    /// Regression: the last layer's device outputs are the network's outputs (squared error).
    Outputs,
}

/// A network of devices in which only the parameters A are trained.
#[derive(Module, Debug)]
pub struct DeviceNetwork {
    /// The device layers, input first.
    pub layers: Vec<DeviceLayer>,
    /// What the last layer feeds.
    #[module(skip)]
    pub head: Head,
}

impl DeviceNetwork {
    /// Class scores (classification) or the last layer's outputs (regression).
    ///
    /// # Shapes
    /// - input: `[batch, pixels]` with values in [0, 1]
    /// - output: `[batch, classes]` or `[batch, devices of the last layer]`
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        let last = self.activations(input).pop().unwrap_or_else(|| Tensor::zeros([0, 0], &Device::flex()));
        self.read_out(last)
    }

    /// The outputs of every layer, input first.
    ///
    /// # Shapes
    /// - input: `[batch, pixels]`
    /// - output `l`: `[batch, devices of layer l]`
    pub fn activations(&self, input: Tensor<2>) -> Vec<Tensor<2>> {
        let mut out: Vec<Tensor<2>> = Vec::with_capacity(self.layers.len());
        let mut u = input;
        for layer in &self.layers {
            u = layer.forward(u);
            out.push(u.clone());
        }
        out
    }

    /// What the head makes of the last layer's outputs: logits, or the outputs themselves.
    ///
    /// # Shapes
    /// - last: `[batch, classes * per_class]` (or `[batch, devices]`)
    /// - output: `[batch, classes]` (or `[batch, devices]`)
    pub fn read_out(&self, last: Tensor<2>) -> Tensor<2> {
        match &self.head {
            Head::Classes(r) => r.logits(last),
            Head::Outputs => last,
        }
    }

    /// Scales every layer's optimiser step by its parameters' half-ranges (`before`: each
    /// layer's A before the step); see [`DeviceLayer::scale_step`].
    pub fn scale_steps(mut self, before: &[Tensor<2>]) -> Self {
        self.layers = self.layers.into_iter().zip(before).map(|(l, b)| l.scale_step(b)).collect();
        self
    }

    /// Clips every layer's A into its bounds, then sets every copy of a shared constant
    /// (a conditioned device's last parameter) to their mean: [`DeviceNetwork::tie`].
    pub fn project(mut self) -> Self {
        self.layers = self.layers.into_iter().map(DeviceLayer::project).collect();
        self.tie()
    }

    /// The surrogate metadata of every layer (each layer carries its own); an error names a
    /// layer built without one (by hand, not from a saved surrogate).
    pub fn metas(&self) -> Result<Vec<SurrogateMeta>> {
        self.layers
            .iter()
            .enumerate()
            .map(|(l, layer)| layer.meta.as_deref().cloned().ok_or(NetError::NoSurrogateMeta { layer: l }))
            .collect()
    }

    /// Every A of every layer, host f64, row-major `[devices, n_a]` per layer.
    pub fn a_values(&self) -> Vec<Vec<f64>> {
        self.layers.iter().map(|l| almost_surrogate::tensor_io::to_vec(l.a.val())).collect()
    }
}

/// Builds the network of `cfg` over inputs of shape `input` on `device` in `dtype`, loading
/// each layer's surrogate and checking every dimension. Seed the device for reproducible A.
pub fn build(cfg: &NetConfig, input: MapShape, dtype: DType, device: &Device) -> Result<DeviceNetwork> {
    let mut layers = Vec::new();
    let mut upstream = input;
    let mut upstream_range = [0.0, 1.0];
    for (l, lc) in cfg.layers.iter().enumerate() {
        let saved = load(&lc.surrogate, device)?;
        let meta = saved.meta;
        let mut wiring = lc.wiring.resolve(upstream, l)?;
        if lc.reference {
            let width = upstream.len();
            wiring.indices =
                wiring.indices.chunks(wiring.fan_in).flat_map(|c| c.iter().copied().chain([width])).collect();
            wiring.fan_in += 1;
        }
        if wiring.fan_in != meta.n_x {
            return Err(NetError::dimension(
                l,
                format!(
                    "the wiring delivers {} inputs per device{}, but the device of {} has fan-in {}",
                    wiring.fan_in,
                    if lc.reference { " (with the reference line)" } else { "" },
                    lc.surrogate.display(),
                    meta.n_x
                ),
            ));
        }
        if lc.output >= meta.n_y {
            return Err(NetError::dimension(
                l,
                format!("output {} requested, the device has {} outputs", lc.output, meta.n_y),
            ));
        }
        let (x_lo, x_hi) = meta.domain.common_x();
        // device outputs may stray a little past the range seen in the dataset: keep 2 % inside
        let margin = if l == 0 { 0.0 } else { 0.02 * (x_hi - x_lo) };
        let (t_lo, t_hi) = (x_lo + margin, x_hi - margin);
        let gain = (t_hi - t_lo) / (upstream_range[1] - upstream_range[0]);
        let offset = t_lo - gain * upstream_range[0];
        let plan = LayerPlan {
            indices: wiring.indices.clone(),
            fan_in: wiring.fan_in,
            output: lc.output,
            gain,
            offset,
            // the reference line sits at the top of the input box
            reference: lc.reference.then(|| (x_hi - offset) / gain),
            a_lo: meta.domain.a.iter().map(|r| r[0]).collect(),
            a_hi: meta.domain.a.iter().map(|r| r[1]).collect(),
            init_fraction: lc.init_fraction,
        };
        let surrogate =
            if saved.surrogate.in_shift.val().dtype() == dtype { saved.surrogate } else { saved.surrogate.cast(dtype) };
        upstream = wiring.output;
        upstream_range = meta.y_range[lc.output];
        layers.push(DeviceLayer::new(&plan, surrogate, dtype, device).with_meta(meta));
    }
    check_readout(&cfg.readout, upstream.len())?;
    let r = &cfg.readout;
    let scale = r.scale.unwrap_or_else(|| auto_scale(r.per_class, upstream_range[1] - upstream_range[0]));
    let readout = Readout { classes: r.classes, per_class: r.per_class, scale, order: r.order };
    Ok(DeviceNetwork { layers, head: Head::Classes(readout) }.centre_tied())
}

fn check_readout(r: &ReadoutConfig, last: usize) -> Result<()> {
    if r.classes * r.per_class != last {
        return Err(NetError::dimension(
            "readout",
            format!(
                "{} classes x {} devices per class need {} devices in the last layer, it has {last}",
                r.classes,
                r.per_class,
                r.classes * r.per_class
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use almost_surrogate::tensor_io::{matrix, to_vec};

    fn readout(order: ReadoutOrder) -> Readout {
        Readout { classes: 3, per_class: 2, scale: 0.5, order }
    }

    #[test]
    fn blocks_and_interleaved_sum_their_own_devices_on_host_and_tensor() {
        let last = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let blocks = readout(ReadoutOrder::Blocks);
        let inter = readout(ReadoutOrder::Interleaved);
        assert_eq!(blocks.logits_host(&last), vec![1.5, 3.5, 5.5]);
        // class 0: devices 0 and 3; class 1: 1 and 4; class 2: 2 and 5
        assert_eq!(inter.logits_host(&last), vec![2.5, 3.5, 4.5]);
        let two: Vec<f64> = last.iter().chain(last.iter().rev()).copied().collect();
        for r in [blocks, inter] {
            let t = to_vec(r.logits(matrix(&two, 6, DType::F64, &Device::flex())));
            let host: Vec<f64> = two.chunks(6).flat_map(|row| r.logits_host(row)).collect();
            assert!(t.iter().zip(&host).all(|(a, b)| (a - b).abs() < 1e-12), "{:?}: {t:?} vs {host:?}", r.order);
        }
    }
}
