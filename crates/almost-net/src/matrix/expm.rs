//! The matrix exponential of a batch of square matrices, differentiable through burn.
//!
//! Scaling and squaring with a truncated Taylor series whose degree is chosen from the norm:
//! with ν = max over the batch of the 1-norm, scale by 2^-s so that ν 2^-s ≤ 1/2, then take
//! the smallest degree m whose remainder bound (ν 2^-s)^(m+1) / (m+1)! · e^(ν 2^-s) is below
//! the unit roundoff of the dtype; evaluate the polynomial by Horner's rule and square s
//! times. Everything is matrix products and sums, so burn's autodiff differentiates it (the
//! backward pass is the adjoint of the same recurrence, i.e. a Fréchet derivative).

use burn::tensor::{DType, Tensor};

/// The scaling exponent s and Taylor degree m used for a batch whose largest 1-norm is `norm`.
pub fn plan(norm: f64, dtype: DType) -> (u32, usize) {
    let unit = if dtype == DType::F64 { f64::EPSILON / 2.0 } else { f64::from(f32::EPSILON) / 2.0 };
    let s = if norm > 0.5 { (norm / 0.5).log2().ceil() as u32 } else { 0 };
    let nu = norm * 2f64.powi(-(s as i32));
    let mut term = nu; // nu^(m+1) / (m+1)! for m = 0
    let mut m = 0usize;
    while term * nu.exp() > unit && m < 30 {
        m += 1;
        term *= nu / (m + 1) as f64;
    }
    (s, m.max(1))
}

/// Largest 1-norm (maximum absolute column sum) over the batch.
///
/// # Shapes
/// - a: `[batch, d, d]`
pub fn max_one_norm(a: &Tensor<3>) -> f64 {
    let col_sums = a.clone().abs().sum_dim(1); // [batch, 1, d]
    almost_surrogate::tensor_io::to_vec(col_sums.max()).first().copied().unwrap_or(0.0)
}

/// `exp(a)` of every matrix of the batch.
///
/// # Shapes
/// - a: `[batch, d, d]`
/// - output: `[batch, d, d]`
pub fn expm(a: Tensor<3>) -> Tensor<3> {
    let [batch, d, _] = a.dims();
    let (s, m) = plan(max_one_norm(&a), a.dtype());
    let scaled = a / 2f64.powi(s as i32);
    let eye = Tensor::<2>::eye(d, &scaled.device()).cast(scaled.dtype()).unsqueeze_dim::<3>(0).expand([batch, d, d]);
    // Horner: T = I + A/m (I + A/(m-1) (... (I + A/1)))
    let mut t = eye.clone();
    for k in (1..=m).rev() {
        t = eye.clone() + scaled.clone().matmul(t) / k as f64;
    }
    for _ in 0..s {
        t = t.clone().matmul(t);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorCreationOptions, TensorData};
    use nalgebra::DMatrix;
    use rand::{Rng, SeedableRng};

    #[test]
    fn agrees_with_nalgebra_from_tiny_to_large_norms() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let d = 4;
        let opts = TensorCreationOptions::new(Device::flex()).with_dtype(DType::F64);
        for &norm in &[1e-3, 1e-2, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0] {
            let mut data = Vec::new();
            let mut mats = Vec::new();
            for _ in 0..3 {
                let m = DMatrix::<f64>::from_fn(d, d, |_, _| rng.random_range(-1.0..1.0));
                let m = &m * (norm / m.lp_norm(1).max(1e-300));
                // row-major for the tensor
                for r in 0..d {
                    for c in 0..d {
                        data.push(m[(r, c)]);
                    }
                }
                mats.push(m);
            }
            let t = Tensor::<3>::from_data(TensorData::new(data, [3, d, d]), opts.clone());
            let got = almost_surrogate::tensor_io::to_vec(expm(t));
            for (b, m) in mats.iter().enumerate() {
                let want = m.exp();
                let err: f64 =
                    (0..d * d).map(|i| (got[b * d * d + i] - want[(i / d, i % d)]).powi(2)).sum::<f64>().sqrt();
                let rel = err / want.norm();
                assert!(rel < 1e-12 * (1.0 + norm), "norm {norm}: relative error {rel:e}");
            }
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        // d/dA of sum(W .* exp(A)) by autodiff vs central differences, f64
        let device = Device::flex().autodiff();
        let opts = TensorCreationOptions::new(device.clone()).with_dtype(DType::F64);
        let a0: Vec<f64> = vec![0.3, -1.2, 0.5, 0.8, 0.1, -0.4, 1.5, 0.2, -0.7];
        let w: Vec<f64> = (0..9).map(|i| (i as f64 * 0.37).sin()).collect();
        let wt = Tensor::<3>::from_data(TensorData::new(w.clone(), [1, 3, 3]), opts.clone());
        let f = |a: &[f64]| {
            let t = Tensor::<3>::from_data(TensorData::new(a.to_vec(), [1, 3, 3]), opts.clone());
            almost_surrogate::tensor_io::to_vec((expm(t) * wt.clone()).sum())[0]
        };
        let at = Tensor::<3>::from_data(TensorData::new(a0.clone(), [1, 3, 3]), opts.clone()).require_grad();
        let grads = (expm(at.clone()) * wt.clone()).sum().backward();
        let g = almost_surrogate::tensor_io::to_vec(at.grad(&grads).unwrap());
        for i in 0..9 {
            let h = 1e-6;
            let (mut up, mut dn) = (a0.clone(), a0.clone());
            up[i] += h;
            dn[i] -= h;
            let fd = (f(&up) - f(&dn)) / (2.0 * h);
            assert!((fd - g[i]).abs() < 1e-7 * (1.0 + fd.abs()), "entry {i}: {fd} vs {}", g[i]);
        }
    }

    #[test]
    fn plan_grows_with_norm() {
        assert_eq!(plan(0.0, DType::F64).0, 0);
        let (s_small, m_small) = plan(1e-3, DType::F64);
        let (s_big, m_big) = plan(100.0, DType::F64);
        assert!(s_small == 0 && m_small <= 6, "{m_small}");
        assert!(s_big >= 8 && m_big >= 12, "{s_big} {m_big}");
        assert!(plan(0.4, DType::F32).1 < plan(0.4, DType::F64).1);
    }
}
