//! [`FusedLayer`]: a device layer on the host kernel, on rayon's pool (its threads, and their
//! buffers, live as long as the process).
//!
//! Forward, the batch is split into one block of samples per thread; backward, the devices
//! are split into one contiguous block per thread, each walked in tiles of one sample's
//! devices (gather, input map, surrogate forward again, backward, all in the tile's
//! buffers): a device's dLoss/dA is summed by one thread in sample order, and the result
//! depends on the thread count only through the sum of the upstream gradients' thread shares.

use std::cell::RefCell;

use almost_surrogate::kernel::gather::{gather, scatter_add};
use almost_surrogate::kernel::pool::{recycle, zeroed};
use almost_surrogate::kernel::{FrozenMlp, Workspace};
use rayon::prelude::*;

use crate::network::layer::DeviceLayer;

/// Devices per tile: a tile's buffers (64 wide) stay in the core's L2 cache.
const TILE: usize = 256;

/// One worker's buffers, kept from call to call (no fresh pages per step).
#[derive(Default)]
struct Scratch {
    ws: Workspace,
    ext: Vec<f32>,
    x: Vec<f32>,
    dx: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A device layer reduced to the host kernel: wiring, the fixed input map and the surrogate.
#[derive(Clone, Debug)]
pub struct FusedLayer {
    mlp: FrozenMlp,
    indices: Vec<u32>,
    fan_in: usize,
    devices: usize,
    gain: f32,
    offset: f32,
    reference: Option<f32>,
}

/// What one thread's block of devices gives back from a backward pass.
struct BlockGrads {
    /// dLoss/dA of the block's devices, `[devices of the block, n_a]`.
    a: Vec<f32>,
    /// The block's share of dLoss/d(device inputs) summed per upstream line, `[batch, width +
    /// 1]` (the last column: the reference line), before the input map's gain.
    upstream: Vec<f32>,
}

/// `parts` contiguous ranges covering `0..n`, none empty.
fn split(n: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.clamp(1, n.max(1));
    (0..parts).map(|p| (p * n / parts, (p + 1) * n / parts)).filter(|(a, b)| b > a).collect()
}

impl FusedLayer {
    /// The layer on the host kernel; `None` when its surrogate is not an MLP or its wiring
    /// reaches past 2^32 lines.
    pub fn new(layer: &DeviceLayer) -> Option<Self> {
        let mlp = FrozenMlp::new(&layer.surrogate, layer.output)?;
        let indices = layer.indices.iter().map(|&i| u32::try_from(i).ok()).collect::<Option<Vec<u32>>>()?;
        Some(Self {
            mlp,
            indices,
            fan_in: layer.fan_in,
            devices: layer.devices(),
            gain: layer.gain as f32,
            offset: layer.offset as f32,
            reference: layer.reference.map(|r| r as f32),
        })
    }

    /// Number of devices.
    pub fn devices(&self) -> usize {
        self.devices
    }

    /// Multiply-adds of one sample's forward pass through the layer (per-sample part).
    pub fn multiply_adds(&self) -> usize {
        self.devices * self.mlp.row_multiply_adds()
    }

    /// One upstream row through the input map, with the reference line appended (its
    /// mapped value, or the map of 0 when the layer has none: no device reads it then).
    fn extended(&self, row: &[f32], ext: &mut Vec<f32>) {
        ext.clear();
        ext.extend(row.iter().chain([&self.reference.unwrap_or(0.0)]).map(|u| u * self.gain + self.offset));
    }

    /// The outputs `y` (`[rows, devices]`, rows = `u.len() / width`) of the devices for
    /// upstream rows `u`, given the device terms `za`, `pa`.
    fn forward_rows(&self, u: &[f32], width: usize, za: &[f32], pa: &[f32], y: &mut [f32], s: &mut Scratch) {
        let (n_a, w1) = (self.mlp.n_a, self.mlp.first_width());
        for (row, out) in u.chunks_exact(width).zip(y.chunks_exact_mut(self.devices)) {
            self.extended(row, &mut s.ext);
            for d0 in (0..self.devices).step_by(TILE) {
                let d1 = (d0 + TILE).min(self.devices);
                gather(&s.ext, &self.indices[d0 * self.fan_in..d1 * self.fan_in], &mut s.x);
                let (zr, pr) = (&za[d0 * n_a..d1 * n_a], &pa[d0 * w1..d1 * w1]);
                self.mlp.forward_tile(&s.x, zr, pr, &mut s.ws, false, &mut out[d0..d1]);
            }
        }
    }

    /// The layer's outputs `[batch, devices]` (a [`zeroed`] buffer: hand it back with
    /// [`recycle`] when done) for upstream signals `u` (`[batch, width]`) and
    /// the devices' physical A (`[devices, n_a]`).
    pub fn forward(&self, u: &[f32], batch: usize, a: &[f32], threads: usize) -> Vec<f32> {
        let width = u.len() / batch.max(1);
        let (za, pa) = self.mlp.device_terms(a);
        let mut y = zeroed(batch * self.devices);
        let rows_per = batch.div_ceil(threads.clamp(1, batch.max(1))).max(1);
        y.par_chunks_mut(rows_per * self.devices).zip(u.par_chunks(rows_per * width)).for_each(|(yb, ub)| {
            SCRATCH.with_borrow_mut(|s| self.forward_rows(ub, width, &za, &pa, yb, s));
        });
        recycle(za);
        recycle(pa);
        y
    }

    /// dLoss/dA (`[devices, n_a]`) and dLoss/d(upstream) (`[batch, width]`, a [`zeroed`]
    /// buffer) for the gradient
    /// `dy` (`[batch, devices]`) of the loss with respect to the layer's outputs at upstream
    /// signals `u`: the forward pass of each tile is run again (nothing is stored between the
    /// two passes) and differentiated at once.
    /// Without `upstream` (a first layer), dLoss/d(upstream) is not formed and comes back empty.
    pub fn backward(
        &self,
        u: &[f32],
        batch: usize,
        a: &[f32],
        dy: &[f32],
        threads: usize,
        upstream: bool,
    ) -> (Vec<f32>, Vec<f32>) {
        let width = u.len() / batch.max(1);
        let (za, pa) = self.mlp.device_terms(a);
        let (n_x, n_a, w1) = (self.mlp.n_x, self.mlp.n_a, self.mlp.first_width());
        let blocks = split(self.devices, threads);
        let parts: Vec<BlockGrads> = blocks
            .par_iter()
            .map(|&(lo, hi)| {
                SCRATCH.with_borrow_mut(|s| {
                    let mut dpa = zeroed((hi - lo) * w1);
                    let mut dza = zeroed((hi - lo) * n_a);
                    // the reference line's column (index `width`) collects what is dropped
                    let mut up_all = zeroed(if upstream { batch * (width + 1) } else { 0 });
                    for (b, (row, g)) in u.chunks_exact(width).zip(dy.chunks_exact(self.devices)).enumerate() {
                        self.extended(row, &mut s.ext);
                        for d0 in (lo..hi).step_by(TILE) {
                            let d1 = (d0 + TILE).min(hi);
                            let (n, idx) = (d1 - d0, &self.indices[d0 * self.fan_in..d1 * self.fan_in]);
                            gather(&s.ext, idx, &mut s.x);
                            let (zr, pr) = (&za[d0 * n_a..d1 * n_a], &pa[d0 * w1..d1 * w1]);
                            s.dx.resize(if upstream { n * n_x } else { 0 }, 0.0);
                            self.mlp.forward_tile(&s.x, zr, pr, &mut s.ws, true, &mut []);
                            let (p, q) =
                                (&mut dpa[(d0 - lo) * w1..(d1 - lo) * w1], &mut dza[(d0 - lo) * n_a..(d1 - lo) * n_a]);
                            self.mlp.backward_tile(&g[d0..d1], zr, &mut s.ws, &mut s.dx, p, q);
                            if upstream {
                                scatter_add(&mut up_all[b * (width + 1)..(b + 1) * (width + 1)], idx, &s.dx);
                            }
                        }
                    }
                    let a = self.mlp.parameter_gradients(&dpa, dza);
                    recycle(dpa);
                    BlockGrads { a, upstream: up_all }
                })
            })
            .collect();
        recycle(za);
        recycle(pa);
        let mut grad_a = Vec::with_capacity(self.devices * n_a);
        let mut grad_u = zeroed(if upstream { batch * width } else { 0 });
        for part in parts {
            grad_a.extend_from_slice(&part.a);
            for (g, p) in grad_u.chunks_exact_mut(width).zip(part.upstream.chunks_exact(width + 1)) {
                for (gi, pi) in g.iter_mut().zip(p) {
                    *gi += pi * self.gain;
                }
            }
            recycle(part.a);
            recycle(part.upstream);
        }
        (grad_a, grad_u)
    }
}
