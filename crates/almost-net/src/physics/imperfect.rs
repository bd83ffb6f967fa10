//! Imperfect hardware: device-to-device variability, read noise, and quantised parameters.
//!
//! - **Variability**: every device instance of the network gets its own physical constants,
//!   each multiplied by `1 + sigma z` with z standard normal (clipped to +-3), drawn from a
//!   seed and the instance's (layer, device) position, so the same "chip" is rebuilt each run.
//! - **Conductance mismatch**: every parameter of every instance is realised with its own
//!   relative error, `A_eff = A (1 + mismatch z)` (z standard normal, clipped to +-3, fixed
//!   per instance): the programming error of each synaptic conductance.
//! - **Read noise**: Gaussian noise of standard deviation `read_noise` (output units) added to
//!   every device output; the noise is a function of the seed, the instance and its inputs,
//!   so evaluations are reproducible.
//! - **Quantisation**: A is rounded to `bits` bits within its bounds before the hardware runs.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use almost_sim::design::standard_normal;
use almost_sim::solver::SolverOverrides;
use almost_sim::{DeviceModel, Jacobian};
use almost_surrogate::SurrogateMeta;

use crate::error::{NetError, Result};
use crate::physics::hardware::{Hardware, rebuild};

pub use crate::network::hardware_config::{HardwareConfig, HardwareOverrides};

/// Rounds every A to `bits` bits within `[lo, hi]` (per parameter, `a` row-major `[devices, n_a]`).
pub fn quantize(a: &mut [f64], lo: &[f64], hi: &[f64], bits: u32) {
    if bits == 0 {
        return;
    }
    let levels = f64::from((1u32 << bits) - 1);
    let n_a = lo.len();
    for (i, v) in a.iter_mut().enumerate() {
        let (l, h) = (lo[i % n_a], hi[i % n_a]);
        let t = ((*v - l) / (h - l)).clamp(0.0, 1.0);
        *v = l + (t * levels).round() / levels * (h - l);
    }
}

/// A SplitMix64 hash, for reproducible per-instance draws.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Device instances with their own constants, plus read noise.
pub struct PerturbedHardware {
    /// `instances[layer][device]`.
    pub instances: Vec<Vec<Arc<dyn DeviceModel>>>,
    /// Read-noise standard deviation.
    pub read_noise: f64,
    /// `factors[layer][device]`: the (1 + mismatch z_k) of each parameter of the instance;
    /// empty without mismatch (drawn once, at build).
    pub factors: Vec<Vec<Vec<f64>>>,
    /// Seed.
    pub seed: u64,
}

impl PerturbedHardware {
    /// Builds every instance of every layer (`devices[l]` instances of layer l's device).
    pub fn build(metas: &[SurrogateMeta], devices: &[usize], cfg: &HardwareConfig) -> Result<Self> {
        cfg.validate("hardware")?;
        let mut instances = Vec::new();
        for (l, (meta, &m)) in metas.iter().zip(devices).enumerate() {
            let overrides = meta.solver.as_ref().map(SolverOverrides::from).unwrap_or_default();
            if cfg.variability == 0.0 {
                let nominal = rebuild(l, meta)?;
                instances.push(vec![nominal; m]);
                continue;
            }
            let varied: Vec<String> =
                if cfg.vary.is_empty() { meta.device_config.default_varied()? } else { cfg.vary.clone() };
            if varied.is_empty() {
                return Err(NetError::config(
                    "hardware.variability",
                    format!(
                        "device '{}' declares no constants to vary: name them with hardware.vary (DiffSL devices: \
                         [constants] and vary in their description)",
                        meta.device.kind
                    ),
                ));
            }
            let mut layer = Vec::with_capacity(m);
            for j in 0..m {
                let mut rng = ChaCha8Rng::seed_from_u64(mix(cfg.seed ^ mix((l as u64) << 32 | j as u64)));
                let mut changes = BTreeMap::new();
                for name in &varied {
                    let Some(v) = meta.device.constants.get(name) else {
                        return Err(NetError::config(
                            "hardware.vary",
                            format!("device '{}' has no constant '{name}'", meta.device.kind),
                        ));
                    };
                    changes
                        .insert(name.clone(), v * (1.0 + cfg.variability * standard_normal(&mut rng).clamp(-3.0, 3.0)));
                }
                layer.push(meta.device_config.with_constants(&changes)?.build(&overrides)?);
            }
            instances.push(layer);
        }
        let factors = metas
            .iter()
            .zip(devices)
            .enumerate()
            .map(|(l, (meta, &m))| (0..m).map(|j| mismatch_factors(cfg, l, j, meta.n_a)).collect())
            .collect();
        Ok(Self { instances, read_noise: cfg.read_noise, factors, seed: cfg.seed })
    }

    /// The parameters instance (`layer`, `device`) really has, and its mismatch factors.
    fn effective_a<'a>(&'a self, layer: usize, device: usize, a: &'a [f64]) -> (Cow<'a, [f64]>, &'a [f64]) {
        let f = &self.factors[layer][device];
        if f.is_empty() {
            (Cow::Borrowed(a), f)
        } else {
            (Cow::Owned(a.iter().zip(f).map(|(a, f)| a * f).collect()), f)
        }
    }

    /// Adds the read noise of every output of one call.
    fn add_noise(&self, layer: usize, device: usize, x: &[f64], y: &mut [f64]) {
        for (k, v) in y.iter_mut().enumerate() {
            *v += self.noise(layer, device, x, k);
        }
    }

    fn noise(&self, layer: usize, device: usize, x: &[f64], k: usize) -> f64 {
        if self.read_noise == 0.0 {
            return 0.0;
        }
        let mut h = mix(self.seed ^ 0xA5A5) ^ mix((layer as u64) << 40 | (device as u64) << 8 | k as u64);
        for v in x {
            h = mix(h ^ v.to_bits());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(h);
        self.read_noise * standard_normal(&mut rng)
    }
}

/// The factors (1 + mismatch z_k) of the `n_a` parameters of one instance (empty without mismatch).
fn mismatch_factors(cfg: &HardwareConfig, layer: usize, device: usize, n_a: usize) -> Vec<f64> {
    if cfg.mismatch == 0.0 {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(mix(cfg.seed ^ 0x5151) ^ mix((layer as u64) << 32 | device as u64));
    (0..n_a).map(|_| 1.0 + cfg.mismatch * standard_normal(&mut rng).clamp(-3.0, 3.0)).collect()
}

impl Hardware for PerturbedHardware {
    fn kind(&self, layer: usize) -> String {
        self.instances.get(layer).and_then(|l| l.first()).map_or_else(|| "unknown".into(), |d| d.spec().kind.clone())
    }

    fn respond(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>> {
        let (a_eff, _) = self.effective_a(layer, device, a);
        let mut y = almost_sim::respond_guarded(self.instances[layer][device].as_ref(), x, &a_eff)?;
        self.add_noise(layer, device, x, &mut y);
        Ok(y)
    }

    fn respond_points(
        &self,
        layer: usize,
        device: usize,
        points: &[(&[f64], &[f64])],
    ) -> Vec<almost_sim::Result<Vec<f64>>> {
        let a_eff: Vec<Cow<'_, [f64]>> = points.iter().map(|(_, a)| self.effective_a(layer, device, a).0).collect();
        let effective: Vec<(&[f64], &[f64])> = points.iter().zip(&a_eff).map(|((x, _), a)| (*x, a.as_ref())).collect();
        let ys = almost_sim::respond_batch_guarded(self.instances[layer][device].as_ref(), &effective);
        ys.into_iter()
            .zip(points)
            .map(|(y, (x, _))| {
                y.map(|mut y| {
                    self.add_noise(layer, device, x, &mut y);
                    y
                })
            })
            .collect()
    }

    fn jacobian(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> Option<almost_sim::Result<Jacobian>> {
        self.jacobian_points(layer, device, &[(x, a)]).pop().flatten()
    }

    fn jacobian_points(
        &self,
        layer: usize,
        device: usize,
        points: &[(&[f64], &[f64])],
    ) -> Vec<Option<almost_sim::Result<Jacobian>>> {
        let effective: Vec<(Cow<'_, [f64]>, &[f64])> =
            points.iter().map(|(_, a)| self.effective_a(layer, device, a)).collect();
        let at: Vec<(&[f64], &[f64])> =
            points.iter().zip(&effective).map(|((x, _), (a, _))| (*x, a.as_ref())).collect();
        let jacs = almost_sim::derivatives_batch(self.instances[layer][device].as_ref(), &at);
        jacs.into_iter()
            .zip(points.iter().zip(&effective))
            .map(|(j, ((x, _), (_, f)))| {
                Some(j.map(|mut j| {
                    self.add_noise(layer, device, x, &mut j.y);
                    // chain rule through A_eff = A f
                    for row in &mut j.dy_da {
                        row.iter_mut().zip(*f).for_each(|(d, f)| *d *= f);
                    }
                    j
                }))
            })
            .collect()
    }

    fn derivative_source(&self, layer: usize) -> Option<almost_sim::DerivativeSource> {
        self.instances.get(layer)?.first().map(|d| almost_sim::derivatives::derivative_source(d.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_hits_levels_and_bounds() {
        // 2 bits: the levels -1, -1/3, 1/3, 1 (0 is halfway and rounds up)
        let mut a = vec![-1.0, -0.2, 0.0, 0.49, 1.0, 1.7];
        quantize(&mut a, &[-1.0], &[1.0], 2);
        let want = [-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 1.0, 1.0];
        assert!(a.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-12), "{a:?}");
        let mut b = vec![0.123];
        quantize(&mut b, &[-1.0], &[1.0], 0);
        assert_eq!(b, vec![0.123]);
    }
}
