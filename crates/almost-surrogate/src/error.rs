//! The one error type of `almost-surrogate`.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = SurrogateError> = std::result::Result<T, E>;

/// Everything that can go wrong while fitting, saving or loading a surrogate.
#[derive(Debug, thiserror::Error)]
pub enum SurrogateError {
    /// An error from the simulation crate (dataset loading, device rebuilding, ...).
    #[error(transparent)]
    Sim(#[from] almost_sim::SimError),
    /// The dataset cannot be fitted (too few rows, zero-variance column, NaN, ...).
    #[error("{dataset}: {message}")]
    Data {
        /// The dataset folder.
        dataset: PathBuf,
        /// What is wrong, naming the column or row.
        message: String,
    },
    /// A saved surrogate is malformed or does not belong together.
    #[error("{path}: {message}")]
    BadModel {
        /// The offending file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Input of the wrong width for a surrogate.
    #[error("surrogate expects {expected} input columns ({what}), got {found}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// Expected width.
        expected: usize,
        /// Width given.
        found: usize,
    },
    /// An I/O operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Drawing a plot failed.
    #[error("{path}: cannot draw plot: {message}")]
    Plot {
        /// The SVG file.
        path: PathBuf,
        /// The plotting library's message.
        message: String,
    },
}

impl SurrogateError {
    /// Shorthand for a configuration error.
    pub fn config(origin: impl Into<String>, message: impl Into<String>) -> Self {
        // one config variant for the whole workspace: almost-sim's
        Self::Sim(almost_sim::SimError::config(origin, message))
    }

    /// Shorthand for a malformed model file.
    pub fn bad_model(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::BadModel { path: path.into(), message: message.into() }
    }
}
