//! The one matrix product of the host kernel: faer's, on row-major slices.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// How the operands of [`product`] are stored and whether it adds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Layout {
    /// `a` is stored `[k, rows]` and read transposed.
    pub a_t: bool,
    /// `b` is stored `[n, k]` and read transposed.
    pub b_t: bool,
    /// `c += a b` instead of `c = a b`.
    pub add: bool,
}

/// `c (+)= a b` on row-major slices for `(rows, k, n)`: a is `[rows, k]`, b `[k, n]`, c
/// `[rows, n]` (see [`Layout`] for transposed operands), on the calling thread.
pub fn product(c: &mut [f32], a: &[f32], b: &[f32], (rows, k, n): (usize, usize, usize), layout: Layout) {
    if rows == 0 || n == 0 {
        return;
    }
    let lhs = if layout.a_t {
        MatRef::from_row_major_slice(&a[..rows * k], k, rows).transpose()
    } else {
        MatRef::from_row_major_slice(&a[..rows * k], rows, k)
    };
    let rhs = if layout.b_t {
        MatRef::from_row_major_slice(&b[..k * n], n, k).transpose()
    } else {
        MatRef::from_row_major_slice(&b[..k * n], k, n)
    };
    let dst = MatMut::from_row_major_slice_mut(&mut c[..rows * n], rows, n);
    matmul(dst, if layout.add { Accum::Add } else { Accum::Replace }, lhs, rhs, 1.0f32, Par::Seq);
}
