//! Where the network drives its devices, measured after every epoch.
//!
//! A held-out error says how good a surrogate is where the dataset put its points; a trained
//! network can drive its devices elsewhere (box corners the design rarely sampled, or out of
//! the box), and there the surrogate can be far off. So the probe measures the truth where
//! the network actually operates: a fixed set of training images goes through the surrogate
//! network, every device evaluation is checked against the surrogate's box, and a seeded
//! sample of evaluations per layer is solved on the device itself and compared with the
//! surrogate's value there.

use burn::tensor::{DType, Device};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use almost_surrogate::tensor_io::to_vec;

use crate::data::batch;
use crate::data::images::ImageSet;
use crate::network::chain::DeviceNetwork;
use crate::physics::hardware::Hardware;

/// One layer's operating region after an epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerHealth {
    /// Device evaluations probed (images x devices).
    pub evaluations: usize,
    /// Share of them with some input x or parameter A outside the surrogate's box.
    pub outside_box: f64,
    /// Evaluations solved on the device for the error measurement.
    pub sampled: usize,
    /// RMS of (surrogate - device) over the sampled evaluations, relative to the output range.
    pub operating_error: f64,
    /// Share of the sampled evaluations where |surrogate - device| exceeds the threshold
    /// (`max_surrogate_error` of the output range): regions of high surrogate error.
    pub high_error: f64,
    /// Sampled solves that failed (left out of the error).
    pub failed: usize,
    /// Share of the layer's devices whose output does not move over the probe images (standard
    /// deviation below 1e-3 of the output range): dead devices, through which gradients vanish.
    #[serde(default)]
    pub dead_devices: f64,
    /// Mean over devices of the standard deviation of their output over the probe images,
    /// relative to the output range: how much of its range the layer uses.
    #[serde(default)]
    pub output_spread: f64,
}

/// What [`probe_health`] needs besides the network.
pub struct Probe<'a> {
    /// The images pushed through the network (the same every epoch).
    pub images: &'a ImageSet,
    /// How many of them (from the first).
    pub count: usize,
    /// Evaluations per layer solved on the device.
    pub samples: usize,
    /// Error above this share of the output range counts as high.
    pub threshold: f64,
    /// Seed of the sampled evaluations (the same every epoch).
    pub seed: u64,
}

/// Measures every layer's operating region; `network` lives on the inner (non-autodiff) device.
pub fn probe_health(network: &DeviceNetwork, hardware: &dyn Hardware, probe: &Probe<'_>) -> Vec<LayerHealth> {
    let device = network.layers.first().map_or_else(Device::flex, |l| l.a.val().device());
    let dtype = network.layers.first().map_or(DType::F32, |l| l.a.val().dtype());
    let n = probe.count.min(probe.images.len());
    let idx: Vec<usize> = (0..n).collect();
    let input = batch::images(probe.images, &idx, None, dtype, &device);
    let acts: Vec<Vec<f64>> = network.activations(input.clone()).into_iter().map(to_vec).collect();
    let a_all = network.a_values();
    let mut upstream = to_vec(input);
    let mut out = Vec::with_capacity(network.layers.len());
    for (l, layer) in network.layers.iter().enumerate() {
        let (m, fan_in) = (layer.devices(), layer.fan_in);
        let a = &a_all[l];
        let n_a = a.len() / m.max(1);
        let x = layer.device_inputs_host(&upstream, n);
        let calls = n * m;
        // a layer built by hand has no recorded box to leave
        let exits = layer.domain().map_or(0, |dom| {
            (0..calls)
                .filter(|&c| {
                    let j = c % m;
                    !dom.contains(&x[c * fan_in..(c + 1) * fan_in], &a[j * n_a..(j + 1) * n_a], 1e-9)
                })
                .count()
        });
        let range = layer.meta.as_ref().and_then(|m| m.metrics.get(layer.output)).map_or(f64::NAN, |q| q.output_range);
        let mut rng = ChaCha8Rng::seed_from_u64(probe.seed.wrapping_add(l as u64));
        let chosen = sample(&mut rng, calls, probe.samples.min(calls)).into_vec();
        let errors: Vec<Option<f64>> = chosen
            .par_iter()
            .map(|&c| {
                let j = c % m;
                let y = hardware.respond(l, j, &x[c * fan_in..(c + 1) * fan_in], &a[j * n_a..(j + 1) * n_a]);
                y.ok().and_then(|y| y.get(layer.output).copied()).map(|y| acts[l][c] - y)
            })
            .collect();
        let ok: Vec<f64> = errors.iter().flatten().copied().collect();
        let rms = (ok.iter().map(|e| e * e).sum::<f64>() / ok.len().max(1) as f64).sqrt();
        let high = ok.iter().filter(|e| e.abs() > probe.threshold * range).count();
        let (dead, spread) = spread_of(&acts[l], n, m, range);
        out.push(LayerHealth {
            dead_devices: dead,
            output_spread: spread,
            evaluations: calls,
            outside_box: exits as f64 / calls.max(1) as f64,
            sampled: ok.len(),
            operating_error: rms / range,
            high_error: high as f64 / ok.len().max(1) as f64,
            failed: errors.len() - ok.len(),
        });
        upstream = acts[l].clone();
    }
    out
}

/// Per device, the standard deviation of its output over `n` images (`acts` row-major
/// `[n, m]`), relative to `range`: the share of devices below 1e-3, and the mean.
pub(crate) fn spread_of(acts: &[f64], n: usize, m: usize, range: f64) -> (f64, f64) {
    if n == 0 || m == 0 || range.is_nan() || range <= 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let stds: Vec<f64> = (0..m)
        .map(|j| {
            let col = || (0..n).map(move |i| acts[i * m + j]);
            let mean = col().sum::<f64>() / n as f64;
            (col().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64).sqrt() / range
        })
        .collect();
    let dead = stds.iter().filter(|s| **s < 1e-3).count() as f64 / m as f64;
    (dead, stds.iter().sum::<f64>() / m as f64)
}

/// Warnings for layers whose operating region is getting worse: the share of evaluations
/// outside the box above 1 %, more than twice the first probed epoch's and still growing
/// (by more than 10 % over `previous`); the surrogate's error where the network operates above
/// `threshold` of the output range, said when it first happens and again when it grows by
/// more than a quarter.
pub fn warnings(first: &[LayerHealth], previous: &[LayerHealth], now: &[LayerHealth], threshold: f64) -> Vec<String> {
    let mut w = Vec::new();
    for (l, h) in now.iter().enumerate() {
        let (before, last) = (first.get(l), previous.get(l));
        let grew = h.outside_box > 0.01
            && before.is_none_or(|b| h.outside_box > 2.0 * b.outside_box)
            && last.is_none_or(|p| h.outside_box > 1.1 * p.outside_box);
        if grew {
            w.push(format!(
                "layer {l}: {:.1}% of device evaluations are outside the surrogate's box (first epoch {:.1}%): \
                 the surrogate extrapolates there",
                100.0 * h.outside_box,
                100.0 * before.map_or(0.0, |b| b.outside_box)
            ));
        }
        let dead_before = last.map_or(0.0, |p| p.dead_devices);
        if h.dead_devices >= 0.5 && (last.is_none() || h.dead_devices > dead_before + 0.1) {
            w.push(format!(
                "layer {l}: {:.0}% of its devices do not respond to the images (output spread below 1e-3 of the \
                 range): the layer is dead, and gradients through it vanish",
                100.0 * h.dead_devices
            ));
        }
        let was = last.map_or(0.0, |p| p.operating_error);
        if h.operating_error > threshold && (was <= threshold || h.operating_error > 1.25 * was) {
            w.push(format!(
                "layer {l}: where the network operates the surrogate is off by {:.2}% of the output range (RMS of \
                 {} device solves; {:.0}% of them above {:.1}%): accuracy on surrogates overstates the device",
                100.0 * h.operating_error,
                h.sampled,
                100.0 * h.high_error,
                100.0 * threshold
            ));
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(outside: f64, error: f64) -> LayerHealth {
        LayerHealth {
            evaluations: 100,
            outside_box: outside,
            sampled: 10,
            operating_error: error,
            high_error: 0.0,
            failed: 0,
            dead_devices: 0.0,
            output_spread: 0.1,
        }
    }

    #[test]
    fn warns_when_exits_grow_or_error_is_high() {
        let first = vec![health(0.001, 0.001)];
        assert!(warnings(&first, &first, &[health(0.002, 0.001)], 0.02).is_empty());
        assert_eq!(warnings(&first, &first, &[health(0.05, 0.001)], 0.02).len(), 1);
        assert_eq!(warnings(&first, &first, &[health(0.001, 0.05)], 0.02).len(), 1);
        // a share that was already high and did not double is not news
        assert!(warnings(&[health(0.3, 0.0)], &[health(0.3, 0.0)], &[health(0.4, 0.0)], 0.02).is_empty());
        // a high share that stopped growing, and a high error that stays, are said once
        assert!(warnings(&first, &[health(0.5, 0.05)], &[health(0.5, 0.05)], 0.02).is_empty());
        assert_eq!(warnings(&first, &[health(0.5, 0.05)], &[health(0.6, 0.07)], 0.02).len(), 2);
    }

    #[test]
    fn dead_devices_are_counted_and_a_dead_layer_is_said() {
        // 4 images x 3 devices: device 0 constant, 1 and 2 moving
        let acts = [0.5, 0.0, 1.0, 0.5, 0.2, 0.0, 0.5, 0.4, 1.0, 0.5, 0.6, 0.0];
        let (dead, spread) = spread_of(&acts, 4, 3, 1.0);
        assert!((dead - 1.0 / 3.0).abs() < 1e-12 && spread > 0.0);
        let mut h = health(0.0, 0.0);
        h.dead_devices = 0.9;
        assert_eq!(warnings(&[], &[], &[h.clone()], 0.02).len(), 1);
        assert!(warnings(&[h.clone()], &[h.clone()], &[h], 0.02).is_empty(), "said once while it stays");
    }
}
