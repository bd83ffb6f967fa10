//! One row of a sweep (a value and a seed, with its surrogate's error beside its accuracies)
//! and the two ways it is written: `sweep.csv` and a table for the terminal.

/// One (value, seed) of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRow {
    /// The constant's value.
    pub value: f64,
    /// Training seed.
    pub seed: u64,
    /// Held-out RMSE of the value's surrogate, % of its output range.
    pub surrogate_rmse_percent: f64,
    /// Test accuracy on the surrogates after the last epoch (all test images); NaN when
    /// training refused the surrogate.
    pub accuracy_surrogates: f64,
    /// Accuracy on the devices' physics (the closing check's images).
    pub accuracy_physics: f64,
    /// Accuracy on the surrogates on those same images.
    pub accuracy_surrogates_checked: f64,
    /// Test images of the physics check.
    pub physics_images: usize,
    /// Binomial standard error of the physics accuracy.
    pub physics_stderr: f64,
    /// The gap was flagged (larger than twice its standard error).
    pub flagged: bool,
    /// Share of device evaluations outside the surrogate's box in the last epoch (worst layer).
    pub box_exits: f64,
    /// Surrogate error where the network operates, last epoch, worst layer (% of range).
    pub operating_error_percent: f64,
    /// What happened: trained, or why not.
    pub status: String,
}

/// The rows as CSV (NaN where a figure does not exist).
pub fn csv(constant: &str, rows: &[SweepRow]) -> String {
    let mut s = format!(
        "{constant},seed,surrogate_rmse_percent,accuracy_surrogates,accuracy_physics,accuracy_surrogates_checked,\
         physics_images,physics_stderr,flagged,box_exits,operating_error_percent,status\n"
    );
    for r in rows {
        s.push_str(&format!(
            "{},{},{:.4},{:.4},{:.4},{:.4},{},{:.4},{},{:.4},{:.4},{}\n",
            r.value,
            r.seed,
            r.surrogate_rmse_percent,
            r.accuracy_surrogates,
            r.accuracy_physics,
            r.accuracy_surrogates_checked,
            r.physics_images,
            r.physics_stderr,
            r.flagged,
            r.box_exits,
            r.operating_error_percent,
            r.status.replace(',', ";")
        ));
    }
    s
}

/// A table for the terminal: one line per value, mean and spread over seeds.
pub fn table(constant: &str, rows: &[SweepRow]) -> String {
    let mut s = format!(
        "{constant:>12}  surrogate RMSE  on surrogates   on physics (mean, min-max over seeds)  images  box exits\n"
    );
    let mut values: Vec<f64> = rows.iter().map(|r| r.value).collect();
    values.dedup();
    for v in values {
        let of: Vec<&SweepRow> = rows.iter().filter(|r| r.value == v).collect();
        let shown = crate::sweep::config::show(v);
        let phys: Vec<f64> = of.iter().map(|r| r.accuracy_physics).filter(|a| a.is_finite()).collect();
        let sur: Vec<f64> = of.iter().map(|r| r.accuracy_surrogates).filter(|a| a.is_finite()).collect();
        let mean = |x: &[f64]| if x.is_empty() { f64::NAN } else { x.iter().sum::<f64>() / x.len() as f64 };
        let lo = phys.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = phys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exits = of.iter().map(|r| r.box_exits).filter(|e| e.is_finite()).fold(0.0, f64::max);
        if phys.is_empty() {
            s.push_str(&format!(
                "{shown:>12}  {:>13.3}%  {:>13}   {:>38}  {}\n",
                of[0].surrogate_rmse_percent, "-", "-", of[0].status
            ));
            continue;
        }
        s.push_str(&format!(
            "{shown:>12}  {:>13.3}%  {:>12.2}%   {:>6.2}% ({:.2}-{:.2}, {} seeds)          {:>6}  {:>8.2}%\n",
            of[0].surrogate_rmse_percent,
            100.0 * mean(&sur),
            100.0 * mean(&phys),
            100.0 * lo,
            100.0 * hi,
            phys.len(),
            of.iter().map(|r| r.physics_images).max().unwrap_or(0),
            100.0 * exits
        ));
    }
    s
}
