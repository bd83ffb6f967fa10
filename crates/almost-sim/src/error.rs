//! The one error type of `almost-sim`.
//!
//! Two families live here. *Sample failures* ([`SimError::Solver`], [`SimError::NonFinite`],
//! [`SimError::StepBudget`], [`SimError::TimeBudget`], [`SimError::Panic`]) describe why one
//! (x, A) point produced no output; the generator records them per row and carries on.
//! Everything else is a failure of the job itself (bad config, unreadable file) and stops it.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = SimError> = std::result::Result<T, E>;

/// Everything that can go wrong in `almost-sim`.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SimError {
    /// The ODE solver returned an error (step size collapsed, Newton failed, ...).
    #[error("ODE solver failed at t = {time:e}: {message}")]
    Solver {
        /// Simulation time (device units) at which the solver gave up.
        time: f64,
        /// The solver's own message.
        message: String,
    },
    /// A state or output became NaN or infinite.
    #[error("non-finite value in {what} at t = {time:e}")]
    NonFinite {
        /// Which quantity was not finite ("state", "output 0", ...).
        what: String,
        /// Simulation time at which it was seen.
        time: f64,
    },
    /// The solver needed more steps than the configured budget.
    #[error("step budget of {max_steps} steps exhausted at t = {time:e}")]
    StepBudget {
        /// The budget that was exceeded.
        max_steps: usize,
        /// Simulation time reached.
        time: f64,
    },
    /// The solve took longer (wall clock) than the configured budget.
    #[error("time budget of {max_seconds} s exhausted at t = {time:e}")]
    TimeBudget {
        /// The budget that was exceeded.
        max_seconds: f64,
        /// Simulation time reached.
        time: f64,
    },
    /// The device code panicked; the panic was caught and recorded.
    #[error("device panicked: {message}")]
    Panic {
        /// The panic payload, if it was a string.
        message: String,
    },
    /// The device returned a different number of outputs than its spec declares (a bug in
    /// the device's code; recorded per sample as `other`).
    #[error("device '{device}' returned {returned} outputs, its spec declares {declared}")]
    OutputCount {
        /// Device name.
        device: String,
        /// Outputs returned.
        returned: usize,
        /// Outputs declared by the spec.
        declared: usize,
    },
    /// A device's declared factoring of df/dp ([`crate::OdeSystem::n_dp_factors`]) disagrees
    /// with its `rhs_dp` (a bug in the device's code).
    #[error(
        "device '{device}': dp_factors x dp_coefficients give {factored:e} for df{state}/dp{parameter}, \
         rhs_dp gives {direct:e}: the declared factoring of df/dp is wrong"
    )]
    DpFactors {
        /// Device name.
        device: String,
        /// Index of the parameter in p = [x, A].
        parameter: usize,
        /// Index of the state.
        state: usize,
        /// The value the factoring gives.
        factored: f64,
        /// The value rhs_dp gives.
        direct: f64,
    },
    /// A recorded device, rebuilt from its config, no longer hashes to its recorded spec.
    #[error(
        "the {kind} device rebuilt from its recorded config no longer matches the recorded spec hash \
         (its code, model file or constants changed since): simulate and fit again"
    )]
    DeviceChanged {
        /// Device kind.
        kind: String,
    },
    /// Input or parameter vector of the wrong length for this device.
    #[error("{what} has length {found}, device '{device}' expects {expected}")]
    Dimension {
        /// Device name.
        device: String,
        /// "x" or "A".
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// A configuration value is invalid.
    #[error("{source_name}: {message}")]
    Config {
        /// File (or other origin) the config came from.
        source_name: String,
        /// What is wrong, in words.
        message: String,
    },
    /// A TOML file could not be parsed (unknown keys, wrong types, syntax).
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message, which names the key and line.
        message: String,
    },
    /// A file on disk is malformed (bad magic, truncated, wrong shape, NaN, ...).
    #[error("{path}: {message}")]
    BadFile {
        /// The offending file.
        path: PathBuf,
        /// What is wrong, naming the array and row where known.
        message: String,
    },
    /// An I/O operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error (shared, so that the error can be cloned: a repeated
        /// sample's failure is the very failure of its first solve).
        source: std::sync::Arc<std::io::Error>,
    },
    /// A DiffSL model failed to parse or compile.
    #[error("{path}: DiffSL model does not compile: {message}")]
    DiffSl {
        /// The `.ds` file.
        path: PathBuf,
        /// The compiler's message.
        message: String,
    },
    /// The dataset directory belongs to a different configuration.
    #[error(
        "{path}: holds a dataset of another configuration (plan hash {found}, this run {expected}); \
         choose another --out or delete the directory"
    )]
    PlanMismatch {
        /// The dataset directory.
        path: PathBuf,
        /// Hash of this run's plan.
        expected: String,
        /// Hash found on disk.
        found: String,
    },
    /// Shards are missing, so a dataset cannot be finalised.
    #[error(
        "{path}: {missing} of {total} shards are missing (first missing: {first}); run the remaining shards, then merge"
    )]
    MissingShards {
        /// The dataset directory.
        path: PathBuf,
        /// Number of missing shards.
        missing: usize,
        /// Number of shards in the plan.
        total: usize,
        /// Index of the first missing shard.
        first: usize,
    },
}

impl SimError {
    /// Shorthand for an I/O error on a path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source: std::sync::Arc::new(source) }
    }

    /// Shorthand for a malformed file.
    pub fn bad_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::BadFile { path: path.into(), message: message.into() }
    }

    /// Shorthand for a configuration error.
    pub fn config(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config { source_name: source_name.into(), message: message.into() }
    }

    /// The failure class of a per-sample error, or `None` for job-level errors.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        match self {
            Self::Solver { .. } => Some(FailureKind::Solver),
            Self::NonFinite { .. } => Some(FailureKind::NonFinite),
            Self::StepBudget { .. } => Some(FailureKind::StepBudget),
            Self::TimeBudget { .. } => Some(FailureKind::TimeBudget),
            Self::Panic { .. } => Some(FailureKind::Panic),
            _ => None,
        }
    }
}

/// Why a sample failed; stored as the `status` code of its row (0 means success).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The ODE solver returned an error.
    Solver = 1,
    /// A state or output was NaN or infinite.
    NonFinite = 2,
    /// The step budget was exhausted.
    StepBudget = 3,
    /// The wall-clock budget was exhausted.
    TimeBudget = 4,
    /// The device panicked.
    Panic = 5,
    /// Any other error the device returned.
    Other = 6,
}

impl FailureKind {
    /// All kinds, in status-code order.
    pub const ALL: [FailureKind; 6] =
        [Self::Solver, Self::NonFinite, Self::StepBudget, Self::TimeBudget, Self::Panic, Self::Other];

    /// The status code stored in datasets.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`FailureKind::code`]; `None` for 0 (success) and unknown codes.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Kebab-case name used in manifests and summaries.
    pub fn name(self) -> &'static str {
        match self {
            Self::Solver => "solver",
            Self::NonFinite => "non-finite",
            Self::StepBudget => "step-budget",
            Self::TimeBudget => "time-budget",
            Self::Panic => "panic",
            Self::Other => "other",
        }
    }
}
