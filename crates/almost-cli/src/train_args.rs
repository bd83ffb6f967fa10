//! The arguments of `almost-train` (clap): every subcommand and its flags, with the help
//! text a user reads.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Train "almost neurons": fit a surrogate f(x, A; B) of a simulated device, then build and
/// train networks of such devices in which only the device parameters A are learned.
#[derive(Parser)]
#[command(name = "almost-train", version, about, long_about)]
pub struct Cli {
    /// Worker threads for device solves and data-parallel training (default: one per core;
    /// for `network` and `sweep` it also sets training.threads).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// burn backend for surrogate fits, network training and evaluation: flex (burn's CPU
    /// backend, the default), wgpu, vulkan, cuda or cuda:N. A GPU backend needs the binary
    /// built with its feature (`cargo build --release -p almost-cli --features wgpu`); the
    /// device physics (ODE solves) runs on the host's cores whatever the backend, and on a GPU
    /// a training batch is not split over host threads.
    #[arg(long, global = true, default_value = "flex", value_parser = parse_backend)]
    pub backend: almost_surrogate::Backend,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// The whole pipeline on the bundled default: install the digits, simulate the diode-node
    /// device, fit its surrogate, train the all-device digit network, evaluate it on physics.
    Pipeline {
        /// Tiny sizes for a smoke test (seconds instead of minutes; accuracy is meaningless).
        #[arg(long)]
        quick: bool,
    },
    /// Fit a surrogate network to a device dataset, report its held-out error and gradient
    /// fidelity, and save it frozen (surrogate.safetensors + surrogate.json + report + plots).
    Surrogate {
        /// Dataset folder made by almost-simulate (holds manifest.json and data.npz).
        #[arg(long)]
        data: PathBuf,
        /// Output folder for the surrogate.
        #[arg(long)]
        out: PathBuf,
        /// Fit config (TOML: [architecture], [training], [report], [refine]). Without it: an MLP
        /// [64, 64] of softsign with the x_i * A_i and x_i^2 * A_i products where each input has its own parameter.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Skip the comparison of gradients with the device's finite differences.
        #[arg(long)]
        no_gradient_check: bool,
        /// Target held-out RMSE in % of the output range (e.g. 0.5): while the fit is worse, the
        /// dataset is doubled through the generator (Sobol or uniform designs; only the new
        /// points are solved) and the surrogate fitted again. Prints RMSE against samples.
        #[arg(long)]
        target: Option<f64>,
        /// Largest dataset the target mode may grow to, in samples (default: 8x the dataset).
        #[arg(long)]
        budget: Option<u64>,
    },
    /// Train a network of devices on images: only the device parameters A are learned, through
    /// the frozen surrogates. Resumes from the run folder's checkpoint if there is one.
    Network {
        /// Network config (TOML: [data], [[layers]], [readout], [training]).
        #[arg(long)]
        config: PathBuf,
        /// Run folder (weights, metrics.csv, curves.svg, checkpoints).
        #[arg(long)]
        out: PathBuf,
        /// Override training.epochs.
        #[arg(long)]
        epochs: Option<usize>,
        /// Override training.seed (the initial A and the batch order; the data split is
        /// [data] seed's): a seed study is one config and `--seed 1`, `2`, `3` into three run
        /// folders, which `almost-train compare` then shows as one network.
        #[arg(long)]
        seed: Option<u64>,
        /// Stop after this many epochs of this invocation (run again to continue).
        #[arg(long)]
        stop_after: Option<usize>,
        /// Override training.mode: surrogate (through the surrogates), physics-aware (forward
        /// on the physics, backward through the surrogates at the physical activations) or
        /// exact (forward on the physics, backward with ODE sensitivities).
        #[arg(long)]
        mode: Option<almost_net::Mode>,
        /// Start from the trained A of this run folder (fine-tuning).
        #[arg(long)]
        init: Option<PathBuf>,
        /// Training images per epoch (a fresh subset each epoch; the physics modes are costly).
        #[arg(long)]
        train_images: Option<usize>,
        /// Override training.learning_rate.
        #[arg(long)]
        learning_rate: Option<f64>,
        /// Override training.max_surrogate_error: the largest held-out RMSE of a surrogate, as
        /// a share of its output range, that training accepts (default 0.02 = 2%).
        #[arg(long)]
        max_surrogate_error: Option<f64>,
        /// Run the check on the physics that ends training on every test image (default: the
        /// first training.physics_check_images within training.physics_check_solves solves).
        #[arg(long)]
        physics: bool,
        /// Imperfect hardware.
        #[command(flatten)]
        hardware: HardwareArgs,
    },
    /// Trained runs side by side: runs of one network that differ only in the training seed
    /// are one entry (mean and spread over seeds, binomial standard error of the test set,
    /// surrogate-physics gap, box exits). Prints the table and writes compare.csv (a row per
    /// run) and compare.svg (accuracy on the physics against devices, one panel per data set,
    /// published results as dashed lines). Physics figures count only runs checked on their
    /// whole test set (`almost-train network --physics`), or evaluated on it afterwards on the
    /// nominal devices with the run's present A (`almost-train evaluate --physics`).
    Compare {
        /// Run folders made by `almost-train network`.
        #[arg(required_unless_present = "rows")]
        runs: Vec<PathBuf>,
        /// Rows of an earlier compare.csv to draw and table with the run folders (runs whose
        /// folders are gone); a row of a run folder given too is left out. Repeat for more.
        #[arg(long)]
        rows: Vec<PathBuf>,
        /// Folder for compare.csv and compare.svg.
        #[arg(long)]
        out: PathBuf,
        /// A published result drawn as a line on its data set's panel, DATASET=ACCURACY=LABEL
        /// (DATASET is the data folder's name), e.g. "fashion-mnist=0.898=PAT oscillators
        /// (Wright 2022)". Repeat for more.
        #[arg(long)]
        published: Vec<almost_net::compare::Published>,
    },
    /// Several trained networks read out together: their class scores summed image by image,
    /// the readout of one wider network whose branches (the runs) share the input and nothing
    /// else (devices and a fixed summing readout still, the branches trained one by one). On
    /// the surrogates, and with --physics on every branch's devices; prints each branch and
    /// the whole, and writes ensemble.json.
    Ensemble {
        /// Run folders made by `almost-train network` on one test set.
        #[arg(required = true, num_args = 2..)]
        runs: Vec<PathBuf>,
        /// Run every branch on its devices' physics (ODE solves, parallel).
        #[arg(long)]
        physics: bool,
        /// Evaluate only the first N test images (default: all).
        #[arg(long, default_value_t = 0)]
        samples: usize,
        /// Folder for ensemble.json.
        #[arg(long)]
        out: PathBuf,
    },
    /// Accuracy of a trained network on imperfect hardware: device-to-device variability,
    /// read noise and quantised A, each swept on its own; writes robustness.json/.svg.
    Robustness {
        /// Run folder made by `almost-train network`.
        #[arg(long)]
        run: PathBuf,
        /// Test images per evaluation.
        #[arg(long, default_value_t = 500)]
        samples: usize,
        /// Relative sigmas of the device constants.
        #[arg(long, value_delimiter = ',', default_value = "0,0.01,0.02,0.05,0.1")]
        variability: Vec<f64>,
        /// Relative sigmas of the realised parameters A (conductance mismatch).
        #[arg(long, value_delimiter = ',', default_value = "0.02,0.05,0.1,0.2,0.3")]
        mismatch: Vec<f64>,
        /// Read-noise standard deviations (output units).
        #[arg(long, value_delimiter = ',', default_value = "0.002,0.005,0.01,0.02,0.05")]
        read_noise: Vec<f64>,
        /// Bits of A (0 = unquantised).
        #[arg(long, value_delimiter = ',', default_value = "8,6,5,4,3,2")]
        bits: Vec<u32>,
    },
    /// How learning changes with a constant of the device (eps of the closed form, a circuit's
    /// i_s or t_end, a DiffSL constant): at each value generate, fit the surrogate and train the
    /// network with the defaults (each seed), and check it on the physics. One folder per value;
    /// a killed sweep resumes; writes sweep.csv and sweep.svg (accuracy vs the constant, the
    /// surrogate's error beside it). Example: simulations/sweeps/analytic-eps.toml
    Sweep {
        /// Sweep config (TOML: simulation, constant, values or range, network, seeds).
        config: PathBuf,
        /// Output folder (default: sweeps/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run only the value with this index, from 0 (one task of a Slurm array; run once more
        /// without it, or `--value` for each, then the same command redraws sweep.csv and .svg).
        #[arg(long)]
        value: Option<usize>,
        /// Check every trained network on all test images (default: the training config's check).
        #[arg(long)]
        physics: bool,
        /// Design by gradient instead of the plain sweep: one dataset and one surrogate
        /// conditioned on the constant over its range (the config's [gradient] table, default
        /// the values' span), one training per seed in which the constant is shared by every
        /// device and trained with the A's; each run is checked on the physics at the value
        /// it chose, printed next to the best value of the plain sweep (into <out>/gradient).
        #[arg(long)]
        gradient: bool,
    },
    /// Benchmarks (figures for the notes; not tests).
    #[command(subcommand)]
    Bench(Bench),
    /// Evaluate a trained network: test accuracy on the surrogates, and with --physics on the
    /// real devices (every surrogate call replaced by the device's ODE solve), with the
    /// per-layer gap between the two.
    Evaluate {
        /// Run folder made by `almost-train network`.
        #[arg(long)]
        run: PathBuf,
        /// Run the network on the devices' physics (ODE solves, parallel).
        #[arg(long)]
        physics: bool,
        /// Evaluate only the first N test images (default: all).
        #[arg(long, default_value_t = 0)]
        samples: usize,
        /// With --physics: evaluate only shard k of n (test images i with i % n == k; a task of
        /// a Slurm job array, simulations/slurm-evaluate.sh) into physics.shard-k-of-n.json.
        #[arg(long, requires = "physics", conflicts_with = "merge")]
        shard: Option<almost_sim::ShardSelection>,
        /// Join the run's shard reports into physics.json (refuses a missing shard or shards of
        /// other trained A) and print it.
        #[arg(long, conflicts_with = "physics")]
        merge: bool,
        /// Imperfect hardware.
        #[command(flatten)]
        hardware: HardwareArgs,
    },
}

/// Imperfect hardware (overrides the config's [hardware] table when any is given).
#[derive(clap::Args)]
pub struct HardwareArgs {
    /// Device-to-device variability: relative sigma of the device constants (e.g. 0.05).
    #[arg(long)]
    pub variability: Option<f64>,
    /// Conductance mismatch: relative sigma of every realised parameter A (e.g. 0.1).
    #[arg(long)]
    pub mismatch: Option<f64>,
    /// Read noise: standard deviation added to every device output (output units).
    #[arg(long)]
    pub read_noise: Option<f64>,
    /// Quantise A to this many bits within its bounds.
    #[arg(long)]
    pub bits: Option<u32>,
    /// Seed of the device instances and the noise.
    #[arg(long)]
    pub hardware_seed: Option<u64>,
}

impl HardwareArgs {
    /// The overrides of the config's [hardware] table these flags make.
    pub fn overrides(&self) -> almost_net::HardwareOverrides {
        almost_net::HardwareOverrides {
            variability: self.variability,
            mismatch: self.mismatch,
            read_noise: self.read_noise,
            bits: self.bits,
            seed: self.hardware_seed,
        }
    }
}

/// The benchmarks.
#[derive(Subcommand)]
pub enum Bench {
    /// Samples needed and wall time to reach a held-out RMSE of 1% of the output range, for
    /// each built-in device (fan-in 8 by default), doubling the dataset until it is reached.
    Surrogate {
        /// Devices to measure.
        #[arg(long, value_delimiter = ',', default_value = "analytic,diode-node,fhn-neuron,duffing-mems")]
        devices: Vec<String>,
        /// Fan-in of every device.
        #[arg(long, default_value_t = 8)]
        fan_in: usize,
        /// Sample counts to try, in order.
        #[arg(long, value_delimiter = ',', default_value = "1000,2000,4000,8000,16000,32000,64000")]
        sizes: Vec<usize>,
        /// Target held-out RMSE relative to the output range.
        #[arg(long, default_value_t = 0.01)]
        target: f64,
        /// Folder for the benchmark datasets (reused when present).
        #[arg(long, default_value = "datasets")]
        work: PathBuf,
    },
    /// Cost of a training epoch in each mode (surrogate, physics-aware, exact) on one network,
    /// measured on a subset of the training images, extrapolated to the whole set and given
    /// as a multiple of the surrogate epoch; then the physics-evaluation throughput (device
    /// solves per second) on as many test images, every layer's device solve and
    /// forward-sensitivity solve against their floors at the points that evaluation drove it
    /// to, and the physics-aware and exact epochs against their floors (the surrogate epoch
    /// plus one solve per device and image; one sensitivity solve per device and image).
    Modes {
        /// Network config.
        #[arg(long, default_value = "simulations/networks/digits-diode.toml")]
        config: PathBuf,
        /// Start from this trained run (optional).
        #[arg(long)]
        init: Option<PathBuf>,
        /// Training images per measurement.
        #[arg(long, default_value_t = 128)]
        images: usize,
        /// Scratch folder for the measurement runs.
        #[arg(long, default_value = "runs")]
        work: PathBuf,
    },
    /// One surrogate-mode training epoch against its floor: the multiply-adds of every
    /// device's surrogate (forward, and twice that backward) at the multiply-add rate this
    /// machine's training backend reaches on a large f32 matrix product, with as many threads
    /// as training uses. Prints the epoch time (measured on a subset of the training images
    /// and scaled to the whole set), the work, the rate, the floor and their ratio.
    Epoch {
        /// Network config.
        #[arg(long, default_value = "simulations/networks/digits-diode.toml")]
        config: PathBuf,
        /// Training images per measured epoch (scaled to the whole training set).
        #[arg(long, default_value_t = 1024)]
        images: usize,
        /// Measured epochs (the median is reported).
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Also write DIR/twin.npz: the network's wiring, input maps, initial A, surrogate tensors,
        /// readout, pixels and check logits, from which benches/devnet_pytorch.py builds the same
        /// network in PyTorch.
        #[arg(long)]
        export: Option<PathBuf>,
        /// Scratch folder for the measurement runs.
        #[arg(long, default_value = "runs")]
        work: PathBuf,
    },
}

/// `--backend`, with the library's error text.
fn parse_backend(s: &str) -> Result<almost_surrogate::Backend, String> {
    s.parse().map_err(|e: almost_surrogate::SurrogateError| e.to_string().trim_start_matches("--backend: ").to_string())
}
