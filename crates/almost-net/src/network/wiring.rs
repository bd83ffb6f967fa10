//! Wiring: which upstream signals each device of a layer sees.
//!
//! The seeds' "matrices between layers" are fixed 0/1 maps here: device j of a layer reads
//! the upstream signals `indices[j * fan_in .. (j + 1) * fan_in]`. Signals live on a
//! `(height, width, channels)` map, flattened as `(row * width + col) * channels + channel`;
//! an image is `(28, 28, 1)`, a dense or random layer is `(1, 1, devices)`.

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};

/// Shape of a map of signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapShape {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Channels per position.
    pub channels: usize,
}

impl MapShape {
    /// A flat vector of `n` signals.
    pub fn flat(n: usize) -> Self {
        Self { height: 1, width: 1, channels: n }
    }

    /// Number of signals.
    pub fn len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a layer's devices are fed (the `wiring` of a `[[layers]]` table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum WiringConfig {
    /// Every device sees every upstream signal: fan-in = upstream size.
    Dense {
        /// Devices in the layer.
        devices: usize,
    },
    /// Local 2-D patches: at every `stride`-th position a `kernel x kernel` window over all
    /// upstream channels, seen by `channels` devices: fan-in = kernel^2 * upstream channels,
    /// or, with `fan_in`, a random subset of that many window signals per device.
    Patches {
        /// Window side.
        kernel: usize,
        /// Step between windows.
        stride: usize,
        /// Devices per window position.
        channels: usize,
        /// Each device reads this many distinct signals drawn from its window (default: all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fan_in: Option<usize>,
        /// Seed of those draws.
        #[serde(default)]
        seed: u64,
    },
    /// Every device sees `fan_in` distinct upstream signals drawn at random.
    Random {
        /// Devices in the layer.
        devices: usize,
        /// Signals per device.
        fan_in: usize,
        /// Seed of the draw.
        seed: u64,
    },
}

/// A resolved wiring: index table, fan-in and output map.
#[derive(Clone, Debug, PartialEq)]
pub struct Wiring {
    /// Upstream signal index of input i of device j at `j * fan_in + i`.
    pub indices: Vec<usize>,
    /// Inputs per device.
    pub fan_in: usize,
    /// Shape of the layer's output map (one signal per device).
    pub output: MapShape,
}

impl Wiring {
    /// Number of devices.
    pub fn devices(&self) -> usize {
        self.output.len()
    }
}

impl WiringConfig {
    /// Resolves the wiring over an upstream map; `layer` names the layer in errors.
    pub fn resolve(&self, upstream: MapShape, layer: usize) -> Result<Wiring> {
        let n_up = upstream.len();
        match *self {
            Self::Dense { devices } => {
                if devices == 0 {
                    return Err(NetError::dimension(layer, "a dense wiring needs at least one device"));
                }
                let indices = (0..devices).flat_map(|_| 0..n_up).collect();
                Ok(Wiring { indices, fan_in: n_up, output: MapShape::flat(devices) })
            }
            Self::Patches { kernel, stride, channels, fan_in: subset, seed } => {
                if kernel == 0 || stride == 0 || channels == 0 {
                    return Err(NetError::dimension(layer, "patches need kernel, stride and channels of at least 1"));
                }
                if kernel > upstream.height || kernel > upstream.width {
                    return Err(NetError::dimension(
                        layer,
                        format!(
                            "a {kernel}x{kernel} patch does not fit the {}x{} upstream map",
                            upstream.height, upstream.width
                        ),
                    ));
                }
                let out_h = (upstream.height - kernel) / stride + 1;
                let out_w = (upstream.width - kernel) / stride + 1;
                let window_len = kernel * kernel * upstream.channels;
                let fan_in = subset.unwrap_or(window_len);
                if fan_in == 0 || fan_in > window_len {
                    return Err(NetError::dimension(
                        layer,
                        format!("patches: fan_in = {fan_in} but a window holds {window_len} signals"),
                    ));
                }
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut indices = Vec::new();
                for r in 0..out_h {
                    for c in 0..out_w {
                        let window: Vec<usize> = (0..kernel)
                            .flat_map(|dr| (0..kernel).map(move |dc| (dr, dc)))
                            .flat_map(|(dr, dc)| {
                                let base = ((r * stride + dr) * upstream.width + c * stride + dc) * upstream.channels;
                                base..base + upstream.channels
                            })
                            .collect();
                        for _ in 0..channels {
                            if fan_in == window_len {
                                indices.extend_from_slice(&window);
                            } else {
                                let mut pick = sample(&mut rng, window_len, fan_in).into_vec();
                                pick.sort_unstable();
                                indices.extend(pick.into_iter().map(|i| window[i]));
                            }
                        }
                    }
                }
                Ok(Wiring { indices, fan_in, output: MapShape { height: out_h, width: out_w, channels } })
            }
            Self::Random { devices, fan_in, seed } => {
                if devices == 0 || fan_in == 0 || fan_in > n_up {
                    return Err(NetError::dimension(
                        layer,
                        format!("random wiring of {devices} devices with fan-in {fan_in} over {n_up} upstream signals"),
                    ));
                }
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let indices = (0..devices).flat_map(|_| sample(&mut rng, n_up, fan_in).into_vec()).collect();
                Ok(Wiring { indices, fan_in, output: MapShape::flat(devices) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_cover_windows_over_all_channels() {
        let up = MapShape { height: 4, width: 4, channels: 2 };
        let w =
            WiringConfig::Patches { kernel: 2, stride: 2, channels: 3, fan_in: None, seed: 0 }.resolve(up, 0).unwrap();
        assert_eq!(w.fan_in, 8);
        assert_eq!(w.output, MapShape { height: 2, width: 2, channels: 3 });
        // device 0 (top-left window) reads rows 0-1, cols 0-1, both channels
        assert_eq!(&w.indices[..8], &[0, 1, 2, 3, 8, 9, 10, 11]);
        // the three devices of a position share the window
        assert_eq!(&w.indices[..8], &w.indices[8..16]);
        assert_eq!(w.indices.len(), 12 * 8);
        // a random subset of each window
        let w = WiringConfig::Patches { kernel: 2, stride: 2, channels: 3, fan_in: Some(5), seed: 1 }
            .resolve(up, 0)
            .unwrap();
        assert_eq!(w.fan_in, 5);
        let window = [0, 1, 2, 3, 8, 9, 10, 11];
        assert!(w.indices[..5].iter().all(|i| window.contains(i)));
        assert_ne!(&w.indices[..5], &w.indices[5..10], "devices of one position draw different subsets");
        let err = WiringConfig::Patches { kernel: 2, stride: 2, channels: 1, fan_in: Some(9), seed: 1 }
            .resolve(up, 3)
            .unwrap_err();
        assert!(err.to_string().contains("window holds 8"));
    }

    #[test]
    fn random_is_seeded_distinct_and_checked() {
        let up = MapShape::flat(10);
        let w = WiringConfig::Random { devices: 5, fan_in: 4, seed: 9 }.resolve(up, 1).unwrap();
        assert_eq!(w, WiringConfig::Random { devices: 5, fan_in: 4, seed: 9 }.resolve(up, 1).unwrap());
        for dev in w.indices.chunks(4) {
            let mut d = dev.to_vec();
            d.sort_unstable();
            d.dedup();
            assert_eq!(d.len(), 4);
        }
        let err = WiringConfig::Random { devices: 5, fan_in: 11, seed: 9 }.resolve(up, 2).unwrap_err().to_string();
        assert!(err.contains("layer 2") && err.contains("fan-in 11 over 10"), "{err}");
        let err = WiringConfig::Patches { kernel: 5, stride: 1, channels: 1, fan_in: None, seed: 0 }
            .resolve(MapShape::flat(3), 0)
            .unwrap_err();
        assert!(err.to_string().contains("does not fit"));
        assert_eq!(WiringConfig::Dense { devices: 2 }.resolve(up, 0).unwrap().fan_in, 10);
    }
}
