//! `almost-train`: fit device surrogates, train device networks, evaluate them on physics.
//! Thin: arguments -> config -> library call.

use std::path::PathBuf;

/// mimalloc keeps freed pages for reuse: the large, short-lived tensors of training would
/// otherwise be mapped and unmapped (page faults) on every step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use almost_cli::train_args::{Bench, Cli, Command};
use anyhow::{Context, Result};
use clap::Parser;

fn main() -> Result<()> {
    let cli = Cli::parse();
    let threads = cli.threads;
    let backend = cli.backend;
    // a backend the binary lacks is refused here, before any command does work
    let device = backend.device()?;
    if let Some(t) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(t).build_global()?;
    }
    match cli.command {
        Command::Pipeline { quick } => {
            let pipeline = almost_cli::pipeline::Pipeline { quick, backend, ..Default::default() };
            print!("{}", pipeline.run()?);
        }
        Command::Surrogate { data, out, config, no_gradient_check, target, budget } => {
            let report = match target {
                Some(t) => {
                    if !(t.is_finite() && t > 0.0) {
                        anyhow::bail!("--target {t}: give a positive percentage of the output range, e.g. 0.5");
                    }
                    let budget = match budget {
                        Some(b) => b,
                        None => 8 * almost_sim::Dataset::load(&data)?.manifest.samples,
                    };
                    almost_cli::train::surrogate_to_target(
                        &data,
                        &out,
                        config.as_deref(),
                        t / 100.0,
                        budget,
                        !no_gradient_check,
                        &device,
                    )
                }
                None => almost_cli::train::surrogate(&data, &out, config.as_deref(), !no_gradient_check, &device),
            }
            .with_context(|| format!("fitting a surrogate to {}", data.display()))?;
            print!("{}", report.table());
            eprintln!("saved to {}", out.display());
        }
        Command::Network {
            config,
            out,
            epochs,
            seed,
            stop_after,
            mode,
            init,
            train_images,
            learning_rate,
            max_surrogate_error,
            physics,
            hardware,
        } => {
            let mut cfg = almost_net::NetConfig::load(&config)?;
            if let Some(e) = epochs {
                cfg.training.epochs = e;
            }
            if let Some(s) = seed {
                cfg.training.seed = s;
            }
            if let Some(m) = mode {
                cfg.training.mode = m;
            }
            if init.is_some() {
                cfg.training.init = init;
                // a fine-tuning run is a run of its own: its plots and lines carry its folder's name
                if let Some(name) = out.file_name() {
                    cfg.name = name.to_string_lossy().into_owned();
                }
            }
            if let Some(n) = train_images {
                cfg.training.train_images = n;
            }
            if let Some(lr) = learning_rate {
                cfg.training.learning_rate = lr;
            }
            if let Some(e) = max_surrogate_error {
                cfg.training.max_surrogate_error = e;
            }
            if let Some(t) = threads {
                cfg.training.threads = t;
            }
            cfg.hardware = hardware.overrides().apply(&cfg.hardware);
            cfg.validate(&config.display().to_string())?;
            let options = almost_net::TrainOptions {
                progress: true,
                stop_after,
                physics_all: physics,
                device: device.clone(),
                ..Default::default()
            };
            let trained =
                almost_net::train(&cfg, &out, &options).with_context(|| format!("training {}", config.display()))?;
            if let Some(e) = trained.resumed_from {
                eprintln!("resumed after epoch {e}");
            }
            if let Some(h) = trained.history.last() {
                println!(
                    "{} ({}): epoch {}, test accuracy on surrogates {:.2}%",
                    cfg.name,
                    out.display(),
                    h.epoch,
                    100.0 * h.test_accuracy
                );
            }
            println!("{}", trained.physics.summary());
        }
        Command::Sweep { config, out, value, physics, gradient } => {
            use almost_cli::sweep;
            let cfg = sweep::config::SweepConfig::load(&config)?;
            let out = out.unwrap_or_else(|| PathBuf::from("sweeps").join(&cfg.name));
            let options =
                sweep::run::SweepOptions { only: value, physics_all: physics, progress: true, threads, backend };
            if gradient {
                if value.is_some() {
                    anyhow::bail!("--value picks one value of the plain sweep; --gradient runs one conditioned fit");
                }
                let found = sweep::gradient::run(&cfg, &out, &options)
                    .with_context(|| format!("design by gradient of {}", config.display()))?;
                let plain = sweep::collect::plain(&cfg, &out);
                print!("{}", sweep::gradient::comparison(&cfg, &out, &plain, &found));
                eprintln!("wrote {} and {}", out.join("gradient").display(), out.join("sweep.svg").display());
            } else {
                let rows =
                    sweep::run::run(&cfg, &out, &options).with_context(|| format!("sweeping {}", config.display()))?;
                print!("{}", sweep::row::table(&cfg.constant, &rows));
                eprintln!("wrote {} and {}", out.join("sweep.csv").display(), out.join("sweep.svg").display());
            }
        }
        Command::Compare { runs, rows, out, published } => {
            let mut groups = almost_net::compare::gather(&runs)?;
            for file in &rows {
                almost_net::compare::rows::merge(&mut groups, almost_net::compare::rows::read_rows(file)?);
            }
            print!("{}", almost_net::compare::table(&groups));
            almost_net::compare::write_csv(&out.join("compare.csv"), &groups)?;
            almost_net::compare::plot::plot(&out.join("compare.svg"), &groups, &published)?;
            eprintln!("wrote {} and {}", out.join("compare.csv").display(), out.join("compare.svg").display());
        }
        Command::Ensemble { runs, physics, samples, out } => {
            let report = almost_net::ensemble(&runs, samples, physics, &device)?;
            print!("{}", report.table());
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            almost_sim::fsutil::write_json_atomic(&out.join("ensemble.json"), &report)?;
            eprintln!("wrote {}", out.join("ensemble.json").display());
        }
        Command::Robustness { run, samples, variability, mismatch, read_noise, bits } => {
            let sweep = almost_net::physics::robustness::Sweep { variability, mismatch, read_noise, bits };
            print!("{}", almost_net::robustness_run(&run, samples, &sweep, &device)?);
        }
        Command::Bench(Bench::Surrogate { .. } | Bench::Modes { .. }) if !backend.is_cpu() => {
            anyhow::bail!(
                "--backend {backend}: bench surrogate and bench modes run on flex only (bench epoch takes a backend)"
            );
        }
        Command::Bench(Bench::Surrogate { devices, fan_in, sizes, target, work }) => {
            almost_cli::bench::surrogate::run(&devices, fan_in, &sizes, target, &work)?;
        }
        Command::Bench(Bench::Modes { config, init, images, work }) => {
            almost_cli::bench::modes::run(&config, init.as_deref(), images, &work)?;
        }
        Command::Bench(Bench::Epoch { config, images, repeats, export, work }) => {
            almost_cli::bench::epoch::run(&config, images, repeats, export.as_deref(), &work, &device)?;
        }
        Command::Evaluate { run, merge: true, .. } => {
            let report =
                almost_net::physics::shard::merge_run(&run).with_context(|| format!("merging {}", run.display()))?;
            print!("{}", report.table());
            eprintln!("wrote {}", run.join("physics.json").display());
        }
        Command::Evaluate { run, samples, shard: Some(shard), hardware, .. } => {
            let (report, path) =
                almost_net::evaluate_run_shard(&run, samples, shard, &hardware.overrides(), &device)
                    .with_context(|| format!("evaluating {} (shard {}/{})", run.display(), shard.index, shard.count))?;
            print!("{}", report.table());
            eprintln!("wrote {} (join the shards with --merge)", path.display());
        }
        Command::Evaluate { run, physics, samples, hardware, .. } => {
            let evaluation = almost_net::evaluate_run(&run, physics, samples, &hardware.overrides(), &device)
                .with_context(|| format!("evaluating {}", run.display()))?;
            print!("{}", evaluation.text);
        }
    }
    Ok(())
}
