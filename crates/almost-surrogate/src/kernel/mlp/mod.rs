//! [`FrozenMlp`]: an MLP surrogate's frozen weights on the host in f32, evaluated over tiles of
//! rows (one row = one device on one sample) with faer's matrix products, the activation
//! applied in one SIMD pass per layer, and its backward pass to the inputs x and to the
//! parameter term of each device. The weights never change, so no weight gradient is formed.

use crate::activation::Activation;
mod backward;

use crate::kernel::product::{Layout, product};
use crate::kernel::{act, pool};
use crate::surrogate::Surrogate;
use crate::tensor_io::{f32s, to_vec};

/// One dense layer after the first: row-major weight `[d_in, d_out]` and bias.
#[derive(Clone, Debug)]
struct Dense32 {
    w: Vec<f32>,
    b: Vec<f32>,
    d_in: usize,
    d_out: usize,
}

/// An MLP surrogate reduced to what a device layer evaluates: one output, f32 weights.
#[derive(Clone, Debug)]
pub struct FrozenMlp {
    /// Inputs x per device.
    pub n_x: usize,
    /// Parameters A per device.
    pub n_a: usize,
    pairs: bool,
    squares: bool,
    x_shift: Vec<f32>,
    x_scale: Vec<f32>,
    a_shift: Vec<f32>,
    a_scale: Vec<f32>,
    /// First layer rows of the x features (x, then x*A, then x^2*A), `[features, w1]`.
    wf: Vec<f32>,
    /// First layer rows of A, `[n_a, w1]`.
    wa: Vec<f32>,
    b1: Vec<f32>,
    /// Width of the first layer's output (1 when it is the output layer).
    w1: usize,
    /// Dense layers between the first and the output.
    hidden: Vec<Dense32>,
    /// Output weights of the one output used and its bias (none: the first layer is the output).
    out: Option<(Vec<f32>, f32)>,
    act: Activation,
    y_scale: f32,
    y_shift: f32,
}

/// Buffers of one tile, reused from tile to tile (no allocation per tile).
#[derive(Debug, Default)]
pub struct Workspace {
    f: Vec<f32>,
    z: Vec<Vec<f32>>,
    h: Vec<Vec<f32>>,
    slope: Vec<Vec<f32>>,
    g: Vec<f32>,
    g2: Vec<f32>,
    df: Vec<f32>,
}

/// Rows `rows` of a row-major `[_, width]` matrix, only columns `cols`.
fn block(m: &[f64], width: usize, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>) -> Vec<f32> {
    rows.flat_map(|r| m[r * width + cols.start..r * width + cols.end].iter().map(|&x| x as f32)).collect()
}

impl FrozenMlp {
    /// The MLP of `s` reading output `output`; `None` for the one-layer polynomial form
    /// (its features do not split into a per-sample and a per-device part).
    pub fn new(s: &Surrogate, output: usize) -> Option<Self> {
        let body = &s.body;
        if !body.is_mlp() || body.layers.is_empty() || output >= s.n_y() {
            return None;
        }
        let (n_x, n_a) = (s.n_x, s.n_a);
        let (shift, scale) = (to_vec(s.in_shift.val()), to_vec(s.in_scale.val()));
        let layers: Vec<(Vec<f64>, Vec<f64>, usize, usize)> = body
            .layers
            .iter()
            .map(|l| {
                let (d_in, d_out) = l.dims();
                (to_vec(l.weight.val()), to_vec(l.bias.val()), d_in, d_out)
            })
            .collect();
        let only = layers.len() == 1;
        let (w, b, _, d_out) = &layers[0];
        let cols = if only { output..output + 1 } else { 0..*d_out };
        let feats = n_x + body.pairs + body.squares;
        let mut wf = block(w, *d_out, 0..n_x, cols.clone());
        wf.extend(block(w, *d_out, n_x + n_a..n_x + n_a + body.pairs + body.squares, cols.clone()));
        debug_assert_eq!(wf.len(), feats * cols.len());
        let wa = block(w, *d_out, n_x..n_x + n_a, cols.clone());
        let b1 = f32s(&b[cols.clone()]);
        let last = layers.len() - 1;
        let hidden = layers[1..last.max(1)]
            .iter()
            .map(|(w, b, d_in, d_out)| Dense32 { w: f32s(w), b: f32s(b), d_in: *d_in, d_out: *d_out })
            .collect();
        let out = (!only).then(|| {
            let (w, b, d_in, d_out) = &layers[last];
            ((0..*d_in).map(|i| w[i * d_out + output] as f32).collect(), b[output] as f32)
        });
        Some(Self {
            n_x,
            n_a,
            pairs: body.pairs > 0,
            squares: body.squares > 0,
            x_shift: f32s(&shift[..n_x]),
            x_scale: f32s(&scale[..n_x]),
            a_shift: f32s(&shift[n_x..n_x + n_a]),
            a_scale: f32s(&scale[n_x..n_x + n_a]),
            wf,
            wa,
            b1,
            w1: cols.len(),
            hidden,
            out,
            act: body.activation,
            y_scale: to_vec(s.out_scale.val())[output] as f32,
            y_shift: to_vec(s.out_shift.val())[output] as f32,
        })
    }

    /// Width of the first layer's output (the parameter term's width).
    pub fn first_width(&self) -> usize {
        self.w1
    }

    fn features(&self) -> usize {
        self.n_x * (1 + usize::from(self.pairs) + usize::from(self.squares))
    }

    /// Multiply-adds of one row forward (per sample and device), the parameter term aside.
    pub fn row_multiply_adds(&self) -> usize {
        self.features() * self.w1 + self.hidden.iter().map(|d| d.d_in * d.d_out).sum::<usize>() + self.out_len()
    }

    fn out_len(&self) -> usize {
        self.out.as_ref().map_or(0, |(w, _)| w.len())
    }

    /// The per-device part: normalised A (`[m, n_a]`) and the first layer's parameter term
    /// plus bias (`[m, w1]`), for the physical A of `m` devices (row-major `[m, n_a]`); both
    /// come from [`pool`], to be handed back with [`pool::recycle`].
    pub fn device_terms(&self, a: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let n_a = self.n_a.max(1);
        let m = a.len() / n_a;
        let mut za = pool::zeroed(m * n_a);
        for (z, row) in za.chunks_exact_mut(n_a).zip(a.chunks_exact(n_a)) {
            for (((zi, v), s), c) in z.iter_mut().zip(row).zip(&self.a_shift).zip(&self.a_scale) {
                *zi = (v - s) * c;
            }
        }
        let mut pa = pool::zeroed(m * self.w1);
        for row in pa.chunks_exact_mut(self.w1.max(1)) {
            row.copy_from_slice(&self.b1);
        }
        product(&mut pa, &za, &self.wa, (m, self.n_a, self.w1), Layout { add: true, ..Layout::default() });
        (za, pa)
    }

    /// Device outputs of `rows` rows: `x` physical inputs `[rows, n_x]`, `za` and `pa` the rows'
    /// device terms ([`FrozenMlp::device_terms`]); `y` receives `[rows]`. With `train`, the
    /// activation slopes are kept in `ws` for [`FrozenMlp::backward_tile`] and the output is
    /// not formed (the backward pass needs only the slopes; `y` may be empty).
    pub fn forward_tile(&self, x: &[f32], za: &[f32], pa: &[f32], ws: &mut Workspace, train: bool, y: &mut [f32]) {
        let rows = x.len() / self.n_x.max(1);
        let (n_x, n_a, feats) = (self.n_x, self.n_a, self.features());
        ws.f.resize(rows * feats, 0.0);
        for ((f, xr), zr) in ws.f.chunks_exact_mut(feats).zip(x.chunks_exact(n_x)).zip(za.chunks_exact(n_a)) {
            let (fx, rest) = f.split_at_mut(n_x);
            for ((fi, xi), (s, c)) in fx.iter_mut().zip(xr).zip(self.x_shift.iter().zip(&self.x_scale)) {
                *fi = (xi - s) * c;
            }
            let (fp, fq) = rest.split_at_mut(if self.pairs { n_x } else { 0 });
            for ((p, zx), a) in fp.iter_mut().zip(fx.iter()).zip(zr) {
                *p = zx * a;
            }
            for ((q, zx), a) in fq.iter_mut().zip(fx.iter()).zip(zr) {
                *q = zx * zx * a;
            }
        }
        let depth = 1 + self.hidden.len();
        ws.z.resize_with(depth, Vec::new);
        ws.h.resize_with(depth, Vec::new);
        ws.slope.resize_with(depth, Vec::new);
        let z0 = &mut ws.z[0];
        z0.resize(rows * self.w1, 0.0);
        z0.copy_from_slice(&pa[..rows * self.w1]);
        product(z0, &ws.f, &self.wf, (rows, feats, self.w1), Layout { add: true, ..Layout::default() });
        let Some((w_out, b_out)) = &self.out else {
            if train {
                return;
            }
            for (yr, z) in y.iter_mut().zip(&ws.z[0]) {
                *yr = z * self.y_scale + self.y_shift;
            }
            return;
        };
        for l in 0..depth {
            let width = if l == 0 { self.w1 } else { self.hidden[l - 1].d_out };
            ws.h[l].resize(rows * width, 0.0);
            if train {
                ws.slope[l].resize(rows * width, 0.0);
                act::apply_with_slope(self.act, &ws.z[l], &mut ws.h[l], &mut ws.slope[l]);
            } else {
                act::apply(self.act, &ws.z[l], &mut ws.h[l]);
            }
            if l + 1 < depth {
                let d = &self.hidden[l];
                let next = &mut ws.z[l + 1];
                next.resize(rows * d.d_out, 0.0);
                for row in next.chunks_exact_mut(d.d_out) {
                    row.copy_from_slice(&d.b);
                }
                product(next, &ws.h[l], &d.w, (rows, d.d_in, d.d_out), Layout { add: true, ..Layout::default() });
            }
        }
        if train {
            return;
        }
        product(y, &ws.h[depth - 1], w_out, (rows, w_out.len(), 1), Layout::default());
        for yr in y.iter_mut() {
            *yr = (*yr + b_out) * self.y_scale + self.y_shift;
        }
    }
}
