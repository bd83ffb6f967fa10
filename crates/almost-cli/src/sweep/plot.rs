//! `sweep.svg`: accuracy on the physics (mean over seeds, bars from the lowest to the
//! highest seed) and on the surrogates against the swept constant, the plain-neuron value
//! marked, and the surrogate's held-out error on a second axis: a point is never shown
//! without how far its surrogate was from its device. The design by gradient, when run,
//! adds a star per seed at the constant it settled on and its accuracy on the physics.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::sweep::config::SweepConfig;
use crate::sweep::row::SweepRow;

struct Point {
    x: f64,
    physics: Option<(f64, f64, f64)>,
    surrogates: Option<f64>,
    rmse: f64,
}

fn points(rows: &[SweepRow], log: bool) -> Vec<Point> {
    let mut values: Vec<f64> = rows.iter().map(|r| r.value).collect();
    values.dedup();
    values
        .into_iter()
        .filter(|v| !log || *v > 0.0)
        .map(|v| {
            let of: Vec<&SweepRow> = rows.iter().filter(|r| r.value == v).collect();
            let phys: Vec<f64> = of.iter().map(|r| 100.0 * r.accuracy_physics).filter(|a| a.is_finite()).collect();
            let sur: Vec<f64> = of.iter().map(|r| 100.0 * r.accuracy_surrogates).filter(|a| a.is_finite()).collect();
            let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
            Point {
                x: if log { v.log10() } else { v },
                physics: (!phys.is_empty()).then(|| {
                    (
                        mean(&phys),
                        phys.iter().copied().fold(f64::INFINITY, f64::min),
                        phys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    )
                }),
                surrogates: (!sur.is_empty()).then(|| mean(&sur)),
                rmse: of[0].surrogate_rmse_percent,
            }
        })
        .collect()
}

/// Draws the sweep's figure into `path`.
pub fn draw(path: &Path, cfg: &SweepConfig, rows: &[SweepRow], found: &[SweepRow]) -> Result<()> {
    let log = cfg.log_axis();
    let pts = points(rows, log);
    let stars: Vec<(f64, f64)> = found
        .iter()
        .filter(|r| r.value.is_finite() && r.accuracy_physics.is_finite() && (!log || r.value > 0.0))
        .map(|r| (if log { r.value.log10() } else { r.value }, 100.0 * r.accuracy_physics))
        .collect();
    if pts.is_empty() && stars.is_empty() {
        return Ok(());
    }
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let xs = || pts.iter().map(|p| p.x).chain(stars.iter().map(|s| s.0));
    let lo = xs().fold(f64::INFINITY, f64::min);
    let hi = xs().fold(f64::NEG_INFINITY, f64::max).max(lo + 1e-12);
    let pad = 0.05 * (hi - lo).max(1e-9);
    // the accuracy axis from a round 5 % below the lowest point to 100 %: differences of a
    // point stay visible (a 0-100 axis flattens every sweep that learns)
    let accuracies = pts
        .iter()
        .flat_map(|p| p.physics.map(|(_, lo, _)| lo).into_iter().chain(p.surrogates))
        .chain(stars.iter().map(|s| s.1))
        .filter(|a| a.is_finite());
    let bottom = (accuracies.fold(100.0, f64::min) / 5.0 - 1.0).floor().max(0.0) * 5.0;
    let rmse_top = pts.iter().map(|p| p.rmse).filter(|r| r.is_finite()).fold(0.0, f64::max).max(0.1) * 1.2;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{}: accuracy vs {}", cfg.name, cfg.constant), ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .right_y_label_area_size(60)
            .build_cartesian_2d(lo - pad..hi + pad, bottom..100.0)
            .map_err(|e| err(&e))?
            .set_secondary_coord(lo - pad..hi + pad, 0.0..rmse_top);
        let x_desc = if log { format!("log10 {}", cfg.constant) } else { cfg.constant.clone() };
        chart.configure_mesh().x_desc(x_desc).y_desc("test accuracy (%)").draw().map_err(|e| err(&e))?;
        chart.configure_secondary_axes().y_desc("surrogate held-out RMSE (% of range)").draw().map_err(|e| err(&e))?;
        let physics: Vec<(f64, f64)> = pts.iter().filter_map(|p| p.physics.map(|(m, _, _)| (p.x, m))).collect();
        chart
            .draw_series(LineSeries::new(physics.clone(), BLUE.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label("on the physics (mean over seeds; bars: lowest to highest)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart.draw_series(physics.iter().map(|&p| Circle::new(p, 4, BLUE.filled()))).map_err(|e| err(&e))?;
        chart
            .draw_series(pts.iter().filter_map(|p| {
                p.physics.map(|(_, lo, hi)| PathElement::new(vec![(p.x, lo), (p.x, hi)], BLUE.stroke_width(1)))
            }))
            .map_err(|e| err(&e))?;
        let surrogates: Vec<(f64, f64)> = pts.iter().filter_map(|p| p.surrogates.map(|s| (p.x, s))).collect();
        chart
            .draw_series(LineSeries::new(surrogates, GREEN.stroke_width(1)))
            .map_err(|e| err(&e))?
            .label("on the surrogates")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN.stroke_width(1)));
        let rmse: Vec<(f64, f64)> = pts.iter().filter(|p| p.rmse.is_finite()).map(|p| (p.x, p.rmse)).collect();
        chart
            .draw_secondary_series(LineSeries::new(rmse.clone(), RED.stroke_width(1)))
            .map_err(|e| err(&e))?
            .label("surrogate held-out RMSE (right axis)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(1)));
        chart.draw_secondary_series(rmse.iter().map(|&p| Cross::new(p, 4, RED))).map_err(|e| err(&e))?;
        if !stars.is_empty() {
            let orange = RGBColor(230, 120, 0);
            chart
                .draw_series(stars.iter().map(|&p| TriangleMarker::new(p, 7, orange.filled())))
                .map_err(|e| err(&e))?
                .label(format!("design by gradient: the {} it chose, on the physics (one per seed)", cfg.constant))
                .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, orange.filled()));
        }
        if let Some(r) = cfg.reference.filter(|r| !log || *r > 0.0) {
            let x = if log { r.log10() } else { r };
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(x, bottom), (x, 100.0)], BLACK.stroke_width(1))))
                .map_err(|e| err(&e))?
                .label(format!("reference ({} = {})", cfg.constant, crate::sweep::config::show(r)))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    almost_sim::fsutil::write_atomic(path, svg.as_bytes())?;
    Ok(())
}
