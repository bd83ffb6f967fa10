//! The host kernel: a frozen MLP surrogate evaluated, and differentiated to its inputs and
//! parameters, over many devices at once in f32 (faer's matrix products, SIMD activations,
//! buffers reused between tiles and steps), and the fit step of an MLP body
//! ([`fit::HostMlp`]). burn's autodiff path is the reference they are tested against.

pub mod act;
pub mod fit;
pub mod gather;
pub mod mlp;
pub mod pool;
pub mod product;
pub mod rate;

pub use mlp::{FrozenMlp, Workspace};

use serde::{Deserialize, Serialize};

/// Where a network's or a fit's passes run (`[training] kernel`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kernel {
    /// The host kernel (f32 on the CPU backend, MLP surrogates; anything else falls back to
    /// `reference`).
    #[default]
    Fused,
    /// burn's autodiff graph.
    Reference,
}

impl Kernel {
    /// Whether this is the default, `fused` (omitted from saved configs).
    pub fn is_fused(&self) -> bool {
        *self == Self::Fused
    }
}
pub use rate::product_rate;
