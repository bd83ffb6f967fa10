//! The network on the devices themselves: what answers for each device instance
//! ([`hardware`]: nominal devices; [`imperfect`]: variability, mismatch, read noise,
//! quantised A), the evaluation on physics with its per-layer gap ([`evaluate`]), split over
//! machines and merged ([`shard`]), what a run's `physics.json` was measured on
//! ([`run_physics`]), sweeps of the imperfections ([`robustness`]), and how the physics-aware mode solves its
//! forward passes ([`training_solver`]); what the hardware is asked ([`layer_call`]), repeated
//! calls answered once and the rest grouped into batched solves ([`distinct`]).

pub mod distinct;
pub mod evaluate;
pub mod forward;
pub mod hardware;
pub mod imperfect;
pub mod layer_call;
pub mod robustness;
pub mod run_physics;
pub mod select;
pub mod shard;
pub mod training_solver;
