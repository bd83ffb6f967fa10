//! Honesty checks: no figure on surrogates without the truth beside it.
//!
//! - [`quality`]: training refuses a surrogate whose recorded held-out error is above a
//!   threshold (`[training] max_surrogate_error`), naming the figure and the way out.
//! - [`health`]: after every epoch, where the network drives its devices: the share of
//!   device evaluations outside the surrogate's box, and the surrogate's error measured
//!   against the device's own solves at a sample of the network's operating points.
//! - [`physics_check`]: every training run ends with the trained network on the devices'
//!   physics (a subsample of the test set within a budget of solves), printed beside the
//!   accuracy on surrogates with its standard error, and the gap flagged when it is larger
//!   than the subsample's noise.

pub mod health;
pub mod physics_check;
pub mod quality;

pub use health::{LayerHealth, probe_health};
pub use physics_check::{NOT_CHECKED, PhysicsCheck, PhysicsVerdict, check_images, physics_check};
pub use quality::check_surrogates;
