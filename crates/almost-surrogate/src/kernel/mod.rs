//! The host kernel of a device layer: a frozen MLP surrogate evaluated, and differentiated
//! to its inputs and parameters, over many devices at once in f32 (faer's matrix products,
//! SIMD activations, buffers reused between tiles). burn's autodiff path is the reference
//! it is tested against.

pub mod act;
pub mod gather;
pub mod mlp;
pub mod pool;
pub mod rate;

pub use mlp::{FrozenMlp, Workspace};
pub use rate::product_rate;
