//! Evaluation on physics: the trained network with every surrogate call replaced by the
//! device's own solve, and the gap to the surrogate network, layer by layer.

use std::time::Instant;

use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use almost_surrogate::tensor_io::to_vec;

use crate::data::batch;
use crate::data::images::ImageSet;
use crate::network::chain::{DeviceNetwork, Head};
use crate::physics::distinct::distinct_calls;
use crate::physics::forward::{forward_host, hardware_a};
use crate::physics::hardware::Hardware;

/// Test images run through the network together: the devices' repeated inputs are found
/// (and solved once) within such a batch. 100 found 4 % fewer solves on the digit network
/// and ran no faster (the surrogate side costs as much as the solves).
const EVAL_CHUNK: usize = 25;

/// How one layer behaved on physics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerGap {
    /// Devices in the layer.
    pub devices: usize,
    /// Device calls (one per device and image).
    pub solves: usize,
    /// Of them, the solves actually run: an image's call that repeats another image's inputs
    /// to the same device in the same batch of images is answered by that solve
    /// ([`crate::physics::distinct`]); 0 in reports written before it was counted.
    #[serde(default)]
    pub distinct_solves: usize,
    /// Calls whose solve failed (their output counted as 0).
    pub failed: usize,
    /// RMS of surrogate minus device at the same (physical) inputs: the surrogate's own error.
    pub rms_local_error: f64,
    /// Largest |surrogate - device| at the same inputs.
    pub max_local_error: f64,
    /// RMS of (surrogate network activation - physical network activation): errors compounded.
    pub rms_activation_gap: f64,
    /// Device calls with some input x outside the surrogate's box.
    pub x_outside_box: usize,
    /// Device calls with some parameter A outside the surrogate's box.
    pub a_outside_box: usize,
}

/// The physics evaluation of a network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhysicsReport {
    /// Test images evaluated.
    pub images: usize,
    /// Accuracy of the surrogate network on them.
    pub accuracy_surrogate: f64,
    /// Accuracy of the physical network on them.
    pub accuracy_physics: f64,
    /// Fraction of images where both predict the same class.
    pub agreement: f64,
    /// Images the physical network gets right and the surrogate network wrong.
    #[serde(default)]
    pub physics_only_right: usize,
    /// Images the surrogate network gets right and the physical network wrong.
    #[serde(default)]
    pub surrogate_only_right: usize,
    /// Per-layer gaps.
    pub layers: Vec<LayerGap>,
    /// Total device calls (one per device and image).
    pub solves: usize,
    /// Of them, the solves actually run (repeated inputs solved once, see [`LayerGap`]); 0 in
    /// reports written before it was counted.
    #[serde(default)]
    pub distinct_solves: usize,
    /// Wall-clock seconds of the evaluation: the solves and, beside them, the surrogate
    /// network and the local surrogate answers they are compared with.
    pub seconds: f64,
    /// Device calls per second of that wall-clock time.
    pub solves_per_second: f64,
}

impl PhysicsReport {
    /// The table printed after an evaluation.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} test images: accuracy on surrogates {:.2}%, on physics {:.2}% (gap {:+.2} points), same prediction {:.2}%\n",
            self.images,
            100.0 * self.accuracy_surrogate,
            100.0 * self.accuracy_physics,
            100.0 * (self.accuracy_physics - self.accuracy_surrogate),
            100.0 * self.agreement
        );
        s.push_str(&format!(
            "{} device calls in {:.1} s ({:.0} calls/s){}\n\n{:<6} {:>8} {:>10} {:>10} {:>7} {:>12} {:>12} {:>14} {:>10} {:>10}\n",
            self.solves,
            self.seconds,
            self.solves_per_second,
            self.distinct_line(),
            "layer",
            "devices",
            "calls",
            "solved",
            "failed",
            "local RMS",
            "local max",
            "activation gap",
            "x outside",
            "A outside"
        ));
        for (l, g) in self.layers.iter().enumerate() {
            s.push_str(&format!(
                "{l:<6} {:>8} {:>10} {:>10} {:>7} {:>12.3e} {:>12.3e} {:>14.3e} {:>10} {:>10}\n",
                g.devices,
                g.solves,
                g.distinct_solves,
                g.failed,
                g.rms_local_error,
                g.max_local_error,
                g.rms_activation_gap,
                g.x_outside_box,
                g.a_outside_box
            ));
        }
        s
    }

    /// ", N of them solved (the rest repeat ...)" where the distinct solves were counted.
    pub fn distinct_line(&self) -> String {
        if self.distinct_solves == 0 {
            return String::new();
        }
        format!(
            ", {} of them solved ({:.1}%; the others repeat an image's inputs to the same device and take its answer), {:.0} solves/s",
            self.distinct_solves,
            100.0 * self.distinct_solves as f64 / self.solves.max(1) as f64,
            self.distinct_solves as f64 / self.seconds.max(1e-9)
        )
    }
}

/// Runs `network` on `hardware` for the first `samples` images of `test` (0 = all), next to
/// its surrogate version; the hardware sees A quantised to `bits` (0 = exact).
pub fn evaluate(
    network: &DeviceNetwork,
    hardware: &dyn Hardware,
    test: &ImageSet,
    samples: usize,
    bits: u32,
    progress: bool,
) -> PhysicsReport {
    let n = if samples == 0 { test.len() } else { samples.min(test.len()) };
    let idx: Vec<usize> = (0..n).collect();
    evaluate_images(network, hardware, test, &idx, bits, progress)
}

/// [`evaluate`] on the test images with the indices `idx` (a shard of the test set, see
/// [`crate::physics::shard`]).
pub fn evaluate_images(
    network: &DeviceNetwork,
    hardware: &dyn Hardware,
    test: &ImageSet,
    idx: &[usize],
    bits: u32,
    progress: bool,
) -> PhysicsReport {
    let device = network.layers.first().map_or_else(Device::flex, |l| l.a.val().device());
    let dtype = network.layers.first().map_or(DType::F32, |l| l.a.val().dtype());
    let n = idx.len();
    // accuracies of a network without classes are not numbers
    let classes = matches!(network.head, Head::Classes(_));
    let a_host = hardware_a(network, bits);
    let total: usize = network.layers.iter().map(|l| l.devices()).sum::<usize>() * n;
    let bar = solve_bar(total as u64, progress);
    let mut gaps: Vec<LayerGap> =
        network.layers.iter().map(|l| LayerGap { devices: l.devices(), ..Default::default() }).collect();
    let mut sq_local = vec![0.0; gaps.len()];
    let mut sq_gap = vec![0.0; gaps.len()];
    let (mut right_sur, mut right_phys, mut agree) = (0usize, 0usize, 0usize);
    let (mut physics_only, mut surrogate_only) = (0usize, 0usize);
    let start = Instant::now();
    for chunk in idx.chunks(EVAL_CHUNK) {
        let b = chunk.len();
        let input = batch::images(test, chunk, None, dtype, &device);
        let sur_acts: Vec<Vec<f64>> = network.activations(input.clone()).into_iter().map(to_vec).collect();
        // a failed solve counts as an output of 0
        let zero = |l: usize, x: &[f64]| vec![0.0; x.len() / network.layers[l].fan_in.max(1)];
        let passes = forward_host(network, hardware, &a_host, &to_vec(input), b, &zero);
        for (l, (layer, pass)) in network.layers.iter().zip(&passes).enumerate() {
            let (m, fan_in) = (layer.devices(), layer.fan_in);
            let n_a = a_host[l].len() / m;
            let (x, a) = (&pass.x, &a_host[l]);
            bar.inc((b * m) as u64);
            let g = &mut gaps[l];
            g.solves += b * m;
            g.distinct_solves += distinct_calls(x, m, fan_in);
            g.failed += pass.failed;
            // a layer built by hand has no recorded box to leave
            if let Some(dom) = layer.domain() {
                for bj in 0..b * m {
                    let j = bj % m;
                    g.x_outside_box += usize::from(!dom.contains(&x[bj * fan_in..(bj + 1) * fan_in], &[], 1e-9));
                    g.a_outside_box += usize::from(!dom.contains(&[], &a[j * n_a..(j + 1) * n_a], 1e-9));
                }
            }
            let opts = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
            let xt = Tensor::<3>::from_data(TensorData::new(x.clone(), [b, m, fan_in]), opts);
            let y_local = to_vec(layer.respond(xt));
            for ((yl, yp), ys) in y_local.iter().zip(&pass.out).zip(&sur_acts[l]) {
                let e = yl - yp;
                sq_local[l] += e * e;
                g.max_local_error = g.max_local_error.max(e.abs());
                sq_gap[l] += (ys - yp).powi(2);
            }
        }
        // only a classifying network has classes to compare
        let Head::Classes(r) = &network.head else { continue };
        let (sur_last, phys_last) =
            (sur_acts.last().cloned().unwrap_or_default(), passes.last().map(|p| p.out.clone()).unwrap_or_default());
        let width = r.classes * r.per_class;
        for bi in 0..b {
            let (ps, pp) = (
                r.class_host(&sur_last[bi * width..(bi + 1) * width]),
                r.class_host(&phys_last[bi * width..(bi + 1) * width]),
            );
            let label = usize::from(test.labels[chunk[bi]]);
            right_sur += usize::from(ps == label);
            right_phys += usize::from(pp == label);
            physics_only += usize::from(pp == label && ps != label);
            surrogate_only += usize::from(ps == label && pp != label);
            agree += usize::from(ps == pp);
        }
    }
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    for (l, g) in gaps.iter_mut().enumerate() {
        g.rms_local_error = (sq_local[l] / g.solves.max(1) as f64).sqrt();
        g.rms_activation_gap = (sq_gap[l] / g.solves.max(1) as f64).sqrt();
    }
    PhysicsReport {
        images: n,
        accuracy_surrogate: if classes { right_sur as f64 / n.max(1) as f64 } else { f64::NAN },
        accuracy_physics: if classes { right_phys as f64 / n.max(1) as f64 } else { f64::NAN },
        agreement: if classes { agree as f64 / n.max(1) as f64 } else { f64::NAN },
        physics_only_right: physics_only,
        surrogate_only_right: surrogate_only,
        distinct_solves: gaps.iter().map(|g| g.distinct_solves).sum(),
        layers: gaps,
        solves: total,
        seconds,
        solves_per_second: total as f64 / seconds.max(1e-9),
    }
}

fn solve_bar(total: u64, show: bool) -> ProgressBar {
    almost_sim::generate::styled_bar(
        total,
        show,
        "physics {bar:30} {pos}/{len} device solves {per_sec} [{elapsed}<{eta}]",
    )
}
