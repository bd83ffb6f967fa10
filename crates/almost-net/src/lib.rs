//! # almost-net: networks of almost neurons
//!
//! The third stage of the `almost` pipeline: chain frozen device surrogates into a network
//! in which the surrogate weights B never change and only each device's parameters A are
//! trained, then run the trained network on the real physics.
//!
//! ## Tasks
//! - **Describe a network**: [`NetConfig`] (TOML) with a [`WiringConfig`] per layer (dense,
//!   local 2-D patches, random sparse; optional reference line) and a fixed summing
//!   [`network::Readout`].
//! - **Build it**: [`network::build`] loads each layer's surrogate and checks every fan-in and
//!   width before any data is seen; a [`DeviceLayer`] evaluates all its devices in one
//!   surrogate call and keeps A inside its bounds by projection.
//! - **Data**: [`idx`] reads MNIST-format files with errors, not panics; [`images`] loads a
//!   folder and splits it with a seed; [`batch`] makes tensors (with shift augmentation).
//! - **Train**: [`train()`] (Adam, cosine schedule, data-parallel batches, checkpoints and
//!   resume, `metrics.csv`, `curves.svg`) in one of three [`Mode`]s; [`modes`] holds the
//!   physics-aware and exact steps. [`regression`] trains a network's last-layer outputs
//!   on continuous targets by mean squared error (the seed's chain of three devices).
//! - **Run on physics**: [`Hardware`] is what answers for each device instance:
//!   [`NominalHardware`] (the devices the surrogates were fitted to) or
//!   [`PerturbedHardware`] (variability, read noise; [`imperfect`] also quantises A);
//!   [`evaluate()`] reports accuracy on surrogates vs physics and the per-layer gap;
//!   [`robustness`] sweeps the imperfections.
//! - **Matrix-valued neurons**: [`matrix`] (matrix exponential, matrix layers, recovery of
//!   the coefficients of exp(sum a_i A_i)).

pub mod batch;
pub mod check;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod hardware;
pub mod history;
pub mod idx;
pub mod images;
pub mod imperfect;
pub mod layer;
pub mod loss;
pub mod matrix;
pub mod modes;
pub mod network;
pub mod parallel;
pub mod physics;
pub mod regression;
pub mod robustness;
pub mod run;
pub mod train;
pub mod wiring;

pub use check::{PhysicsCheck, PhysicsVerdict};
pub use config::{LayerConfig, Mode, NetConfig, NetTrainingConfig, ReadoutConfig};
pub use error::{NetError, Result};
pub use hardware::{Hardware, LayerCall, NominalHardware};
pub use imperfect::{HardwareConfig, HardwareOverrides, PerturbedHardware};
pub use layer::DeviceLayer;
pub use network::{DeviceNetwork, build};
pub use physics::{PhysicsReport, evaluate};
pub use run::{LoadedRun, load_run, save_run};
pub use train::{TrainOptions, Trained, hardware_for, train};
pub use wiring::{MapShape, WiringConfig};
