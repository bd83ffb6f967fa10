//! Training the device parameters A: the loop ([`train`]) with its loss ([`loss`]) and one
//! step per mode ([`modes`]: surrogate, physics-aware, exact; [`parallel`] splits a batch
//! over threads), MSE regression ([`regression`]), checkpoints and resume ([`checkpoint`]),
//! per-epoch metrics ([`history`]) and the run folder ([`run`]).

pub mod checkpoint;
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
