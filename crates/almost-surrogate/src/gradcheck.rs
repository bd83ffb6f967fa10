//! The surrogate's gradients against the device's own finite differences, on held-out points.
//!
//! A network of devices is trained through the surrogate's dy/dx and dy/dA, so a surrogate
//! whose values are right but whose slopes are wrong would mislead training: this measures it.
//!
//! Errors are divided by the device's gradient scale over the box (the RMS of its gradient
//! over the compared points), not point by point: a thresholded or staircase device is flat
//! over much of its box, and a relative error where the true gradient is zero is no number.
//! Points are split into flat (device gradient below 1e-3 of that scale) and responsive;
//! cosines are taken over the responsive points only, and a device flat over a large part of
//! its box is said plainly.

use almost_sim::{DeviceModel, finite_difference_jacobian};
use burn::tensor::{DType, Device};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::surrogate::Surrogate;
use crate::tensor_io::{matrix, to_vec};

/// Summary of the gradient comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradientCheck {
    /// Points compared (where the device's finite differences succeeded).
    pub points: usize,
    /// Points skipped because a device solve failed.
    pub failed_points: usize,
    /// Relative step of the central differences.
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub fd_step: f64,
    /// Median of |dy/dx_sur - dy/dx_dev| / |dy/dx_dev| (vector norms).
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub median_rel_error_dx: f64,
    /// 90th percentile of the same.
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub p90_rel_error_dx: f64,
    /// Median of |dy/dA_sur - dy/dA_dev| / |dy/dA_dev|.
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub median_rel_error_da: f64,
    /// 90th percentile of the same.
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub p90_rel_error_da: f64,
    /// Median cosine between the full gradients [dy/dx, dy/dA], over the responsive points.
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub median_cosine: f64,
    /// Share of the compared points where the device is flat (|gradient| below 1e-3 of its
    /// RMS over the points).
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub flat_share: f64,
    /// |dy/dx_sur - dy/dx_dev| / RMS |dy/dx_dev| over the box: median and 90th percentile
    /// over all points, median over responsive and over flat points.
    #[serde(default)]
    pub scaled_error_dx: ScaledError,
    /// The same for dy/dA.
    #[serde(default)]
    pub scaled_error_da: ScaledError,
}

/// Gradient errors divided by the device's gradient scale over the box, by region.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScaledError {
    /// Median over all points.
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub median: f64,
    /// 90th percentile over all points.
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub p90: f64,
    /// Median over the points where the device responds.
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub median_responsive: f64,
    /// Median over the points where the device is flat (NaN if there are none).
    #[serde(default = "nan", deserialize_with = "f64_or_nan")]
    pub median_flat: f64,
}

impl GradientCheck {
    /// Whether the device is flat over so much of its box (a quarter or more of the points)
    /// that the user should know before building a network of it.
    pub fn mostly_flat(&self) -> bool {
        self.flat_share >= 0.25
    }
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// JSON has no NaN: serde_json writes it as null; read null back as NaN.
fn f64_or_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Option::<f64>::deserialize(d).map(|v| v.unwrap_or(f64::NAN))
}

fn nan() -> f64 {
    f64::NAN
}

fn scaled_error(points: &[(f64, f64, bool)], pick: fn(&(f64, f64, bool)) -> f64) -> ScaledError {
    let select = |keep: &dyn Fn(&(f64, f64, bool)) -> bool| -> Vec<f64> {
        points.iter().filter(|p| keep(p)).map(pick).collect()
    };
    let mut all = select(&|_| true);
    ScaledError {
        median: quantile(&mut all.clone(), 0.5),
        p90: quantile(&mut all, 0.9),
        median_responsive: quantile(&mut select(&|p| !p.2), 0.5),
        median_flat: quantile(&mut select(&|p| p.2), 0.5),
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Surrogate Jacobians at `inputs` (row-major [x, A]) by reverse-mode autodiff:
/// result `[point][output] -> gradient over [x, A]`. `surrogate` must live on an autodiff device.
pub fn surrogate_jacobians(
    surrogate: &Surrogate,
    inputs: &[f64],
    d_in: usize,
    dtype: DType,
    device: &Device,
) -> Vec<Vec<Vec<f64>>> {
    let n = inputs.len() / d_in;
    let per_output: Vec<Vec<f64>> = (0..surrogate.n_y())
        .map(|k| {
            let input = matrix(inputs, d_in, dtype, device).require_grad();
            let y = surrogate.forward(input.clone());
            let grads = y.slice([0..n, k..k + 1]).sum().backward();
            input.grad(&grads).map(to_vec).unwrap_or_else(|| vec![0.0; n * d_in])
        })
        .collect();
    (0..n).map(|i| per_output.iter().map(|g| g[i * d_in..(i + 1) * d_in].to_vec()).collect()).collect()
}

/// Where to compare: the first `count` rows of row-major `[x, A]` inputs with `n_x` inputs.
pub struct GradientPoints<'a> {
    /// Row-major `[x, A]`.
    pub inputs: &'a [f64],
    /// Number of inputs x per row.
    pub n_x: usize,
    /// How many rows to use.
    pub count: usize,
}

/// Compares surrogate and device gradients at `at` with central differences of relative
/// step `fd_step`; `surrogate` must live on the autodiff `device`.
pub fn check_gradients(
    surrogate: &Surrogate,
    device_model: &dyn DeviceModel,
    at: &GradientPoints<'_>,
    fd_step: f64,
    dtype: DType,
    device: &Device,
) -> GradientCheck {
    let (inputs, n_x, points) = (at.inputs, at.n_x, at.count);
    let d_in = device_model.spec().n_inputs() + device_model.spec().n_params();
    let take = points.min(inputs.len() / d_in);
    let inputs = &inputs[..take * d_in];
    let sur = surrogate_jacobians(surrogate, inputs, d_in, dtype, device);
    let dev: Vec<_> = inputs
        .par_chunks_exact(d_in)
        .map(|row| finite_difference_jacobian(device_model, &row[..n_x], &row[n_x..], fd_step).ok())
        .collect();
    // the device's gradient scale over the box: RMS over the points (a median is zero for a
    // device flat over most of its box)
    let rms = |f: &dyn Fn(&almost_sim::Jacobian) -> Vec<f64>| {
        let v: Vec<f64> = dev.iter().flatten().flat_map(f).collect();
        (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt().max(f64::MIN_POSITIVE)
    };
    let scale = rms(&|j| j.dy_dx.iter().zip(&j.dy_da).map(|(gx, ga)| norm(gx).hypot(norm(ga))).collect());
    let scale_dx = rms(&|j| j.dy_dx.iter().map(|g| norm(g)).collect());
    let scale_da = rms(&|j| j.dy_da.iter().map(|g| norm(g)).collect());
    let (mut ex, mut ea, mut cos) = (Vec::new(), Vec::new(), Vec::new());
    // (scaled dx error, scaled dA error, flat?) per point and output
    let mut scaled: Vec<(f64, f64, bool)> = Vec::new();
    let mut failed = 0;
    for (s, d) in sur.iter().zip(&dev) {
        let Some(d) = d else {
            failed += 1;
            continue;
        };
        for (k, gs) in s.iter().enumerate() {
            let (sx, sa) = gs.split_at(n_x);
            let (dx, da) = (&d.dy_dx[k], &d.dy_da[k]);
            let diff = |a: &[f64], b: &[f64]| norm(&a.iter().zip(b).map(|(p, q)| p - q).collect::<Vec<_>>());
            // regularise by 1e-3 of the typical gradient so flat regions do not divide by zero
            ex.push(diff(sx, dx) / (norm(dx) + 1e-3 * scale));
            ea.push(diff(sa, da) / (norm(da) + 1e-3 * scale));
            let flat = norm(dx).hypot(norm(da)) < 1e-3 * scale;
            scaled.push((diff(sx, dx) / scale_dx, diff(sa, da) / scale_da, flat));
            if !flat {
                let dot: f64 = sx.iter().zip(dx).chain(sa.iter().zip(da)).map(|(p, q)| p * q).sum();
                cos.push(dot / (norm(gs) * norm(dx).hypot(norm(da))).max(f64::MIN_POSITIVE));
            }
        }
    }
    GradientCheck {
        points: take - failed,
        failed_points: failed,
        fd_step,
        median_rel_error_dx: quantile(&mut ex.clone(), 0.5),
        p90_rel_error_dx: quantile(&mut ex, 0.9),
        median_rel_error_da: quantile(&mut ea.clone(), 0.5),
        p90_rel_error_da: quantile(&mut ea, 0.9),
        median_cosine: quantile(&mut cos, 0.5),
        flat_share: scaled.iter().filter(|s| s.2).count() as f64 / scaled.len().max(1) as f64,
        scaled_error_dx: scaled_error(&scaled, |s| s.0),
        scaled_error_da: scaled_error(&scaled, |s| s.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::arch::Architecture;
    use crate::normalize::Normalization;
    use almost_sim::{DeviceSpec, Quantity};

    /// y = max(0, A x - 1/2): flat wherever A x < 1/2, most of the box [-1, 1]^2.
    struct Relu(DeviceSpec);
    impl DeviceModel for Relu {
        fn spec(&self) -> &DeviceSpec {
            &self.0
        }
        fn respond(&self, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>> {
            Ok(vec![(a[0] * x[0] - 0.5).max(0.0)])
        }
    }

    #[test]
    fn a_device_flat_over_most_of_its_box_gets_finite_figures_and_a_warning() {
        let spec = DeviceSpec {
            kind: "relu".into(),
            summary: "thresholded".into(),
            inputs: vec![Quantity::new("x", "1", -1.0, 1.0)],
            params: vec![Quantity::new("A", "1", -1.0, 1.0)],
            outputs: vec![Quantity::new("y", "1", 0.0, 0.5)],
            constants: Default::default(),
            source: String::new(),
        };
        let device = Relu(spec);
        let inputs: Vec<f64> =
            (0..64).flat_map(|i| [((i * 7) % 17) as f64 / 8.0 - 1.0, ((i * 5) % 13) as f64 / 6.0 - 1.0]).collect();
        let flat = inputs.chunks(2).filter(|p| p[0] * p[1] < 0.5 - 1e-3).count() as f64 / 64.0;
        let arch = Architecture::Mlp {
            hidden: vec![8],
            activation: Activation::Softsign,
            pair_products: true,
            square_products: false,
        };
        let norm = Normalization {
            in_shift: vec![0.0; 2],
            in_scale: vec![1.0; 2],
            out_shift: vec![0.0],
            out_scale: vec![1.0],
        };
        let ad = Device::flex().autodiff();
        let sur = Surrogate::new(&arch, &norm, 1, DType::F64, &ad);
        let at = GradientPoints { inputs: &inputs, n_x: 1, count: 64 };
        let g = check_gradients(&sur, &device, &at, 1e-4, DType::F64, &ad);
        assert!((g.flat_share - flat).abs() < 0.05, "flat share {} vs {flat}", g.flat_share);
        assert!(g.mostly_flat());
        for v in [g.scaled_error_dx.median, g.scaled_error_dx.p90, g.scaled_error_da.median, g.median_cosine] {
            assert!(v.is_finite(), "{g:?}");
        }
    }
}
