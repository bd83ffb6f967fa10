//! The physical devices a network runs on: nominal, perturbed, or (for tests) the surrogate.

use std::sync::Arc;

use almost_sim::{DeviceModel, Jacobian};
use almost_surrogate::SurrogateMeta;

use crate::error::{NetError, Result};
use crate::physics::distinct::per_device_runs;

pub use crate::physics::layer_call::LayerCall;

/// What answers for device `device` of layer `layer` on real hardware (or its simulation).
/// Every answer is a function of the layer, the device, `x` and `a` (read noise included):
/// within a layer call, repeated inputs of one device are asked once.
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
    /// groups them (repeated inputs asked once; runs of at most [`almost_sim::ode::BATCH`]
    /// samples of one device, in parallel).
    fn jacobian_layer(&self, call: &LayerCall<'_>) -> Vec<Option<almost_sim::Result<Jacobian>>> {
        per_device_runs(call, |j, points| self.jacobian_points(call.layer, j, points))
            .into_iter()
            .map(Option::flatten)
            .collect()
    }

    /// The wanted output of every call of a layer; `None` where a solve failed. A device's
    /// samples with the very same inputs are asked once (blank image patches: about half of
    /// the digit network's first-layer calls), so an implementation must answer as a function
    /// of its arguments. Each device's distinct calls go to [`Hardware::respond_points`] in
    /// runs of at most [`almost_sim::ode::BATCH`] samples, the runs in parallel (rayon); which
    /// calls share a run depends only on the layer call, so the outputs do not depend on the
    /// thread count.
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
    use almost_sim::ode::BATCH;

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

    /// [`Labels`] that counts the points it is asked.
    struct Counting(std::sync::atomic::AtomicUsize);

    impl Hardware for Counting {
        fn respond(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Labels.respond(layer, device, x, a)
        }
        fn jacobian(&self, _: usize, _: usize, x: &[f64], a: &[f64]) -> Option<almost_sim::Result<Jacobian>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(if x[0] < 0.0 {
                Err(almost_sim::SimError::NonFinite { what: "test".into(), time: 0.0 })
            } else {
                Ok(Jacobian { y: vec![x[0] + a[0]], dy_dx: vec![vec![1.0; x.len()]], dy_da: vec![vec![1.0; a.len()]] })
            })
        }
    }

    #[test]
    fn repeated_inputs_of_a_device_are_asked_once_and_answered_everywhere() {
        // 2 devices, 2 * BATCH + 3 samples: device 0 sees 3 distinct rows over and over,
        // device 1 a new row every sample but one (a failure, repeated)
        let (devices, samples, fan_in) = (2, 2 * BATCH + 3, 2);
        let mut x = vec![0.0; samples * devices * fan_in];
        for s in 0..samples {
            x[s * devices * fan_in] = (s % 3) as f64;
            x[(s * devices + 1) * fan_in] = if s % 5 == 4 { -1.0 } else { s as f64 };
        }
        let a = vec![0.1, 0.2];
        let call = LayerCall { layer: 1, x: &x, fan_in, a: &a, n_a: 1, output: 0 };
        let hardware = Counting(0.into());
        let out = hardware.respond_layer(&call);
        let failing = samples / 5;
        assert_eq!(hardware.0.load(std::sync::atomic::Ordering::Relaxed), 3 + samples - failing + 1);
        for (c, y) in out.iter().enumerate() {
            let (j, xc, ac) = call.call(c);
            assert_eq!(*y, Labels.respond(1, j, xc, ac).ok().map(|y| y[0]), "call {c}");
        }
        let counted = Counting(0.into());
        let jacs = counted.jacobian_layer(&call);
        assert_eq!(counted.0.load(std::sync::atomic::Ordering::Relaxed), 3 + samples - failing + 1);
        for (c, jac) in jacs.iter().enumerate() {
            let (_, xc, ac) = call.call(c);
            match jac {
                Some(Ok(j)) => assert_eq!(j.y, vec![xc[0] + ac[0]], "call {c}"),
                // a repeat's failure is its first solve's, variant and message
                Some(Err(e)) => assert!(
                    xc[0] < 0.0 && matches!(e, almost_sim::SimError::NonFinite { what, .. } if what == "test"),
                    "call {c}: {e}"
                ),
                None => panic!("call {c} unanswered"),
            }
        }
    }
}
