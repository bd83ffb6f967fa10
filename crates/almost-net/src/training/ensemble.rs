//! Trained networks read out together. Each run's readout sums its devices' outputs per
//! class, so the sum of several runs' class scores is the readout of one wider network whose
//! branches (the runs) see the same image and nothing of each other: still devices alone
//! and a fixed summing readout, its branches trained one by one. Evaluated on the surrogates
//! and, with `physics`, on every branch's devices, image by image.

use std::path::{Path, PathBuf};

use burn::tensor::{DType, Device};
use serde::{Deserialize, Serialize};

use almost_surrogate::tensor_io::to_vec;

use crate::check::physics_check::binomial_stderr;
use crate::data::batch;
use crate::data::images::ImageSet;
use crate::error::{NetError, Result};
use crate::network::chain::{DeviceNetwork, Head, argmax};
use crate::physics::forward::{forward_host, hardware_a};
use crate::physics::select::hardware_for;
use crate::training::run::{LoadedRun, load_run};

/// One branch: a run and its own accuracies on the images of the ensemble.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    /// The run folder.
    pub run: PathBuf,
    /// The network's name.
    pub name: String,
    /// Its devices.
    pub devices: usize,
    /// Its trained parameters A.
    pub parameters: usize,
    /// Its accuracy on the surrogates.
    pub accuracy_surrogate: f64,
    /// Its accuracy on the physics (with `physics`).
    pub accuracy_physics: Option<f64>,
    /// Its device solves that failed (their outputs counted as 0).
    pub failed_solves: usize,
}

/// What [`ensemble`] measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleReport {
    /// Test images evaluated (the first `images` of the shared test set).
    pub images: usize,
    /// The branches.
    pub branches: Vec<Branch>,
    /// Devices of all branches.
    pub devices: usize,
    /// Trained parameters of all branches.
    pub parameters: usize,
    /// Accuracy of the summed class scores on the surrogates.
    pub accuracy_surrogate: f64,
    /// Accuracy of the summed class scores on the physics (with `physics`).
    pub accuracy_physics: Option<f64>,
    /// Binomial standard error of the test set at the physics accuracy.
    pub stderr_physics: Option<f64>,
}

impl EnsembleReport {
    /// The table printed after an ensemble evaluation.
    pub fn table(&self) -> String {
        let pct = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{:.2}", 100.0 * v));
        let mut s = format!(
            "{} test images; class scores of {} runs summed\n{:<40} {:>8} {:>9} {:>11} {:>9}\n",
            self.images,
            self.branches.len(),
            "run",
            "devices",
            "A",
            "surrogate %",
            "physics %"
        );
        for b in &self.branches {
            s.push_str(&format!(
                "{:<40} {:>8} {:>9} {:>11.2} {:>9}\n",
                b.run.display(),
                b.devices,
                b.parameters,
                100.0 * b.accuracy_surrogate,
                pct(b.accuracy_physics)
            ));
        }
        s.push_str(&format!(
            "{:<40} {:>8} {:>9} {:>11.2} {:>9}\n",
            "together",
            self.devices,
            self.parameters,
            100.0 * self.accuracy_surrogate,
            pct(self.accuracy_physics)
        ));
        if let (Some(p), Some(e)) = (self.accuracy_physics, self.stderr_physics) {
            s.push_str(&format!(
                "together on physics: {:.2}% ± {:.2} (binomial standard error of {} images), gap to the surrogates {:+.2} points\n",
                100.0 * p,
                100.0 * e,
                self.images,
                100.0 * (p - self.accuracy_surrogate)
            ));
        }
        let failed: usize = self.branches.iter().map(|b| b.failed_solves).sum();
        if failed > 0 {
            s.push_str(&format!("{failed} device solves failed (their outputs counted as 0)\n"));
        }
        s
    }
}

/// Sums the class scores of `runs` (trained by `almost-train network` on one test set) over
/// the first `samples` test images (0 = all), on the surrogates and with `physics` on each
/// run's devices (its own `[hardware]`); refuses runs that are not classifiers or whose
/// test images differ.
pub fn ensemble(runs: &[PathBuf], samples: usize, physics: bool, device: &Device) -> Result<EnsembleReport> {
    let bad = |path: &Path, message: String| NetError::BadRun { path: path.to_path_buf(), message };
    let Some(first) = runs.first() else {
        return Err(bad(Path::new("."), "no run to read out".into()));
    };
    let mut reference: Option<ImageSet> = None;
    let (mut total_sur, mut total_phys) = (Vec::new(), Vec::new());
    let mut branches = Vec::new();
    let mut n = 0;
    for run in runs {
        let LoadedRun { config, network, test, .. } = load_run(run, DType::F32, device)?;
        let Head::Classes(readout) = &network.head else {
            return Err(bad(run, "not a classifier: no class scores to sum".into()));
        };
        match &reference {
            None => {
                n = if samples == 0 { test.len() } else { samples.min(test.len()) };
                total_sur = vec![0.0; n * readout.classes];
                total_phys = vec![0.0; n * readout.classes];
            }
            Some(r) if r.labels != test.labels || r.pixels != test.pixels => {
                return Err(bad(run, format!("its test images are not those of {}", first.display())));
            }
            Some(_) if readout.classes * n != total_sur.len() => {
                return Err(bad(run, format!("{} classes, not those of {}", readout.classes, first.display())));
            }
            Some(_) => {}
        }
        let hardware = if physics { Some(hardware_for(&network, &config.hardware)?) } else { None };
        let scores = class_scores(&network, hardware.as_deref(), &test, n, config.hardware.bits);
        let right = |s: &[f64]| accuracy(s, &test.labels, readout.classes);
        branches.push(Branch {
            run: run.clone(),
            name: config.name.clone(),
            devices: network.layers.iter().map(|l| l.devices()).sum(),
            parameters: network.a_values().iter().map(Vec::len).sum(),
            accuracy_surrogate: right(&scores.surrogate),
            accuracy_physics: physics.then(|| right(&scores.physics)),
            failed_solves: scores.failed,
        });
        add(&mut total_sur, &scores.surrogate);
        add(&mut total_phys, &scores.physics);
        reference.get_or_insert(test);
    }
    let labels = reference.map(|r| r.labels).unwrap_or_default();
    let classes = total_sur.len() / n.max(1);
    let accuracy_physics = physics.then(|| accuracy(&total_phys, &labels, classes));
    Ok(EnsembleReport {
        images: n,
        devices: branches.iter().map(|b| b.devices).sum(),
        parameters: branches.iter().map(|b| b.parameters).sum(),
        branches,
        accuracy_surrogate: accuracy(&total_sur, &labels, classes),
        accuracy_physics,
        stderr_physics: accuracy_physics.map(|p| binomial_stderr(p, n)),
    })
}

/// One network's class scores of the first `n` test images, `classes` per image.
struct Scores {
    surrogate: Vec<f64>,
    physics: Vec<f64>,
    failed: usize,
}

/// The class scores of `network` on the surrogates and, given `hardware`, on the physics (A
/// quantised to `bits`; a failed solve's output counted as 0, as in the evaluation).
fn class_scores(
    network: &DeviceNetwork,
    hardware: Option<&dyn crate::physics::hardware::Hardware>,
    test: &ImageSet,
    n: usize,
    bits: u32,
) -> Scores {
    let device = network.layers.first().map_or_else(Device::flex, |l| l.a.val().device());
    let dtype = network.layers.first().map_or(DType::F32, |l| l.a.val().dtype());
    let a_host = hardware_a(network, bits);
    let (mut surrogate, mut physics, mut failed) = (Vec::new(), Vec::new(), 0);
    let idx: Vec<usize> = (0..n).collect();
    let Head::Classes(readout) = &network.head else {
        return Scores { surrogate, physics, failed };
    };
    let width = readout.classes * readout.per_class;
    for chunk in idx.chunks(25) {
        let input = batch::images(test, chunk, None, dtype, &device);
        surrogate.extend(to_vec(network.forward(input.clone())));
        let Some(hw) = hardware else { continue };
        let zero = |l: usize, x: &[f64]| vec![0.0; x.len() / network.layers[l].fan_in.max(1)];
        let passes = forward_host(network, hw, &a_host, &to_vec(input), chunk.len(), &zero);
        failed += passes.iter().map(|p| p.failed).sum::<usize>();
        let last = passes.last().map(|p| p.out.as_slice()).unwrap_or_default();
        for image in last.chunks_exact(width) {
            physics.extend(readout.logits_host(image));
        }
    }
    if hardware.is_none() {
        physics = vec![0.0; surrogate.len()];
    }
    Scores { surrogate, physics, failed }
}

/// `total += scores`, value by value.
fn add(total: &mut [f64], scores: &[f64]) {
    for (t, s) in total.iter_mut().zip(scores) {
        *t += s;
    }
}

/// Share of images whose largest score is their label's (`classes` scores an image).
fn accuracy(scores: &[f64], labels: &[u8], classes: usize) -> f64 {
    let images = scores.len() / classes.max(1);
    let right = scores.chunks_exact(classes.max(1)).zip(labels).filter(|(s, l)| argmax(s) == usize::from(**l)).count();
    right as f64 / images.max(1) as f64
}
