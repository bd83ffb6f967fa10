//! The record of each layer's start (`start.json` in a run folder) and how a loaded run
//! gets its maps back.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};
use crate::network::chain::DeviceNetwork;

/// The file in a run folder that records each layer's start.
pub const START_FILE: &str = "start.json";

/// How much of a layer responds to real inputs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Liveness {
    /// Share of device evaluations (images x devices) whose output moves with A.
    pub responsive: f64,
    /// Share of devices whose output does not move over the images (below 1e-3 of the range).
    pub dead_devices: f64,
    /// Mean over devices of the standard deviation of their output, relative to the range.
    pub spread: f64,
    /// Mean over evaluations of how far the output moves when every A moves by half its
    /// range (random signs, linearised), relative to the range: what training can move a
    /// device by. Absent in records written before it was measured.
    #[serde(default)]
    pub swing: f64,
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
    /// The readout gain measured at the start ([`crate::network::config::AutoGain::Start`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readout: Option<ReadoutStart>,
}

/// The readout gain set from the class scores at the start.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadoutStart {
    /// The gain chosen.
    pub scale: f64,
    /// The gain of the range rule it replaced.
    pub range_scale: f64,
    /// The class scores' spread at gain 1 (standard deviation across classes, mean over images).
    pub spread: f64,
}

impl StartReport {
    /// One line per layer (and one for a measured readout gain) for a person.
    pub fn lines(&self) -> Vec<String> {
        let readout = self.readout.iter().map(|r| {
            format!(
                "start, readout: gain {:.4} (the range rule's {:.4} x {:.2}): an image's class scores spread by {:.1} \
                 across classes",
                r.scale,
                r.range_scale,
                r.scale / r.range_scale,
                crate::network::config::START_LOGIT_SPREAD
            )
        });
        let layers = self.layers
            .iter()
            .enumerate()
            .map(|(l, s)| {
                let live = |v: &Liveness| {
                    format!(
                        "{:.0}% of evaluations respond, {:.0}% dead devices, spread {:.1}% of range, swing {:.1}%",
                        100.0 * v.responsive,
                        100.0 * v.dead_devices,
                        100.0 * v.spread,
                        100.0 * v.swing
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
            .collect::<Vec<_>>();
        layers.into_iter().chain(readout).collect()
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
        if let (Some(measured), crate::network::chain::Head::Classes(r)) = (&self.readout, &mut network.head) {
            r.scale = measured.scale;
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
