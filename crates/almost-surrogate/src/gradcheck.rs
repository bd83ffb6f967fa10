//! The surrogate's gradients against the device's own finite differences, on held-out points.
//!
//! A network of devices is trained through the surrogate's dy/dx and dy/dA, so a surrogate
//! whose values are right but whose slopes are wrong would mislead training: this measures it.

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
    pub fd_step: f64,
    /// Median of |dy/dx_sur - dy/dx_dev| / |dy/dx_dev| (vector norms).
    pub median_rel_error_dx: f64,
    /// 90th percentile of the same.
    pub p90_rel_error_dx: f64,
    /// Median of |dy/dA_sur - dy/dA_dev| / |dy/dA_dev|.
    pub median_rel_error_da: f64,
    /// 90th percentile of the same.
    pub p90_rel_error_da: f64,
    /// Median cosine between the full gradients [dy/dx, dy/dA].
    pub median_cosine: f64,
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
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
    let scale = {
        let mut norms: Vec<f64> = dev
            .iter()
            .flatten()
            .flat_map(|j| j.dy_dx.iter().zip(&j.dy_da).map(|(gx, ga)| norm(gx).hypot(norm(ga))))
            .collect();
        quantile(&mut norms, 0.5).max(f64::MIN_POSITIVE)
    };
    let (mut ex, mut ea, mut cos) = (Vec::new(), Vec::new(), Vec::new());
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
            let dot: f64 = sx.iter().zip(dx).chain(sa.iter().zip(da)).map(|(p, q)| p * q).sum();
            cos.push(dot / (norm(gs) * norm(dx).hypot(norm(da))).max(f64::MIN_POSITIVE));
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
    }
}
