//! `diffsl`: a device whose equations are a DiffSL text file, JIT-compiled with Cranelift.
//!
//! A researcher adds a device without recompiling: a `.ds` file with the equations and a
//! TOML description that names its inputs, parameters, outputs and observation time:
//!
//! ```toml
//! summary = "Wilson-Cowan E/I pair"
//! model = "wilson-cowan.ds"      # relative to this TOML file
//! t_end = 20.0                    # y = out_i at t = t_end
//! inputs  = [ { name = "x0", unit = "1", lo = 0.0, hi = 1.0 } ]
//! params  = [ { name = "a0", unit = "1", lo = -1.0, hi = 1.0 } ]
//! outputs = [ { name = "E", unit = "1", lo = 0.0, hi = 1.0 } ]
//! vary = ["wee"]                  # constants device-to-device variability varies (default: all)
//! [constants]                     # optional: each defined in the model as `name { value }`
//! wee = 12.0                      # the value here is the one used (sweeps and variability change it)
//! [solver]                        # optional, defaults: tsit45, rtol 1e-7, atol 1e-9
//! method = "tsit45"
//! ```
//!
//! The model's `in_i { ... }` list must name the inputs, then the parameters, in that
//! order; this is checked when the device is loaded. See
//! <https://martinjrobins.github.io/diffsl/> for the language.

use std::any::Any;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use diffsol::{
    CraneliftJitModule, NalgebraMat, NalgebraVec, NonLinearOp, OdeBuilder, OdeEquations, OdeSolverProblem, Op, Vector,
};
use serde::{Deserialize, Serialize};

use super::diffsl_constants::{merge, set_constant};
use crate::error::{Result, SimError};
use crate::floor::Floor;
use crate::model::DeviceModel;
use crate::ode::march;
use crate::solver::{SolverMethod, SolverOverrides, SolverSettings};
use crate::spec::{DeviceSpec, Quantity};

type M = NalgebraMat<f64>;
pub(super) type Problem = OdeSolverProblem<diffsol::DiffSl<M, CraneliftJitModule>>;

/// The TOML that describes a DiffSL device.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffSlDescription {
    /// One line on the physics.
    pub summary: String,
    /// Path of the `.ds` file, relative to the TOML.
    pub model: PathBuf,
    /// Observation time: the outputs are `out_i` at this time.
    pub t_end: f64,
    /// Inputs x, in the order of the model's `in_i` list.
    pub inputs: Vec<Quantity>,
    /// Parameters A, following the inputs in `in_i`.
    pub params: Vec<Quantity>,
    /// Outputs, one per element of `out_i`.
    pub outputs: Vec<Quantity>,
    /// Solver defaults for this device.
    #[serde(default)]
    pub solver: SolverOverrides,
    /// Named constants of the model, each defined in the `.ds` as `name { value }`; the
    /// value here replaces the model's (see [`super::diffsl_constants`]).
    #[serde(default)]
    pub constants: BTreeMap<String, f64>,
    /// Constants that device-to-device variability varies by default (default: all of
    /// `constants`).
    #[serde(default)]
    pub vary: Option<Vec<String>>,
}

impl DiffSlDescription {
    /// Reads and parses a description TOML.
    pub fn read(path: &Path) -> Result<Self> {
        crate::fsutil::read_toml(path)
    }

    /// The constants variability varies by default.
    pub fn varied(&self) -> Vec<String> {
        self.vary.clone().unwrap_or_else(|| self.constants.keys().cloned().collect())
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Compiled models, one per device instance and thread (the JIT module is not `Sync`).
    static COMPILED: RefCell<HashMap<u64, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// A device defined by a DiffSL model.
#[derive(Debug)]
pub struct DiffSlDevice {
    spec: DeviceSpec,
    path: PathBuf,
    code: String,
    t_end: f64,
    settings: SolverSettings,
    id: u64,
}

impl DiffSlDevice {
    /// Loads the description at `path`, reads its model and compiles it once to check it.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, &BTreeMap::new())
    }

    /// [`DiffSlDevice::load`] with some constants (or `t_end`) replaced.
    pub fn load_with(path: &Path, overrides: &BTreeMap<String, f64>) -> Result<Self> {
        let mut desc = DiffSlDescription::read(path)?;
        let merged = merge(&desc.constants, overrides, &path.display().to_string())?;
        desc.t_end = overrides.get("t_end").copied().unwrap_or(desc.t_end);
        desc.constants = merged.into_iter().filter(|(k, _)| k != "t_end").collect();
        // a model that needs its own run length declares `tend`: it always equals t_end
        if let Some(tend) = desc.constants.get_mut("tend") {
            *tend = desc.t_end;
        }
        let model_path = path.parent().unwrap_or(Path::new(".")).join(&desc.model);
        let code = std::fs::read_to_string(&model_path).map_err(|e| SimError::io(&model_path, e))?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("diffsl").to_string();
        Self::from_parts(&name, desc, code, model_path)
    }

    /// Builds the device from a description and the model text (`model_path` names it in errors).
    pub fn from_parts(name: &str, desc: DiffSlDescription, code: String, model_path: PathBuf) -> Result<Self> {
        let origin = model_path.display().to_string();
        if !(desc.t_end.is_finite() && desc.t_end > 0.0) {
            return Err(SimError::config(&origin, format!("t_end = {} must be positive", desc.t_end)));
        }
        let declared: Vec<&str> = desc.inputs.iter().chain(&desc.params).map(|q| q.name.as_str()).collect();
        let found = input_names(&code);
        if found != declared {
            return Err(SimError::config(
                &origin,
                format!(
                    "the model's in_i list is [{}], the description declares inputs then params [{}]",
                    found.join(", "),
                    declared.join(", ")
                ),
            ));
        }
        let settings = desc.solver.apply(&SolverSettings::new(SolverMethod::Tsit45, 1e-7, 1e-9));
        settings.validate(&origin)?;
        if settings.method == SolverMethod::Rodas4 {
            return Err(rodas4_unavailable(&origin));
        }
        let mut code = code;
        for (name, value) in &desc.constants {
            code = set_constant(&code, name, *value, &origin)?;
        }
        let mut constants = desc.constants.clone();
        constants.insert("t_end".to_string(), desc.t_end);
        let spec = DeviceSpec {
            kind: format!("diffsl:{name}"),
            summary: desc.summary,
            inputs: desc.inputs,
            params: desc.params,
            outputs: desc.outputs,
            constants,
            source: code.clone(),
        };
        spec.validate()?;
        let device = Self {
            spec,
            path: model_path,
            code,
            t_end: desc.t_end,
            settings,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        };
        device.with_problem(|problem| {
            let nout = problem.eqn.nout();
            if nout != device.spec.n_outputs() {
                return Err(SimError::config(
                    &origin,
                    format!("out_i has {nout} elements, the description declares {} outputs", device.spec.n_outputs()),
                ));
            }
            Ok(())
        })?;
        Ok(device)
    }

    /// The observation time.
    pub fn t_end(&self) -> f64 {
        self.t_end
    }

    /// The solver settings in use.
    pub fn settings(&self) -> &SolverSettings {
        &self.settings
    }

    /// Replaces the solver settings.
    pub fn with_solver(mut self, settings: SolverSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Runs `f` on this thread's compiled copy of the model, compiling it on first use.
    pub(super) fn with_problem<R>(&self, f: impl FnOnce(&mut Problem) -> Result<R>) -> Result<R> {
        COMPILED.with(|cell| {
            let mut map = cell.borrow_mut();
            if let std::collections::hash_map::Entry::Vacant(slot) = map.entry(self.id) {
                let nparams = self.spec.n_inputs() + self.spec.n_params();
                let problem = OdeBuilder::<M>::new()
                    .p(vec![0.0; nparams])
                    .build_from_diffsl::<CraneliftJitModule>(&self.code)
                    .map_err(|e| SimError::DiffSl { path: self.path.clone(), message: e.to_string() })?;
                slot.insert(Box::new(problem));
            }
            let problem = map
                .get_mut(&self.id)
                .and_then(|b| b.downcast_mut::<Problem>())
                .ok_or_else(|| SimError::Panic { message: "compiled DiffSL model cache is corrupt".into() })?;
            f(problem)
        })
    }
}

/// Names listed in the model's `in_i { ... }` tensor (empty if there is none).
fn input_names(code: &str) -> Vec<&str> {
    let Some(start) = code.find("in_i") else { return Vec::new() };
    let rest = &code[start..];
    let (Some(open), Some(close)) = (rest.find('{'), rest.find('}')) else { return Vec::new() };
    rest[open + 1..close]
        .split(',')
        .filter_map(|item| item.split('=').next().map(str::trim))
        .filter(|name| !name.is_empty())
        .collect()
}

/// Why a DiffSL device refuses `rodas4` (almost's own solver needs the Rust equations).
fn rodas4_unavailable(origin: &str) -> SimError {
    SimError::config(
        origin,
        "solver.method = \"rodas4\" solves Rust devices only; a DiffSL device takes tsit45, bdf or esdirk34",
    )
}

impl DeviceModel for DiffSlDevice {
    fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    fn respond(&self, x: &[f64], a: &[f64]) -> Result<Vec<f64>> {
        self.spec.check_dims(x, a)?;
        let p: Vec<f64> = x.iter().chain(a).copied().collect();
        self.with_problem(|problem| {
            problem.rtol = self.settings.rtol;
            problem.atol.fill(self.settings.atol);
            let pv = NalgebraVec::from_vec(p, *problem.context());
            problem.eqn.set_params(&pv);
            let times = [self.t_end];
            let states = match self.settings.method {
                SolverMethod::Tsit45 => march(problem.tsit45().map_err(solver_err)?, &times, &self.settings, true)?,
                SolverMethod::Bdf => {
                    march(problem.bdf::<diffsol::NalgebraLU<f64>>().map_err(solver_err)?, &times, &self.settings, true)?
                }
                SolverMethod::Esdirk34 => march(
                    problem.esdirk34::<diffsol::NalgebraLU<f64>>().map_err(solver_err)?,
                    &times,
                    &self.settings,
                    true,
                )?,
                SolverMethod::Rodas4 => return Err(rodas4_unavailable(&self.spec.kind)),
            };
            let last = states.last().cloned().unwrap_or_default();
            match problem.eqn.out() {
                Some(out) => {
                    let u = NalgebraVec::from_vec(last, *problem.context());
                    let y = out.call(&u, self.t_end);
                    Ok((0..y.len()).map(|i| y.get_index(i)).collect())
                }
                None => Ok(last),
            }
        })
    }

    fn solve_floor(&self, points: &[Vec<f64>], repeats: usize) -> Option<Result<Floor>> {
        self.floor(points, repeats).transpose()
    }

    fn solver(&self) -> Option<&SolverSettings> {
        Some(&self.settings)
    }
}

fn solver_err(e: diffsol::DiffsolError) -> SimError {
    SimError::Solver { time: 0.0, message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(n_out: usize) -> DiffSlDescription {
        DiffSlDescription {
            summary: "decay".into(),
            model: "m.ds".into(),
            t_end: 2.0,
            inputs: vec![Quantity::new("x0", "1", 0.0, 1.0)],
            params: vec![Quantity::new("k", "1", 0.1, 1.0)],
            outputs: (0..n_out).map(|i| Quantity::new(format!("y{i}"), "1", 0.0, 1.0)).collect(),
            solver: SolverOverrides::default(),
            constants: BTreeMap::new(),
            vary: None,
        }
    }

    const DECAY: &str = "in_i { x0 = 1, k = 0.5 }\nu_i { y = x0 }\nF_i { -k * y }\nout_i { y }\n";

    #[test]
    fn exponential_decay_matches_closed_form() {
        let d = DiffSlDevice::from_parts("decay", desc(1), DECAY.into(), "m.ds".into()).unwrap();
        let y = d.respond(&[0.8], &[0.3]).unwrap()[0];
        assert!((y - 0.8 * (-0.6f64).exp()).abs() < 1e-6, "{y}");
        // second call reuses this thread's compiled model with new parameters
        let y = d.respond(&[0.5], &[0.9]).unwrap()[0];
        assert!((y - 0.5 * (-1.8f64).exp()).abs() < 1e-6, "{y}");
    }

    #[test]
    fn mismatched_descriptions_are_named() {
        let err = DiffSlDevice::from_parts("d", desc(2), DECAY.into(), "m.ds".into()).unwrap_err().to_string();
        assert!(err.contains("out_i has 1 elements"), "{err}");
        let code = DECAY.replace("k = 0.5", "rate = 0.5").replace("-k", "-rate");
        let err = DiffSlDevice::from_parts("d", desc(1), code, "m.ds".into()).unwrap_err().to_string();
        assert!(err.contains("[x0, rate]") && err.contains("[x0, k]"), "{err}");
        let err =
            DiffSlDevice::from_parts("d", desc(1), DECAY.replace("F_i { -k * y }", "F_i { -k * }"), "m.ds".into())
                .unwrap_err()
                .to_string();
        assert!(err.contains("m.ds") && err.contains("DiffSL"), "{err}");
    }

    #[test]
    fn the_shipped_threshold_node_is_flat_below_threshold_and_linear_above() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulations/devices/threshold-node.toml");
        let d = DiffSlDevice::load(&path).unwrap();
        let (x, below, above) = ([0.8, 0.6, 0.0, 0.0], [0.1, 0.0, 0.0, 0.0], [1.0, 0.5, 0.0, 0.0]);
        assert_eq!(d.respond(&x, &below).unwrap()[0], 0.0);
        // v = D (1 - exp(-t)), D = 2.2, above theta = 0.5 over [5, 10]:
        // y = D - theta - D (2 / 10) (exp(-5) - exp(-10))
        let drive = 2.2f64;
        let exact = drive - 0.5 - drive * 0.2 * ((-5.0f64).exp() - (-10.0f64).exp());
        let y = d.respond(&x, &above).unwrap()[0];
        assert!((y - exact).abs() < 1e-4, "{y} vs {exact}");
        // tend follows t_end when it is overridden
        let longer = DiffSlDevice::load_with(&path, &BTreeMap::from([("t_end".to_string(), 20.0)])).unwrap();
        assert_eq!(longer.spec().constants["tend"], 20.0);
        let exact = drive - 0.5 - drive * 0.1 * ((-10.0f64).exp() - (-20.0f64).exp());
        let y = longer.respond(&x, &above).unwrap()[0];
        assert!((y - exact).abs() < 1e-4, "{y} vs {exact}");
    }
}
