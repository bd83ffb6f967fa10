//! The one error type of `almost-net`.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// Everything that can go wrong while building, training or evaluating a device network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// From the simulation crate (device rebuilding, solves, files).
    #[error(transparent)]
    Sim(#[from] almost_sim::SimError),
    /// From the surrogate crate (loading a surrogate).
    #[error(transparent)]
    Surrogate(#[from] almost_surrogate::SurrogateError),
    /// A malformed image or label file.
    #[error("{path}: {message}")]
    BadData {
        /// The file.
        path: PathBuf,
        /// What is wrong (magic, counts, length).
        message: String,
    },
    /// The network does not fit together (fan-in, widths, shapes).
    #[error("layer {layer}: {message}")]
    Dimension {
        /// Layer index (0-based) or "readout".
        layer: String,
        /// What does not match, with the numbers.
        message: String,
    },
    /// A checkpoint or run folder is unusable.
    #[error("{path}: {message}")]
    BadRun {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The device rebuilt from a surrogate's metadata no longer hashes to what the surrogate
    /// was fitted to (the device's code or constants changed since).
    #[error(
        "layer {layer}: the {kind} device rebuilt for its surrogate no longer matches the recorded hash \
         (the device code or its constants changed since the fit): simulate and fit again"
    )]
    DeviceChanged {
        /// Layer index (0-based).
        layer: usize,
        /// Device kind.
        kind: String,
    },
    /// A layer built by hand carries no surrogate metadata, so its device cannot be rebuilt.
    #[error(
        "layer {layer} was built without its surrogate's metadata: its device cannot be rebuilt (load the surrogate with build, or attach it with DeviceLayer::with_meta)"
    )]
    NoSurrogateMeta {
        /// Layer index (0-based).
        layer: usize,
    },
    /// Exact mode needs the devices' own derivatives and this device provides none.
    #[error("layer {layer}: exact mode needs the device's exact derivatives and the {kind} device provides none")]
    NoDerivatives {
        /// Layer index (0-based).
        layer: usize,
        /// Device kind.
        kind: String,
    },
    /// A device's derivatives failed at some point.
    #[error("layer {layer}: exact derivatives failed: {source}")]
    Derivatives {
        /// Layer index (0-based).
        layer: usize,
        /// The device's error.
        source: almost_sim::SimError,
    },
    /// A layer's surrogate is too far from its device to train on: its recorded held-out
    /// RMSE is above the threshold (NaN when the figure is meaningless).
    #[error(
        "layer {layer}: the surrogate in {path} has a held-out RMSE of {rmse_percent:.2}% of its output range, \
         above the {threshold_percent:.2}% that training accepts: a network trained on it learns the \
         surrogate's errors, and its accuracy on surrogates says nothing about the device. Fit a better \
         surrogate (more samples: almost-simulate generate CONFIG --samples N; a larger fit config: \
         almost-train surrogate --config simulations/surrogates/diode-node.toml), or accept it knowingly \
         with --max-surrogate-error or [training] max_surrogate_error"
    )]
    PoorSurrogate {
        /// Layer index (0-based).
        layer: usize,
        /// The surrogate's folder.
        path: PathBuf,
        /// Its recorded held-out RMSE, percent of the output range.
        rmse_percent: f64,
        /// The accepted maximum, percent of the output range.
        threshold_percent: f64,
    },
    /// An I/O operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl NetError {
    /// Shorthand for a configuration error.
    pub fn config(origin: impl Into<String>, message: impl Into<String>) -> Self {
        // one config variant for the whole workspace: almost-sim's
        Self::Sim(almost_sim::SimError::config(origin, message))
    }

    /// Shorthand for a dimension mismatch.
    pub fn dimension(layer: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Self::Dimension { layer: layer.to_string(), message: message.into() }
    }

    /// Shorthand for an I/O error.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
