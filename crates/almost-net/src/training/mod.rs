//! Training the device parameters A: the loop ([`train`]) with its loss ([`loss`]) and one
//! step per mode ([`modes`]: surrogate, physics-aware, exact; [`parallel`] splits a batch
//! over threads), MSE regression ([`regression`]), checkpoints and resume ([`checkpoint`]),
//! per-epoch metrics ([`history`]), the run folder ([`run`]), a finished run evaluated again
//! ([`run_eval`]) and several read out together ([`ensemble`]).

pub mod checkpoint;
pub mod ensemble;
pub mod epoch;
pub mod exact;
pub mod history;
pub mod loss;
pub mod modes;
pub mod parallel;
pub mod regression;
pub mod run;
pub mod run_eval;
pub mod start;
pub mod step;
pub mod train;
