//! Networks that start alive: the device-physics analogue of data-driven initialisation
//! (LSUV, Mishkin & Matas 2016).
//!
//! A device that only responds past a threshold, or saturates, can sit where it does not
//! respond to anything a network shows it: digits are mostly background (0), so a thresholded
//! device fed `x = u` with small A never passes its threshold, every gradient is zero, and
//! training learns nothing. Before the first step, each layer in turn (input first) is
//! measured on a batch of real training images through the surrogates: the share of device
//! evaluations that **respond** (the output moves when A moves: a central difference of the
//! surrogate along two random directions of A, above 1 % of the output range per half-range
//! of A), discounted when the outputs barely move over the images (standard deviation below
//! 5 % of the range; LSUV asks for unit variance). If the plain start (the configured map, A
//! around the middle of its bounds) scores below one half, a grid of starts is tried: the
//! fixed input map (which slice of the upstream range goes to which slice of the device's
//! input box) and the centre of the initial A inside its bounds; the best score wins. The chosen maps are written to `start.json` in the run
//! folder: they are part of the network and everything that loads the run applies them.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use almost_surrogate::tensor_io::{matrix, to_vec};

use crate::check::health::spread_of;
use crate::data::batch;
use crate::data::images::ImageSet;
use crate::error::{NetError, Result};
use crate::network::chain::DeviceNetwork;
use crate::network::layer::DeviceLayer;

/// The file in a run folder that records each layer's start.
pub const START_FILE: &str = "start.json";
/// Training images each layer is measured on.
pub const START_IMAGES: usize = 128;
/// Below this score (responding share, discounted for a small output spread) the plain start
/// is not kept without a search.
pub const ALIVE: f64 = 0.5;
/// A device evaluation responds when its output moves by more than this share of the output
/// range per half-range of A.
const RESPONDS: f64 = 0.01;
/// The output spread (standard deviation over images, share of the range) from which a
/// layer counts as fully alive.
const SPREAD: f64 = 0.05;
/// How much more a later (bolder) start must score to replace an earlier one.
const PREFER_PLAIN: f64 = 0.03;
/// The central-difference step, in half-ranges of A.
const STEP: f64 = 0.02;

/// How much of a layer responds to real inputs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Liveness {
    /// Share of device evaluations (images x devices) whose output moves with A.
    pub responsive: f64,
    /// Share of devices whose output does not move over the images (below 1e-3 of the range).
    pub dead_devices: f64,
    /// Mean over devices of the standard deviation of their output, relative to the range.
    pub spread: f64,
}

/// One layer's start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerStart {
    /// Gain of the fixed input map `x = gain * u + offset`.
    pub gain: f64,
    /// Offset of the fixed input map.
    pub offset: f64,
    /// Upstream value of the reference line, if the layer has one (kept at the top of the box).
    pub reference: Option<f64>,
    /// The upstream interval mapped ...
    pub upstream: [f64; 2],
    /// ... onto this interval of the device's input box.
    pub target: [f64; 2],
    /// Centre of the initial A, in half-ranges from the middle of its bounds (0 = middle).
    pub a_centre: f64,
    /// The plain start, measured.
    pub plain: Liveness,
    /// The chosen start, measured.
    pub chosen: Liveness,
    /// Whether the chosen start differs from the plain one.
    pub moved: bool,
}

/// Every layer's start and how it was measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartReport {
    /// Training images the layers were measured on.
    pub images: usize,
    /// Starts tried per layer that was searched.
    pub candidates: usize,
    /// One entry per layer, input first.
    pub layers: Vec<LayerStart>,
}

impl StartReport {
    /// One line per layer for a person.
    pub fn lines(&self) -> Vec<String> {
        self.layers
            .iter()
            .enumerate()
            .map(|(l, s)| {
                let live = |v: &Liveness| {
                    format!(
                        "{:.0}% of evaluations respond, {:.0}% dead devices, spread {:.1}% of range",
                        100.0 * v.responsive,
                        100.0 * v.dead_devices,
                        100.0 * v.spread
                    )
                };
                if s.moved {
                    format!(
                        "start, layer {l}: plain start {}; moved: upstream [{:.3}, {:.3}] -> x [{:.3}, {:.3}], A centred \
                         {:+.2} half-ranges from the middle: {}",
                        live(&s.plain),
                        s.upstream[0],
                        s.upstream[1],
                        s.target[0],
                        s.target[1],
                        s.a_centre,
                        live(&s.chosen)
                    )
                } else {
                    format!("start, layer {l}: kept the plain start: {}", live(&s.plain))
                }
            })
            .collect()
    }

    /// Warnings for layers that are still mostly dead after the search.
    pub fn warnings(&self) -> Vec<String> {
        self.layers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.chosen.responsive < 0.1)
            .map(|(l, s)| {
                format!(
                    "layer {l} starts dead: only {:.1}% of its device evaluations respond to the training images in \
                     any start tried; gradients through it vanish (is the device's box where the inputs are?)",
                    100.0 * s.chosen.responsive
                )
            })
            .collect()
    }

    /// Writes the report into the run folder (atomically).
    pub fn save(&self, run: &Path) -> Result<()> {
        Ok(almost_sim::fsutil::write_json_atomic(&run.join(START_FILE), self)?)
    }

    /// The report of a run folder, if it has one (runs trained before starts were recorded
    /// have none: their maps are the configured ones).
    pub fn load(run: &Path) -> Result<Option<Self>> {
        let path = run.join(START_FILE);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(almost_sim::fsutil::read_json(&path)?))
    }

    /// Gives `network` the recorded input maps (A comes from the run's weights).
    pub fn apply_maps(&self, mut network: DeviceNetwork, run: &Path) -> Result<DeviceNetwork> {
        if self.layers.len() != network.layers.len() {
            return Err(NetError::BadRun {
                path: run.join(START_FILE),
                message: format!("records {} layers, the network has {}", self.layers.len(), network.layers.len()),
            });
        }
        for (layer, s) in network.layers.iter_mut().zip(&self.layers) {
            layer.gain = s.gain;
            layer.offset = s.offset;
            layer.reference = s.reference;
        }
        Ok(network)
    }
}

/// `network` with the input maps recorded in the run folder `run`, if it has a record.
pub fn with_recorded_maps(network: DeviceNetwork, run: &Path) -> Result<DeviceNetwork> {
    match StartReport::load(run)? {
        Some(report) => report.apply_maps(network, run),
        None => Ok(network),
    }
}

/// One start to try for a layer.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    upstream: [f64; 2],
    target: [f64; 2],
    centre: f64,
}

/// Measures every layer of `network` on the first `count` images of `images` and moves
/// each layer that starts (mostly) dead to the start where most of it responds. `seed` draws
/// the directions of the difference quotients.
pub fn start_alive(
    mut network: DeviceNetwork,
    images: &ImageSet,
    count: usize,
    seed: u64,
) -> Result<(DeviceNetwork, StartReport)> {
    let n = count.min(images.len()).max(1);
    let probe = network.valid();
    let first = probe.layers.first().map(|l| l.a.val());
    let (device, dtype) =
        first.map_or_else(|| (Default::default(), burn::tensor::DType::F32), |a| (a.device(), a.dtype()));
    let idx: Vec<usize> = (0..n).collect();
    let mut upstream = batch::images(images, &idx, None, dtype, &device);
    let mut upstream_range = [0.0, 1.0];
    let mut report = StartReport { images: n, candidates: 0, layers: Vec::new() };
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5747_4152_5400);
    for (l, layer) in probe.layers.iter().enumerate() {
        let m = layer.devices();
        let n_a = layer.a_lo.len();
        let a_plain = to_vec(layer.a.val());
        let dirs: Vec<Vec<f64>> = (0..2)
            .map(|_| {
                (0..m * n_a)
                    .map(|k| if rng.random::<bool>() { 1.0 } else { -1.0 } * 0.5 * (layer.a_hi[k % n_a] - layer.a_lo[k % n_a]))
                    .collect()
            })
            .collect();
        let range = output_range(layer);
        let plain = liveness(layer, &upstream, &a_plain, &dirs, range, n);
        let (x_lo, x_hi) = box_x(layer);
        let mut best = (plain, None::<(Candidate, Vec<f64>)>);
        if score(&plain) < ALIVE {
            let values = to_vec(upstream.clone());
            let observed = [quantile(values.clone(), 0.01), quantile(values, 0.99)];
            let candidates = candidates(l, upstream_range, observed, x_lo, x_hi);
            report.candidates = report.candidates.max(candidates.len());
            // from the plainest start outward, the first that is alive: the least change that
            // revives the layer, which leaves its devices near their threshold (where they
            // switch, not where they are all on and the layer is linear); failing that, the best
            for c in candidates {
                let trial = with_map(layer.clone(), c, x_hi);
                let a = centred(layer, &a_plain, c.centre);
                let live = liveness(&trial, &upstream, &a, &dirs, range, n);
                if score(&live) > score(&best.0) + PREFER_PLAIN {
                    best = (live, Some((c, a)));
                }
                if score(&best.0) >= ALIVE {
                    break;
                }
            }
        }
        let chosen_layer = match &best.1 {
            Some((c, a)) => {
                let mut moved = with_map(layer.clone(), *c, x_hi);
                set_a(&mut moved, a);
                let target = &mut network.layers[l];
                set_a(target, a);
                (target.gain, target.offset, target.reference) = (moved.gain, moved.offset, moved.reference);
                moved
            }
            None => layer.clone(),
        };
        let (target, span) = match &best.1 {
            Some((c, _)) => (c.target, c.upstream),
            None => {
                let (g, o) = (layer.gain, layer.offset);
                ([g * upstream_range[0] + o, g * upstream_range[1] + o], upstream_range)
            }
        };
        report.layers.push(LayerStart {
            gain: chosen_layer.gain,
            offset: chosen_layer.offset,
            reference: chosen_layer.reference,
            upstream: span,
            target,
            a_centre: best.1.as_ref().map_or(0.0, |(c, _)| c.centre),
            plain,
            chosen: best.0,
            moved: best.1.is_some(),
        });
        upstream = chosen_layer.forward(upstream);
        upstream_range = layer.meta.as_ref().and_then(|m| m.y_range.get(layer.output).copied()).unwrap_or([0.0, 1.0]);
    }
    Ok((network, report))
}

/// How alive a start is, in [0, 1]: the share of evaluations that respond, discounted when
/// the outputs barely move over the images (a standard deviation below [`SPREAD`] of the
/// range: the signal the next layer gets is then too weak to tell images apart).
fn score(v: &Liveness) -> f64 {
    v.responsive * (v.spread / SPREAD).min(1.0)
}

/// The `q`-quantile of `values` (NaN-free; 0 for none).
fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return 0.0;
    }
    let k = ((values.len() - 1) as f64 * q).round() as usize;
    *values.select_nth_unstable_by(k, f64::total_cmp).1
}

/// The starts tried for layer `l`, plainest first: upstream intervals (the full range; for deeper layers also
/// twice the 99th percentile of the values seen, and their 1st to 99th percentile, when the
/// layer above uses little of its range) x slices of
/// the input box x centres of A.
fn candidates(l: usize, range: [f64; 2], observed: [f64; 2], x_lo: f64, x_hi: f64) -> Vec<Candidate> {
    let mut spans = vec![range];
    let width = range[1] - range[0];
    let seen = range[0] + 2.0 * (observed[1] - range[0]);
    if l > 0 && seen.is_finite() && seen > range[0] && seen < range[0] + 0.75 * width {
        spans.push([range[0], seen]);
    }
    // the values seen, 1st to 99th percentile, stretched over the box (LSUV's scale and shift)
    if l > 0 && observed[1] - observed[0] > 1e-6 * width && observed[1] - observed[0] < 0.5 * width {
        spans.push(observed);
    }
    let margin = if l == 0 { 0.0 } else { 0.02 * (x_hi - x_lo) };
    let (t_lo, t_hi) = (x_lo + margin, x_hi - margin);
    let w = t_hi - t_lo;
    let targets = [[t_lo, t_hi], [t_lo + 0.25 * w, t_hi], [t_lo + 0.5 * w, t_hi], [t_lo + 0.25 * w, t_hi - 0.25 * w]];
    let centres = [0.0, 0.25, -0.25, 0.5, -0.5, 0.75, -0.75];
    let mut order = Vec::new();
    let mut out = Vec::new();
    for (s, upstream) in spans.iter().enumerate() {
        for target in &targets {
            for centre in centres {
                out.push(Candidate { upstream: *upstream, target: *target, centre });
                // how far from the plain start: the centre's shift, the slice of the box left
                // out, a narrower span
                let away = centre.abs() + (target[0] - t_lo + t_hi - target[1]) / w + 0.25 * s as f64;
                order.push(away);
            }
        }
    }
    let mut ranked: Vec<(f64, Candidate)> = order.into_iter().zip(out).collect();
    ranked.sort_by(|p, q| p.0.total_cmp(&q.0));
    ranked.into_iter().map(|(_, c)| c).collect()
}

/// The layer with the input map of `c` (the reference line kept at the top of the box).
fn with_map(mut layer: DeviceLayer, c: Candidate, x_hi: f64) -> DeviceLayer {
    let gain = (c.target[1] - c.target[0]) / (c.upstream[1] - c.upstream[0]);
    layer.gain = gain;
    layer.offset = c.target[0] - gain * c.upstream[0];
    if layer.reference.is_some() {
        layer.reference = Some((x_hi - layer.offset) / gain);
    }
    layer
}

/// The plain initial A moved so that its middle sits `centre` half-ranges from the middle of
/// the bounds (the same random draw, clipped to the bounds).
fn centred(layer: &DeviceLayer, a: &[f64], centre: f64) -> Vec<f64> {
    let n_a = layer.a_lo.len();
    a.iter()
        .enumerate()
        .map(|(k, &v)| {
            let (lo, hi) = (layer.a_lo[k % n_a], layer.a_hi[k % n_a]);
            (v + centre * 0.5 * (hi - lo)).clamp(lo, hi)
        })
        .collect()
}

/// The common input box of a layer's devices (the tightest over its inputs); [0, 1] for a
/// layer built by hand.
fn box_x(layer: &DeviceLayer) -> (f64, f64) {
    layer.domain().map_or((0.0, 1.0), |d| {
        (
            d.x.iter().map(|r| r[0]).fold(f64::NEG_INFINITY, f64::max),
            d.x.iter().map(|r| r[1]).fold(f64::INFINITY, f64::min),
        )
    })
}

/// The output range of the layer's device output (1 for a layer built by hand).
fn output_range(layer: &DeviceLayer) -> f64 {
    layer
        .meta
        .as_ref()
        .and_then(|m| m.y_range.get(layer.output))
        .map(|r| r[1] - r[0])
        .filter(|r| *r > 0.0 && r.is_finite())
        .unwrap_or(1.0)
}

/// Measures how much of `layer` (with parameters `a`, host `[devices, n_a]`) responds to the
/// `n` upstream rows.
fn liveness(layer: &DeviceLayer, upstream: &Tensor<2>, a: &[f64], dirs: &[Vec<f64>], range: f64, n: usize) -> Liveness {
    let m = layer.devices();
    let n_a = layer.a_lo.len();
    let x = layer.device_inputs(upstream.clone());
    let (dtype, device) = (x.dtype(), x.device());
    let respond = |a: &[f64]| -> Vec<f64> {
        let y = layer.surrogate.forward_devices(x.clone(), matrix(a, n_a, dtype, &device));
        to_vec(y.slice([0..n, 0..m, layer.output..layer.output + 1]).reshape([n * m]))
    };
    let y0 = respond(a);
    let mut slope = vec![0.0f64; n * m];
    for d in dirs {
        let plus: Vec<f64> = a.iter().zip(d).map(|(v, d)| v + STEP * d).collect();
        let minus: Vec<f64> = a.iter().zip(d).map(|(v, d)| v - STEP * d).collect();
        let (yp, ym) = (respond(&plus), respond(&minus));
        for (s, (p, q)) in slope.iter_mut().zip(yp.iter().zip(&ym)) {
            *s = s.max((p - q).abs() / (2.0 * STEP));
        }
    }
    let responsive = slope.iter().filter(|s| **s > RESPONDS * range).count() as f64 / slope.len().max(1) as f64;
    let (dead_devices, spread) = spread_of(&y0, n, m, range);
    Liveness { responsive, dead_devices, spread }
}

/// Sets a layer's A to host values (keeping whether it is tracked).
fn set_a(layer: &mut DeviceLayer, a: &[f64]) {
    let values = a.to_vec();
    layer.a = layer.a.clone().map(|t| {
        let tracked = t.is_require_grad();
        Tensor::from_data(TensorData::new(values, t.dims()), (&t.device(), t.dtype())).set_require_grad(tracked)
    });
}
