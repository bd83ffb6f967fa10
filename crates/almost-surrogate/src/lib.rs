//! # almost-surrogate: a small network that stands in for a device
//!
//! The second stage of the `almost` pipeline. A [`Surrogate`] f(x, A; B) is a burn module with
//! fixed normalisation of its inputs and outputs around trainable weights B. It is fitted to
//! a device dataset, tested honestly on a held-out split that never steers training,
//! checked against the device's own gradients, frozen and saved with everything needed to
//! trust it.
//!
//! ## Tasks
//! - **Choose where**: [`Backend`] names burn's CPU backend (default) or a GPU one compiled
//!   in by a Cargo feature (`wgpu`, `vulkan`, `cuda`).
//! - **Configure**: [`FitConfig`] (TOML: [`Architecture`] = MLP or the seed's one-layer
//!   polynomial form, training schedule, report settings); without one,
//!   [`choose::choose_default`] tries the default candidates and keeps the best on validation.
//! - **Fit**: [`fit()`] on an [`almost_sim::Dataset`]: seeded split, Adam with a plateau
//!   schedule and early stopping, then [`FitReport`] (RMSE, max error, R^2, error relative to
//!   the output range, outer shell vs interior, gradient check).
//! - **Refine** (optional): [`refine()`] simulates more points where the surrogate errs most
//!   and refits, reporting held-out error vs number of device solves.
//! - **The whole job**: [`fit_and_save`] (rebuild the device, fit or refine, save, report);
//!   [`reusable`] says whether a saved surrogate already fits a dataset.
//! - **Save / load**: [`store::save`] and [`store::load`] (safetensors + `surrogate.json`
//!   with the domain box, normalisation, device spec and hashes).
//! - **Use**: [`Surrogate::forward`] for one device, [`Surrogate::forward_devices`] for many
//!   devices with their own parameters at once (what a device network calls);
//!   [`kernel::FrozenMlp`] for the same on the host, fused and fast (what training calls).

pub mod activation;
pub mod arch;
pub mod backend;
pub mod choose;
pub mod config;
pub mod data;
pub mod dense;
pub mod error;
pub mod fit;
pub mod gradcheck;
pub mod kernel;
pub mod metrics;
pub mod normalize;
pub mod plots;
pub mod refine;
pub mod report;
pub mod store;
pub mod surrogate;
pub mod tensor_io;
pub mod workflow;

pub use activation::Activation;
pub use arch::Architecture;
pub use backend::Backend;
pub use config::{FitConfig, Precision, ReportConfig, TrainingConfig};
pub use error::{Result, SurrogateError};
pub use fit::{FitOptions, Fitted, fit, fit_with, rebuild_device, write_artifacts};
pub use refine::{RefineConfig, RefineRound, Refined, refine};
pub use report::FitReport;
pub use store::{SavedSurrogate, SurrogateMeta, load, save};
pub use surrogate::Surrogate;
pub use workflow::{FitOutcome, fit_and_save, reusable};
