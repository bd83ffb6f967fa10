//! A human-readable summary of a dataset: counts, failures, ranges and an output histogram.

use std::fmt::Write;

use crate::dataset::Dataset;

/// Summary text of `ds` (what `almost-simulate inspect` prints).
pub fn summarize(ds: &Dataset) -> String {
    let m = &ds.manifest;
    let spec = &m.plan.device;
    let t = &ds.table;
    let mut s = String::new();
    let _ = writeln!(s, "dataset   {}  ({})", m.plan.name, ds.dir.display());
    let _ = writeln!(s, "device    {}: {}", spec.kind, spec.summary);
    let _ = writeln!(s, "          hash {}", &m.plan.device_hash[..16]);
    let _ = writeln!(s, "design    {:?}, {} samples, seed {}", m.plan.design.kind, m.samples, m.plan.design.seed);
    if let Some(solver) = &m.plan.solver {
        let _ = writeln!(
            s,
            "solver    {} rtol {:e} atol {:e}, budget {} steps / {} s",
            solver.method.name(),
            solver.rtol,
            solver.atol,
            solver.max_steps,
            solver.max_seconds
        );
    }
    let pct = |n: u64| 100.0 * n as f64 / m.samples.max(1) as f64;
    let _ = writeln!(s, "rows      {} ok ({:.2}%), {} failed ({:.2}%)", m.ok, pct(m.ok), m.failed, pct(m.failed));
    for (reason, n) in &m.failures_by_reason {
        let _ = writeln!(s, "          {n:>8} {reason}");
    }
    if let Some(f) = m.failure_examples.first() {
        let _ = writeln!(s, "          e.g. sample {}: {}", f.index, f.message);
    }
    let ok = t.ok_rows();
    let _ = writeln!(s, "\n{:<10} {:>6} {:>12} {:>12} {:>12}", "column", "unit", "min", "max", "mean");
    let mut column = |name: &str, unit: &str, get: &dyn Fn(usize) -> f64| {
        let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for &r in &ok {
            let v = get(r);
            lo = lo.min(v);
            hi = hi.max(v);
            sum += v;
        }
        let _ = writeln!(s, "{name:<10} {unit:>6} {lo:>12.5} {hi:>12.5} {:>12.5}", sum / ok.len().max(1) as f64);
    };
    for (j, q) in spec.inputs.iter().enumerate() {
        column(&q.name, &q.unit, &|r| t.x_row(r)[j]);
    }
    for (j, q) in spec.params.iter().enumerate() {
        column(&q.name, &q.unit, &|r| t.a_row(r)[j]);
    }
    for (j, q) in spec.outputs.iter().enumerate() {
        column(&q.name, &q.unit, &|r| t.y_row(r)[j]);
    }
    for (j, q) in spec.outputs.iter().enumerate() {
        let values: Vec<f64> = ok.iter().map(|&r| t.y_row(r)[j]).collect();
        let _ = writeln!(s, "\nhistogram of {} ({}), ok rows", q.name, q.unit);
        s.push_str(&text_histogram(&values, 20, 50));
    }
    s
}

/// A text histogram with `bins` rows and bars up to `width` characters.
pub fn text_histogram(values: &[f64], bins: usize, width: usize) -> String {
    let mut s = String::new();
    if values.is_empty() {
        s.push_str("  (no values)\n");
        return s;
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut counts = vec![0usize; bins];
    for &v in values {
        let b = (((v - lo) / span) * bins as f64) as usize;
        counts[b.min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1);
    for (b, &c) in counts.iter().enumerate() {
        let left = lo + span * b as f64 / bins as f64;
        let bar = "#".repeat((c * width).div_ceil(top));
        let _ = writeln!(s, "  {left:>11.4e} | {bar:<width$} {c}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_every_value() {
        let h = text_histogram(&[0.0, 0.1, 0.9, 1.0], 2, 10);
        let counts: Vec<&str> = h.lines().map(|l| l.rsplit(' ').next().unwrap_or("")).collect();
        assert_eq!(counts, vec!["2", "2"]);
    }
}
