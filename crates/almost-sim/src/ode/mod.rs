//! ODE devices: the [`OdeSystem`] a researcher writes, and the guarded diffsol solve behind it.
//!
//! The parameter vector handed to every callback is `p = [x_0..x_{n-1}, A_0..A_{m-1}]`, so
//! that diffsol's forward sensitivities with respect to `p` give dy/dx and dy/dA at once.

pub use crate::ode_system::{BATCH, LANES, OdeSystem};

mod device;
mod factored_lanes;
mod lane_march;
mod lane_start;
mod lanes;
mod march;
mod rodas4;
pub(crate) mod sens_floor;
pub(crate) mod sens_lanes;
pub(crate) mod solve;
mod tsit45;

pub use device::OdeDevice;
pub(crate) use march::march;
pub use solve::{solve, solve_lanes};

#[cfg(test)]
mod factored_tests;
#[cfg(test)]
mod tests;
