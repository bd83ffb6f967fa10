//! The backward pass of [`FrozenMlp`]: from dLoss/dy of a tile's rows to dLoss/dx and the
//! sums that become dLoss/dA.

use crate::kernel::act;
use crate::kernel::mlp::{FrozenMlp, Workspace};
use crate::kernel::product::{Layout, product};

impl FrozenMlp {
    /// The backward pass of the tile last run forward with `train`: `dy` is dLoss/dy per row;
    /// writes dLoss/dx (physical x, `[rows, n_x]`) into `dx` (left out when `dx` is empty) and adds dLoss/d(parameter term)
    /// into `dpa` (`[rows, w1]`) and the product features' share of dLoss/d(normalised A)
    /// into `dza` (`[rows, n_a]`).
    pub fn backward_tile(
        &self,
        dy: &[f32],
        za: &[f32],
        ws: &mut Workspace,
        dx: &mut [f32],
        dpa: &mut [f32],
        dza: &mut [f32],
    ) {
        let rows = dy.len();
        let (n_x, n_a, feats) = (self.n_x, self.n_a, self.features());
        let depth = 1 + self.hidden.len();
        match &self.out {
            None => {
                ws.g.clear();
                ws.g.extend(dy.iter().map(|d| d * self.y_scale));
            }
            Some((w_out, _)) => {
                let width = w_out.len();
                ws.g.resize(rows * width, 0.0);
                let rows_of = ws.g.chunks_exact_mut(width).zip(ws.slope[depth - 1].chunks_exact(width));
                for ((g, slope), d) in rows_of.zip(dy) {
                    let d = d * self.y_scale;
                    for ((gj, sj), wj) in g.iter_mut().zip(slope).zip(w_out) {
                        *gj = d * wj * sj;
                    }
                }
                for l in (1..depth).rev() {
                    let d = &self.hidden[l - 1];
                    ws.g2.resize(rows * d.d_in, 0.0);
                    product(
                        &mut ws.g2,
                        &ws.g,
                        &d.w,
                        (rows, d.d_out, d.d_in),
                        Layout { b_t: true, ..Layout::default() },
                    );
                    act::times(&mut ws.g2, &ws.slope[l - 1]);
                    std::mem::swap(&mut ws.g, &mut ws.g2);
                }
            }
        }
        for (p, g) in dpa[..rows * self.w1].iter_mut().zip(&ws.g) {
            *p += g;
        }
        // without dx (a first layer: nothing upstream is trained) only the product columns count
        let skip = if dx.is_empty() { n_x } else { 0 };
        let cols = feats - skip;
        ws.df.resize(rows * cols, 0.0);
        product(
            &mut ws.df,
            &ws.g,
            &self.wf[skip * self.w1..],
            (rows, self.w1, cols),
            Layout { b_t: true, ..Layout::default() },
        );
        for r in 0..rows {
            let fx = &ws.f[r * feats..r * feats + n_x];
            let df = &ws.df[r * cols..(r + 1) * cols];
            let (zr, dzr) = (&za[r * n_a..(r + 1) * n_a], &mut dza[r * n_a..(r + 1) * n_a]);
            let mut dxr = (skip == 0).then(|| &mut dx[r * n_x..(r + 1) * n_x]);
            if let Some(d) = dxr.as_deref_mut() {
                d.copy_from_slice(&df[..n_x]);
            }
            let mut at = n_x - skip;
            if self.pairs {
                let dfp = &df[at..at + n_x];
                for i in 0..n_x {
                    dzr[i] += dfp[i] * fx[i];
                }
                if let Some(d) = dxr.as_deref_mut() {
                    for i in 0..n_x {
                        d[i] += dfp[i] * zr[i];
                    }
                }
                at += n_x;
            }
            if self.squares {
                let dfq = &df[at..at + n_x];
                for i in 0..n_x {
                    dzr[i] += dfq[i] * fx[i] * fx[i];
                }
                if let Some(d) = dxr.as_deref_mut() {
                    for i in 0..n_x {
                        d[i] += 2.0 * dfq[i] * fx[i] * zr[i];
                    }
                }
            }
            if let Some(d) = dxr {
                for (di, c) in d.iter_mut().zip(&self.x_scale) {
                    *di *= c;
                }
            }
        }
    }

    /// dLoss/dA (physical A, `[m, n_a]`) from the sums over samples of dLoss/d(parameter
    /// term) (`dpa`, `[m, w1]`) and of the product features' dLoss/d(normalised A) (`dza`).
    pub fn parameter_gradients(&self, dpa: &[f32], mut dza: Vec<f32>) -> Vec<f32> {
        let m = dpa.len() / self.w1.max(1);
        product(&mut dza, dpa, &self.wa, (m, self.w1, self.n_a), Layout { add: true, b_t: true, a_t: false });
        for row in dza.chunks_mut(self.n_a.max(1)) {
            for (g, s) in row.iter_mut().zip(&self.a_scale) {
                *g *= s;
            }
        }
        dza
    }
}
