//! One layer's device calls for a batch, as the hardware is asked them.

/// One layer's device calls for a batch: `x` is `[batch, devices, fan_in]` row-major and `a`
/// is `[devices, n_a]` row-major.
#[derive(Clone, Copy, Debug)]
pub struct LayerCall<'a> {
    /// Layer index.
    pub layer: usize,
    /// Device inputs.
    pub x: &'a [f64],
    /// Inputs per device.
    pub fan_in: usize,
    /// Device parameters.
    pub a: &'a [f64],
    /// Parameters per device.
    pub n_a: usize,
    /// Which device output is wanted.
    pub output: usize,
}

impl LayerCall<'_> {
    /// Devices in the layer.
    pub fn devices(&self) -> usize {
        self.a.len() / self.n_a.max(1)
    }

    /// Number of (sample, device) calls.
    pub fn calls(&self) -> usize {
        self.x.len() / self.fan_in.max(1)
    }

    /// Inputs and parameters of call `c` (device `c % devices`).
    pub fn call(&self, c: usize) -> (usize, &[f64], &[f64]) {
        let j = c % self.devices();
        (j, &self.x[c * self.fan_in..(c + 1) * self.fan_in], &self.a[j * self.n_a..(j + 1) * self.n_a])
    }
}
