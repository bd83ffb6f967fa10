//! Held-out error metrics, in the device's own units.

use almost_sim::Quantity;
use serde::{Deserialize, Serialize};

/// Errors of one output on the test split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputMetrics {
    /// Output name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Test rows.
    pub rows: usize,
    /// Root-mean-square error.
    pub rmse: f64,
    /// Largest absolute error.
    pub max_abs_error: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// Range (max - min) of this output over the training rows.
    pub output_range: f64,
    /// RMSE divided by the output range.
    pub relative_rmse: f64,
    /// RMSE on rows with a coordinate in the outer 10 % of its range (5 % at each end).
    pub rmse_outer: f64,
    /// Rows in that outer shell.
    pub rows_outer: usize,
    /// RMSE on the remaining (interior) rows.
    pub rmse_interior: f64,
    /// Rows in the interior.
    pub rows_interior: usize,
}

/// Computes [`OutputMetrics`] of output `q` from its predicted and target columns.
/// `outer[i]` says whether test row i lies in the outer shell of the box.
pub fn output_metrics(
    q: &Quantity,
    predicted: &[f64],
    target: &[f64],
    outer: &[bool],
    output_range: f64,
) -> OutputMetrics {
    let n = target.len();
    let err: Vec<f64> = predicted.iter().zip(target).map(|(p, t)| p - t).collect();
    let rms = |sel: &dyn Fn(usize) -> bool| {
        let (mut s, mut c) = (0.0, 0usize);
        for (i, e) in err.iter().enumerate() {
            if sel(i) {
                s += e * e;
                c += 1;
            }
        }
        (if c > 0 { (s / c as f64).sqrt() } else { f64::NAN }, c)
    };
    let (rmse, _) = rms(&|_| true);
    let (rmse_outer, rows_outer) = rms(&|i| outer[i]);
    let (rmse_interior, rows_interior) = rms(&|i| !outer[i]);
    let mean = target.iter().sum::<f64>() / n as f64;
    let ss_tot: f64 = target.iter().map(|t| (t - mean).powi(2)).sum();
    let ss_res: f64 = err.iter().map(|e| e * e).sum();
    OutputMetrics {
        name: q.name.clone(),
        unit: q.unit.clone(),
        rows: n,
        rmse,
        max_abs_error: err.iter().fold(0.0, |m, e| m.max(e.abs())),
        r2: 1.0 - ss_res / ss_tot,
        output_range,
        relative_rmse: rmse / output_range,
        rmse_outer,
        rows_outer,
        rmse_interior,
        rows_interior,
    }
}

/// Whether each row (row-major inputs, width `lo.len()`) has a coordinate in the outer 10 %
/// of the box `[lo, hi]` (within 5 % of the width from either end).
pub fn outer_shell(inputs: &[f64], lo: &[f64], hi: &[f64]) -> Vec<bool> {
    inputs
        .chunks_exact(lo.len())
        .map(|row| {
            row.iter().zip(lo.iter().zip(hi)).any(|(v, (l, h))| {
                let margin = 0.05 * (h - l);
                *v < l + margin || *v > h - margin
            })
        })
        .collect()
}

/// Column `k` of a row-major matrix of width `w`.
pub fn column(data: &[f64], w: usize, k: usize) -> Vec<f64> {
    data.iter().skip(k).step_by(w).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_a_known_error() {
        let target = [0.0, 1.0, 2.0, 3.0];
        let predicted = [0.0, 1.0, 2.0, 5.0];
        let outer = [true, false, false, true];
        let m = output_metrics(&Quantity::new("y", "V", 0.0, 3.0), &predicted, &target, &outer, 3.0);
        assert!((m.rmse - 1.0).abs() < 1e-12);
        assert_eq!(m.max_abs_error, 2.0);
        assert!((m.rmse_outer - 2f64.sqrt()).abs() < 1e-12 && m.rmse_interior == 0.0);
        assert!((m.r2 - (1.0 - 4.0 / 5.0)).abs() < 1e-12);
        assert_eq!(outer_shell(&[0.0, 0.5, 0.97, 0.5], &[0.0, 0.0], &[1.0, 1.0]), vec![true, true]);
        assert_eq!(outer_shell(&[0.5, 0.5], &[0.0, 0.0], &[1.0, 1.0]), vec![false]);
    }
}
