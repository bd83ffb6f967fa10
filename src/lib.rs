//! almost
