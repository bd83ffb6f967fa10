//! The floor of a device solve: what its equations alone cost. A solve evaluates the
//! right-hand side and the Jacobian-vector product some number of times; each evaluation,
//! timed on its own at the states the solver visits, has a cost; the floor is their sum.
//! The time of a whole solve against that floor says how much the solver machinery around
//! the equations costs (building the problem, the step control, the linear algebra).

mod measure;
mod report;

pub use measure::measure;
pub use report::Floor;
