//! One fit step of an MLP body on the host: forward over a batch of normalised rows, the mean
//! squared error, and its gradient with respect to every weight and bias (the surrogate
//! being fitted is the one thing whose weights do train), with faer's products and the SIMD
//! activations of [`crate::kernel::act`]. burn's autodiff graph is the reference.

use burn::optim::GradientsParams;
use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};

use crate::activation::Activation;
use crate::arch::Body;
use crate::kernel::act;
use crate::kernel::product::{Layout, product};
use crate::tensor_io::{f32s, to_vec};

/// A dense layer's weight (row-major `[d_in, d_out]`) and bias, host f32.
#[derive(Clone, Debug, PartialEq)]
pub struct HostDense {
    /// Weight, `[d_in, d_out]` row-major.
    pub w: Vec<f32>,
    /// Bias, `[d_out]`.
    pub b: Vec<f32>,
    /// Input width.
    pub d_in: usize,
    /// Output width.
    pub d_out: usize,
}

/// An MLP body as the fit sees it: its layers, activation and product features.
#[derive(Clone, Debug)]
pub struct HostMlp {
    /// Dense layers, input first (the last one has no activation).
    pub layers: Vec<HostDense>,
    /// Hidden activation.
    pub act: Activation,
    /// Inputs x (the first columns of a row; A_i is column n_x + i).
    pub n_x: usize,
    /// Whether x_i * A_i features follow the row.
    pub pairs: bool,
    /// Whether x_i^2 * A_i features follow them.
    pub squares: bool,
}

/// Rows `index` of a row-major matrix of width `w` (a batch of the fit's rows).
pub fn rows_of(m: &[f32], w: usize, index: &[i64]) -> Vec<f32> {
    index.iter().flat_map(|&r| m[r as usize * w..(r as usize + 1) * w].iter().copied()).collect()
}

impl HostMlp {
    /// The body's current weights on the host; `None` for the one-layer polynomial form.
    pub fn of(body: &Body) -> Option<Self> {
        if !body.is_mlp() || body.layers.is_empty() {
            return None;
        }
        let layers = body
            .layers
            .iter()
            .map(|l| {
                let (d_in, d_out) = l.dims();
                HostDense { w: f32s(&to_vec(l.weight.val())), b: f32s(&to_vec(l.bias.val())), d_in, d_out }
            })
            .collect();
        Some(Self { layers, act: body.activation, n_x: body.n_x, pairs: body.pairs > 0, squares: body.squares > 0 })
    }

    /// Gradients (in layer order, as [`HostMlp::loss_and_gradients`] gives them) as the
    /// optimiser's container for `body`'s parameters, on `device` (the fit's device without
    /// its autodiff layer) in `dtype`.
    pub fn gradients_params(body: &Body, grads: Vec<HostDense>, dtype: DType, device: &Device) -> GradientsParams {
        let mut out = GradientsParams::new();
        let options = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
        for (layer, g) in body.layers.iter().zip(grads) {
            let w = Tensor::<2>::from_data(TensorData::new(g.w, [g.d_in, g.d_out]), options.clone());
            out.register(layer.weight.id, w);
            out.register(layer.bias.id, Tensor::<1>::from_data(TensorData::new(g.b, [g.d_out]), options.clone()));
        }
        out
    }

    /// The input features of `rows` normalised rows `z` (`[rows, d_in]`): the row, then the
    /// products.
    fn features(&self, z: &[f32], rows: usize) -> Vec<f32> {
        let d_in = z.len() / rows.max(1);
        let n = self.n_x;
        let width = d_in + n * (usize::from(self.pairs) + usize::from(self.squares));
        let mut f = Vec::with_capacity(rows * width);
        for r in z.chunks_exact(d_in.max(1)) {
            f.extend_from_slice(r);
            if self.pairs {
                f.extend((0..n).map(|i| r[i] * r[n + i]));
            }
            if self.squares {
                f.extend((0..n).map(|i| r[i] * r[i] * r[n + i]));
            }
        }
        f
    }

    /// Mean squared error of the body on `rows` rows (`z` normalised inputs, `t` normalised
    /// targets `[rows, d_out]`) and its gradient for every layer (weight, bias), in layer
    /// order: the loss burn's fit minimises, `mean((body(z) - t)^2)` over every entry.
    pub fn loss_and_gradients(&self, z: &[f32], t: &[f32], rows: usize) -> (f64, Vec<HostDense>) {
        let last = self.layers.len().saturating_sub(1);
        // inputs of every layer, and the activation slopes of every hidden output
        let mut inputs = vec![self.features(z, rows)];
        let mut slopes = Vec::new();
        let mut out = Vec::new();
        for (l, d) in self.layers.iter().enumerate() {
            let mut pre = vec![0.0f32; rows * d.d_out];
            product(&mut pre, &inputs[l], &d.w, (rows, d.d_in, d.d_out), Layout::default());
            for row in pre.chunks_exact_mut(d.d_out.max(1)) {
                row.iter_mut().zip(&d.b).for_each(|(p, b)| *p += b);
            }
            if l < last {
                let (mut h, mut s) = (vec![0.0; pre.len()], vec![0.0; pre.len()]);
                act::apply_with_slope(self.act, &pre, &mut h, &mut s);
                inputs.push(h);
                slopes.push(s);
            } else {
                out = pre;
            }
        }
        let count = out.len().max(1) as f64;
        let mut loss = 0.0f64;
        let mut g: Vec<f32> = out
            .iter()
            .zip(t)
            .map(|(o, t)| {
                let e = f64::from(o - t);
                loss += e * e;
                (2.0 * e / count) as f32
            })
            .collect();
        let mut grads = Vec::with_capacity(self.layers.len());
        for (l, d) in self.layers.iter().enumerate().rev() {
            let mut w = vec![0.0f32; d.d_in * d.d_out];
            product(&mut w, &inputs[l], &g, (d.d_in, rows, d.d_out), Layout { a_t: true, ..Layout::default() });
            let mut b = vec![0.0f32; d.d_out];
            for row in g.chunks_exact(d.d_out.max(1)) {
                b.iter_mut().zip(row).for_each(|(bi, gi)| *bi += gi);
            }
            grads.push(HostDense { w, b, d_in: d.d_in, d_out: d.d_out });
            if l > 0 {
                let mut up = vec![0.0f32; rows * d.d_in];
                product(&mut up, &g, &d.w, (rows, d.d_out, d.d_in), Layout { b_t: true, ..Layout::default() });
                act::times(&mut up, &slopes[l - 1]);
                g = up;
            }
        }
        grads.reverse();
        (loss / count, grads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Architecture;
    use crate::normalize::Normalization;
    use crate::surrogate::Surrogate;
    use burn::tensor::Distribution;

    /// burn's loss and (weight, bias) gradients per layer in f64.
    type Reference = (f64, Vec<(Vec<f64>, Vec<f64>)>);

    /// The host kernel's loss and gradients, and burn's in f64, for one batch.
    fn both(arch: &Architecture) -> (f64, Vec<HostDense>, Reference) {
        let device = Device::flex().autodiff();
        device.seed(3);
        let (n_x, n_a, rows) = (3, 4, 37);
        let norm = Normalization {
            in_shift: vec![0.0; n_x + n_a],
            in_scale: vec![1.0; n_x + n_a],
            out_shift: vec![0.0; 2],
            out_scale: vec![1.0; 2],
        };
        let model = Surrogate::new(arch, &norm, n_x, DType::F64, &device);
        let options = TensorCreationOptions::new(device.clone()).with_dtype(DType::F64);
        let z = Tensor::<2>::random([rows, n_x + n_a], Distribution::Uniform(-1.5, 1.5), options.clone());
        let t = Tensor::<2>::random([rows, 2], Distribution::Uniform(-1.0, 1.0), options);
        let loss = (model.body.forward(z.clone()) - t.clone()).square().mean();
        let want_loss = to_vec(loss.clone().detach())[0];
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        let want = model
            .body
            .layers
            .iter()
            .map(|l| (to_vec(grads.remove::<2>(l.weight.id).unwrap()), to_vec(grads.remove::<1>(l.bias.id).unwrap())))
            .collect();
        let (got_loss, got) =
            HostMlp::of(&model.body).unwrap().loss_and_gradients(&f32s(&to_vec(z)), &f32s(&to_vec(t)), rows);
        (got_loss, got, (want_loss, want))
    }

    fn close(what: &str, got: &[f32], want: &[f64]) {
        let size = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = got.iter().zip(want).fold(0.0f64, |m, (g, w)| m.max((f64::from(*g) - w).abs()));
        assert!(size > 0.0 && worst <= 1e-5 * size, "{what}: off by {worst:.2e} of {size:.2e}");
    }

    #[test]
    fn the_fit_step_matches_burns_gradients_for_every_form_and_activation() {
        let mut forms = Vec::new();
        for activation in Activation::ALL {
            forms.push(Architecture::Mlp {
                hidden: vec![8, 8],
                activation,
                pair_products: false,
                square_products: false,
            });
        }
        forms.push(Architecture::Mlp {
            hidden: vec![],
            activation: Activation::Tanh,
            pair_products: true,
            square_products: false,
        });
        forms.push(Architecture::Mlp {
            hidden: vec![6],
            activation: Activation::Tanh,
            pair_products: true,
            square_products: true,
        });
        for arch in forms {
            let (got_loss, got, (want_loss, want)) = both(&arch);
            assert!((got_loss - want_loss).abs() <= 1e-5 * want_loss, "{arch:?}: loss {got_loss} vs {want_loss}");
            for (l, ((w, b), g)) in want.iter().zip(&got).enumerate() {
                close(&format!("{arch:?}, layer {l} weight"), &g.w, w);
                close(&format!("{arch:?}, layer {l} bias"), &g.b, b);
            }
        }
        let one_layer = Surrogate::new(
            &Architecture::OneLayer { degree: 2, activation: Activation::Tanh },
            &Normalization {
                in_shift: vec![0.0; 2],
                in_scale: vec![1.0; 2],
                out_shift: vec![0.0],
                out_scale: vec![1.0],
            },
            1,
            DType::F32,
            &Device::flex(),
        );
        assert!(HostMlp::of(&one_layer.body).is_none(), "the one-layer form stays on burn's graph");
    }
}
