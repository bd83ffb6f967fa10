//! # almost: physics-based almost neurons
//!
//! One import for device researchers: the three stages of the pipeline, re-exported.
//!
//! - [`sim`]: describe a device ([`sim::DeviceModel`], [`sim::OdeSystem`]), simulate it into a
//!   dataset ([`sim::generate()`]), read datasets back ([`sim::Dataset`]).
//! - [`surrogate`]: fit a frozen network f(x, A; B) to a dataset ([`surrogate::fit()`]),
//!   report its error and gradient fidelity, save and load it.
//! - [`net`]: chain surrogates into networks where only the device parameters A train
//!   ([`net::train()`]), and run them on the real physics ([`net::evaluate()`]).
//!
//! The `examples/` folder shows each step on a device of your own.

pub use almost_net as net;
pub use almost_sim as sim;
pub use almost_surrogate as surrogate;
