//! Sweeps over a device's constant, answered on the physics: the TOML [`config`], the
//! resumable [`run`] (one folder per value), its [`row`]s (`sweep.csv`, the terminal table)
//! and the [`plot`] (`sweep.svg`).

pub mod config;
pub mod plot;
pub mod row;
pub mod run;
