//! Describing a device network: the TOML [`config`], how devices are fed ([`wiring`]), one
//! layer of devices over a frozen surrogate ([`layer`]), and the checked chain of layers
//! with its fixed summing readout ([`chain`]), and the constants its devices share when
//! they are conditioned on one ([`tied`]).

pub mod chain;
pub mod config;
pub mod hardware_config;
pub mod layer;
pub mod physics_solver;
pub mod tied;
pub mod wiring;
