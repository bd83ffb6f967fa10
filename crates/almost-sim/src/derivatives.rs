//! Derivatives of any device: its own (closed form, or ODE forward sensitivities) where it
//! provides them, else central finite differences of its solve with a step chosen from the
//! solver's tolerance. The exact training mode runs on every device through this.

use crate::error::Result;
use crate::model::{DeviceModel, Jacobian, finite_difference_jacobian};

/// Where a device's derivatives come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DerivativeSource {
    /// Closed form or forward sensitivities of the ODE.
    Analytic,
    /// Central differences of the solve, with this step relative to each coordinate's range.
    FiniteDifference {
        /// Step as a fraction of each coordinate's interval width.
        rel_step: f64,
    },
}

impl std::fmt::Display for DerivativeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Analytic => f.write_str("the device's own derivatives (closed form or ODE forward sensitivities)"),
            Self::FiniteDifference { rel_step } => write!(
                f,
                "central finite differences of the ODE solve, Richardson-extrapolated (the device has no analytic sensitivities; steps {rel_step:.1e} and half of it, of each range)"
            ),
        }
    }
}

/// The central-difference step for `model`, relative to each coordinate's range: the cube
/// root of the solver's relative tolerance (which balances truncation against the solve's
/// own error), or of double precision for a closed form.
pub fn fd_step(model: &dyn DeviceModel) -> f64 {
    model.solver().map_or(f64::EPSILON, |s| s.rtol).max(f64::EPSILON).cbrt()
}

/// Where `model`'s derivatives come from.
pub fn derivative_source(model: &dyn DeviceModel) -> DerivativeSource {
    if model.provides_sensitivities() {
        DerivativeSource::Analytic
    } else {
        DerivativeSource::FiniteDifference { rel_step: fd_step(model) }
    }
}

/// dy/dx and dy/dA of `model` at (x, A), from the device itself where it can, else by
/// [`finite_difference_derivatives`].
pub fn derivatives(model: &dyn DeviceModel, x: &[f64], a: &[f64]) -> Result<Jacobian> {
    match model.sensitivities(x, a) {
        Some(j) => j,
        None => finite_difference_derivatives(model, x, a),
    }
}

/// [`derivatives`] at many points `(x, A)`, in order: an ODE device with forward
/// sensitivities solves them as lanes of batches ([`DeviceModel::sensitivities_batch`]).
pub fn derivatives_batch(model: &dyn DeviceModel, points: &[(&[f64], &[f64])]) -> Vec<Result<Jacobian>> {
    if !model.provides_sensitivities() {
        return points.iter().map(|(x, a)| finite_difference_derivatives(model, x, a)).collect();
    }
    model
        .sensitivities_batch(points)
        .into_iter()
        .zip(points)
        .map(|(j, (x, a))| j.unwrap_or_else(|| finite_difference_derivatives(model, x, a)))
        .collect()
}

/// Central finite differences of `model`'s solve at (x, A), Richardson-extrapolated from the
/// step of [`fd_step`] and half of it (`(4 D(h/2) - D(h)) / 3`: truncation error of order h^4
/// instead of h^2, for devices as curved as an oscillator's time average); 4 solves per
/// coordinate.
pub fn finite_difference_derivatives(model: &dyn DeviceModel, x: &[f64], a: &[f64]) -> Result<Jacobian> {
    let h = fd_step(model);
    let coarse = finite_difference_jacobian(model, x, a, h)?;
    let mut fine = finite_difference_jacobian(model, x, a, 0.5 * h)?;
    let extrapolate = |f: &mut Vec<Vec<f64>>, c: &[Vec<f64>]| {
        for (fr, cr) in f.iter_mut().zip(c) {
            for (fv, cv) in fr.iter_mut().zip(cr) {
                *fv = (4.0 * *fv - cv) / 3.0;
            }
        }
    };
    extrapolate(&mut fine.dy_dx, &coarse.dy_dx);
    extrapolate(&mut fine.dy_da, &coarse.dy_da);
    Ok(fine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::DeviceConfig;
    use crate::solver::SolverOverrides;

    #[test]
    fn finite_differences_from_the_tolerance_agree_with_forward_sensitivities() {
        for kind in ["diode-node", "fhn-neuron"] {
            let device = DeviceConfig::builtin(kind, 3).unwrap().build(&SolverOverrides::default()).unwrap();
            assert_eq!(derivative_source(device.as_ref()), DerivativeSource::Analytic);
            let (x, a) = ([0.4, -0.3, 0.8], [0.5, -0.7, 0.2]);
            let exact = device.sensitivities(&x, &a).unwrap().unwrap();
            let fd = finite_difference_derivatives(device.as_ref(), &x, &a).unwrap();
            let scale = exact.dy_dx[0].iter().chain(&exact.dy_da[0]).fold(0.0f64, |m, v| m.max(v.abs()));
            for (e, f) in exact.dy_dx[0].iter().chain(&exact.dy_da[0]).zip(fd.dy_dx[0].iter().chain(&fd.dy_da[0])) {
                assert!((e - f).abs() < 1e-3 * scale, "{kind}: sensitivity {e} vs finite difference {f}");
            }
        }
    }
}
