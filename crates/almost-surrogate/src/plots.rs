//! SVG plots of a fit: parity (predicted vs simulated), error histogram, loss curve.

use std::path::Path;

use almost_sim::fsutil::write_atomic;
use plotters::prelude::*;

use crate::error::{Result, SurrogateError};
use crate::report::EpochRecord;

fn plot_err(path: &Path, e: impl std::fmt::Display) -> SurrogateError {
    SurrogateError::Plot { path: path.to_path_buf(), message: e.to_string() }
}

fn save(path: &Path, svg: String) -> Result<()> {
    write_atomic(path, svg.as_bytes()).map_err(SurrogateError::from)
}

/// Predicted against simulated values with the identity line.
pub fn parity(path: &Path, title: &str, simulated: &[f64], predicted: &[f64]) -> Result<()> {
    let lo = simulated.iter().chain(predicted).copied().fold(f64::INFINITY, f64::min);
    let hi = simulated.iter().chain(predicted).copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = 0.02 * (hi - lo).max(1e-12);
    let (lo, hi) = (lo - pad, hi + pad);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(|e| plot_err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("simulated (device)")
            .y_desc("predicted (surrogate)")
            .draw()
            .map_err(|e| plot_err(path, e))?;
        chart
            .draw_series(LineSeries::new(vec![(lo, lo), (hi, hi)], BLACK.stroke_width(1)))
            .map_err(|e| plot_err(path, e))?;
        chart
            .draw_series(simulated.iter().zip(predicted).map(|(&s, &p)| Circle::new((s, p), 2, BLUE.mix(0.4).filled())))
            .map_err(|e| plot_err(path, e))?;
        root.present().map_err(|e| plot_err(path, e))?;
    }
    save(path, svg)
}

/// Histogram of errors (predicted - simulated).
pub fn error_histogram(path: &Path, title: &str, errors: &[f64], bins: usize) -> Result<()> {
    let lo = errors.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = errors.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let width = ((hi - lo) / bins as f64).max(1e-300);
    let mut counts = vec![0usize; bins];
    for &e in errors {
        counts[(((e - lo) / width) as usize).min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1) as f64 * 1.05;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..lo + width * bins as f64, 0.0..top)
            .map_err(|e| plot_err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("error (predicted - simulated)")
            .y_desc("rows")
            .draw()
            .map_err(|e| plot_err(path, e))?;
        chart
            .draw_series(counts.iter().enumerate().map(|(b, &c)| {
                let x0 = lo + width * b as f64;
                Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], BLUE.mix(0.6).filled())
            }))
            .map_err(|e| plot_err(path, e))?;
        root.present().map_err(|e| plot_err(path, e))?;
    }
    save(path, svg)
}

/// Training and validation loss per epoch (log scale).
pub fn loss_curve(path: &Path, title: &str, history: &[EpochRecord]) -> Result<()> {
    let values = history.iter().flat_map(|h| [h.train_loss, h.val_loss]).filter(|v| *v > 0.0 && v.is_finite());
    let lo = values.clone().fold(f64::INFINITY, f64::min).max(1e-30);
    let hi = values.fold(f64::NEG_INFINITY, f64::max).max(lo * 10.0);
    let n = history.len().max(2);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(1usize..n, (lo..hi).log_scale())
            .map_err(|e| plot_err(path, e))?;
        chart.configure_mesh().x_desc("epoch").y_desc("loss").draw().map_err(|e| plot_err(path, e))?;
        for (label, color, get) in [
            ("train", BLUE, (|h: &EpochRecord| h.train_loss) as fn(&EpochRecord) -> f64),
            ("validation", RED, |h: &EpochRecord| h.val_loss),
        ] {
            chart
                .draw_series(LineSeries::new(history.iter().map(|h| (h.epoch, get(h).max(lo))), color.stroke_width(2)))
                .map_err(|e| plot_err(path, e))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart.configure_series_labels().border_style(BLACK).draw().map_err(|e| plot_err(path, e))?;
        root.present().map_err(|e| plot_err(path, e))?;
    }
    save(path, svg)
}
