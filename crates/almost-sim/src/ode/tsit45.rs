//! The Tsitouras 5(4) tableau as diffsol defines it, and the stage arithmetic of the lanes
//! ([`super::lanes`]) over every live value at once: each stage's input and the local error
//! in one pass over the values, the sum over the stages unrolled.

use std::sync::LazyLock;

use diffsol::Tableau;

/// Stages of Tsitouras 5(4).
pub(super) const STAGES: usize = 7;

/// The Tsitouras 5(4) coefficients as diffsol defines them, read once.
pub(super) static TSIT45: LazyLock<Coefficients> = LazyLock::new(Coefficients::tsit45);

pub(super) struct Coefficients {
    pub a: [[f64; STAGES]; STAGES],
    pub c: [f64; STAGES],
    pub d: [f64; STAGES],
    pub order: usize,
}

impl Coefficients {
    fn tsit45() -> Self {
        let t = Tableau::<f64>::tsit45();
        let mut a = [[0.0; STAGES]; STAGES];
        for (i, row) in a.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate().take(i) {
                *v = t.a(i, j);
            }
        }
        Self { a, c: std::array::from_fn(|i| t.c()[i]), d: std::array::from_fn(|i| t.d()[i]), order: t.order() }
    }
}

/// `ys = y + sum_{j<i} a_j k_j` for stage `i` (`k` holds the stages `len` apart), summed
/// in the order of j, in one pass over the values. (Every a_ij with j < i of Tsitouras 5(4)
/// is non-zero: tested.)
pub(super) fn stage_input(i: usize, a: &[f64; STAGES], y: &[f64], k: &[f64], len: usize, ys: &mut [f64]) {
    match i {
        1 => combine::<1>(a, y, k, len, ys),
        2 => combine::<2>(a, y, k, len, ys),
        3 => combine::<3>(a, y, k, len, ys),
        4 => combine::<4>(a, y, k, len, ys),
        5 => combine::<5>(a, y, k, len, ys),
        _ => combine::<6>(a, y, k, len, ys),
    }
}

/// [`stage_input`] with the stage known at compile time, so that the sum over j unrolls.
#[inline(always)]
fn combine<const I: usize>(a: &[f64; STAGES], y: &[f64], k: &[f64], len: usize, ys: &mut [f64]) {
    let live = ys.len();
    let y = &y[..live];
    let stages: [&[f64]; I] = std::array::from_fn(|j| &k[j * len..][..live]);
    for e in 0..live {
        // the copy of y rides on the first product (a_i0 is non-zero in every stage)
        let mut sum = y[e] + a[0] * stages[0][e];
        for j in 1..I {
            sum += a[j] * stages[j][e];
        }
        ys[e] = sum;
    }
}

/// `err = sum_j d_j k_j` over the live values, summed in the order of j from zero.
pub(super) fn local_error(d: &[f64; STAGES], k: &[f64], len: usize, err: &mut [f64]) {
    let live = err.len();
    let stages: [&[f64]; STAGES] = std::array::from_fn(|j| &k[j * len..][..live]);
    for e in 0..live {
        let mut sum = 0.0;
        for j in 0..STAGES {
            sum += d[j] * stages[j][e];
        }
        err[e] = sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`stage_input`] adds every a_ij k_j with j < i: a zero coefficient would add 0 k_j,
    /// which is not a no-op for a non-finite k_j, so the tableau must have none.
    #[test]
    fn every_coefficient_below_the_diagonal_is_non_zero() {
        for i in 1..STAGES {
            for j in 0..i {
                assert!(TSIT45.a[i][j] != 0.0, "a[{i}][{j}] is zero");
            }
        }
        assert_eq!(TSIT45.order, 4);
    }

    /// The fused passes give the bits of the sums written out term by term.
    #[test]
    fn stage_inputs_and_the_local_error_are_the_plain_sums() {
        let (live, len) = (5, 8);
        let k: Vec<f64> = (0..STAGES * len).map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.173).collect();
        let y: Vec<f64> = (0..live).map(|i| 0.3 * i as f64 - 0.7).collect();
        for i in 1..STAGES {
            let mut ys = vec![0.0; live];
            stage_input(i, &TSIT45.a[i], &y, &k, len, &mut ys);
            for e in 0..live {
                let mut sum = y[e] + TSIT45.a[i][0] * k[e];
                for j in 1..i {
                    sum += TSIT45.a[i][j] * k[j * len + e];
                }
                assert_eq!(ys[e].to_bits(), sum.to_bits(), "stage {i}, value {e}");
            }
        }
        let mut err = vec![0.0; live];
        local_error(&TSIT45.d, &k, len, &mut err);
        for (e, &got) in err.iter().enumerate() {
            let want = TSIT45.d.iter().enumerate().fold(0.0, |sum, (j, &d)| sum + d * k[j * len + e]);
            assert_eq!(got.to_bits(), want.to_bits());
        }
    }
}
