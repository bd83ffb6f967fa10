//! almost-net
