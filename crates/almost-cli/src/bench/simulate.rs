//! `almost-simulate bench`: samples/s per built-in device, generator vs bare diffsol loop,
//! then each ODE device's solve against its floor (right-hand-side and Jacobian evaluations
//! per solve times their cost measured on their own), and each built-in device's
//! forward-sensitivity solve against its own.

use anyhow::Result;

use almost_sim::GenerateConfig;
use almost_sim::bench::bench_job;
use std::path::Path;

use almost_sim::devices::{DeviceConfig, DiffSlDevice, DiodeNode, DuffingMems, FhnNeuron, OdeDeviceConfig};
use almost_sim::floor::{Floor, measure};
use almost_sim::ode::OdeDevice;
use almost_sim::{DeviceModel, OdeSystem, SolverSettings};

/// (device kind, samples at scale 1) — sized for a few seconds per measurement on one core.
const DEVICES: [(&str, u64); 4] =
    [("analytic", 400_000), ("diode-node", 40_000), ("fhn-neuron", 8_000), ("duffing-mems", 1_000)];

/// Runs the benchmark and prints one row per device and thread count.
pub fn run(scale: f64, fan_in: usize, repeats: usize) -> Result<()> {
    println!(
        "{:<14} {:>7} {:>9} {:>14} {:>14} {:>10}",
        "device", "threads", "samples", "generator/s", "bare/s", "gen/bare"
    );
    for (kind, base) in DEVICES {
        let samples = ((base as f64 * scale).round() as u64).max(16);
        let cfg = GenerateConfig::sobol("bench", DeviceConfig::builtin(kind, fan_in)?, samples, 1);
        let job = cfg.resolve("bench")?;
        for threads in [1, 2] {
            let row = bench_job(&job, threads, repeats)?;
            println!(
                "{:<14} {:>7} {:>9} {:>14.0} {:>14.0} {:>10.3}",
                row.device,
                row.threads,
                row.samples,
                row.generator_per_s,
                row.bare_per_s,
                row.ratio()
            );
        }
    }
    Ok(())
}

/// Prints each built-in ODE device's time per solve next to its floor (one thread).
pub fn floors(fan_in: usize, repeats: usize) -> Result<()> {
    println!(
        "\n{:<14} {:>10} {:>10} {:>9} {:>9} {:>10} {:>10} {:>12} {:>10} {:>12}",
        "device",
        "rhs/solve",
        "jac/solve",
        "rhs ns",
        "jac ns",
        "floor us",
        "solve us",
        "solve/floor",
        "batch us",
        "batch/floor"
    );
    let config = OdeDeviceConfig { fan_in, constants: Default::default() };
    let row = |kind: &str, f: Floor| {
        println!(
            "{kind:<14} {:>10.1} {:>10.1} {:>9.1} {:>9.1} {:>10.2} {:>10.2} {:>12.1} {:>10.2} {:>12.1}",
            f.rhs_per_solve,
            f.jac_per_solve,
            f.rhs_ns,
            f.jac_ns,
            f.floor_us(),
            f.solve_us,
            f.ratio(),
            f.batch_us,
            f.batch_ratio()
        );
    };
    row("diode-node", floor_of(&DiodeNode::new(&config)?, 400, repeats)?);
    row("fhn-neuron", floor_of(&FhnNeuron::new(&config)?, 100, repeats)?);
    row("duffing-mems", floor_of(&DuffingMems::new(&config)?, 20, repeats)?);
    // the shipped DiffSL devices, with their generation configs' fan-in, box and solver
    for (kind, config) in DIFFSL {
        match diffsl_floor(config, 200, repeats) {
            Ok(Some(f)) => row(kind, f),
            Ok(None) => println!("{kind:<14} (an implicit method: not priced)"),
            Err(e) => println!("{kind:<14} skipped: {e:#}"),
        }
    }
    println!(
        "forward-sensitivity solves (the exact mode's; an evaluation is the states' and every sensitivity's right-hand side):"
    );
    let sens_row = |kind: &str, f: Option<Floor>| match f {
        Some(f) => row(kind, f),
        None => println!("{kind:<14} (no sensitivities in lanes: not priced)"),
    };
    sens_row("diode-node", sens_floor_of(DiodeNode::new(&config)?, 400, repeats)?);
    sens_row("fhn-neuron", sens_floor_of(FhnNeuron::new(&config)?, 100, repeats)?);
    sens_row("duffing-mems", sens_floor_of(DuffingMems::new(&config)?, 20, repeats)?);
    Ok(())
}

/// The device's forward-sensitivity solves against their floor at the Sobol points of its
/// default box ([`almost_sim::DeviceModel::sens_floor`]).
fn sens_floor_of<S: OdeSystem>(system: S, points: u64, repeats: usize) -> Result<Option<Floor>> {
    let (p, settings) = sobol_points(&system, points)?;
    let device = OdeDevice::new(system).with_solver(settings);
    Ok(device.sens_floor(&p, repeats).transpose()?)
}

/// (label, generation config) of the DiffSL devices priced (run from the repository root).
const DIFFSL: [(&str, &str); 2] =
    [("threshold (sl)", "simulations/threshold-node.toml"), ("wilson-cowan", "simulations/wilson-cowan.toml")];

/// A DiffSL device's floor at `points` points of its generation config's design.
fn diffsl_floor(config: &str, points: u64, repeats: usize) -> Result<Option<Floor>> {
    let mut cfg = GenerateConfig::load(Path::new(config))?;
    let DeviceConfig::Diffsl(reference) = &cfg.device else {
        anyhow::bail!("{config} does not describe a DiffSL device");
    };
    let device = DiffSlDevice::load_with(&reference.file, &reference.constants)?;
    cfg.design.samples = points;
    let job = cfg.resolve(config)?;
    let device = match job.device.solver() {
        Some(settings) => device.with_solver(settings.clone()),
        None => device,
    };
    let p: Vec<Vec<f64>> = (0..points)
        .map(|i| {
            let (x, a) = job.point(i);
            x.into_iter().chain(a).collect()
        })
        .collect();
    Ok(device.floor(&p, repeats)?)
}

fn floor_of<S: OdeSystem>(system: &S, points: u64, repeats: usize) -> Result<Floor> {
    let (p, settings) = sobol_points(system, points)?;
    Ok(measure(system, &settings, &p, repeats)?)
}

/// `points` Sobol points `p = [x, A]` of the device's default box and its generation solver.
fn sobol_points<S: OdeSystem>(system: &S, points: u64) -> Result<(Vec<Vec<f64>>, SolverSettings)> {
    let kind = system.spec().kind.clone();
    let fan_in = system.spec().n_inputs();
    let job = GenerateConfig::sobol("floor", DeviceConfig::builtin(&kind, fan_in)?, points, 1).resolve("floor")?;
    let p: Vec<Vec<f64>> = (0..points)
        .map(|i| {
            let (x, a) = job.point(i);
            x.into_iter().chain(a).collect()
        })
        .collect();
    let settings: SolverSettings = job.device.solver().cloned().unwrap_or_else(|| system.default_solver());
    Ok((p, settings))
}
