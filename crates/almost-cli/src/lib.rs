//! Helpers shared by the `almost-simulate` and `almost-train` binaries (printing, benches).
//! The binaries themselves only parse arguments and call the library crates.

pub mod bench;
pub mod pipeline;
pub mod sweep;
pub mod train;
pub mod train_args;
