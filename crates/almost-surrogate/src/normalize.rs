//! The fixed normalisation of a surrogate, computed once from the training split.

use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::arch::Architecture;

/// Shifts and scales: `z = (v - shift) * scale` on inputs, `y = h * scale + shift` on outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Input shifts (mean of each [x, A] column).
    pub in_shift: Vec<f64>,
    /// Input scales (1 / standard deviation).
    pub in_scale: Vec<f64>,
    /// Output shifts.
    pub out_shift: Vec<f64>,
    /// Output scales.
    pub out_scale: Vec<f64>,
}

/// Mean and population standard deviation of each column of row-major `data` (width `w`).
pub fn column_stats(data: &[f64], w: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (data.len() / w.max(1)) as f64;
    let mut mean = vec![0.0; w];
    for row in data.chunks_exact(w) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v / n;
        }
    }
    let mut var = vec![0.0; w];
    for row in data.chunks_exact(w) {
        for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v - m) * (v - m) / n;
        }
    }
    (mean, var.into_iter().map(f64::sqrt).collect())
}

impl Normalization {
    /// Inputs standardised to zero mean and unit variance; outputs standardised too, except
    /// for a one-layer form with a bounded f_nl, whose range is mapped onto the training
    /// outputs' range (with a 5 % margin each side) so that f_nl can reach every target.
    ///
    /// `inputs` is row-major [x, A] of width `d_in`, `outputs` row-major of width `d_out`;
    /// every column must have positive spread (checked by the caller).
    pub fn fit(arch: &Architecture, inputs: &[f64], d_in: usize, outputs: &[f64], d_out: usize) -> Self {
        let (in_mean, in_std) = column_stats(inputs, d_in);
        let (out_mean, out_std) = column_stats(outputs, d_out);
        let (lo, hi) = column_range(outputs, d_out);
        let (out_shift, out_scale) = match arch {
            Architecture::OneLayer { activation: Activation::Tanh, .. } => {
                let shift = lo.iter().zip(&hi).map(|(l, h)| 0.5 * (l + h)).collect();
                let scale = lo.iter().zip(&hi).map(|(l, h)| 0.55 * (h - l)).collect();
                (shift, scale)
            }
            Architecture::OneLayer { activation: Activation::Sigmoid, .. } => {
                let shift = lo.iter().zip(&hi).map(|(l, h)| l - 0.05 * (h - l)).collect();
                let scale = lo.iter().zip(&hi).map(|(l, h)| 1.1 * (h - l)).collect();
                (shift, scale)
            }
            _ => (out_mean, out_std),
        };
        Self { in_shift: in_mean, in_scale: in_std.iter().map(|s| 1.0 / s).collect(), out_shift, out_scale }
    }
}

/// Minimum and maximum of each column.
pub fn column_range(data: &[f64], w: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![f64::INFINITY; w];
    let mut hi = vec![f64::NEG_INFINITY; w];
    for row in data.chunks_exact(w) {
        for ((l, h), v) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
            *l = l.min(*v);
            *h = h.max(*v);
        }
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_and_tanh_range_mapping() {
        let (m, s) = column_stats(&[1.0, 10.0, 3.0, 10.0], 2);
        assert_eq!(m, vec![2.0, 10.0]);
        assert_eq!(s, vec![1.0, 0.0]);
        let arch = Architecture::OneLayer { degree: 1, activation: Activation::Tanh };
        let n = Normalization::fit(&arch, &[0.0, 1.0], 1, &[-0.5, 0.5], 1);
        assert!((n.out_shift[0]).abs() < 1e-15 && (n.out_scale[0] - 0.55).abs() < 1e-15);
    }
}
