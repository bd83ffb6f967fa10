//! almost-surrogate
