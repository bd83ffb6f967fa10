//! # almost-sim: physical devices and their datasets
//!
//! The first stage of the `almost` pipeline: solve a device's equations for many inputs x
//! and parameters A, in parallel, into a dataset a surrogate can be fitted to.
//!
//! ## Tasks, in the order a device researcher meets them
//! - **Describe a device**: implement [`DeviceModel`] (closed form) or [`OdeSystem`]
//!   (an ODE, solved by diffsol through [`OdeDevice`]; a right-hand side that needs `exp` calls
//!   [`numeric::exp`]); or write a DiffSL text file
//!   ([`devices::DiffSlDevice`]) and recompile nothing. A [`DeviceSpec`] declares names, units,
//!   ranges and physical bounds; its hash identifies the physics downstream.
//! - **Use a built-in device**: [`devices`] (`analytic`, `diode-node`, `fhn-neuron`,
//!   `duffing-mems`), selected by a [`devices::DeviceConfig`].
//! - **Choose points**: [`design`] (Sobol, Latin hypercube, uniform, grid; point i is a pure
//!   function of the seed and i) inside a [`DomainBox`].
//! - **Generate**: [`GenerateConfig`] (TOML) -> [`Job`] -> [`generate()`]: rayon-parallel,
//!   sharded, atomic, resumable, every failure recorded ([`FailureKind`]), never fatal.
//!   [`merge()`] joins shards made on several machines; [`grow()`] adds points to a finished
//!   Sobol or uniform dataset without solving the old ones again.
//! - **Read**: [`Dataset::load`] validates everything (hash, shapes, NaN) and [`summarize`]
//!   prints it. `data.npz` opens with `numpy.load`.
//! - **Measure**: [`bench`](mod@bench) compares the generator's throughput with a bare diffsol loop;
//!   [`floor`] prices a device's solve against what its equations alone cost
//!   ([`DeviceModel::solve_floor`] at any points, e.g. a network's operating points).

pub mod bench;
pub mod config;
pub mod dataset;
pub mod derivatives;
pub mod design;
pub mod devices;
pub mod domain;
pub mod error;
pub mod floor;
pub mod fsutil;
pub mod generate;
pub mod grow;
pub mod merge;
pub mod model;
pub mod npz;
pub mod numeric;
pub mod ode;
pub mod ode_system;
pub mod response;
pub mod sens;
pub mod solver;
pub mod spec;
pub mod summary;
pub mod table;
pub mod timing;

pub use config::{GenerateConfig, Job, Plan};
pub use dataset::{Dataset, Manifest};
pub use derivatives::{DerivativeSource, derivatives, derivatives_batch};
pub use design::{Design, DesignConfig, DesignKind};
pub use domain::DomainBox;
pub use error::{FailureKind, Result, SimError};
pub use generate::{GenerateOptions, GenerateOutcome, ShardSelection, generate, respond_many};
pub use grow::grow;
pub use merge::merge;
pub use model::{DeviceModel, Jacobian, finite_difference_jacobian, respond_batch_guarded, respond_guarded};
pub use ode::{OdeDevice, OdeSystem};
pub use solver::{SolverMethod, SolverSettings};
pub use spec::{DeviceSpec, Quantity};
pub use summary::summarize;
pub use table::Table;
