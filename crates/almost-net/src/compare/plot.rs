//! `compare.svg`: test accuracy on the physics against the number of devices, one panel per
//! data set; each network its seeds' mean with a bar of one standard deviation and every
//! seed as a ring; published all-device results as labelled dashed lines.

use std::path::Path;

use almost_sim::fsutil::write_atomic;
use plotters::prelude::*;

use super::{Group, Published};
use crate::error::{NetError, Result};

/// Draws the groups and the published lines (those of a data set with no run are left out).
pub fn plot(path: &Path, groups: &[Group], published: &[Published]) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| NetError::BadRun { path: path.into(), message: format!("cannot draw: {e}") };
    let mut datasets: Vec<&str> = Vec::new();
    for g in groups {
        if !g.physics_full().is_empty() && !datasets.contains(&g.dataset.as_str()) {
            datasets.push(&g.dataset);
        }
    }
    if datasets.is_empty() {
        return Err(NetError::BadRun {
            path: path.into(),
            message: "no run was checked on the physics on its whole test set (train with --physics, or run almost-train evaluate --physics)".into(),
        });
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720 * datasets.len() as u32, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let panels = root.split_evenly((1, datasets.len()));
        for (panel, dataset) in panels.iter().zip(&datasets) {
            let mine: Vec<&Group> =
                groups.iter().filter(|g| g.dataset == *dataset && !g.physics_full().is_empty()).collect();
            let lines: Vec<&Published> = published.iter().filter(|p| p.dataset == *dataset).collect();
            let x_hi = 1.15 * mine.iter().map(|g| g.devices() as f64).fold(1.0, f64::max);
            let x_lo = 0.0;
            let ys = mine.iter().flat_map(|g| g.physics_full()).chain(lines.iter().map(|p| p.accuracy));
            let (y_lo, y_hi) = ys.fold((1.0f64, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
            let pad = ((y_hi - y_lo) * 0.15).max(0.005);
            // room at the bottom for the legend (a line per entry), so it hides no point
            let legend = 0.07 * (mine.len() + lines.len()) as f64 * (y_hi - y_lo + 2.0 * pad);
            let (y_lo, y_hi) = ((y_lo - pad - legend).max(0.0), (y_hi + pad).min(1.0));
            let mut c = ChartBuilder::on(panel)
                .caption(format!("{dataset}: test accuracy on the device physics"), ("sans-serif", 18))
                .margin(14)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .build_cartesian_2d(x_lo..x_hi, 100.0 * y_lo..100.0 * y_hi)
                .map_err(|e| err(&e))?;
            c.configure_mesh()
                .light_line_style(WHITE)
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.1}"))
                .x_desc("devices in the network")
                .y_desc("accuracy on physics (%)")
                .draw()
                .map_err(|e| err(&e))?;
            for p in &lines {
                let y = 100.0 * p.accuracy;
                let style = ShapeStyle::from(&BLACK.mix(0.6)).stroke_width(1);
                c.draw_series(DashedLineSeries::new(vec![(x_lo, y), (x_hi, y)], 6, 4, style))
                    .map_err(|e| err(&e))?
                    .label(format!("published: {} {:.1}%", p.label, y))
                    .legend(move |(x, yy)| PathElement::new(vec![(x, yy), (x + 18, yy)], BLACK.mix(0.6)));
            }
            for (i, g) in mine.iter().enumerate() {
                let colour = colour(i);
                let x = g.devices() as f64;
                let accs = g.physics_full();
                let Some((mean, sd)) = super::mean_sd(&accs) else { continue };
                let (m, s) = (100.0 * mean, 100.0 * sd);
                c.draw_series(std::iter::once(PathElement::new(vec![(x, m - s), (x, m + s)], colour.stroke_width(2))))
                    .map_err(|e| err(&e))?;
                c.draw_series(accs.iter().map(|a| Circle::new((x, 100.0 * a), 4, colour.stroke_width(1))))
                    .map_err(|e| err(&e))?;
                let n = accs.len();
                c.draw_series(std::iter::once(Circle::new((x, m), 5, colour.filled())))
                    .map_err(|e| err(&e))?
                    .label(if n == 1 {
                        format!("{} (1 seed): {m:.2}%", g.name)
                    } else {
                        format!("{} ({n} seeds): {m:.2} ± {s:.2}%", g.name)
                    })
                    .legend(move |(x, y)| Circle::new((x + 9, y), 5, colour.filled()));
            }
            c.configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(write_atomic(path, svg.as_bytes())?)
}

/// The colour of a panel's i-th network: ten distinct ones (matplotlib's default colours,
/// black in place of its grey), then again from the first.
fn colour(i: usize) -> RGBColor {
    const TEN: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (214, 39, 40),
        (44, 160, 44),
        (148, 103, 189),
        (23, 190, 207),
        (0, 0, 0),
        (255, 127, 14),
        (140, 86, 75),
        (227, 119, 194),
        (188, 189, 34),
    ];
    let (r, g, b) = TEN[i % TEN.len()];
    RGBColor(r, g, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_networks_of_a_panel_get_ten_colours() {
        let ten: Vec<RGBColor> = (0..10).map(colour).collect();
        for (i, a) in ten.iter().enumerate() {
            for b in &ten[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(colour(10), colour(0));
    }
}
