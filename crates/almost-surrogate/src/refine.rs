//! Active refinement: simulate more points where the surrogate errs most, refit, repeat.
//!
//! Round 0 is the plain fit of the dataset. Each further round
//! 1. simulates a fresh uniform **probe** set over the domain box and measures the current
//!    surrogate on it (an independent estimate of its error that no fit has seen),
//! 2. ranks the probe points and the validation split by their error (the **test split is
//!    never looked at**: it stays the honest yardstick),
//! 3. simulates `per_point` new points around each of the `worst` ones (a Gaussian of
//!    `radius` x the box width per coordinate, clipped to the box),
//! 4. adds the probe and the new points to the training split and refits from scratch.
//!
//! Every round records the device solves spent so far and the held-out test error, so the
//! report reads as "RMSE vs number of simulations". Failed solves are counted and kept (with
//! their status code) in the saved points, never silently dropped.

use std::time::Instant;

use almost_sim::design::standard_normal;
use almost_sim::generate::respond_many;
use almost_sim::{Dataset, DeviceModel, FailureKind, Table};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::FitConfig;
use crate::data::{Split, split_table};
use crate::error::{Result, SurrogateError};
use crate::fit::{FitOptions, Fitted, fit_with};
use crate::surrogate::predict;

pub use crate::config::RefineConfig;
pub use crate::report::RefineRound;

/// The result of [`refine`].
pub struct Refined {
    /// The final fit (its `extra` holds every refinement row trained on).
    pub fitted: Fitted,
    /// One entry per round, round 0 first.
    pub rounds: Vec<RefineRound>,
    /// Every point refinement simulated, in order (index = order of simulation), ok or failed.
    pub points: Table,
}

/// Fits `dataset`, then runs `config.refine.rounds` rounds of active refinement against
/// `device` (the dataset's own device, e.g. from [`crate::rebuild_device`]).
pub fn refine(
    dataset: &Dataset,
    config: &FitConfig,
    device: &dyn DeviceModel,
    options: &FitOptions,
) -> Result<Refined> {
    config.validate("fit config")?;
    let rc = &config.refine;
    let plan = &dataset.manifest.plan;
    let spec = &plan.device;
    if device.spec().hash() != plan.device_hash {
        return Err(SurrogateError::Data {
            dataset: dataset.dir.clone(),
            message: "refinement device does not match the dataset's device spec".into(),
        });
    }
    let (nx, na, ny) = (spec.n_inputs(), spec.n_params(), spec.n_outputs());
    let d_in = nx + na;
    let (lo, hi): (Vec<f64>, Vec<f64>) = plan.domain.x.iter().chain(&plan.domain.a).map(|[l, h]| (*l, *h)).unzip();
    let val = split_table(&dataset.table, spec, &config.training, &dataset.dir)?.val;
    // width of each output over the dataset's successful rows (never zero)
    let out_range: Vec<f64> = dataset.table.y_range().iter().map(|[l, h]| (h - l).max(f64::MIN_POSITIVE)).collect();
    let dtype = config.training.precision.dtype();
    let host = options.device.clone();

    let mut points = Table::new(nx, na, ny);
    let mut extra = Split::default();
    let mut simulations = dataset.manifest.samples;
    let started = Instant::now();
    let last_device = |r: usize| if r == rc.rounds { Some(device) } else { None };
    let mut fitted = fit_with(dataset, config, &extra, last_device(0), options)?;
    let mut rounds = vec![round_record(0, simulations, &fitted, 0, None, started)];
    for r in 1..=rc.rounds {
        let started = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(rc.seed.wrapping_mul(0x9e37_79b9).wrapping_add(r as u64));
        // 1. a fresh uniform probe, scored by the current surrogate
        let probe: Vec<Vec<f64>> =
            (0..rc.probe).map(|_| lo.iter().zip(&hi).map(|(l, h)| rng.random_range(*l..=*h)).collect()).collect();
        let (probe_ok, mut failed) = simulate(device, &probe, nx, &mut points);
        simulations += probe.len() as u64;
        let probe_err = row_errors(&fitted, &probe_ok, d_in, ny, &out_range, dtype, &host);
        let probe_rmse = (probe_err.iter().map(|e| e * e).sum::<f64>() / probe_err.len().max(1) as f64).sqrt();
        // 2. rank probe + validation rows by error
        let val_err = row_errors(&fitted, &val, d_in, ny, &out_range, dtype, &host);
        let mut ranked: Vec<(f64, &[f64])> = probe_err
            .iter()
            .zip(probe_ok.inputs.chunks_exact(d_in))
            .chain(val_err.iter().zip(val.inputs.chunks_exact(d_in)))
            .map(|(e, row)| (*e, row))
            .collect();
        ranked.sort_by(|p, q| q.0.total_cmp(&p.0));
        // 3. neighbours of the worst points
        let mut near = Vec::with_capacity(rc.worst * rc.per_point);
        for (_, centre) in ranked.iter().take(rc.worst) {
            for _ in 0..rc.per_point {
                near.push(neighbour(centre, &lo, &hi, rc.radius, &mut rng));
            }
        }
        let (near_ok, near_failed) = simulate(device, &near, nx, &mut points);
        simulations += near.len() as u64;
        failed += near_failed;
        // 4. train on everything simulated so far, refit
        for s in [&probe_ok, &near_ok] {
            extra.inputs.extend_from_slice(&s.inputs);
            extra.outputs.extend_from_slice(&s.outputs);
        }
        fitted = fit_with(dataset, config, &extra, last_device(r), options)?;
        rounds.push(round_record(r, simulations, &fitted, failed, Some(probe_rmse), started));
    }
    fitted.report.refinement = rounds.clone();
    Ok(Refined { fitted, rounds, points })
}

/// Solves `rows` (`[x, A]` each) in parallel; appends every one to `points` and returns the
/// successful rows as a split and the number of failures.
fn simulate(device: &dyn DeviceModel, rows: &[Vec<f64>], nx: usize, points: &mut Table) -> (Split, usize) {
    let (xs, as_): (Vec<Vec<f64>>, Vec<Vec<f64>>) = rows.iter().map(|r| (r[..nx].to_vec(), r[nx..].to_vec())).unzip();
    let mut ok = Split::default();
    let mut failed = 0;
    for ((x, a), y) in xs.iter().zip(&as_).zip(respond_many(device, &xs, &as_)) {
        let index = points.len() as u64;
        match y {
            Ok(y) => {
                points.push(index, x, a, Some(&y), 0);
                ok.inputs.extend_from_slice(x);
                ok.inputs.extend_from_slice(a);
                ok.outputs.extend_from_slice(&y);
            }
            Err(e) => {
                points.push(index, x, a, None, e.failure_kind().unwrap_or(FailureKind::Other).code());
                failed += 1;
            }
        }
    }
    (ok, failed)
}

/// Per row: the largest |prediction - truth| / output range over the outputs.
fn row_errors(
    fitted: &Fitted,
    rows: &Split,
    d_in: usize,
    ny: usize,
    range: &[f64],
    dtype: burn::tensor::DType,
    device: &burn::tensor::Device,
) -> Vec<f64> {
    let predicted = predict(&fitted.surrogate, &rows.inputs, d_in, dtype, device);
    predicted
        .chunks_exact(ny)
        .zip(rows.outputs.chunks_exact(ny))
        .map(|(p, t)| p.iter().zip(t).zip(range).map(|((p, t), r)| (p - t).abs() / r).fold(0.0, f64::max))
        .collect()
}

/// A point near `centre`: a Gaussian offset of `radius` x width per coordinate, clipped to the box.
fn neighbour(centre: &[f64], lo: &[f64], hi: &[f64], radius: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    centre
        .iter()
        .zip(lo.iter().zip(hi))
        .map(|(c, (l, h))| (c + radius * (h - l) * standard_normal(rng)).clamp(*l, *h))
        .collect()
}

fn round_record(
    round: usize,
    simulations: u64,
    fitted: &Fitted,
    failed: usize,
    probe: Option<f64>,
    started: Instant,
) -> RefineRound {
    let worst = |f: fn(&crate::metrics::OutputMetrics) -> f64| fitted.report.outputs.iter().map(f).fold(0.0, f64::max);
    RefineRound {
        round,
        simulations,
        training_rows: fitted.report.rows[0],
        failed,
        probe_relative_rmse: probe,
        test_relative_rmse: worst(|m| m.relative_rmse),
        test_max_abs_error: worst(|m| m.max_abs_error),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Writes the points of a refinement into `dir/refined.npz` (atomically) for the surrogate's
/// metadata: numpy reads it like a dataset's `data.npz`.
pub fn save_points(dir: &std::path::Path, points: &Table) -> Result<crate::store::RefinedPoints> {
    let file = "refined.npz";
    let bytes = points.write(&dir.join(file))?;
    Ok(crate::store::RefinedPoints {
        file: file.into(),
        rows: points.len(),
        sha256: almost_sim::spec::hex_sha256(&bytes),
    })
}
