//! [`DeviceLayer`]: m copies of one frozen surrogate, each with its own trainable A.

use burn::module::{Module, Param};
use burn::tensor::{DType, Device, Distribution, Int, Tensor, TensorCreationOptions, TensorData};

use std::sync::Arc;

use almost_surrogate::{Surrogate, SurrogateMeta};

/// A layer of devices of one kind.
///
/// Device j reads the upstream signals `indices[j * fan_in ..]`, which pass through a fixed
/// affine map `x = gain * u + offset` (not trained) that carries the upstream range into the
/// device's input box; then all devices of the layer and all samples of the batch are
/// evaluated in one surrogate call with their own parameters A.
///
/// A stays inside the device's physical bounds by **projection**: after every optimiser step
/// [`DeviceLayer::project`] clips each A_j to its interval.
#[derive(Module, Debug)]
pub struct DeviceLayer {
    /// Device parameters A, shape `[devices, n_a]`: the only trained numbers.
    pub a: Param<Tensor<2>>,
    /// The frozen surrogate of the device (weights B never change).
    pub surrogate: Surrogate,
    /// Upstream index of every device input, `devices * fan_in` entries.
    #[module(skip)]
    pub indices: Vec<i64>,
    /// Inputs per device.
    #[module(skip)]
    pub fan_in: usize,
    /// Which device output feeds the next layer.
    #[module(skip)]
    pub output: usize,
    /// Gain of the fixed affine map into the device inputs.
    #[module(skip)]
    pub gain: f64,
    /// Offset of the fixed affine map.
    #[module(skip)]
    pub offset: f64,
    /// Value of the constant reference line appended to the upstream signals (index =
    /// upstream width), if the devices have one: a bias input tied to a fixed voltage.
    #[module(skip)]
    pub reference: Option<f64>,
    /// Lower physical bound of each parameter.
    #[module(skip)]
    pub a_lo: Vec<f64>,
    /// Upper physical bound of each parameter.
    #[module(skip)]
    pub a_hi: Vec<f64>,
    /// The surrogate's metadata (box, held-out error, the device to rebuild), when the layer
    /// was built from a saved surrogate.
    #[module(skip)]
    pub meta: Option<Arc<SurrogateMeta>>,
}

/// Everything but A and the surrogate that defines a layer.
#[derive(Clone, Debug)]
pub struct LayerPlan {
    /// Upstream index of every device input.
    pub indices: Vec<usize>,
    /// Inputs per device.
    pub fan_in: usize,
    /// Which device output feeds on.
    pub output: usize,
    /// Fixed affine gain.
    pub gain: f64,
    /// Fixed affine offset.
    pub offset: f64,
    /// Upstream value of the constant reference line, if any.
    pub reference: Option<f64>,
    /// Parameter bounds.
    pub a_lo: Vec<f64>,
    /// Parameter bounds.
    pub a_hi: Vec<f64>,
    /// A is drawn uniformly from this fraction of each bound, around the middle.
    pub init_fraction: f64,
}

impl DeviceLayer {
    /// A layer with A drawn from the device's RNG (seed the device first).
    pub fn new(plan: &LayerPlan, surrogate: Surrogate, dtype: DType, device: &Device) -> Self {
        let devices = plan.indices.len() / plan.fan_in;
        let n_a = plan.a_lo.len();
        let options = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
        let unit = Tensor::<2>::random([devices, n_a], Distribution::Uniform(-1.0, 1.0), options.clone());
        let mid: Vec<f64> = plan.a_lo.iter().zip(&plan.a_hi).map(|(l, h)| 0.5 * (l + h)).collect();
        let half: Vec<f64> =
            plan.a_lo.iter().zip(&plan.a_hi).map(|(l, h)| 0.5 * (h - l) * plan.init_fraction).collect();
        let row = |v: &[f64]| {
            Tensor::<1>::from_data(TensorData::new(v.to_vec(), [n_a]), options.clone()).unsqueeze_dim::<2>(0)
        };
        let a = unit * row(&half) + row(&mid);
        Self {
            a: Param::from_tensor(a),
            surrogate,
            indices: plan.indices.iter().map(|&i| i as i64).collect(),
            fan_in: plan.fan_in,
            output: plan.output,
            gain: plan.gain,
            offset: plan.offset,
            reference: plan.reference,
            meta: None,
            a_lo: plan.a_lo.clone(),
            a_hi: plan.a_hi.clone(),
        }
    }

    /// The layer with its surrogate's metadata attached.
    pub fn with_meta(mut self, meta: SurrogateMeta) -> Self {
        self.meta = Some(Arc::new(meta));
        self
    }

    /// The box the layer's surrogate was fitted in (none for a layer built by hand).
    pub fn domain(&self) -> Option<&almost_sim::DomainBox> {
        self.meta.as_deref().map(|m| &m.domain)
    }

    /// Number of devices.
    pub fn devices(&self) -> usize {
        self.indices.len() / self.fan_in
    }

    /// Device inputs x for a batch of upstream signals (gather + fixed affine map).
    ///
    /// # Shapes
    /// - upstream: `[batch, upstream_width]`
    /// - output: `[batch, devices, fan_in]`
    pub fn device_inputs(&self, upstream: Tensor<2>) -> Tensor<3> {
        let [batch, _] = upstream.dims();
        let upstream = match self.reference {
            Some(r) => {
                let column = Tensor::<2>::ones([batch, 1], (&upstream.device(), upstream.dtype())) * r;
                Tensor::cat(vec![upstream, column], 1)
            }
            None => upstream,
        };
        let n = self.indices.len();
        let index = Tensor::<1, Int>::from_data(TensorData::new(self.indices.clone(), [n]), &upstream.device());
        let x = upstream.select(1, index).reshape([batch, self.devices(), self.fan_in]);
        x * self.gain + self.offset
    }

    /// The same as [`DeviceLayer::device_inputs`] on the host, in f64: `upstream` holds
    /// `batch` rows of upstream signals; the result is `[batch, devices, fan_in]` row-major.
    pub fn device_inputs_host(&self, upstream: &[f64], batch: usize) -> Vec<f64> {
        let width = upstream.len() / batch.max(1);
        let m = self.devices();
        let mut x = Vec::with_capacity(batch * self.indices.len());
        for b in 0..batch {
            let row = &upstream[b * width..(b + 1) * width];
            for j in 0..m {
                for &k in &self.indices[j * self.fan_in..(j + 1) * self.fan_in] {
                    let u = row.get(k as usize).copied().or(self.reference).unwrap_or(0.0);
                    x.push(u * self.gain + self.offset);
                }
            }
        }
        x
    }

    /// Surrogate outputs of every device for given device inputs.
    ///
    /// # Shapes
    /// - x: `[batch, devices, fan_in]`
    /// - output: `[batch, devices]`
    pub fn respond(&self, x: Tensor<3>) -> Tensor<2> {
        let [batch, m, _] = x.dims();
        let y = self.surrogate.forward_devices(x, self.a.val());
        let n_y = y.dims()[2];
        let y = if n_y == 1 { y } else { y.slice([0..batch, 0..m, self.output..self.output + 1]) };
        y.reshape([batch, m])
    }

    /// The layer's output signals.
    ///
    /// # Shapes
    /// - upstream: `[batch, upstream_width]`
    /// - output: `[batch, devices]`
    pub fn forward(&self, upstream: Tensor<2>) -> Tensor<2> {
        self.respond(self.device_inputs(upstream))
    }

    /// Scales the change of A since `before` (the same layer's A before an optimiser step)
    /// by each parameter's half-range, so that a learning rate is a share of A's bounds
    /// whatever A's units: Adam moves every number by about the learning rate, which for a
    /// conductance bounded by [0, 1e-4] S would be a thousand times its range. Parameters
    /// bounded by [-1, 1] (every built-in device) are left exactly as the optimiser put them.
    pub fn scale_step(mut self, before: &Tensor<2>) -> Self {
        let half: Vec<f64> = self.a_lo.iter().zip(&self.a_hi).map(|(l, h)| 0.5 * (h - l)).collect();
        if half.iter().all(|h| *h == 1.0) {
            return self;
        }
        let n_a = half.len();
        let before = before.clone();
        self.a = self.a.map(|t| {
            let tracked = t.is_require_grad();
            let options = TensorCreationOptions::new(t.device()).with_dtype(t.dtype());
            let row = Tensor::<1>::from_data(TensorData::new(half, [n_a]), options).unsqueeze_dim::<2>(0);
            let moved = t.detach() - before.clone();
            (before + moved * row).detach().set_require_grad(tracked)
        });
        self
    }

    /// Clips every A_j into its physical bounds (the projection step of training).
    pub fn project(mut self) -> Self {
        let n_a = self.a_lo.len();
        let (lo, hi) = (self.a_lo.clone(), self.a_hi.clone());
        self.a = self.a.map(|t| {
            let requires = t.is_require_grad();
            let options = TensorCreationOptions::new(t.device()).with_dtype(t.dtype());
            let devices = t.dims()[0];
            let row = |v: &[f64]| {
                Tensor::<1>::from_data(TensorData::new(v.to_vec(), [n_a]), options.clone())
                    .unsqueeze_dim::<2>(0)
                    .expand([devices, n_a])
            };
            t.max_pair(row(&lo)).min_pair(row(&hi)).detach().set_require_grad(requires)
        });
        self
    }
}
