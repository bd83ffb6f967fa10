//! Constants shared by every device: the last parameter of a conditioned device
//! (`kind = "conditioned"` in almost-sim) is a constant the researcher still chooses when
//! building the devices, one value for the whole network. Each device carries a copy in its
//! A, all equal from the start. Before every optimiser step each copy's gradient is replaced
//! by the sum over every copy in the network ([`DeviceNetwork::tie_gradients`]: the gradient
//! of the loss with respect to the one shared constant), so Adam moves every copy by the
//! same step, the step it would take on the shared constant itself; after the step the
//! copies are set to their mean ([`DeviceNetwork::tie`], which only removes rounding), so
//! the constant trains with the A's: design by gradient. A network without conditioned
//! devices has no tied columns and is left untouched.

use std::collections::BTreeMap;

use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};

use almost_surrogate::tensor_io::to_vec;

use crate::network::chain::DeviceNetwork;
use crate::network::layer::DeviceLayer;

impl DeviceLayer {
    /// The columns of A that are shared constants, with their names: the last parameter of
    /// a conditioned device (none for any other device, or a layer built by hand).
    pub fn tied(&self) -> Vec<(usize, String)> {
        let Some(meta) = self.meta.as_deref() else { return Vec::new() };
        match meta.device_config.conditioned_on() {
            Some((name, _, _)) if meta.n_a > 0 => vec![(meta.n_a - 1, name.to_string())],
            _ => Vec::new(),
        }
    }

    /// Sum of each tied column over the layer's devices (host f64), in [`DeviceLayer::tied`] order.
    fn tied_sums(&self) -> Vec<f64> {
        let tied = self.tied();
        if tied.is_empty() {
            return Vec::new();
        }
        let n_a = self.a_lo.len();
        let host = to_vec(self.a.val());
        tied.iter().map(|(k, _)| host.chunks(n_a).map(|row| row[*k]).sum()).collect()
    }

    /// Sets every device's copy of each tied column to one value (`values` in
    /// [`DeviceLayer::tied`] order), keeping whether A is tracked.
    fn set_tied(mut self, values: &[f64]) -> Self {
        let tied = self.tied();
        if tied.is_empty() {
            return self;
        }
        let n_a = self.a_lo.len();
        let values = values.to_vec();
        self.a = self.a.map(|t| {
            let tracked = t.is_require_grad();
            let mut host = to_vec(t.clone());
            for row in host.chunks_mut(n_a) {
                for ((k, _), v) in tied.iter().zip(&values) {
                    row[*k] = *v;
                }
            }
            Tensor::from_data(TensorData::new(host, t.dims()), (&t.device(), t.dtype())).set_require_grad(tracked)
        });
        self
    }
}

impl DeviceNetwork {
    /// The shared constants and their values (the mean of the copies; after [`DeviceNetwork::tie`]
    /// every copy holds it). Empty for a network without conditioned devices.
    pub fn tied_values(&self) -> BTreeMap<String, f64> {
        let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for layer in &self.layers {
            for ((_, name), s) in layer.tied().into_iter().zip(layer.tied_sums()) {
                let e = sums.entry(name).or_insert((0.0, 0));
                e.0 += s;
                e.1 += layer.devices();
            }
        }
        sums.into_iter().map(|(k, (s, n))| (k, s / n.max(1) as f64)).collect()
    }

    /// Gives every copy of each shared constant the gradient of the shared constant: the sum
    /// of the copies' gradients over the network (see the module's documentation).
    pub fn tie_gradients(&self, mut grads: GradientsParams) -> GradientsParams {
        let mut totals: BTreeMap<String, f64> = BTreeMap::new();
        for layer in &self.layers {
            let tied = layer.tied();
            let Some(g) = (!tied.is_empty()).then(|| grads.get::<2>(layer.a.id)).flatten() else { continue };
            let n_a = layer.a_lo.len();
            let host = to_vec(g);
            for (k, name) in tied {
                *totals.entry(name).or_default() += host.chunks(n_a).map(|row| row[k]).sum::<f64>();
            }
        }
        if totals.is_empty() {
            return grads;
        }
        for layer in &self.layers {
            let tied = layer.tied();
            let Some(g) = (!tied.is_empty()).then(|| grads.remove::<2>(layer.a.id)).flatten() else { continue };
            let (dims, dtype, device) = (g.dims(), g.dtype(), g.device());
            let n_a = layer.a_lo.len();
            let mut host = to_vec(g);
            for row in host.chunks_mut(n_a) {
                for (k, name) in &tied {
                    row[*k] = totals[name];
                }
            }
            grads.register(layer.a.id, Tensor::<2>::from_data(TensorData::new(host, dims), (&device, dtype)));
        }
        grads
    }

    /// Replaces every copy of each shared constant by their mean over the network.
    pub fn tie(self) -> Self {
        let values = self.tied_values();
        self.set_tied_values(&values)
    }

    /// Sets each shared constant to a value (names absent from `values` are left alone).
    pub fn set_tied_values(mut self, values: &BTreeMap<String, f64>) -> Self {
        if values.is_empty() {
            return self;
        }
        self.layers = self
            .layers
            .into_iter()
            .map(|layer| match layer.tied().iter().map(|(_, n)| values.get(n).copied()).collect::<Option<Vec<_>>>() {
                Some(v) => layer.set_tied(&v),
                None => layer,
            })
            .collect();
        self
    }

    /// Every shared constant at the middle of its range: where design by gradient starts.
    pub fn centre_tied(self) -> Self {
        let mut middles = BTreeMap::new();
        for layer in &self.layers {
            for (k, name) in layer.tied() {
                middles.insert(name, 0.5 * (layer.a_lo[k] + layer.a_hi[k]));
            }
        }
        self.set_tied_values(&middles)
    }
}
