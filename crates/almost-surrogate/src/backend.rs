//! Which burn backend the surrogate work (fits, network training, evaluation) runs on.
//!
//! The CPU backend (`flex`) is always built and is the default. A GPU backend is a Cargo
//! feature of the crates (`wgpu`, `vulkan`, `cuda`), so a default build compiles none of
//! them; naming one the binary was built without is an error that says how to build it.
//! Whatever the backend, the device physics (ODE solves) runs on the host's cores.
//!
//! burn's own default device follows the compiled features (a `wgpu` build would put every
//! tensor on the GPU), so nothing in almost relies on it: the device is always named.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::error::{Result, SurrogateError};

/// A burn backend and the device on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// burn's CPU backend (`flex`): the default, always built.
    #[default]
    Flex,
    /// wgpu with the graphics API it finds (Vulkan, Metal, DirectX, WebGPU); the adapter
    /// wgpu prefers (a discrete GPU first), or the one `CUBECL_WGPU_DEFAULT_DEVICE` names.
    Wgpu,
    /// wgpu pinned to Vulkan (e.g. Mesa's lavapipe, a Vulkan driver that runs on the CPU).
    Vulkan,
    /// CUDA, the GPU with this index.
    Cuda(usize),
}

/// The backends, as `--backend` spells them.
pub const BACKENDS: &str = "flex (CPU, default), wgpu, vulkan, cuda or cuda:N";

impl Backend {
    /// The Cargo feature that compiles this backend in (`None` for the CPU one).
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Self::Flex => None,
            Self::Wgpu => Some("wgpu"),
            Self::Vulkan => Some("vulkan"),
            Self::Cuda(_) => Some("cuda"),
        }
    }

    /// Whether this binary was built with the backend.
    pub fn compiled(self) -> bool {
        match self {
            Self::Flex => true,
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::Vulkan => cfg!(feature = "vulkan"),
            Self::Cuda(_) => cfg!(feature = "cuda"),
        }
    }

    /// Whether this is the CPU backend (data-parallel training over host threads applies).
    pub fn is_cpu(self) -> bool {
        self == Self::Flex
    }

    /// The burn device; an error naming the feature when the binary was built without it.
    pub fn device(self) -> Result<Device> {
        if !self.compiled() {
            let feature = self.feature().unwrap_or("flex");
            return Err(SurrogateError::config(
                "--backend",
                format!(
                    "this binary was built without the {self} backend; build it with `cargo build --release -p \
                     almost-cli --features {feature}`"
                ),
            ));
        }
        Ok(self.device_compiled())
    }

    #[allow(unreachable_code, clippy::needless_return)]
    fn device_compiled(self) -> Device {
        match self {
            Self::Flex => Device::flex(),
            Self::Wgpu => {
                #[cfg(feature = "wgpu")]
                return Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
                Device::flex()
            }
            Self::Vulkan => {
                #[cfg(feature = "vulkan")]
                return Device::vulkan(burn::tensor::DeviceKind::DefaultDevice);
                Device::flex()
            }
            Self::Cuda(_index) => {
                #[cfg(feature = "cuda")]
                return Device::cuda(_index);
                Device::flex()
            }
        }
    }
}

/// The device in words: for a GPU backend the adapter as it names itself and what its
/// kernels are compiled to (e.g. `llvmpipe (LLVM 15.0.6, 256 bits), wgsl`), to say where a run
/// really ran; `flex (CPU)` for the CPU backend.
pub fn describe(device: &Device) -> String {
    #[cfg(any(feature = "wgpu", feature = "vulkan", feature = "cuda"))]
    if let Some(id) = device.as_dispatch().identity() {
        return format!("{} ({})", id.name, id.fingerprint);
    }
    if is_flex(device) { "flex (CPU)".to_string() } else { format!("{device:?}") }
}

/// Whether `device` (with or without autodiff) is burn's CPU backend.
pub fn is_flex(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flex => write!(f, "flex"),
            Self::Wgpu => write!(f, "wgpu"),
            Self::Vulkan => write!(f, "vulkan"),
            Self::Cuda(0) => write!(f, "cuda"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl FromStr for Backend {
    type Err = SurrogateError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || SurrogateError::config("--backend", format!("unknown backend {s:?}: expected {BACKENDS}"));
        match s.trim().to_ascii_lowercase().as_str() {
            "flex" | "cpu" => Ok(Self::Flex),
            "wgpu" => Ok(Self::Wgpu),
            "vulkan" => Ok(Self::Vulkan),
            "cuda" => Ok(Self::Cuda(0)),
            other => match other.strip_prefix("cuda:") {
                Some(i) => i.parse().map(Self::Cuda).map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for b in [Backend::Flex, Backend::Wgpu, Backend::Vulkan, Backend::Cuda(0), Backend::Cuda(3)] {
            assert_eq!(b.to_string().parse::<Backend>().unwrap(), b);
        }
        assert_eq!("CPU".parse::<Backend>().unwrap(), Backend::Flex);
        let e = "metal".parse::<Backend>().unwrap_err().to_string();
        assert!(e.contains("unknown backend \"metal\"") && e.contains("cuda:N"), "{e}");
        assert!("cuda:x".parse::<Backend>().is_err());
    }

    #[test]
    fn the_cpu_backend_is_always_there_and_a_missing_one_says_how_to_build_it() {
        assert!(Backend::default().device().is_ok());
        assert!(Backend::Flex.is_cpu() && Backend::Flex.compiled());
        if !Backend::Cuda(0).compiled() {
            let e = Backend::Cuda(0).device().unwrap_err().to_string();
            assert!(e.contains("built without the cuda backend") && e.contains("--features cuda"), "{e}");
        }
    }
}
