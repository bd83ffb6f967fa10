//! The devices of the physics-aware forward passes, solved as `[training.physics_solver]`
//! says (by default Rodas4 at rtol 1e-3: on the diode node's clamp, where a trained network
//! drives many nodes, an explicit solve is limited by stability and a stiff one is several
//! times cheaper), and checked at the start of a run: 16 training images go through the
//! network on both solvers, and unless every layer's outputs agree within
//! `max_deviation` of its surrogate's held-out error (and fail no more often), the run keeps
//! the dataset's solver and says why. The decision is written to the run folder
//! ([`DECISION_FILE`]) and a resumed run takes it from there, so that it trains on the same
//! solver as it would have without the interruption.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use burn::tensor::{DType, Device};

use almost_surrogate::tensor_io::to_vec;

use crate::data::batch;
use crate::data::images::ImageSet;
use crate::error::Result;
use crate::network::chain::DeviceNetwork;
use crate::network::hardware_config::HardwareConfig;
use crate::network::physics_solver::{PhysicsMethod, PhysicsSolver};
use crate::physics::forward::{LayerPass, forward_host, hardware_a};
use crate::physics::hardware::{Hardware, NominalHardware};
use crate::physics::select::hardware_from_metas;

/// Training images of the start-of-run check.
pub const CHECK_IMAGES: usize = 16;

/// The run folder's record of the decision.
pub const DECISION_FILE: &str = "physics_solver.json";

/// What the start of a run decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the training solver is used.
    pub accepted: bool,
    /// The solver checked.
    pub solver: PhysicsSolver,
    /// What was said.
    pub lines: Vec<String>,
}

/// [`training_solver`] for a run in `run`: on a fresh run (`resumed` false) it checks and
/// writes the decision; a resumed run whose record names the same solver takes the recorded
/// decision (with a line saying so) and checks nothing.
pub fn training_solver_for_run(
    run: &Path,
    resumed: bool,
    network: &DeviceNetwork,
    cfg: &HardwareConfig,
    solver: &PhysicsSolver,
    images: &ImageSet,
    on: (DType, &Device),
) -> Result<TrainingSolver> {
    let path = run.join(DECISION_FILE);
    if resumed && path.exists() {
        let recorded: Decision = almost_sim::fsutil::read_json(&path)?;
        if &recorded.solver == solver {
            let hardware = if recorded.accepted {
                Some(hardware_from_metas(network, &with_solver(&network.metas()?, solver), cfg)?)
            } else {
                None
            };
            let mut lines =
                vec![format!("physics-aware forward passes: as decided at the start of the run ({DECISION_FILE}):")];
            lines.extend(recorded.lines);
            return Ok(TrainingSolver { hardware, lines });
        }
    }
    let chosen = training_solver(network, cfg, solver, images, on)?;
    let decision =
        Decision { accepted: chosen.hardware.is_some(), solver: solver.clone(), lines: chosen.lines.clone() };
    almost_sim::fsutil::write_json_atomic(&path, &decision)?;
    Ok(chosen)
}

/// The hardware of the physics-aware forward passes (`None`: the dataset's, `hardware`), and
/// the lines that say what was chosen and why.
pub struct TrainingSolver {
    /// The devices solved with the training solver, where it was accepted.
    pub hardware: Option<Box<dyn Hardware>>,
    /// What to tell the user.
    pub lines: Vec<String>,
}

/// Builds and checks the training solver's devices for `network` (perturbed as `cfg` says),
/// on the first [`CHECK_IMAGES`] images of `images`, with A quantised to `bits`.
pub fn training_solver(
    network: &DeviceNetwork,
    cfg: &HardwareConfig,
    solver: &PhysicsSolver,
    images: &ImageSet,
    (dtype, device): (DType, &Device),
) -> Result<TrainingSolver> {
    let keep = |lines: Vec<String>| Ok(TrainingSolver { hardware: None, lines });
    if solver.method == PhysicsMethod::Dataset {
        return keep(vec!["physics-aware forward passes: the dataset's solver".into()]);
    }
    let metas = network.metas()?;
    let swapped = with_solver(&metas, solver);
    if swapped == metas {
        // no layer is solved (closed-form devices): nothing to change
        return keep(Vec::new());
    }
    let refused = |why: String| {
        vec![format!(
            "WARNING: physics-aware forward passes: {}: {why}; the dataset's solver is used",
            solver.describe()
        )]
    };
    // the check compares the two solvers on the nominal devices: variability and noise are
    // the same for both
    let (tight, loose) = match (NominalHardware::from_metas(&metas), NominalHardware::from_metas(&swapped)) {
        (Ok(t), Ok(l)) => (t, l),
        // a device that does not take the solver (a DiffSL device and rodas4): no warning,
        // it is not the solver's accuracy that failed
        (_, Err(e)) | (Err(e), _) => {
            return keep(vec![format!(
                "physics-aware forward passes: the dataset's solver ({} does not apply here: {e})",
                solver.describe()
            )]);
        }
    };
    let count = CHECK_IMAGES.min(images.len());
    let indices: Vec<usize> = (0..count).collect();
    let x = to_vec(batch::images(images, &indices, None, dtype, device));
    let a = hardware_a(network, 0);
    let none = |_: usize, _: &[f64]| Vec::new();
    let run = |hw: &dyn Hardware| {
        let started = Instant::now();
        let passes = forward_host(network, hw, &a, &x, count, &none);
        (passes, started.elapsed().as_secs_f64())
    };
    let ((reference, t_ref), (trial, t_trial)) = (run(&tight), run(&loose));
    let mut worst = Vec::new();
    for (l, (r, p)) in reference.iter().zip(&trial).enumerate() {
        let layer = &network.layers[l];
        let rmse = metas[l].metrics.get(layer.output).map_or(f64::NAN, |m| m.rmse);
        if p.failed > r.failed {
            return keep(refused(format!(
                "layer {l}: {} of its solves failed, {} with the dataset's",
                p.failed, r.failed
            )));
        }
        let deviation = max_difference(r, p);
        let share = deviation / rmse;
        // a NaN share (no held-out error to compare with) is refused as well
        if share.is_nan() || share > solver.max_deviation {
            return keep(refused(format!(
                "layer {l}: its outputs differ from the dataset's solver by up to {deviation:.2e}, {:.0} % of its surrogate's held-out error {rmse:.2e} (allowed {:.0} %)",
                100.0 * share,
                100.0 * solver.max_deviation
            )));
        }
        worst.push(format!("{:.1} %", 100.0 * share));
    }
    let hardware = hardware_from_metas(network, &swapped, cfg);
    match hardware {
        Ok(hw) => Ok(TrainingSolver {
            hardware: Some(hw),
            lines: vec![format!(
                "physics-aware forward passes: {}; on {count} training images its outputs are within [{}] of the surrogates' held-out errors (layer by layer) of the dataset's solver, {:.1}x its speed",
                solver.describe(),
                worst.join(", "),
                t_ref / t_trial.max(1e-12)
            )],
        }),
        Err(e) => keep(refused(e.to_string())),
    }
}

/// `metas` with each solved layer's solver replaced by `solver`'s settings.
fn with_solver(
    metas: &[almost_surrogate::SurrogateMeta],
    solver: &PhysicsSolver,
) -> Vec<almost_surrogate::SurrogateMeta> {
    let mut swapped = metas.to_vec();
    for meta in &mut swapped {
        meta.solver = meta.solver.as_ref().and_then(|base| solver.settings(base));
    }
    swapped
}

/// The largest difference between two passes' outputs.
fn max_difference(a: &LayerPass, b: &LayerPass) -> f64 {
    a.out.iter().zip(&b.out).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}
