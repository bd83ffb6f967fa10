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
    /// A configuration value is invalid.
    #[error("{origin}: {message}")]
    Config {
        /// File or option.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A TOML file could not be parsed (unknown keys, wrong types).
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message naming key and line.
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
        Self::Config { origin: origin.into(), message: message.into() }
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
