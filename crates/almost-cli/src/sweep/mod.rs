//! Sweeps over a device's constant, answered on the physics: the TOML [`config`], the
//! resumable plain sweep [`run`] (one folder per value), the design by [`gradient`] (one
//! conditioned surrogate, the constant trained), what both share ([`common`]), reading the
//! folders back ([`collect`]) into [`row`]s, and the files rebuilt from them ([`outputs`]:
//! `sweep.csv`, `gradient.csv`, and the [`plot`] `sweep.svg`).

pub mod collect;
pub mod common;
pub mod config;
pub mod gradient;
pub mod outputs;
pub mod plot;
pub mod row;
pub mod run;
