//! The seed's inverse problem: given generators A_1..A_k and E = exp(sum_i a_i A_i), recover
//! the coefficients a_i by gradient descent (Adam) on the relative residual
//! `||exp(sum a_i A_i) - E||_F^2 / ||E||_F^2`, differentiating through [`expm`].

use std::time::Instant;

use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};

use almost_surrogate::tensor_io::to_vec;

use crate::matrix::expm::expm;

/// Settings of [`recover`].
#[derive(Clone, Debug)]
pub struct RecoverOptions {
    /// Upper bound on iterations.
    pub max_iterations: usize,
    /// Initial Adam step.
    pub learning_rate: f64,
    /// Stop when the relative residual (squared) falls below this.
    pub tolerance: f64,
}

impl Default for RecoverOptions {
    fn default() -> Self {
        Self { max_iterations: 20_000, learning_rate: 0.02, tolerance: 1e-26 }
    }
}

/// The outcome of [`recover`].
#[derive(Clone, Debug)]
pub struct Recovery {
    /// Recovered coefficients.
    pub a: Vec<f64>,
    /// Iterations run.
    pub iterations: usize,
    /// Final relative residual (squared).
    pub residual: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// (iteration, residual) every 50 iterations, for a loss curve.
    pub history: Vec<(usize, f64)>,
}

/// Recovers a from E = exp(sum a_i A_i), starting at `initial`. `generators` holds k
/// row-major d x d matrices, `target` the row-major E. Runs in f64.
pub fn recover(
    generators: &[Vec<f64>],
    d: usize,
    target: &[f64],
    initial: &[f64],
    options: &RecoverOptions,
) -> Recovery {
    let device = Device::flex().autodiff();
    let opts = TensorCreationOptions::new(device.clone()).with_dtype(DType::F64);
    let k = generators.len();
    let g = Tensor::<2>::from_data(TensorData::new(generators.concat(), [k, d * d]), opts.clone());
    let e = Tensor::<2>::from_data(TensorData::new(target.to_vec(), [1, d * d]), opts.clone());
    let e_norm2: f64 = target.iter().map(|v| v * v).sum::<f64>().max(f64::MIN_POSITIVE);
    let mut a = initial.to_vec();
    let (mut m, mut v) = (vec![0.0; k], vec![0.0; k]);
    let (beta1, beta2, eps) = (0.9, 0.999, 1e-30);
    let mut lr = options.learning_rate;
    let (mut best, mut since) = (f64::INFINITY, 0);
    let mut history = Vec::new();
    let start = Instant::now();
    let mut residual = f64::INFINITY;
    let mut iterations = 0;
    for it in 1..=options.max_iterations {
        iterations = it;
        let at = Tensor::<2>::from_data(TensorData::new(a.clone(), [1, k]), opts.clone()).require_grad();
        let z = at.clone().matmul(g.clone()).reshape([1, d, d]);
        let diff = expm(z).reshape([1, d * d]) - e.clone();
        let loss = diff.square().sum() / e_norm2;
        residual = to_vec(loss.clone().detach())[0];
        if it % 50 == 1 {
            history.push((it, residual));
        }
        if residual < options.tolerance {
            break;
        }
        let grads = loss.backward();
        let grad = at.grad(&grads).map(to_vec).unwrap_or_else(|| vec![0.0; k]);
        // Adam on the host for k numbers; halve the step when the residual stalls
        if residual < best * 0.999 {
            best = residual;
            since = 0;
        } else {
            since += 1;
            if since > 40 {
                lr *= 0.5;
                since = 0;
            }
        }
        for i in 0..k {
            m[i] = beta1 * m[i] + (1.0 - beta1) * grad[i];
            v[i] = beta2 * v[i] + (1.0 - beta2) * grad[i] * grad[i];
            let mh = m[i] / (1.0 - beta1.powi(it as i32));
            let vh = v[i] / (1.0 - beta2.powi(it as i32));
            a[i] -= lr * mh / (vh.sqrt() + eps);
        }
    }
    history.push((iterations, residual));
    Recovery { a, iterations, residual, seconds: start.elapsed().as_secs_f64(), history }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;
    use rand::{Rng, SeedableRng};

    /// Random generators scaled to unit 1-norm, and E for random coefficients.
    pub fn problem(d: usize, k: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let gens: Vec<DMatrix<f64>> = (0..k)
            .map(|_| {
                let m = DMatrix::<f64>::from_fn(d, d, |_, _| rng.random_range(-1.0..1.0));
                let n = m.lp_norm(1);
                m / n
            })
            .collect();
        let a: Vec<f64> = (0..k).map(|_| rng.random_range(-1.0..1.0)).collect();
        let z = gens.iter().zip(&a).fold(DMatrix::zeros(d, d), |acc, (g, c)| acc + g * *c);
        let e = z.exp();
        let row_major = |m: &DMatrix<f64>| (0..d * d).map(|i| m[(i / d, i % d)]).collect::<Vec<f64>>();
        (gens.iter().map(row_major).collect(), row_major(&e), a)
    }

    #[test]
    fn recovers_coefficients_of_a_matrix_exponential() {
        let (gens, e, truth) = problem(4, 6, 3);
        let r = recover(&gens, 4, &e, &[0.0; 6], &RecoverOptions::default());
        let err: f64 = r.a.iter().zip(&truth).map(|(p, q)| (p - q).powi(2)).sum::<f64>().sqrt();
        let rel = err / truth.iter().map(|q| q * q).sum::<f64>().sqrt();
        assert!(rel < 1e-6, "relative error {rel:e} after {} iterations (residual {:e})", r.iterations, r.residual);
    }
}
