//! The linear systems of a Rosenbrock step, one per live slot: `I / (h gamma) - J`
//! factored once a step, then solved for each stage. One state: a reciprocal, in a loop over
//! the slots that vectorises; more: each slot's LU with partial pivoting.

/// Every live slot's factored matrix, state-major like the march's values (entry `(row,
/// col)` of slot s at `[(col * n + row) * stride + s]`).
pub(super) struct Factored {
    n: usize,
    stride: usize,
    lu: Vec<f64>,
    pivots: Vec<usize>,
}

impl Factored {
    /// Room for `stride` slots of `n` states.
    pub fn new(n: usize, stride: usize) -> Self {
        Self { n, stride, lu: vec![0.0; n * n * stride], pivots: vec![0; n * stride] }
    }

    /// Factors `I / (h_s gamma) - J_s` for the first `live` slots (`jac` column after column,
    /// state-major). A singular matrix leaves infinities that the step's error norm rejects.
    pub fn factor(&mut self, live: usize, jac: &[f64], h: &[f64], gamma: f64) {
        let (n, stride) = (self.n, self.stride);
        if n == 1 {
            // the reciprocal of 1 / (h gamma) - J
            for ((w, &j), &h) in self.lu[..live].iter_mut().zip(&jac[..live]).zip(&h[..live]) {
                *w = 1.0 / (1.0 / (h * gamma) - j);
            }
            return;
        }
        let mut a = vec![0.0; n * n];
        for s in 0..live {
            for (i, v) in a.iter_mut().enumerate() {
                *v = -jac[i * stride + s];
            }
            for d in 0..n {
                a[d * n + d] += 1.0 / (h[s] * gamma);
            }
            for col in 0..n {
                let pivot =
                    (col..n).max_by(|&x, &y| a[col * n + x].abs().total_cmp(&a[col * n + y].abs())).unwrap_or(col);
                self.pivots[col * stride + s] = pivot;
                if pivot != col {
                    for c in 0..n {
                        a.swap(c * n + col, c * n + pivot);
                    }
                }
                let diag = a[col * n + col];
                for row in col + 1..n {
                    let l = a[col * n + row] / diag;
                    a[col * n + row] = l;
                    for c in col + 1..n {
                        a[c * n + row] -= l * a[c * n + col];
                    }
                }
            }
            for (i, &v) in a.iter().enumerate() {
                self.lu[i * stride + s] = v;
            }
        }
    }

    /// Solves every live slot's system for the right-hand side in `x` (n rows of the
    /// stride, state-major), in place.
    pub fn solve(&self, live: usize, x: &mut [f64]) {
        let (n, stride) = (self.n, self.stride);
        if n == 1 {
            for (x, &w) in x[..live].iter_mut().zip(&self.lu[..live]) {
                *x *= w;
            }
            return;
        }
        let lu = |row: usize, col: usize, s: usize| self.lu[(col * n + row) * stride + s];
        for s in 0..live {
            for col in 0..n {
                x.swap(col * stride + s, self.pivots[col * stride + s] * stride + s);
                for row in col + 1..n {
                    x[row * stride + s] -= lu(row, col, s) * x[col * stride + s];
                }
            }
            for col in (0..n).rev() {
                x[col * stride + s] /= lu(col, col, s);
                for row in 0..col {
                    x[row * stride + s] -= lu(row, col, s) * x[col * stride + s];
                }
            }
        }
    }
}
