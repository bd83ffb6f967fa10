//! The [`DeviceModel`] trait: what every device, built in or brought by a researcher, answers.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{Result, SimError};
use crate::floor::Floor;
use crate::solver::SolverSettings;
use crate::spec::DeviceSpec;

/// A physical device: y = f(x, A).
///
/// Implementations must be deterministic (same x, A give the same y bit for bit) so that
/// datasets are reproducible and resumable.
///
/// # Example
/// ```
/// use almost_sim::{DeviceModel, DeviceSpec, Quantity, Result};
///
/// /// y = tanh(A0 x0 + A1 x1), computed in closed form.
/// struct Tanh2(DeviceSpec);
/// impl DeviceModel for Tanh2 {
///     fn spec(&self) -> &DeviceSpec { &self.0 }
///     fn respond(&self, x: &[f64], a: &[f64]) -> Result<Vec<f64>> {
///         self.0.check_dims(x, a)?;
///         Ok(vec![(a[0] * x[0] + a[1] * x[1]).tanh()])
///     }
/// }
/// let spec = DeviceSpec {
///     kind: "tanh2".into(), summary: "two-input tanh".into(),
///     inputs: Quantity::family("x", "1", -1.0, 1.0, 2),
///     params: Quantity::family("A", "1", -1.0, 1.0, 2),
///     outputs: vec![Quantity::new("y", "1", -1.0, 1.0)],
///     constants: Default::default(), source: String::new(),
/// };
/// let d = Tanh2(spec);
/// assert_eq!(d.respond(&[1.0, 0.0], &[0.5, 0.3]).unwrap(), vec![0.5f64.tanh()]);
/// assert!(d.respond(&[1.0], &[0.5, 0.3]).is_err());
/// ```
pub trait DeviceModel: Send + Sync {
    /// Inputs, parameters, outputs and constants of this device.
    fn spec(&self) -> &DeviceSpec;

    /// The device's response to inputs `x` with parameters `a`.
    fn respond(&self, x: &[f64], a: &[f64]) -> Result<Vec<f64>>;

    /// The response without the generator's guards (per-step finiteness checks): the bare
    /// solve a benchmark compares the generator with. Defaults to [`DeviceModel::respond`].
    fn respond_bare(&self, x: &[f64], a: &[f64]) -> Result<Vec<f64>> {
        self.respond(x, a)
    }

    /// The responses at many points `(x, A)`, in order. Defaults to [`DeviceModel::respond`]
    /// at each point; an ODE device solves them together as the lanes of one batched solve
    /// (see [`crate::ode::solve_lanes`]) and falls back to one solve per point where the
    /// batch fails, so that every failure is the point's own.
    fn respond_batch(&self, points: &[(&[f64], &[f64])]) -> Vec<Result<Vec<f64>>> {
        points.iter().map(|(x, a)| self.respond(x, a)).collect()
    }

    /// The solver settings used, for ODE devices (recorded in dataset manifests).
    fn solver(&self) -> Option<&SolverSettings> {
        None
    }

    /// Whether [`DeviceModel::sensitivities`] answers (closed form or ODE forward sensitivities).
    fn provides_sensitivities(&self) -> bool {
        false
    }

    /// Outputs and their exact derivatives dy/dx, dy/dA (closed form, or forward
    /// sensitivities of the ODE), or `None` if the device does not provide them.
    fn sensitivities(&self, _x: &[f64], _a: &[f64]) -> Option<Result<Jacobian>> {
        None
    }

    /// This device's solve against its floor at the points `p = [x, A]` (one thread,
    /// medians of `repeats`; see [`crate::floor`]): what its equations alone cost there,
    /// next to what a solve, alone and in lanes, costs. `None` where the evaluations of a
    /// solve cannot be counted and priced (a closed-form device, an implicit DiffSL method,
    /// a device that does not say).
    fn solve_floor(&self, _points: &[Vec<f64>], _repeats: usize) -> Option<Result<Floor>> {
        None
    }

    /// This device's forward-sensitivity solves (what the exact training mode asks of it)
    /// against their floor at the points `p = [x, A]`, as [`DeviceModel::solve_floor`]; an
    /// evaluation there is the whole right-hand side of the states and every sensitivity.
    /// `None` where they cannot be counted (no sensitivities, an implicit method, a device
    /// that does not say).
    fn sens_floor(&self, _points: &[Vec<f64>], _repeats: usize) -> Option<Result<Floor>> {
        None
    }

    /// [`DeviceModel::sensitivities`] at many points `(x, A)`, in order. Defaults to one
    /// call per point; an ODE device with Tsitouras 5(4) solves them as the lanes of
    /// batched forward-sensitivity solves (see [`crate::sens::jacobians`]).
    fn sensitivities_batch(&self, points: &[(&[f64], &[f64])]) -> Vec<Option<Result<Jacobian>>> {
        points.iter().map(|(x, a)| self.sensitivities(x, a)).collect()
    }
}

/// Calls [`DeviceModel::respond`] the way the generator does: dimension-checked, with panics
/// caught and non-finite outputs turned into [`SimError::NonFinite`].
pub fn respond_guarded(model: &dyn DeviceModel, x: &[f64], a: &[f64]) -> Result<Vec<f64>> {
    model.spec().check_dims(x, a)?;
    let y = catch_unwind(AssertUnwindSafe(|| model.respond(x, a))).map_err(panic_error)??;
    checked(model, y)
}

/// [`DeviceModel::respond_batch`] with the guards of [`respond_guarded`] on every point. A
/// batch that panics, returns the wrong number of results or holds a point of the wrong
/// dimensions is answered point by point instead.
pub fn respond_batch_guarded(model: &dyn DeviceModel, points: &[(&[f64], &[f64])]) -> Vec<Result<Vec<f64>>> {
    let one_by_one = || points.iter().map(|(x, a)| respond_guarded(model, x, a)).collect();
    if points.len() < 2 || points.iter().any(|(x, a)| model.spec().check_dims(x, a).is_err()) {
        return one_by_one();
    }
    match catch_unwind(AssertUnwindSafe(|| model.respond_batch(points))) {
        Ok(ys) if ys.len() == points.len() => ys.into_iter().map(|y| y.and_then(|y| checked(model, y))).collect(),
        _ => one_by_one(),
    }
}

/// A panic's message as a [`SimError::Panic`].
fn panic_error(payload: Box<dyn std::any::Any + Send>) -> SimError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into());
    SimError::Panic { message }
}

/// `y` if it has the declared number of outputs, all finite.
fn checked(model: &dyn DeviceModel, y: Vec<f64>) -> Result<Vec<f64>> {
    if y.len() != model.spec().n_outputs() {
        return Err(SimError::OutputCount {
            device: model.spec().kind.clone(),
            returned: y.len(),
            declared: model.spec().n_outputs(),
        });
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(SimError::NonFinite { what: format!("output {i}"), time: f64::NAN });
    }
    Ok(y)
}

/// Derivatives of the outputs at one point: `dy_dx[k][i] = dy_k/dx_i`, `dy_da[k][j] = dy_k/dA_j`.
#[derive(Clone, Debug, PartialEq)]
pub struct Jacobian {
    /// The outputs at the point.
    pub y: Vec<f64>,
    /// Rows: outputs; columns: inputs.
    pub dy_dx: Vec<Vec<f64>>,
    /// Rows: outputs; columns: parameters.
    pub dy_da: Vec<Vec<f64>>,
}

/// Central finite-difference Jacobian of a device at (x, A).
///
/// The step for each coordinate is `rel_step` times the width of its interval in the spec;
/// near the box edge the difference stays two-sided (devices accept points slightly outside).
pub fn finite_difference_jacobian(model: &dyn DeviceModel, x: &[f64], a: &[f64], rel_step: f64) -> Result<Jacobian> {
    let spec = model.spec();
    let y = respond_guarded(model, x, a)?;
    let ny = y.len();
    let mut dy_dx = vec![vec![0.0; x.len()]; ny];
    let mut dy_da = vec![vec![0.0; a.len()]; ny];
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        let h = rel_step * spec.inputs[i].width();
        xp[i] = x[i] + h;
        let up = respond_guarded(model, &xp, a)?;
        xp[i] = x[i] - h;
        let dn = respond_guarded(model, &xp, a)?;
        xp[i] = x[i];
        for k in 0..ny {
            dy_dx[k][i] = (up[k] - dn[k]) / (2.0 * h);
        }
    }
    let mut ap = a.to_vec();
    for j in 0..a.len() {
        let h = rel_step * spec.params[j].width();
        ap[j] = a[j] + h;
        let up = respond_guarded(model, x, &ap)?;
        ap[j] = a[j] - h;
        let dn = respond_guarded(model, x, &ap)?;
        ap[j] = a[j];
        for k in 0..ny {
            dy_da[k][j] = (up[k] - dn[k]) / (2.0 * h);
        }
    }
    Ok(Jacobian { y, dy_dx, dy_da })
}
