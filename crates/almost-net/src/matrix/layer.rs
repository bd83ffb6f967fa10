//! [`MatrixLayer`]: neurons that map matrices to matrices.

use burn::module::{Module, Param};
use burn::tensor::{DType, Device, Distribution, Tensor, TensorCreationOptions};
use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};
use crate::matrix::expm::expm;

/// The matrix function a neuron applies to its pre-activation Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatrixActivation {
    /// exp(Z), by scaling and squaring.
    #[default]
    Expm,
    /// Z - Z^3 / 3: the odd cubic that starts like tanh, without inverses.
    Cubic,
    /// Z itself.
    Identity,
}

impl MatrixActivation {
    /// Applies the function to every matrix of the batch.
    ///
    /// # Shapes
    /// - z: `[batch, d, d]` -> `[batch, d, d]`
    pub fn apply(self, z: Tensor<3>) -> Tensor<3> {
        match self {
            Self::Expm => expm(z),
            Self::Cubic => z.clone() - z.clone().matmul(z.clone()).matmul(z) / 3.0,
            Self::Identity => z,
        }
    }
}

/// Neuron j outputs `f(sum_i W_ji X_i)` for input matrices X_i: real weights, matrix values.
#[derive(Module, Debug)]
pub struct MatrixLayer {
    /// Weights, `[neurons_out, neurons_in]` (trainable).
    pub weight: Param<Tensor<2>>,
    /// The matrix function.
    #[module(skip)]
    pub activation: MatrixActivation,
    /// Matrix side d.
    #[module(skip)]
    pub d: usize,
}

impl MatrixLayer {
    /// A layer with weights uniform in `[-scale, scale]` (seed the device first).
    pub fn new(
        n_in: usize,
        n_out: usize,
        d: usize,
        activation: MatrixActivation,
        scale: f64,
        dtype: DType,
        device: &Device,
    ) -> Self {
        let options = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
        let w = Tensor::random([n_out, n_in], Distribution::Uniform(-scale, scale), options);
        Self { weight: Param::from_tensor(w), activation, d }
    }

    /// Applies the layer.
    ///
    /// # Shapes
    /// - input: `[batch, neurons_in, d, d]`
    /// - output: `[batch, neurons_out, d, d]`
    pub fn forward(&self, input: Tensor<4>) -> Result<Tensor<4>> {
        let [batch, n_in, d1, d2] = input.dims();
        let [n_out, w_in] = self.weight.lazy_shape().dims();
        if n_in != w_in || d1 != self.d || d2 != self.d {
            return Err(NetError::dimension(
                "matrix",
                format!(
                    "input [batch, {n_in}, {d1}, {d2}] does not fit a layer of {w_in} inputs of {0}x{0} matrices",
                    self.d
                ),
            ));
        }
        let d = self.d;
        let flat = input.reshape([batch, n_in, d * d]);
        let z = self.weight.val().unsqueeze_dim::<3>(0).expand([batch, n_out, n_in]).matmul(flat);
        let y = self.activation.apply(z.reshape([batch * n_out, d, d]));
        Ok(y.reshape([batch, n_out, d, d]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn shapes_are_checked_and_identity_layer_is_linear() {
        let device = Device::flex();
        let opts = TensorCreationOptions::new(device.clone()).with_dtype(DType::F64);
        let mut layer = MatrixLayer::new(2, 3, 2, MatrixActivation::Identity, 1.0, DType::F64, &device);
        layer.weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![1.0, 0.0, 0.0, 1.0, 2.0, -1.0], [3, 2]),
            opts.clone(),
        ));
        let x = Tensor::<4>::from_data(
            TensorData::new((0..16).map(f64::from).collect::<Vec<_>>(), [2, 2, 2, 2]),
            opts.clone(),
        );
        let y = almost_surrogate::tensor_io::to_vec(layer.forward(x).unwrap());
        // batch 0: X0 = [0 1; 2 3], X1 = [4 5; 6 7]; neuron 2 = 2 X0 - X1 = [-4 -3; -2 -1]
        assert_eq!(&y[8..12], &[-4.0, -3.0, -2.0, -1.0]);
        let bad = Tensor::<4>::zeros([1, 3, 2, 2], &device);
        assert!(layer.forward(bad).unwrap_err().to_string().contains("does not fit"));
    }
}
