//! The [`Surrogate`] module: fixed normalisation around a trainable body.

use burn::module::{Module, Param};
use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};

use crate::arch::{Architecture, Body};
use crate::normalize::Normalization;
use crate::tensor_io::to_vec;

/// A fitted model f(x, A; B) of a device.
///
/// Inputs are `[x, A]` in physical units; they are shifted and scaled by constants fixed at
/// fit time (never trained), passed through the body (the weights B) and scaled back.
/// All normalisation constants are `Param`s with gradients disabled, so they are saved with
/// the weights and stay bit-identical when a network built on the surrogate is trained.
#[derive(Module, Debug)]
pub struct Surrogate {
    /// Subtracted from `[x, A]`, shape `[n_x + n_a]`.
    pub in_shift: Param<Tensor<1>>,
    /// Multiplies `[x, A] - in_shift`, shape `[n_x + n_a]`.
    pub in_scale: Param<Tensor<1>>,
    /// Added to the body's output after scaling, shape `[n_y]`.
    pub out_shift: Param<Tensor<1>>,
    /// Multiplies the body's output, shape `[n_y]`.
    pub out_scale: Param<Tensor<1>>,
    /// The trainable weights B.
    pub body: Body,
    /// Number of inputs x.
    #[module(skip)]
    pub n_x: usize,
    /// Number of parameters A.
    #[module(skip)]
    pub n_a: usize,
}

fn constant(values: &[f64], dtype: DType, device: &Device) -> Param<Tensor<1>> {
    let options = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
    let t = Tensor::<1>::from_data(TensorData::new(values.to_vec(), [values.len()]), options);
    Param::from_tensor(t).set_require_grad(false)
}

impl Surrogate {
    /// A fresh (untrained) surrogate with the given normalisation.
    pub fn new(arch: &Architecture, norm: &Normalization, n_x: usize, dtype: DType, device: &Device) -> Self {
        let d_in = norm.in_shift.len();
        let d_out = norm.out_shift.len();
        Self {
            in_shift: constant(&norm.in_shift, dtype, device),
            in_scale: constant(&norm.in_scale, dtype, device),
            out_shift: constant(&norm.out_shift, dtype, device),
            out_scale: constant(&norm.out_scale, dtype, device),
            body: arch.init(n_x, d_in - n_x, d_out, dtype, device),
            n_x,
            n_a: d_in - n_x,
        }
    }

    /// Number of outputs.
    pub fn n_y(&self) -> usize {
        self.out_shift.lazy_shape()[0]
    }

    /// Normalises physical inputs.
    ///
    /// # Shapes
    /// - input: `[batch, n_x + n_a]` -> `[batch, n_x + n_a]`
    pub fn normalize(&self, input: Tensor<2>) -> Tensor<2> {
        (input - self.in_shift.val().unsqueeze_dim(0)) * self.in_scale.val().unsqueeze_dim(0)
    }

    /// Maps normalised outputs back to physical units.
    ///
    /// # Shapes
    /// - input: `[batch, n_y]` -> `[batch, n_y]`
    pub fn denormalize(&self, out: Tensor<2>) -> Tensor<2> {
        out * self.out_scale.val().unsqueeze_dim(0) + self.out_shift.val().unsqueeze_dim(0)
    }

    /// The device response predicted in physical units.
    ///
    /// # Shapes
    /// - input: `[batch, n_x + n_a]` (x then A, physical units)
    /// - output: `[batch, n_y]` (physical units)
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        self.denormalize(self.body.forward(self.normalize(input)))
    }

    /// `m` devices, each with its own parameters, on a batch of inputs: the call a device
    /// layer makes. For an MLP the parameter half of the first layer is computed once per
    /// device instead of once per sample.
    ///
    /// # Shapes
    /// - x: `[batch, m, n_x]` (physical units)
    /// - a: `[m, n_a]` (physical units)
    /// - output: `[batch, m, n_y]`
    pub fn forward_devices(&self, x: Tensor<3>, a: Tensor<2>) -> Tensor<3> {
        let [batch, m, n_x] = x.dims();
        let n_a = self.n_a;
        let shift = self.in_shift.val();
        let scale = self.in_scale.val();
        let zx = (x.reshape([batch * m, n_x]) - shift.clone().slice(0..n_x).unsqueeze_dim(0))
            * scale.clone().slice(0..n_x).unsqueeze_dim(0);
        let za =
            (a.clone() - shift.slice(n_x..n_x + n_a).unsqueeze_dim(0)) * scale.slice(n_x..n_x + n_a).unsqueeze_dim(0);
        let out = if self.body.is_mlp() {
            let first = &self.body.layers[0];
            let w = first.weight.val();
            let h = w.dims()[1];
            let wx = w.clone().slice(0..n_x);
            let wa = w.clone().slice(n_x..n_x + n_a);
            // parameter term once per device, broadcast over the batch: [m, h] -> [batch * m, h]
            let pa = za.clone().matmul(wa).unsqueeze_dim::<3>(0).expand([batch, m, h]).reshape([batch * m, h]);
            let mut pre = zx.clone().matmul(wx) + pa + first.bias.val().unsqueeze_dim(0);
            let (pairs, squares) = (self.body.pairs, self.body.squares);
            if pairs + squares > 0 {
                // x_i * A_i and x_i^2 * A_i per device input, A_i once per device
                let za_b =
                    za.slice([0..m, 0..n_x]).unsqueeze_dim::<3>(0).expand([batch, m, n_x]).reshape([batch * m, n_x]);
                if pairs > 0 {
                    let wp = w.clone().slice(n_x + n_a..n_x + n_a + pairs);
                    pre = pre + (zx.clone() * za_b.clone()).matmul(wp);
                }
                if squares > 0 {
                    let wq = w.slice(n_x + n_a + pairs..n_x + n_a + pairs + squares);
                    pre = pre + (zx.clone() * zx.clone() * za_b).matmul(wq);
                }
            }
            let h1 = if self.body.layers.len() > 1 { self.body.activation.apply(pre) } else { pre };
            let rest = Body {
                layers: self.body.layers[1..].to_vec(),
                activation: self.body.activation,
                monomials: Vec::new(),
                final_activation: self.body.final_activation,
                n_x,
                pairs: 0,
                squares: 0,
            };
            if rest.layers.is_empty() { h1 } else { rest.forward_from_first(h1, None) }
        } else {
            let za_full = za.unsqueeze_dim::<3>(0).expand([batch, m, n_a]).reshape([batch * m, n_a]);
            self.body.forward(Tensor::cat(vec![zx, za_full], 1))
        };
        let n_y = self.n_y();
        self.denormalize(out).reshape([batch, m, n_y])
    }

    /// The same surrogate with every tensor cast to `dtype` (e.g. f64 for gradient checks).
    pub fn cast(self, dtype: DType) -> Self {
        struct Cast(DType);
        impl burn::module::ModuleMapper for Cast {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let dtype = self.0;
                param.map(|t| {
                    let requires = t.is_require_grad();
                    t.cast(dtype).detach().set_require_grad(requires)
                })
            }
        }
        self.map(&mut Cast(dtype))
    }

    /// Every parameter tensor as host f64 values, in module order (for bit-identity checks).
    pub fn weights_snapshot(&self) -> Vec<Vec<f64>> {
        let mut out = vec![
            to_vec(self.in_shift.val()),
            to_vec(self.in_scale.val()),
            to_vec(self.out_shift.val()),
            to_vec(self.out_scale.val()),
        ];
        for l in &self.body.layers {
            out.push(to_vec(l.weight.val()));
            out.push(to_vec(l.bias.val()));
        }
        out
    }
}

/// Surrogate predictions (physical units) for row-major inputs `[x, A]`, in batches.
pub fn predict(surrogate: &Surrogate, inputs: &[f64], d_in: usize, dtype: DType, device: &Device) -> Vec<f64> {
    let mut out = Vec::with_capacity(inputs.len() / d_in.max(1) * surrogate.n_y());
    for chunk in inputs.chunks(8192 * d_in) {
        out.extend(to_vec(surrogate.forward(crate::tensor_io::matrix(chunk, d_in, dtype, device))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::tensor_io::to_vec;

    fn surrogate(arch: &Architecture, n: usize) -> Surrogate {
        let norm = Normalization {
            in_shift: (0..2 * n).map(|i| 0.1 * i as f64).collect(),
            in_scale: (0..2 * n).map(|i| 1.0 + 0.2 * i as f64).collect(),
            out_shift: vec![0.3, -0.1],
            out_scale: vec![2.0, 0.5],
        };
        Surrogate::new(arch, &norm, n, DType::F64, &Device::flex())
    }

    /// The batched device call equals concatenating [x, A] row by row.
    #[test]
    fn forward_devices_matches_forward_for_every_architecture() {
        let (batch, m, n) = (3, 4, 2);
        let device = Device::flex();
        let opts = TensorCreationOptions::new(device.clone()).with_dtype(DType::F64);
        for arch in [
            Architecture::Mlp {
                hidden: vec![5, 3],
                activation: Activation::Tanh,
                pair_products: false,
                square_products: false,
            },
            Architecture::Mlp {
                hidden: vec![5],
                activation: Activation::Silu,
                pair_products: true,
                square_products: false,
            },
            Architecture::Mlp {
                hidden: vec![],
                activation: Activation::Tanh,
                pair_products: false,
                square_products: false,
            },
            Architecture::Mlp {
                hidden: vec![4],
                activation: Activation::Softsign,
                pair_products: true,
                square_products: true,
            },
            Architecture::Mlp {
                hidden: vec![3],
                activation: Activation::Tanh,
                pair_products: false,
                square_products: true,
            },
            Architecture::OneLayer { degree: 2, activation: Activation::Tanh },
        ] {
            let s = surrogate(&arch, n);
            let xs: Vec<f64> = (0..batch * m * n).map(|i| ((i * 7) % 11) as f64 / 5.0 - 1.0).collect();
            let as_: Vec<f64> = (0..m * n).map(|i| ((i * 3) % 7) as f64 / 3.0 - 1.0).collect();
            let x = Tensor::<3>::from_data(TensorData::new(xs.clone(), [batch, m, n]), opts.clone());
            let a = Tensor::<2>::from_data(TensorData::new(as_.clone(), [m, n]), opts.clone());
            let got = to_vec(s.forward_devices(x, a));
            let mut rows = Vec::new();
            for b in 0..batch {
                for j in 0..m {
                    rows.extend_from_slice(&xs[(b * m + j) * n..(b * m + j + 1) * n]);
                    rows.extend_from_slice(&as_[j * n..(j + 1) * n]);
                }
            }
            let input = Tensor::<2>::from_data(TensorData::new(rows, [batch * m, 2 * n]), opts.clone());
            let want = to_vec(s.forward(input));
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-12, "{}: {g} vs {w}", arch.describe());
            }
        }
    }
}
