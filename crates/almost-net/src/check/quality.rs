//! Refusal of poor surrogates before any training step.

use almost_surrogate::SurrogateMeta;
use almost_surrogate::metrics::OutputMetrics;

use crate::error::{NetError, Result};
use crate::network::chain::DeviceNetwork;
use crate::network::config::NetConfig;

/// The held-out RMSE of the output a layer uses, relative to the output range; `None` when
/// the recorded figure is meaningless (a zero or non-finite output range).
pub fn relative_error(meta: &SurrogateMeta, output: usize) -> Option<f64> {
    meta.metrics.get(output).and_then(usable_relative_rmse)
}

/// An output's held-out RMSE relative to its range, if that is a number (not a zero or
/// non-finite range).
pub fn usable_relative_rmse(m: &OutputMetrics) -> Option<f64> {
    (m.output_range.is_finite() && m.output_range > 0.0 && m.relative_rmse.is_finite()).then_some(m.relative_rmse)
}

/// Refuses the network when any layer's surrogate has a recorded held-out RMSE above
/// `cfg.training.max_surrogate_error` of its output range (or no meaningful figure at all).
/// A network trained on such a surrogate learns to exploit its errors: the better its
/// accuracy on surrogates looks, the less it says about the physics.
pub fn check_surrogates(cfg: &NetConfig, network: &DeviceNetwork) -> Result<()> {
    let threshold = cfg.training.max_surrogate_error;
    for (l, (layer, built)) in cfg.layers.iter().zip(&network.layers).enumerate() {
        let figure = built.meta.as_deref().and_then(|meta| relative_error(meta, layer.output));
        if figure.is_some_and(|e| e <= threshold) {
            continue;
        }
        return Err(NetError::PoorSurrogate {
            layer: l,
            path: layer.surrogate.clone(),
            rmse_percent: figure.map_or(f64::NAN, |e| 100.0 * e),
            threshold_percent: 100.0 * threshold,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poor_error_message_names_figure_threshold_and_way_out() {
        let e =
            NetError::PoorSurrogate { layer: 0, path: "models/x".into(), rmse_percent: 14.7, threshold_percent: 2.0 };
        let text = e.to_string();
        assert!(text.contains("14.70% of its output range"), "{text}");
        assert!(text.contains("2.00%"), "{text}");
        assert!(text.contains("--max-surrogate-error"), "{text}");
        assert!(text.contains("--samples"), "{text}");
    }
}
