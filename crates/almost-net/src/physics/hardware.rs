//! The physical devices a network runs on: nominal, perturbed, or (for tests) the surrogate.

use std::sync::Arc;

use rayon::prelude::*;

use almost_sim::ode::BATCH;
use almost_sim::{DeviceModel, Jacobian};
use almost_surrogate::SurrogateMeta;

use crate::error::{NetError, Result};

/// One layer's device calls for a batch: `x` is `[batch, devices, fan_in]` row-major and `a`
/// is `[devices, n_a]` row-major.
#[derive(Clone, Copy, Debug)]
pub struct LayerCall<'a> {
    /// Layer index.
    pub layer: usize,
    /// Device inputs.
    pub x: &'a [f64],
    /// Inputs per device.
    pub fan_in: usize,
    /// Device parameters.
    pub a: &'a [f64],
    /// Parameters per device.
    pub n_a: usize,
    /// Which device output is wanted.
    pub output: usize,
}

impl LayerCall<'_> {
    /// Devices in the layer.
    pub fn devices(&self) -> usize {
        self.a.len() / self.n_a.max(1)
    }

    /// Number of (sample, device) calls.
    pub fn calls(&self) -> usize {
        self.x.len() / self.fan_in.max(1)
    }

    /// Inputs and parameters of call `c` (device `c % devices`).
    pub fn call(&self, c: usize) -> (usize, &[f64], &[f64]) {
        let j = c % self.devices();
        (j, &self.x[c * self.fan_in..(c + 1) * self.fan_in], &self.a[j * self.n_a..(j + 1) * self.n_a])
    }
}

/// What answers for device `device` of layer `layer` on real hardware (or its simulation).
pub trait Hardware: Sync {
    /// The physical response of one device instance.
    fn respond(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>>;

    /// Outputs and exact derivatives of one device instance, if the device provides them.
    fn jacobian(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> Option<almost_sim::Result<Jacobian>>;

    /// Where layer `layer`'s derivatives come from (for the exact mode's messages), if known.
    fn derivative_source(&self, _layer: usize) -> Option<almost_sim::DerivativeSource> {
        None
    }

    /// The name of layer `layer`'s device, for messages.
    fn kind(&self, _layer: usize) -> String {
        "layer's".into()
    }

    /// The responses of device `device` of layer `layer` at many points, in order. Defaults
    /// to [`Hardware::respond`] at each; a simulated device answers them with one batched
    /// solve ([`almost_sim::DeviceModel::respond_batch`]).
    fn respond_points(
        &self,
        layer: usize,
        device: usize,
        points: &[(&[f64], &[f64])],
    ) -> Vec<almost_sim::Result<Vec<f64>>> {
        points.iter().map(|(x, a)| self.respond(layer, device, x, a)).collect()
    }

    /// Outputs and exact derivatives of device `device` of layer `layer` at many points, in
    /// order. Defaults to [`Hardware::jacobian`] at each; a simulated ODE device solves them
    /// as lanes of batched forward-sensitivity solves ([`almost_sim::derivatives_batch`]).
    fn jacobian_points(
        &self,
        layer: usize,
        device: usize,
        points: &[(&[f64], &[f64])],
    ) -> Vec<Option<almost_sim::Result<Jacobian>>> {
        points.iter().map(|(x, a)| self.jacobian(layer, device, x, a)).collect()
    }

    /// [`Hardware::jacobian`] for every call of a layer, grouped as [`Hardware::respond_layer`]
    /// groups them (runs of [`almost_sim::ode::BATCH`] samples of one device, in parallel).
    fn jacobian_layer(&self, call: &LayerCall<'_>) -> Vec<Option<almost_sim::Result<Jacobian>>> {
        per_device_runs(call, |j, points| self.jacobian_points(call.layer, j, points))
            .into_iter()
            .map(Option::flatten)
            .collect()
    }

    /// The wanted output of every call of a layer; `None` where a solve failed. Each device's
    /// calls go to [`Hardware::respond_points`] in runs of [`almost_sim::ode::BATCH`]
    /// consecutive samples, the runs in parallel (rayon); which calls share a run depends only
    /// on the layer call, so the outputs do not depend on the thread count.
    fn respond_layer(&self, call: &LayerCall<'_>) -> Vec<Option<f64>> {
        per_device_runs(call, |j, points| {
            self.respond_points(call.layer, j, points)
                .into_iter()
                .map(|y| y.ok().and_then(|y| y.get(call.output).copied()))
                .collect()
        })
        .into_iter()
        .map(Option::flatten)
        .collect()
    }
}

/// `answer(device, points)` for every call of `call`, in the call's order (`None` where an
/// answer came back short): each device's calls in runs of [`BATCH`] consecutive samples,
/// the runs in parallel (rayon). Which calls share a run depends only on the layer call, so
/// the answers do not depend on the thread count.
fn per_device_runs<T: Send>(
    call: &LayerCall<'_>,
    answer: impl Fn(usize, &[(&[f64], &[f64])]) -> Vec<T> + Sync,
) -> Vec<Option<T>> {
    let devices = call.devices();
    if devices == 0 {
        return Vec::new();
    }
    let samples = call.calls() / devices;
    let runs = samples.div_ceil(BATCH);
    let pieces: Vec<Vec<T>> = (0..devices * runs)
        .into_par_iter()
        .map(|w| {
            let (j, first) = (w / runs, (w % runs) * BATCH);
            let points: Vec<(&[f64], &[f64])> = (first..(first + BATCH).min(samples))
                .map(|s| {
                    let (_, x, a) = call.call(s * devices + j);
                    (x, a)
                })
                .collect();
            answer(j, &points)
        })
        .collect();
    let mut slots: Vec<Option<T>> = (0..call.calls()).map(|_| None).collect();
    for (w, piece) in pieces.into_iter().enumerate() {
        let (j, first) = (w / runs, (w % runs) * BATCH);
        for (i, y) in piece.into_iter().enumerate() {
            slots[(first + i) * devices + j] = Some(y);
        }
    }
    slots
}

/// Every device instance of a layer is the nominal device its surrogate was fitted to.
pub struct NominalHardware {
    /// One device model per layer.
    pub devices: Vec<Arc<dyn DeviceModel>>,
}

impl NominalHardware {
    /// Rebuilds each layer's device from its surrogate's metadata, with the dataset's solver,
    /// and checks that the device still hashes to what the surrogate was fitted to.
    pub fn from_metas(metas: &[SurrogateMeta]) -> Result<Self> {
        let devices = metas.iter().enumerate().map(|(l, m)| rebuild(l, m)).collect::<Result<_>>()?;
        Ok(Self { devices })
    }
}

/// The device behind a surrogate, checked against its recorded hash.
pub fn rebuild(layer: usize, meta: &SurrogateMeta) -> Result<Arc<dyn DeviceModel>> {
    almost_sim::devices::rebuild_recorded(&meta.device_config, meta.solver.as_ref(), &meta.device_hash).map_err(|e| {
        match e {
            almost_sim::SimError::DeviceChanged { kind } => NetError::DeviceChanged { layer, kind },
            other => other.into(),
        }
    })
}

impl Hardware for NominalHardware {
    fn kind(&self, layer: usize) -> String {
        self.devices.get(layer).map_or_else(|| "unknown".into(), |d| d.spec().kind.clone())
    }

    fn respond(&self, layer: usize, _device: usize, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>> {
        almost_sim::respond_guarded(self.devices[layer].as_ref(), x, a)
    }

    fn respond_points(
        &self,
        layer: usize,
        _device: usize,
        points: &[(&[f64], &[f64])],
    ) -> Vec<almost_sim::Result<Vec<f64>>> {
        almost_sim::respond_batch_guarded(self.devices[layer].as_ref(), points)
    }

    fn jacobian(&self, layer: usize, _device: usize, x: &[f64], a: &[f64]) -> Option<almost_sim::Result<Jacobian>> {
        // the device's own derivatives, or finite differences of its solve
        Some(almost_sim::derivatives(self.devices[layer].as_ref(), x, a))
    }

    fn jacobian_points(
        &self,
        layer: usize,
        _device: usize,
        points: &[(&[f64], &[f64])],
    ) -> Vec<Option<almost_sim::Result<Jacobian>>> {
        almost_sim::derivatives_batch(self.devices[layer].as_ref(), points).into_iter().map(Some).collect()
    }

    fn derivative_source(&self, layer: usize) -> Option<almost_sim::DerivativeSource> {
        self.devices.get(layer).map(|d| almost_sim::derivatives::derivative_source(d.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers with a value that names the call: 1000 layer + 100 device + x0 + 10 a0.
    struct Labels;

    impl Hardware for Labels {
        fn respond(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>> {
            if x[0] < 0.0 {
                return Err(almost_sim::SimError::NonFinite { what: "test".into(), time: 0.0 });
            }
            Ok(vec![1000.0 * layer as f64 + 100.0 * device as f64 + x[0] + 10.0 * a[0], -1.0])
        }
        fn jacobian(&self, _: usize, _: usize, _: &[f64], _: &[f64]) -> Option<almost_sim::Result<Jacobian>> {
            None
        }
    }

    #[test]
    fn a_layer_call_in_runs_keeps_every_call_in_its_place() {
        // 3 devices, BATCH + 5 samples: runs of BATCH samples per device, the last one short
        let (devices, samples, fan_in) = (3, BATCH + 5, 2);
        let x: Vec<f64> = (0..samples * devices * fan_in).map(|i| (i / fan_in) as f64 * 1e-3).collect();
        let mut x = x;
        x[(5 * devices + 1) * fan_in] = -1.0; // sample 5, device 1 fails
        let a = vec![0.1, 0.0, 0.2, 0.0, 0.3, 0.0];
        let call = LayerCall { layer: 2, x: &x, fan_in, a: &a, n_a: 2, output: 0 };
        let out = Labels.respond_layer(&call);
        assert_eq!(out.len(), samples * devices);
        for (c, y) in out.iter().enumerate() {
            let (j, xc, ac) = call.call(c);
            let want = Labels.respond(2, j, xc, ac).ok().map(|y| y[0]);
            assert_eq!(*y, want, "call {c}");
        }
        assert_eq!(out[5 * devices + 1], None);
    }
}
