//! `almost-simulate`: the data generator. Thin: arguments -> config -> `almost_sim` call.

use std::path::PathBuf;

/// mimalloc keeps freed pages for reuse: the large, short-lived tensors of training would
/// otherwise be mapped and unmapped (page faults) on every step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use almost_sim::{Dataset, GenerateConfig, GenerateOptions, ShardSelection, generate, merge, summarize};

/// Simulate a physical device for many inputs x and parameters A, into a dataset.
///
/// A dataset is a folder with data.npz (arrays index, x, a, y, status; numpy.load opens it)
/// and manifest.json (device, its constants and hash, the box, design, solver, failures).
/// Every sample either gives finite outputs or is recorded as failed with its reason;
/// a failed sample never stops the run. Runs are resumable: run the same command again.
#[derive(Parser)]
#[command(name = "almost-simulate", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate (or resume) the dataset described by a TOML config, e.g. simulations/diode-node.toml.
    Generate {
        /// The generation config (device, design, solver, box, output).
        config: PathBuf,
        /// Override design.samples: how many (x, A) points to simulate.
        #[arg(long)]
        samples: Option<u64>,
        /// Override design.seed: the seed that places the points.
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder (default: output.dir of the config, else datasets/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Only make shards s with s % n == k (for n machines, e.g. a Slurm job array); then merge.
        #[arg(long, value_name = "k/n")]
        shard: Option<ShardSelection>,
        /// Stop after this many new shards (a time-boxed job; run again to continue).
        #[arg(long)]
        max_shards: Option<u64>,
    },
    /// Draw a device's response before building anything of it: y along each input and each
    /// parameter through the box centre, and along the box's diagonal, flat stretches marked
    /// (SVG), so that thresholds, saturation and steps show.
    Response {
        /// The generation config that names the device and its box.
        config: PathBuf,
        /// The SVG to write (default: response-<name>.svg).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Points per sweep.
        #[arg(long, default_value_t = 101)]
        points: usize,
        /// Which device output to draw.
        #[arg(long, default_value_t = 0)]
        output: usize,
    },
    /// Print a dataset's summary: counts, failures by reason, column ranges, output histogram.
    Inspect {
        /// The dataset folder.
        dataset: PathBuf,
    },
    /// Join the shards made by several `--shard k/n` runs into one dataset.
    Merge {
        /// Where the merged dataset goes (may be one of the inputs).
        #[arg(long)]
        out: PathBuf,
        /// The shard folders (each holds plan.json and shards/).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Measure samples/s of every built-in device and the generator's overhead over a bare diffsol loop;
    /// then, per ODE device, the time of one solve against its floor: right-hand-side and Jacobian
    /// evaluations per solve times their cost measured on their own (one thread).
    Bench {
        /// Scale the number of samples per device (1.0 = a few seconds each).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Fan-in of the devices.
        #[arg(long, default_value_t = 8)]
        fan_in: usize,
        /// Repeats per measurement (the median is reported).
        #[arg(long, default_value_t = 3)]
        repeats: usize,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Response { config, out, points, output } => {
            let cfg = GenerateConfig::load(&config)?;
            let job = cfg.resolve(&config.display().to_string())?;
            let r = almost_sim::response::response(job.device.as_ref(), &job.plan.domain, points, output);
            let out = out.unwrap_or_else(|| PathBuf::from(format!("response-{}.svg", cfg.name)));
            almost_sim::response::plot(&out, &job.plan.device.kind, &r)?;
            println!("{}\nresponse drawn in {}", r.summary(), out.display());
        }
        Command::Generate { config, samples, seed, out, threads, shard, max_shards } => {
            let mut cfg = GenerateConfig::load(&config)?;
            if let Some(n) = samples {
                cfg.design.samples = n;
            }
            if let Some(s) = seed {
                cfg.design.seed = s;
            }
            let dir = out.unwrap_or_else(|| cfg.out_dir());
            let job = cfg.resolve(&config.display().to_string())?;
            eprintln!(
                "simulating {} samples of {} ({} inputs, {} parameters) into {}",
                job.plan.design.samples,
                job.plan.device.kind,
                job.plan.device.n_inputs(),
                job.plan.device.n_params(),
                dir.display()
            );
            let options = GenerateOptions { shard, threads, progress: true, max_new_shards: max_shards };
            let outcome = generate(&job, &dir, &options).with_context(|| format!("generating {}", dir.display()))?;
            eprintln!(
                "{} shards generated, {} already done, {} samples in {:.1} s ({:.0} samples/s)",
                outcome.shards_generated,
                outcome.shards_skipped,
                outcome.samples_solved,
                outcome.seconds,
                outcome.samples_solved as f64 / outcome.seconds.max(1e-9)
            );
            match outcome.manifest {
                Some(_) => print!("{}", summarize(&Dataset::load(&dir)?)),
                None => eprintln!("not all shards are done yet: run again, or merge the shard folders"),
            }
        }
        Command::Inspect { dataset } => print!("{}", summarize(&Dataset::load(&dataset)?)),
        Command::Merge { out, inputs } => {
            merge(&out, &inputs)?;
            print!("{}", summarize(&Dataset::load(&out)?));
        }
        Command::Bench { scale, fan_in, repeats } => {
            almost_cli::bench::simulate::run(scale, fan_in, repeats)?;
            almost_cli::bench::simulate::floors(fan_in, repeats)?;
        }
    }
    Ok(())
}
