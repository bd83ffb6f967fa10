//! A fully connected layer whose parameters are created in a chosen float dtype.

use burn::module::{Module, Param};
use burn::tensor::{DType, Device, Distribution, Tensor, TensorCreationOptions};

/// `y = x W + b`.
#[derive(Module, Debug)]
pub struct Dense {
    /// Weight, shape `[d_in, d_out]`.
    pub weight: Param<Tensor<2>>,
    /// Bias, shape `[d_out]`.
    pub bias: Param<Tensor<1>>,
}

impl Dense {
    /// Glorot-uniform weights (suits tanh), zero bias, in `dtype` on `device`.
    ///
    /// The draw uses the device's random generator: seed it with `device.seed(..)` first.
    pub fn new(d_in: usize, d_out: usize, dtype: DType, device: &Device) -> Self {
        let limit = (6.0 / (d_in + d_out) as f64).sqrt();
        let options = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
        let weight = Tensor::random([d_in, d_out], Distribution::Uniform(-limit, limit), options.clone());
        let bias = Tensor::zeros([d_out], options);
        Self { weight: Param::from_tensor(weight), bias: Param::from_tensor(bias) }
    }

    /// Applies the layer.
    ///
    /// # Shapes
    /// - input: `[batch, d_in]`
    /// - output: `[batch, d_out]`
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        input.matmul(self.weight.val()) + self.bias.val().unsqueeze_dim(0)
    }

    /// Input and output widths.
    pub fn dims(&self) -> (usize, usize) {
        let s = self.weight.lazy_shape();
        (s[0], s[1])
    }
}
