//! # almost-net: networks of almost neurons
//!
//! The third stage of the `almost` pipeline: chain frozen device surrogates into a network
//! in which the surrogate weights B never change and only each device's parameters A are
//! trained, then run the trained network on the real physics.
//!
//! ## Rooms, by concern
//! - [`network`]: **describe a network**: [`NetConfig`] (TOML) with a [`WiringConfig`] per
//!   layer (dense, local 2-D patches, random sparse; optional reference line) and a fixed
//!   summing readout; [`build`] loads each layer's surrogate and checks every fan-in and width
//!   before any data is seen; a [`DeviceLayer`] evaluates all its devices in one surrogate
//!   call and keeps A inside its bounds by projection.
//! - [`data`]: MNIST-format files read with errors, not panics; a folder loaded and split with
//!   a seed; batches as tensors (with shift augmentation).
//! - [`training`]: [`train()`] (Adam, cosine schedule, data-parallel batches, checkpoints and
//!   resume, `metrics.csv`, `curves.svg`) in one of three [`Mode`]s, each one step function;
//!   MSE regression on a network's last-layer outputs.
//! - [`physics`]: [`Hardware`] is what answers for each device instance: [`NominalHardware`]
//!   (the devices the surrogates were fitted to) or [`PerturbedHardware`] (variability,
//!   mismatch, read noise, quantised A); [`evaluate()`] reports accuracy on surrogates vs
//!   physics and the per-layer gap, also split over machines and merged
//!   ([`physics::shard`]); robustness sweeps the imperfections.
//! - [`check`]: no figure on surrogates without the truth: poor surrogates refused, the
//!   operating region probed every epoch, every run ended by a check on the physics.
//! - [`compare`]: trained runs side by side: the seeds of one network as one entry (mean,
//!   spread, binomial standard error, gap), a table, `compare.csv` and an SVG of accuracy on
//!   the physics against devices next to published results.
//! - [`matrix`]: matrix-valued neurons (matrix exponential, matrix layers, recovery of the
//!   coefficients of exp(sum a_i A_i)).

pub mod check;
pub mod compare;
pub mod data;
pub mod error;
pub mod fused;
pub mod matrix;
pub mod network;
pub mod physics;
pub mod training;

pub use check::{PhysicsCheck, PhysicsVerdict};
pub use error::{NetError, Result};
pub use network::chain::{DeviceNetwork, build};
pub use network::config::{LayerConfig, Mode, NetConfig, NetTrainingConfig, ReadoutConfig};
pub use network::hardware_config::{HardwareConfig, HardwareOverrides};
pub use network::layer::DeviceLayer;
pub use network::physics_solver::{PhysicsMethod, PhysicsSolver};
pub use network::wiring::{MapShape, WiringConfig};
pub use physics::evaluate::{PhysicsReport, evaluate};
pub use physics::hardware::{Hardware, LayerCall, NominalHardware};
pub use physics::imperfect::PerturbedHardware;
pub use physics::select::hardware_for;
pub use training::ensemble::{EnsembleReport, ensemble};
pub use training::run::{LoadedRun, load_run, save_run};
pub use training::run_eval::{RunEvaluation, evaluate_run, evaluate_run_shard, robustness_run};
pub use training::train::{TrainOptions, Trained, train};
