//! Regression: train a device network's A on continuous targets by mean squared error.
//!
//! The image classifier of [`crate::train()`] reads out class scores; a regression network
//! ([`Head::Outputs`]) is read at its last layer: the outputs of its devices, one column per
//! target. It trains through the same epoch loop and steps as classification. Targets are in
//! the devices' output units (volts for the diode node). Adam with the same cosine schedule
//! (to 1 % of the initial rate), seeded batches, projection of A after every step.

use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{DType, Device, Int, Tensor, TensorCreationOptions, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{NetError, Result};
use crate::fused::FusedNet;
use crate::network::chain::{DeviceNetwork, Head};
use crate::training::epoch::run_epoch;
use crate::training::loss::{Targets, cosine_lr};
use crate::training::modes::SurrogateMode;
use crate::training::step::Batch;

/// Rows of inputs and targets, row-major f64.
#[derive(Clone, Debug)]
pub struct RegressionData {
    /// Inputs, `rows * d_in`.
    pub inputs: Vec<f64>,
    /// Width of an input row.
    pub d_in: usize,
    /// Targets, `rows * d_out`.
    pub targets: Vec<f64>,
    /// Width of a target row (= devices of the last layer).
    pub d_out: usize,
}

impl RegressionData {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.inputs.len() / self.d_in.max(1)
    }
}

/// Settings of [`train_regression`].
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// Rows per Adam step.
    pub batch_size: usize,
    /// Initial learning rate (cosine-decayed to 1 %).
    pub learning_rate: f64,
    /// Seed of the batch order.
    pub seed: u64,
}

impl Default for RegressionConfig {
    fn default() -> Self {
        Self { epochs: 100, batch_size: 32, learning_rate: 0.01, seed: 1 }
    }
}

/// Mean squared error of the last layer's outputs against `targets`.
///
/// # Shapes
/// - input: `[batch, d_in]`, targets: `[batch, d_out]`; output: `[1]`
pub fn mse(network: &DeviceNetwork, input: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    match network.activations(input).pop() {
        Some(y) => (y - targets).square().mean(),
        None => Tensor::zeros([1], &targets.device()),
    }
}

/// Checks that `data` fits `network`: widths, finite values, at least one row.
pub fn check(network: &DeviceNetwork, data: &RegressionData, origin: &str) -> Result<()> {
    let bad = |m: String| Err(NetError::config(origin, m));
    let dim = |layer: String, m: String| Err(NetError::Dimension { layer, message: m });
    let rows = data.rows();
    if rows == 0 || data.inputs.len() != rows * data.d_in || data.targets.len() != rows * data.d_out {
        return bad(format!(
            "{} input and {} target values do not make a positive number of rows of widths {} and {}",
            data.inputs.len(),
            data.targets.len(),
            data.d_in,
            data.d_out
        ));
    }
    if let Some(i) = data.inputs.iter().chain(&data.targets).position(|v| !v.is_finite()) {
        let row = if i < data.inputs.len() { i / data.d_in } else { (i - data.inputs.len()) / data.d_out };
        return bad(format!("row {row} holds a non-finite value"));
    }
    let (Some(first), Some(last)) = (network.layers.first(), network.layers.last()) else {
        return dim("0".into(), "the network has no layers".into());
    };
    if network.head != Head::Outputs {
        return dim(
            "head".into(),
            "a classifying network (summing readout) cannot be trained on target values: build it with Head::Outputs"
                .into(),
        );
    }
    let top = first.indices.iter().copied().max().unwrap_or(0) as usize;
    let fits = match first.reference {
        Some(_) => top == data.d_in,
        None => top < data.d_in,
    };
    if !fits {
        return dim("0".into(), format!("its wiring reads upstream index {top}, the data rows are {} wide", data.d_in));
    }
    if last.devices() != data.d_out {
        return dim(
            (network.layers.len() - 1).to_string(),
            format!("its {} devices are the outputs, the targets are {} wide", last.devices(), data.d_out),
        );
    }
    Ok(())
}

/// Trains the A of `network` (on an autodiff device) to fit `data` by MSE; returns the
/// trained network and the mean training MSE of every epoch. The network's head must be
/// [`Head::Outputs`] (its last layer's devices are the outputs); a classifying network is
/// refused.
pub fn train_regression(
    mut network: DeviceNetwork,
    data: &RegressionData,
    cfg: &RegressionConfig,
    device: &Device,
) -> Result<(DeviceNetwork, Vec<f64>)> {
    check(&network, data, "regression data")?;
    if cfg.epochs == 0 || cfg.batch_size == 0 || !(cfg.learning_rate > 0.0 && cfg.learning_rate.is_finite()) {
        return Err(NetError::config(
            "regression config",
            format!("epochs and batch_size must be >= 1 and learning_rate > 0, got {cfg:?}"),
        ));
    }
    let dtype = network.layers.first().map_or(DType::F32, |l| l.a.val().dtype());
    let opts = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
    let rows = data.rows();
    let x = Tensor::<2>::from_data(TensorData::new(data.inputs.clone(), [rows, data.d_in]), opts.clone());
    let t = Tensor::<2>::from_data(TensorData::new(data.targets.clone(), [rows, data.d_out]), opts);
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order: Vec<i64> = (0..rows as i64).collect();
    let per_epoch = rows.div_ceil(cfg.batch_size);
    let total = (cfg.epochs * per_epoch) as f64;
    // the host kernel for an f32 network on the CPU backend, burn's graph otherwise
    let on_host = dtype == DType::F32 && almost_surrogate::backend::is_flex(device);
    let step = SurrogateMode { threads: 1, fused: if on_host { FusedNet::new(&network) } else { None } };
    let mut history = Vec::with_capacity(cfg.epochs);
    for epoch in 0..cfg.epochs {
        order.shuffle(&mut rng);
        let batches = order.chunks(cfg.batch_size).map(|chunk| {
            let index = Tensor::<1, Int>::from_data(TensorData::new(chunk.to_vec(), [chunk.len()]), device);
            Batch { x: x.clone().select(0, index.clone()), targets: Targets::Values(t.clone().select(0, index)) }
        });
        let lr_at = |b: usize| cosine_lr(cfg.learning_rate, (epoch * per_epoch + b) as f64, total);
        let (trained, totals) = run_epoch(network, &mut optim, &step, batches, &lr_at, &mut |_, _| {})?;
        network = trained;
        history.push(totals.mean_loss());
    }
    Ok((network, history))
}
