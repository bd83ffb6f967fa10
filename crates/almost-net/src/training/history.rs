//! Per-epoch metrics of a training run: `metrics.csv` and SVG training curves.

use std::fmt::Write;
use std::path::Path;

use almost_sim::fsutil::write_atomic;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::check::LayerHealth;
use crate::error::{NetError, Result};

/// One epoch of network training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Mean training cross-entropy.
    pub train_loss: f64,
    /// Training accuracy (on the augmented batches as seen).
    pub train_accuracy: f64,
    /// Test accuracy with the surrogates.
    pub test_accuracy: f64,
    /// Test accuracy on the hardware, when measured during training.
    #[serde(default)]
    pub test_accuracy_physics: Option<f64>,
    /// Test images behind `test_accuracy_physics`.
    #[serde(default)]
    pub physics_images: Option<usize>,
    /// Learning rate at the end of the epoch.
    pub learning_rate: f64,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
    /// Where the network drove its devices, per layer (empty when not probed).
    #[serde(default)]
    pub health: Vec<LayerHealth>,
}

/// Writes `metrics.csv` (atomically).
pub fn write_csv(path: &Path, history: &[EpochMetrics]) -> Result<()> {
    let mut s = String::from(
        "epoch,train_loss,train_accuracy,test_accuracy,test_accuracy_physics,physics_images,learning_rate,seconds,\
         box_exit_share,operating_error,high_error_share,dead_device_share,output_spread\n",
    );
    let opt = |v: Option<String>| v.unwrap_or_default();
    for h in history {
        let phys = opt(h.test_accuracy_physics.map(|v| v.to_string()));
        let images = opt(h.physics_images.map(|v| v.to_string()));
        // per epoch, the worst layer: empty when the epoch was not probed
        let worst = |f: fn(&LayerHealth) -> f64| {
            opt((!h.health.is_empty()).then(|| h.health.iter().map(f).fold(0.0, f64::max).to_string()))
        };
        let _ = writeln!(
            s,
            "{},{},{},{},{phys},{images},{},{},{},{},{},{},{}",
            h.epoch,
            h.train_loss,
            h.train_accuracy,
            h.test_accuracy,
            h.learning_rate,
            h.seconds,
            worst(|l| l.outside_box),
            worst(|l| l.operating_error),
            worst(|l| l.high_error),
            worst(|l| l.dead_devices),
            // the least-used layer
            opt((!h.health.is_empty()).then(|| h
                .health
                .iter()
                .map(|l| l.output_spread)
                .fold(f64::INFINITY, f64::min)
                .to_string()))
        );
    }
    Ok(write_atomic(path, s.as_bytes())?)
}

/// Writes `curves.svg`: loss (left) and accuracies (right) per epoch.
pub fn write_curves(path: &Path, title: &str, history: &[EpochMetrics]) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| NetError::BadRun { path: path.into(), message: format!("cannot draw: {e}") };
    let n = history.len().max(2);
    let max_loss = history.iter().map(|h| h.train_loss).fold(0.0, f64::max).max(1e-6) * 1.05;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (left, right) = root.split_horizontally(500);
        let mut c = ChartBuilder::on(&left)
            .caption(format!("{title}: training loss"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(1usize..n, 0.0..max_loss)
            .map_err(|e| err(&e))?;
        c.configure_mesh().x_desc("epoch").y_desc("cross-entropy").draw().map_err(|e| err(&e))?;
        c.draw_series(LineSeries::new(history.iter().map(|h| (h.epoch, h.train_loss)), BLUE.stroke_width(2)))
            .map_err(|e| err(&e))?;
        let mut c = ChartBuilder::on(&right)
            .caption(format!("{title}: accuracy"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(1usize..n, 0.0..1.0)
            .map_err(|e| err(&e))?;
        c.configure_mesh().x_desc("epoch").y_desc("accuracy").draw().map_err(|e| err(&e))?;
        c.draw_series(LineSeries::new(history.iter().map(|h| (h.epoch, h.train_accuracy)), BLUE.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label("train (surrogate)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        c.draw_series(LineSeries::new(history.iter().map(|h| (h.epoch, h.test_accuracy)), RED.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label("test (surrogate)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        c.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(write_atomic(path, svg.as_bytes())?)
}
