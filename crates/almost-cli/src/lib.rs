//! almost-cli
