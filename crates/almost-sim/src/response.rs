//! See a device before building a network of it: its response along each input and each
//! parameter through the centre of the box, and along the box's diagonal (every input and
//! parameter moved together from the low corner to the high one), with the flat stretches
//! marked, so that a threshold, a saturation or steps show before any training.

use std::fmt::Write;
use std::path::Path;

use plotters::prelude::*;
use rayon::prelude::*;

use crate::domain::DomainBox;
use crate::error::{Result, SimError};
use crate::fsutil::write_atomic;
use crate::model::{DeviceModel, respond_guarded};

/// One curve: its name and the output at each point of the sweep (`None` where a solve failed).
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// The swept coordinate ("x0", "a3", or "diagonal").
    pub name: String,
    /// Output at each of the sweep's points, from the low end to the high end.
    pub y: Vec<Option<f64>>,
}

/// The device's response curves.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// Position along every sweep, 0 (low end) to 1 (high end).
    pub t: Vec<f64>,
    /// Along each input, the rest at the box's centre.
    pub inputs: Vec<Curve>,
    /// Along each parameter, the rest at the box's centre.
    pub params: Vec<Curve>,
    /// Along the diagonal from the low corner to the high corner.
    pub diagonal: Curve,
    /// Smallest and largest output seen.
    pub y_range: [f64; 2],
}

impl Response {
    /// Whether the step from point k to k + 1 of `curve` is flat: a change below 1e-3 of the
    /// output range seen over every curve.
    pub fn flat_steps(&self, curve: &Curve) -> Vec<bool> {
        let tol = 1e-3 * (self.y_range[1] - self.y_range[0]).max(f64::MIN_POSITIVE);
        curve.y.windows(2).map(|w| matches!((w[0], w[1]), (Some(p), Some(q)) if (q - p).abs() < tol)).collect()
    }

    /// The share of flat steps over every curve, and of the diagonal.
    pub fn flat_shares(&self) -> (f64, f64) {
        let all: Vec<bool> =
            self.inputs.iter().chain(&self.params).chain([&self.diagonal]).flat_map(|c| self.flat_steps(c)).collect();
        let diag = self.flat_steps(&self.diagonal);
        let share = |v: &[bool]| v.iter().filter(|f| **f).count() as f64 / v.len().max(1) as f64;
        (share(&all), share(&diag))
    }

    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let (_, diag) = self.flat_shares();
        let singles: Vec<&Curve> = self.inputs.iter().chain(&self.params).collect();
        let dead = singles.iter().filter(|c| self.flat_steps(c).iter().all(|f| *f)).count();
        let failed: usize =
            singles.iter().chain([&&self.diagonal]).map(|c| c.y.iter().filter(|v| v.is_none()).count()).sum();
        let mut s = format!(
            "output from {:.4e} to {:.4e}; flat (change < 1e-3 of that range per step) on {:.0}% of the diagonal; \
             {dead} of {} single-coordinate sweeps through the centre flat throughout (a device that multiplies \
             inputs by parameters does not respond there when the centre's A is 0)",
            self.y_range[0],
            self.y_range[1],
            100.0 * diag,
            singles.len()
        );
        if failed > 0 {
            let _ = write!(s, "; {failed} solves failed");
        }
        if diag >= 0.25 {
            s.push_str(
                "\nWARNING: the device is flat over a large part of its box's diagonal: a network of it learns only \
                 where its devices respond (a threshold? see the plot)",
            );
        }
        s
    }
}

/// Sweeps `device` over `domain` with `points` points per sweep, recording output `output`.
pub fn response(device: &dyn DeviceModel, domain: &DomainBox, points: usize, output: usize) -> Response {
    let points = points.max(2);
    let t: Vec<f64> = (0..points).map(|k| k as f64 / (points - 1) as f64).collect();
    let mid = |r: &[f64; 2]| 0.5 * (r[0] + r[1]);
    let centre_x: Vec<f64> = domain.x.iter().map(mid).collect();
    let centre_a: Vec<f64> = domain.a.iter().map(mid).collect();
    let at = |x: &[f64], a: &[f64]| respond_guarded(device, x, a).ok().and_then(|y| y.get(output).copied());
    let sweep = |vary_x: Option<usize>, vary_a: Option<usize>| -> Vec<Option<f64>> {
        t.par_iter()
            .map(|&s| {
                let (mut x, mut a) = (centre_x.clone(), centre_a.clone());
                if let Some(i) = vary_x {
                    x[i] = domain.x[i][0] + s * (domain.x[i][1] - domain.x[i][0]);
                }
                if let Some(j) = vary_a {
                    a[j] = domain.a[j][0] + s * (domain.a[j][1] - domain.a[j][0]);
                }
                at(&x, &a)
            })
            .collect()
    };
    let names = device.spec();
    let inputs: Vec<Curve> =
        (0..domain.x.len()).map(|i| Curve { name: names.inputs[i].name.clone(), y: sweep(Some(i), None) }).collect();
    let params: Vec<Curve> =
        (0..domain.a.len()).map(|j| Curve { name: names.params[j].name.clone(), y: sweep(None, Some(j)) }).collect();
    let along = |r: &[f64; 2], s: f64| r[0] + s * (r[1] - r[0]);
    let diagonal = Curve {
        name: "diagonal".into(),
        y: t.par_iter()
            .map(|&s| {
                let x: Vec<f64> = domain.x.iter().map(|r| along(r, s)).collect();
                let a: Vec<f64> = domain.a.iter().map(|r| along(r, s)).collect();
                at(&x, &a)
            })
            .collect(),
    };
    let ys = inputs.iter().chain(&params).chain([&diagonal]).flat_map(|c| c.y.iter().flatten().copied());
    let y_range = ys.fold([f64::INFINITY, f64::NEG_INFINITY], |r, v| [r[0].min(v), r[1].max(v)]);
    Response { t, inputs, params, diagonal, y_range }
}

/// Draws the three panels (inputs, parameters, diagonal) into an SVG file, flat steps marked
/// by a grey band at the bottom of each panel.
pub fn plot(path: &Path, title: &str, r: &Response) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| SimError::bad_file(path, format!("cannot draw: {e}"));
    let (lo, hi) = (r.y_range[0], r.y_range[1]);
    let pad = 0.05 * (hi - lo).max(1e-12);
    let (y0, y1) = if lo.is_finite() && hi.is_finite() { (lo - pad, hi + pad) } else { (-1.0, 1.0) };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1500, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let panels = root.split_evenly((1, 3));
        let groups: [(&str, Vec<&Curve>); 3] = [
            ("along each input (rest at the centre)", r.inputs.iter().collect()),
            ("along each parameter (rest at the centre)", r.params.iter().collect()),
            ("along the diagonal (low corner -> high corner)", vec![&r.diagonal]),
        ];
        for (panel, (caption, curves)) in panels.iter().zip(groups) {
            let mut c = ChartBuilder::on(panel)
                .caption(format!("{title}: {caption}"), ("sans-serif", 14))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..1.0, y0..y1)
                .map_err(|e| err(&e))?;
            c.configure_mesh()
                .x_desc("position in the box (0 = low, 1 = high)")
                .y_desc("y")
                .draw()
                .map_err(|e| err(&e))?;
            for (k, curve) in curves.iter().enumerate() {
                let color = Palette99::pick(k).to_rgba();
                let pts: Vec<(f64, f64)> = r.t.iter().zip(&curve.y).filter_map(|(t, y)| y.map(|y| (*t, y))).collect();
                c.draw_series(LineSeries::new(pts, color.stroke_width(2))).map_err(|e| err(&e))?;
                // flat steps: a grey band at the bottom
                let band = r.t.windows(2).zip(r.flat_steps(curve)).filter(|(_, f)| *f).map(|(w, _)| {
                    Rectangle::new([(w[0], y0), (w[1], y0 + 0.02 * (y1 - y0))], RGBColor(150, 150, 150).filled())
                });
                c.draw_series(band).map_err(|e| err(&e))?;
            }
        }
        root.present().map_err(|e| err(&e))?;
    }
    write_atomic(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::DeviceConfig;
    use crate::solver::SolverOverrides;

    #[test]
    fn a_thresholded_device_shows_its_flat_region_and_a_closed_form_does_not() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulations/devices/threshold-node.toml");
        let cfg = DeviceConfig::Diffsl(crate::devices::DiffSlRef { file: path, constants: Default::default() });
        let device = cfg.build(&SolverOverrides::default()).unwrap();
        let domain = DomainBox::of_spec(device.spec());
        let r = response(device.as_ref(), &domain, 41, 0);
        // along the diagonal the drive sum a_i x_i = 4 (2s - 1) s passes the threshold late:
        // flat first, then rising
        let flat = r.flat_steps(&r.diagonal);
        assert!(flat[0] && !flat[flat.len() - 1], "{flat:?}");
        assert!(r.flat_shares().0 > 0.25 && r.summary().contains("WARNING"), "{}", r.summary());
        let tmp = tempfile::tempdir().unwrap();
        plot(&tmp.path().join("r.svg"), "threshold-node", &r).unwrap();
        assert!(std::fs::read_to_string(tmp.path().join("r.svg")).unwrap().contains("<svg"));

        let analytic = DeviceConfig::builtin("analytic", 3).unwrap().build(&SolverOverrides::default()).unwrap();
        let r = response(analytic.as_ref(), &DomainBox::of_spec(analytic.spec()), 41, 0);
        assert!(r.flat_shares().1 < 0.2 && !r.summary().contains("WARNING"), "{}", r.summary());
    }
}
