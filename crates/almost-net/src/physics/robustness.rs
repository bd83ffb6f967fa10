//! Accuracy of a trained network on imperfect hardware: sweeps of device-to-device
//! variability, conductance mismatch, read noise and the bits of A, one factor at a time,
//! as a table and an SVG.

use std::path::Path;

use almost_sim::fsutil::write_atomic;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::images::ImageSet;
use crate::error::{NetError, Result};
use crate::network::chain::DeviceNetwork;
use crate::network::hardware_config::HardwareConfig;
use crate::physics::evaluate::evaluate;
use crate::physics::select::hardware_for;

/// One point of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustnessPoint {
    /// `variability`, `mismatch`, `read-noise` or `bits`.
    pub factor: String,
    /// Its value (bits: 0 = unquantised).
    pub value: f64,
    /// Test accuracy on that hardware.
    pub accuracy_physics: f64,
}

/// The values to sweep.
#[derive(Clone, Debug, Default)]
pub struct Sweep {
    /// Relative sigmas of the device constants.
    pub variability: Vec<f64>,
    /// Relative sigmas of the realised parameters (conductance mismatch).
    pub mismatch: Vec<f64>,
    /// Read-noise standard deviations.
    pub read_noise: Vec<f64>,
    /// Bits of A.
    pub bits: Vec<u32>,
}

/// Evaluates `network` on `samples` test images for every value of `sweep`, each factor on
/// its own with the others at the values of `base`.
pub fn sweep(
    network: &DeviceNetwork,
    test: &ImageSet,
    samples: usize,
    base: &HardwareConfig,
    sweep: &Sweep,
) -> Result<Vec<RobustnessPoint>> {
    let mut configs: Vec<(String, f64, HardwareConfig)> = Vec::new();
    for &v in &sweep.variability {
        configs.push(("variability".into(), v, HardwareConfig { variability: v, ..base.clone() }));
    }
    for &v in &sweep.mismatch {
        configs.push(("mismatch".into(), v, HardwareConfig { mismatch: v, ..base.clone() }));
    }
    for &v in &sweep.read_noise {
        configs.push(("read-noise".into(), v, HardwareConfig { read_noise: v, ..base.clone() }));
    }
    for &b in &sweep.bits {
        configs.push(("bits".into(), f64::from(b), HardwareConfig { bits: b, ..base.clone() }));
    }
    let mut out = Vec::new();
    for (factor, value, cfg) in configs {
        let hw = hardware_for(network, &cfg)?;
        let report = evaluate(network, hw.as_ref(), test, samples, cfg.bits, false);
        eprintln!("  {factor} = {value}: accuracy on physics {:.2}%", 100.0 * report.accuracy_physics);
        out.push(RobustnessPoint { factor, value, accuracy_physics: report.accuracy_physics });
    }
    Ok(out)
}

/// The sweep as a text table.
pub fn table(points: &[RobustnessPoint]) -> String {
    let mut s = format!("{:<12} {:>10} {:>18}\n", "factor", "value", "accuracy (physics)");
    for p in points {
        let value = if p.factor == "bits" && p.value == 0.0 { "exact".to_string() } else { format!("{}", p.value) };
        s.push_str(&format!("{:<12} {:>10} {:>17.2}%\n", p.factor, value, 100.0 * p.accuracy_physics));
    }
    s
}

/// The sweep as an SVG: one panel per factor.
pub fn plot(path: &Path, title: &str, points: &[RobustnessPoint]) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| NetError::BadRun { path: path.into(), message: format!("cannot draw: {e}") };
    let factors = ["variability", "mismatch", "read-noise", "bits"];
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1600, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let panels = root.split_evenly((1, 4));
        for (panel, factor) in panels.iter().zip(factors) {
            let pts: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.factor == factor)
                .map(|p| (if factor == "bits" && p.value == 0.0 { 24.0 } else { p.value }, p.accuracy_physics))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let lo = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
            let hi = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max).max(lo + 1e-9);
            let pad = 0.05 * (hi - lo);
            let mut c = ChartBuilder::on(panel)
                .caption(format!("{title}: {factor}"), ("sans-serif", 16))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(lo - pad..hi + pad, 0.0..1.0)
                .map_err(|e| err(&e))?;
            let desc = match factor {
                "variability" => "relative sigma of c, g_max, i_s",
                "mismatch" => "relative sigma of each realised A",
                "read-noise" => "output noise sigma",
                _ => "bits of A (24 = unquantised)",
            };
            c.configure_mesh().x_desc(desc).y_desc("test accuracy on physics").draw().map_err(|e| err(&e))?;
            c.draw_series(LineSeries::new(pts.clone(), BLUE.stroke_width(2))).map_err(|e| err(&e))?;
            c.draw_series(pts.iter().map(|&p| Circle::new(p, 4, BLUE.filled()))).map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(write_atomic(path, svg.as_bytes())?)
}
