//! The fused path: device layers on the host kernel of
//! [`almost_surrogate::kernel`] instead of burn's autodiff graph (CPU backend, MLP
//! surrogates). The autodiff path stays as the reference; `[training] kernel = "reference"`
//! chooses it, and the tests hold the two together.

pub mod layer;
pub mod net;

pub use layer::FusedLayer;
pub use net::FusedNet;
