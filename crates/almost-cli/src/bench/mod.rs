//! Benchmarks behind `almost-simulate bench` and `almost-train bench` (figures for the notes,
//! never tests): device solves against their floor, surrogate fits, training modes, and a
//! surrogate-mode epoch against its floor and its PyTorch twin.

pub mod epoch;
pub mod modes;
pub mod operating;
pub mod simulate;
pub mod surrogate;
pub mod twin;
