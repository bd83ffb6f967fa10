//! Gathering device inputs from an upstream row by the wiring's indices, and the reverse
//! (summing device-input gradients back onto the upstream lines), on the host.

/// `out = src[idx]` for pulp's dispatch: the index is clamped into `src` (the wiring never
/// points past it), so the loop has no bounds branch and becomes SIMD gathers.
struct Gather<'a> {
    src: &'a [f32],
    idx: &'a [u32],
    out: &'a mut [f32],
}

impl pulp::WithSimd for Gather<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let last = self.src.len().saturating_sub(1);
        for (o, &k) in self.out.iter_mut().zip(self.idx) {
            *o = self.src[(k as usize).min(last)];
        }
    }
}

/// `out[j] = src[idx[j]]` (`out` takes `idx.len()` values; `src` must not be empty).
pub fn gather(src: &[f32], idx: &[u32], out: &mut Vec<f32>) {
    out.resize(idx.len(), 0.0);
    if src.is_empty() {
        return;
    }
    pulp::Arch::new().dispatch(Gather { src, idx, out });
}

/// `dst[idx[j]] += values[j]` (indices past `dst` are clamped onto its last entry).
pub fn scatter_add(dst: &mut [f32], idx: &[u32], values: &[f32]) {
    let last = dst.len().saturating_sub(1);
    if dst.is_empty() {
        return;
    }
    for (&k, v) in idx.iter().zip(values) {
        dst[(k as usize).min(last)] += v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_and_scatter_follow_the_indices() {
        let src = [1.0, 2.0, 3.0, 4.0];
        let idx = [3, 0, 0, 2, 1];
        let mut out = Vec::new();
        gather(&src, &idx, &mut out);
        assert_eq!(out, vec![4.0, 1.0, 1.0, 3.0, 2.0]);
        let mut dst = [0.0; 4];
        scatter_add(&mut dst, &idx, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(dst, [5.0, 5.0, 4.0, 1.0]);
    }
}
