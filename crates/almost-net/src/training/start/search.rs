//! The search for a start where a layer is alive: measure, try starts from the plainest
//! outward, keep the first alive one.

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use almost_surrogate::tensor_io::{matrix, to_vec};

use crate::check::health::spread_of;
use crate::data::batch;
use crate::data::images::ImageSet;
use crate::error::Result;
use crate::network::chain::{DeviceNetwork, Head, Readout};
use crate::network::config::START_LOGIT_SPREAD;
use crate::network::layer::DeviceLayer;
use crate::training::start::report::{LayerStart, Liveness, ReadoutStart, StartReport};

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

/// One start to try for a layer.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    upstream: [f64; 2],
    target: [f64; 2],
    centre: f64,
}

/// Measures every layer of `network` on the first `count` images of `images` and moves
/// each layer that starts (mostly) dead to the start where most of it responds. `seed` draws
/// the directions of the difference quotients. With `measure_gain` ([`AutoGain::Start`]),
/// the readout's gain is then set from the class scores of the started network.
pub fn start_alive(
    mut network: DeviceNetwork,
    images: &ImageSet,
    count: usize,
    seed: u64,
    measure_gain: bool,
) -> Result<(DeviceNetwork, StartReport)> {
    let n = count.min(images.len()).max(1);
    let probe = network.valid();
    let first = probe.layers.first().map(|l| l.a.val());
    let (device, dtype) =
        first.map_or_else(|| (burn::tensor::Device::flex(), burn::tensor::DType::F32), |a| (a.device(), a.dtype()));
    let idx: Vec<usize> = (0..n).collect();
    let mut upstream = batch::images(images, &idx, None, dtype, &device);
    let mut upstream_range = [0.0, 1.0];
    let mut report = StartReport { images: n, candidates: 0, layers: Vec::new(), readout: None };
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
    if measure_gain && let Head::Classes(r) = &mut network.head {
        let spread = class_spread(r, upstream, n);
        if spread.is_finite() && spread > 0.0 {
            report.readout = Some(ReadoutStart { scale: START_LOGIT_SPREAD / spread, range_scale: r.scale, spread });
            r.scale = START_LOGIT_SPREAD / spread;
        }
    }
    Ok((network, report))
}

/// The spread of an image's class sums (the logits at gain 1): standard deviation across
/// classes, mean over the `n` images.
fn class_spread(r: &Readout, last: Tensor<2>, n: usize) -> f64 {
    let unit = Readout { scale: 1.0, ..r.clone() };
    let sums = to_vec(unit.logits(last));
    let c = r.classes.max(1);
    let per_image = |row: &[f64]| {
        let mean = row.iter().sum::<f64>() / c as f64;
        (row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / c as f64).sqrt()
    };
    sums.chunks(c).take(n).map(per_image).sum::<f64>() / n.max(1) as f64
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
/// twice the 99th percentile of the values seen, and their 1st to 99th percentile widened by
/// half their spread on each side, when the layer above uses little of its range) x slices of
/// the input box x centres of A.
fn candidates(l: usize, range: [f64; 2], observed: [f64; 2], x_lo: f64, x_hi: f64) -> Vec<Candidate> {
    let mut spans = vec![range];
    let width = range[1] - range[0];
    let seen = range[0] + 2.0 * (observed[1] - range[0]);
    if l > 0 && seen.is_finite() && seen > range[0] && seen < range[0] + 0.75 * width {
        spans.push([range[0], seen]);
    }
    // the values seen, 1st to 99th percentile, stretched over the box (LSUV's scale and shift),
    // with half their spread again on each side (within the range) as room to grow: mapped
    // edge to edge, training carries a layer's outputs past them and its devices out of the
    // box, where the surrogate extrapolates (the Duffing resonator's digit network lost 5.6
    // points on the physics that way)
    let spread = observed[1] - observed[0];
    if l > 0 && spread > 1e-6 * width && spread < 0.5 * width {
        spans.push([(observed[0] - 0.5 * spread).max(range[0]), (observed[1] + 0.5 * spread).min(range[1])]);
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
    layer.domain().map_or((0.0, 1.0), almost_sim::DomainBox::common_x)
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
    let swing = slope.iter().sum::<f64>() / slope.len().max(1) as f64 / range;
    Liveness { responsive, dead_devices, spread, swing }
}

/// Sets a layer's A to host values (keeping whether it is tracked).
fn set_a(layer: &mut DeviceLayer, a: &[f64]) {
    let values = a.to_vec();
    layer.a = layer.a.clone().map(|t| {
        let tracked = t.is_require_grad();
        Tensor::from_data(TensorData::new(values, t.dims()), (&t.device(), t.dtype())).set_require_grad(tracked)
    });
}
