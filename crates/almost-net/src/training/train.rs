//! Training a device network: only A moves, by Adam on the surrogates' gradients.
//!
//! Every run is checked against the devices themselves: a surrogate whose held-out error is
//! above `max_surrogate_error` is refused before the first step ([`crate::check::quality`]),
//! each epoch probes where the network drives its devices ([`crate::check::health`]), and
//! the finished run is evaluated on the physics ([`crate::check::physics_check`]).

use std::path::Path;
use std::time::Instant;

use almost_sim::fsutil::write_json_atomic;
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{DType, Device};
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::check::health::{Probe, probe_health, warnings};
use crate::check::{PhysicsVerdict, check_images, check_surrogates, physics_check};
use crate::data::batch;
use crate::data::images::{ImageSet, load};
use crate::error::{NetError, Result};
use crate::fused::FusedNet;
use crate::network::chain::{DeviceNetwork, build};
use crate::network::config::{AutoGain, Kernel, Mode, NetConfig};
use crate::network::wiring::MapShape;
use crate::physics::hardware::Hardware;
use crate::physics::training_solver::training_solver_for_run;
use crate::training::checkpoint;
use crate::training::epoch::run_epoch;
use crate::training::history::{EpochMetrics, write_csv, write_curves};
use crate::training::loss::Targets;
use crate::training::modes::step_for;
use crate::training::start::{START_FILE, START_IMAGES, StartReport, start_alive, with_recorded_maps};
use crate::training::step::Batch;

pub use crate::physics::select::hardware_for;
pub use crate::training::loss::{accuracy, cosine_lr, cross_entropy};
pub use crate::training::parallel::data_parallel_step;

/// Options of a training run that are not part of the config.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Stop after this many epochs of this invocation (the run can be resumed later).
    pub stop_after: Option<usize>,
    /// Run the closing physics check on the whole test set (not a subsample within a budget).
    pub physics_all: bool,
    /// Skip the closing physics check (benchmarks that print no accuracy); the run records
    /// that it was not checked.
    pub skip_physics_check: bool,
    /// The burn device training runs on (the default: the CPU backend); the physics runs on
    /// the host whatever it is.
    pub device: Device,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            progress: false,
            stop_after: None,
            physics_all: false,
            skip_physics_check: false,
            device: Device::flex(),
        }
    }
}

/// Whether a training batch on `device` is split over host threads (data-parallel, burn's CPU
/// backend) or runs as one (a GPU backend).
pub fn host_threads(device: &Device) -> bool {
    almost_surrogate::backend::is_flex(device)
}

/// What a training invocation produced.
pub struct Trained {
    /// The trained network (on the autodiff device).
    pub network: DeviceNetwork,
    /// Metrics per epoch (including resumed ones).
    pub history: Vec<EpochMetrics>,
    /// Epoch the run was resumed from, if it was.
    pub resumed_from: Option<usize>,
    /// The test images.
    pub test: ImageSet,
    /// The closing check on the physics.
    pub physics: PhysicsVerdict,
}

fn progress(total: u64, show: bool) -> ProgressBar {
    almost_sim::generate::styled_bar(total, show, "{bar:30} epoch {msg} [{elapsed}<{eta}]")
}

/// Trains the network of `cfg` into `run` (resuming from its checkpoint if there is one).
pub fn train(cfg: &NetConfig, run: &Path, options: &TrainOptions) -> Result<Trained> {
    cfg.validate("network config")?;
    let (train_set, test_set) = load(&cfg.data)?;
    let t = &cfg.training;
    let device = options.device.clone().autodiff();
    device.seed(t.seed);
    let dtype = DType::F32;
    let input = MapShape { height: train_set.rows, width: train_set.cols, channels: 1 };
    let mut network = build(cfg, input, dtype, &device)?;
    if t.mode != Mode::Exact {
        check_surrogates(cfg, &network)?;
    }
    std::fs::create_dir_all(run).map_err(|e| NetError::io(run, e))?;
    let hash = cfg.hash();
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let mut history = Vec::new();
    let mut start_epoch = 1;
    let mut resumed_from = None;
    let mut start_lines = Vec::new();
    let as_json =
        serde_json::to_value(cfg).map_err(|e| NetError::BadRun { path: run.into(), message: e.to_string() })?;
    if let Some(r) = checkpoint::load(run, (&hash, &as_json), network.clone(), optim.clone())? {
        network = with_recorded_maps(r.network, run)?;
        optim = r.optim;
        history = r.checkpoint.history;
        start_epoch = r.checkpoint.epoch + 1;
        resumed_from = Some(r.checkpoint.epoch);
    } else if let Some(init) = &t.init {
        network = with_recorded_maps(crate::training::run::load_a_from(init, network)?, init)?;
        if let Some(report) = StartReport::load(init)? {
            report.save(run)?;
        }
    } else if t.alive_start {
        let measure_gain = cfg.readout.scale.is_none() && cfg.readout.auto == AutoGain::Start;
        let (started, report) = start_alive(network, &train_set, START_IMAGES, t.seed, measure_gain)?;
        // a shared constant (design by gradient) starts at the middle of its range whatever the start
        network = started.centre_tied();
        start_lines = report.lines();
        start_lines.extend(report.warnings().into_iter().map(|w| format!("WARNING: {w}")));
        report.save(run)?;
    } else {
        // a fresh run with the configured maps: no stale record from an earlier run may apply
        let stale = run.join(START_FILE);
        if stale.exists() {
            std::fs::remove_file(&stale).map_err(|e| NetError::io(&stale, e))?;
        }
    }
    // written only after the checkpoint (if any) was accepted: a refused resume leaves the run as it was
    write_json_atomic(&run.join("config.json"), cfg)?;
    // the physics modes need the devices; surrogate mode checks against them when it can
    let hardware = match hardware_for(&network, &cfg.hardware) {
        Ok(hw) => Ok(hw),
        Err(e) if t.mode != Mode::Surrogate => return Err(e),
        Err(e) => Err(format!("the devices could not be rebuilt: {e}")),
    };
    let bits = cfg.hardware.bits;
    let images_per_epoch = if t.train_images == 0 { train_set.len() } else { t.train_images.min(train_set.len()) };
    let per_epoch = images_per_epoch.div_ceil(t.batch_size);
    let total_steps = (t.epochs * per_epoch) as f64;
    let end_epoch = options.stop_after.map_or(t.epochs, |n| (start_epoch + n - 1).min(t.epochs));
    let bar = progress(((end_epoch + 1).saturating_sub(start_epoch) * per_epoch) as u64, options.progress);
    let say = |line: String| {
        if options.progress && bar.is_hidden() {
            // no terminal (a log file): the bar is silent, the epoch lines are not
            eprintln!("{line}");
        } else if options.progress {
            bar.println(line);
        }
    };
    let probe = Probe {
        images: &train_set,
        count: t.probe_images,
        samples: t.probe_solves,
        threshold: t.max_surrogate_error,
        seed: t.seed,
    };
    for line in start_lines {
        say(line);
    }
    let inner = device.clone().inner();
    // a batch is split over host threads only on the CPU backend: a GPU runs the batch as one
    let on_host = host_threads(&options.device);
    let threads = if on_host { t.threads } else { 1 };
    if !on_host {
        say(format!(
            "backend: {}; a batch runs as one on the device (training.threads = {} applies to the CPU backend)",
            almost_surrogate::backend::describe(&options.device),
            t.threads
        ));
    }
    let fused = if on_host && t.kernel == Kernel::Fused && t.mode != Mode::Exact {
        let fused = FusedNet::new(&network);
        if fused.is_none() {
            say("kernel: a layer's surrogate is not an MLP; its passes run on burn's autodiff graph (the reference)"
                .into());
        }
        fused
    } else {
        None
    };
    // the physics-aware forward passes may solve the devices with a cheaper solver (checked here)
    let training_hw = if t.mode == Mode::PhysicsAware && hardware.is_ok() {
        let resumed = resumed_from.is_some();
        let chosen = training_solver_for_run(
            run,
            resumed,
            &network,
            &cfg.hardware,
            &t.physics_solver,
            &train_set,
            (dtype, &device),
        )?;
        for line in chosen.lines {
            say(line);
        }
        chosen.hardware
    } else {
        None
    };
    let step_hw = training_hw.as_deref().or(hardware.as_deref().ok());
    let step = step_for(t.mode, step_hw, bits, threads, fused)?;
    if let (Mode::Exact, Ok(hw)) = (t.mode, &hardware) {
        for l in 0..network.layers.len() {
            if let Some(source) = hw.derivative_source(l) {
                say(format!("exact mode, layer {l}: derivatives from {source}"));
            }
        }
    }
    for epoch in start_epoch..=end_epoch {
        let started = Instant::now();
        // the batch order and shifts of epoch e depend only on (seed, e): resuming replays them
        let mut rng = ChaCha8Rng::seed_from_u64(t.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64));
        let mut order: Vec<usize> = (0..train_set.len()).collect();
        order.shuffle(&mut rng);
        order.truncate(images_per_epoch);
        let batches = order.chunks(t.batch_size).map(|chunk| Batch {
            x: batch::images(&train_set, chunk, Some((&mut rng, t.max_shift)), dtype, &device),
            targets: Targets::Labels(batch::labels(&train_set, chunk, &device)),
        });
        let lr_at = |b: usize| cosine_lr(t.learning_rate, ((epoch - 1) * per_epoch + b) as f64, total_steps);
        let mut tick = |_: usize, lr: f64| {
            bar.inc(1);
            bar.set_message(format!("{epoch}/{}  lr {lr:.2e}", t.epochs));
        };
        let (trained, totals) = run_epoch(network, &mut optim, step.as_ref(), batches, &lr_at, &mut tick)?;
        network = trained;
        let lr = totals.last_lr;
        let (train_loss, train_accuracy) =
            (totals.mean_loss(), totals.correct.unwrap_or(0) as f64 / totals.rows.max(1) as f64);
        let valid = network.valid();
        let test_accuracy = accuracy(&valid, &test_set, t.eval_images, dtype, &inner);
        let (mut test_accuracy_physics, mut physics_images, mut health) = (None, None, Vec::new());
        if let Ok(hw) = &hardware {
            if t.physics_eval_images > 0 {
                let report = crate::physics::evaluate::evaluate(
                    &valid,
                    hw.as_ref(),
                    &test_set,
                    t.physics_eval_images,
                    bits,
                    false,
                );
                test_accuracy_physics = Some(report.accuracy_physics);
                physics_images = Some(report.images);
            }
            if t.probe_images > 0 {
                health = probe_health(&valid, hw.as_ref(), &probe);
            }
        }
        let first = history.first().map_or(&[][..], |h: &EpochMetrics| h.health.as_slice()).to_vec();
        let previous = history.last().map_or(&[][..], |h: &EpochMetrics| h.health.as_slice()).to_vec();
        let worst_exit = health.iter().map(|h| h.outside_box).fold(0.0, f64::max);
        let worst_error = health.iter().map(|h| h.operating_error).fold(0.0, f64::max);
        let worst_dead = health.iter().map(|h| h.dead_devices).fold(0.0, f64::max);
        let line = format!(
            "epoch {epoch:>3}: loss {train_loss:.4}  train {:.2}%  test (surrogate) {:.2}%{}{}{}  {:.1} s",
            100.0 * train_accuracy,
            100.0 * test_accuracy,
            network.tied_values().iter().map(|(k, v)| format!("  {k} {v:.6}")).collect::<String>(),
            test_accuracy_physics.map_or(String::new(), |p| format!("  test (physics) {:.2}%", 100.0 * p)),
            if health.is_empty() {
                String::new()
            } else {
                format!(
                    "  box exits {:.2}%  surrogate error at operating points {:.2}%  dead devices {:.0}%",
                    100.0 * worst_exit,
                    100.0 * worst_error,
                    100.0 * worst_dead
                )
            },
            started.elapsed().as_secs_f64()
        );
        say(line);
        for w in warnings(&first, &previous, &health, t.max_surrogate_error) {
            say(format!("WARNING: epoch {epoch}: {w}"));
        }
        history.push(EpochMetrics {
            epoch,
            train_loss,
            train_accuracy,
            test_accuracy,
            test_accuracy_physics,
            physics_images,
            learning_rate: lr,
            seconds: started.elapsed().as_secs_f64(),
            health,
        });
        checkpoint::save(run, epoch, &hash, &network, &optim, &history)?;
        write_csv(&run.join("metrics.csv"), &history)?;
        write_curves(&run.join("curves.svg"), &cfg.name, &history)?;
    }
    bar.finish_and_clear();
    let physics = closing_check(cfg, &network, hardware.as_deref(), &test_set, &mut history, options);
    if let PhysicsVerdict::Checked(_) = &physics {
        write_csv(&run.join("metrics.csv"), &history)?;
    }
    crate::training::run::save_run(run, cfg, &network, &history, &physics)?;
    Ok(Trained { network, history, resumed_from, test: test_set, physics })
}

/// The check on the physics at the end of a finished run; its figure also goes into the last
/// epoch's metrics.
fn closing_check(
    cfg: &NetConfig,
    network: &DeviceNetwork,
    hardware: std::result::Result<&dyn Hardware, &String>,
    test: &ImageSet,
    history: &mut [EpochMetrics],
    options: &TrainOptions,
) -> PhysicsVerdict {
    let t = &cfg.training;
    let not = |reason: String| PhysicsVerdict::NotChecked { reason };
    let hw = match hardware {
        Ok(hw) => hw,
        Err(reason) => return not(reason.clone()),
    };
    if options.skip_physics_check {
        return not("skipped (a benchmark run)".into());
    }
    if history.len() < t.epochs {
        return not(format!(
            "training stopped after epoch {} of {}; the check runs when it ends",
            history.len(),
            t.epochs
        ));
    }
    let devices: usize = network.layers.iter().map(|l| l.devices()).sum();
    let n = check_images(test.len(), devices, t.physics_check_images, t.physics_check_solves, options.physics_all);
    if n == 0 {
        return not(format!(
            "training.physics_check_images is {} and the budget of {} solves does not cover one image ({devices} solves)",
            t.physics_check_images, t.physics_check_solves
        ));
    }
    let check = physics_check(&network.valid(), hw, test, n, cfg.hardware.bits, options.progress);
    if let Some(last) = history.last_mut() {
        last.test_accuracy_physics = Some(check.report.accuracy_physics);
        last.physics_images = Some(check.report.images);
    }
    PhysicsVerdict::Checked(check)
}
