//! # almost-net: networks of almost neurons
//!
//! The third stage of the `almost` pipeline: chain frozen device surrogates into a network
//! in which the surrogate weights B never change and only each device's parameters A are
//! trained, then run the trained network on the real physics.
//!
//! ## Tasks
//! - **Describe a network**: [`NetConfig`] (TOML) with [`WiringConfig`] per layer (dense,
//!   local 2-D patches, random sparse) and a fixed summing [`network::Readout`].
//! - **Build it**: [`network::build`] loads each layer's surrogate and checks every fan-in and
//!   width before any data is seen; [`DeviceLayer`] evaluates all its devices in one
//!   surrogate call and keeps A inside its bounds by projection.
//! - **Data**: [`idx`] reads MNIST-format files with errors, not panics; [`images`] loads a
//!   folder and splits it with a seed.

pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod hardware;
pub mod history;
pub mod idx;
pub mod images;
pub mod imperfect;
pub mod layer;
pub mod matrix;
pub mod modes;
pub mod network;
pub mod physics;
pub mod robustness;
pub mod run;
pub mod train;
pub mod wiring;

pub use config::{LayerConfig, Mode, NetConfig, NetTrainingConfig, ReadoutConfig};
pub use error::{NetError, Result};
pub use hardware::{Hardware, LayerCall, NominalHardware};
pub use imperfect::{HardwareConfig, HardwareOverrides, PerturbedHardware};
pub use layer::DeviceLayer;
pub use network::{DeviceNetwork, build};
pub use physics::{PhysicsReport, evaluate};
pub use run::{load_run, save_run};
pub use train::{TrainOptions, Trained, hardware_for, train};
pub use wiring::{MapShape, WiringConfig};
