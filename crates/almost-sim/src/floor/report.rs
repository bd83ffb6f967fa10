//! [`Floor`]: one device's solve against what its equations alone cost.

/// One device's solve against its floor (single thread).
#[derive(Clone, Debug, PartialEq)]
pub struct Floor {
    /// Right-hand-side evaluations per solve (mean over the points, each solved alone).
    pub rhs_per_solve: f64,
    /// Jacobian-vector products per solve (mean).
    pub jac_per_solve: f64,
    /// Cost of one right-hand side at the states the solver visited, nanoseconds (median).
    pub rhs_ns: f64,
    /// Cost of one Jacobian-vector product at the visited states, nanoseconds (median).
    pub jac_ns: f64,
    /// Time of one whole solve, alone, microseconds (median of the repeats).
    pub solve_us: f64,
    /// Time per solve when the points are solved in batches of [`crate::ode::BATCH`] (at most [`crate::ode::LANES`] lanes at a time), microseconds.
    pub batch_us: f64,
}

impl Floor {
    /// The floor of one solve, microseconds: evaluations times their cost.
    pub fn floor_us(&self) -> f64 {
        (self.rhs_per_solve * self.rhs_ns + self.jac_per_solve * self.jac_ns) / 1000.0
    }

    /// Time of a solve alone over its floor (1 = nothing but the equations).
    pub fn ratio(&self) -> f64 {
        self.solve_us / self.floor_us()
    }

    /// Time per solve in batches over the floor of a solve alone.
    pub fn batch_ratio(&self) -> f64 {
        self.batch_us / self.floor_us()
    }
}
