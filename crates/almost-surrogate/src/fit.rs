//! `fit`: Adam with a plateau schedule and early stopping, then an honest held-out report.

use std::path::Path;
use std::time::Instant;

use almost_sim::{Dataset, DeviceModel};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::FitConfig;
use crate::data::{Split, Splits, split_table};
use crate::error::{Result, SurrogateError};
use crate::gradcheck::{GradientPoints, check_gradients};
use crate::kernel::Kernel;
use crate::kernel::fit::{HostMlp, rows_of};
use crate::metrics::{column, outer_shell, output_metrics};
use crate::normalize::{Normalization, column_range};
use crate::report::{EpochRecord, FitReport};
use crate::surrogate::Surrogate;
use crate::surrogate::predict;
use crate::tensor_io::{matrix, to_f32, to_vec};

/// A fitted surrogate (frozen, on a plain device) and its report.
pub struct Fitted {
    /// The frozen surrogate.
    pub surrogate: Surrogate,
    /// Its normalisation constants (also inside the module).
    pub normalization: Normalization,
    /// The report.
    pub report: FitReport,
    /// Test-split inputs, targets and predictions (physical units), for plots.
    pub test: (Split, Vec<f64>),
    /// Rows trained on beyond the dataset's own (active refinement; empty for a plain fit).
    pub extra: Split,
}

/// Normalised tensors of one split.
struct Normed {
    z: Tensor<2>,
    t: Tensor<2>,
    rows: usize,
}

fn normed(split: &Split, norm: &Normalization, splits: &Splits, cfg: &FitConfig, device: &Device) -> Normed {
    let z: Vec<f64> = split
        .inputs
        .chunks_exact(splits.d_in)
        .flat_map(|r| r.iter().zip(norm.in_shift.iter().zip(&norm.in_scale)).map(|(v, (s, k))| (v - s) * k))
        .collect();
    let t: Vec<f64> = split
        .outputs
        .chunks_exact(splits.d_out)
        .flat_map(|r| r.iter().zip(norm.out_shift.iter().zip(&norm.out_scale)).map(|(v, (s, k))| (v - s) / k))
        .collect();
    let dtype = cfg.training.precision.dtype();
    Normed {
        z: matrix(&z, splits.d_in, dtype, device),
        t: matrix(&t, splits.d_out, dtype, device),
        rows: split.len(splits.d_in),
    }
}

/// How a fit runs (not what it fits): where, and whether it draws a progress bar.
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// The burn device the fit runs on (the default: the CPU backend, whatever backends the
    /// build has; see [`crate::backend::Backend`]).
    pub device: Device,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self { progress: false, device: Device::flex() }
    }
}

impl FitOptions {
    /// The default device, with a progress bar.
    pub fn with_progress() -> Self {
        Self { progress: true, ..Default::default() }
    }
}

/// Fits a surrogate to `dataset`. `device_model`, when given, is the device the gradients are
/// checked against.
pub fn fit(
    dataset: &Dataset,
    config: &FitConfig,
    device_model: Option<&dyn DeviceModel>,
    options: &FitOptions,
) -> Result<Fitted> {
    fit_with(dataset, config, &Split::default(), device_model, options)
}

/// Like [`fit`], with `extra` rows (e.g. simulated by active refinement) added to the training
/// split only: validation and test stay the dataset's own, so the report stays comparable.
pub fn fit_with(
    dataset: &Dataset,
    config: &FitConfig,
    extra: &Split,
    device_model: Option<&dyn DeviceModel>,
    options: &FitOptions,
) -> Result<Fitted> {
    config.validate("fit config")?;
    let spec = &dataset.manifest.plan.device;
    let mut splits = split_table(&dataset.table, spec, &config.training, &dataset.dir)?;
    check_extra(extra, splits.d_in, splits.d_out, &dataset.dir)?;
    splits.train.inputs.extend_from_slice(&extra.inputs);
    splits.train.outputs.extend_from_slice(&extra.outputs);
    config.architecture.validate(spec.n_inputs(), spec.n_params(), "fit config")?;
    let norm = Normalization::fit(
        &config.architecture,
        &splits.train.inputs,
        splits.d_in,
        &splits.train.outputs,
        splits.d_out,
    );
    let t = &config.training;
    let dtype = t.precision.dtype();
    if !options.device.supports_dtype(dtype) {
        return Err(SurrogateError::config(
            "fit config training.precision",
            format!(
                "{dtype:?} does not run on the device {:?}; use precision = \"f32\" or --backend flex",
                options.device
            ),
        ));
    }
    let device = options.device.clone().autodiff();
    device.seed(t.seed);
    let mut model = Surrogate::new(&config.architecture, &norm, spec.n_inputs(), dtype, &device);
    let train = normed(&splits.train, &norm, &splits, config, &device);
    let inner = device.clone().inner();
    let val = normed(&splits.val, &norm, &splits, config, &inner);
    let (out_lo, out_hi) = column_range(&splits.train.outputs, splits.d_out);
    let out_range: Vec<f64> = out_lo.iter().zip(&out_hi).map(|(l, h)| h - l).collect();

    let mut optim = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(t.seed ^ 0x5eed);
    let mut order: Vec<i64> = (0..train.rows as i64).collect();
    let (mut lr, mut best_val, mut best_epoch, mut since_best, mut since_decay) =
        (t.learning_rate, f64::INFINITY, 0, 0, 0);
    let mut best = model.clone();
    let mut history = Vec::new();
    let mut stop_reason = format!("reached max_epochs = {}", t.max_epochs);
    let bar = epoch_bar(t.max_epochs as u64, options.progress);
    let start = Instant::now();
    // the host kernel's rows (f32 on the CPU backend, an MLP body), or burn's graph
    let host = (t.kernel == Kernel::Fused
        && dtype == DType::F32
        && crate::backend::is_flex(&options.device)
        && model.body.is_mlp())
    .then(|| (to_f32(&train.z), to_f32(&train.t)));
    for epoch in 1..=t.max_epochs {
        order.shuffle(&mut rng);
        let mut loss_sum: Option<Tensor<1>> = None;
        let mut host_loss = 0.0;
        for batch in order.chunks(t.batch_size) {
            if let (Some((z, y)), Some(mlp)) = (&host, HostMlp::of(&model.body)) {
                let (zb, yb) = (rows_of(z, splits.d_in, batch), rows_of(y, splits.d_out, batch));
                let (loss, grads) = mlp.loss_and_gradients(&zb, &yb, batch.len());
                host_loss += loss * batch.len() as f64;
                let grads = HostMlp::gradients_params(&model.body, grads, dtype, &inner);
                model = optim.step(lr, model, grads);
                continue;
            }
            let index = Tensor::<1, Int>::from_data(TensorData::new(batch.to_vec(), [batch.len()]), &device);
            let z = train.z.clone().select(0, index.clone());
            let target = train.t.clone().select(0, index);
            let loss = (model.body.forward(z) - target).square().mean();
            // accumulate on the device; read back once per epoch
            let detached = loss.clone().detach() * (batch.len() as f64);
            loss_sum = Some(match loss_sum {
                None => detached,
                Some(s) => s + detached,
            });
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        let train_loss = match loss_sum {
            Some(sum) => to_vec(sum).first().copied().unwrap_or(f64::NAN),
            None => host_loss,
        } / train.rows as f64;
        let valid = model.valid();
        let val_mse = per_output_mse(&valid, &val);
        let val_loss = val_mse.iter().sum::<f64>() / val_mse.len() as f64;
        history.push(EpochRecord { epoch, train_loss, val_loss, learning_rate: lr });
        bar.set_position(epoch as u64);
        bar.set_message(format!("train {train_loss:.3e}  val {val_loss:.3e}  lr {lr:.1e}"));
        if !val_loss.is_finite() {
            stop_reason = format!("validation loss became {val_loss} at epoch {epoch}");
            break;
        }
        if val_loss < best_val {
            (best_val, best_epoch, since_best, since_decay) = (val_loss, epoch, 0, 0);
            best = model.clone();
        } else {
            since_best += 1;
            since_decay += 1;
        }
        let rel =
            val_mse.iter().zip(&norm.out_scale).zip(&out_range).map(|((m, k), r)| m.sqrt() * k / r).fold(0.0, f64::max);
        if t.target_relative_rmse > 0.0 && rel <= t.target_relative_rmse {
            stop_reason = format!("validation RMSE reached {:.3}% of the output range", 100.0 * rel);
            break;
        }
        if since_best >= t.early_stop_patience {
            stop_reason = format!("no validation improvement for {} epochs", t.early_stop_patience);
            break;
        }
        if since_decay >= t.lr_patience {
            lr *= t.lr_decay;
            since_decay = 0;
            if lr < t.min_learning_rate {
                stop_reason = format!("learning rate fell below {:e}", t.min_learning_rate);
                break;
            }
        }
    }
    bar.finish_and_clear();
    let train_seconds = start.elapsed().as_secs_f64();

    let frozen = best.valid().no_grad();
    let predicted = predict(&frozen, &splits.test.inputs, splits.d_in, dtype, &inner);
    let (lo, hi): (Vec<f64>, Vec<f64>) =
        dataset.manifest.plan.domain.x.iter().chain(&dataset.manifest.plan.domain.a).map(|[l, h]| (*l, *h)).unzip();
    let outer = outer_shell(&splits.test.inputs, &lo, &hi);
    let outputs = spec
        .outputs
        .iter()
        .enumerate()
        .map(|(k, q)| {
            let (p, t) = (column(&predicted, splits.d_out, k), column(&splits.test.outputs, splits.d_out, k));
            output_metrics(q, &p, &t, &outer, out_range[k])
        })
        .collect();
    let gradients = device_model.filter(|_| config.report.gradient_points > 0).map(|dm| {
        let at =
            GradientPoints { inputs: &splits.test.inputs, n_x: spec.n_inputs(), count: config.report.gradient_points };
        check_gradients(&best, dm, &at, config.report.fd_step, dtype, &device)
    });
    let report = FitReport {
        dataset: dataset.dir.display().to_string(),
        dataset_hash: dataset.hash().to_string(),
        device: spec.kind.clone(),
        device_hash: dataset.manifest.plan.device_hash.clone(),
        architecture: config.architecture.describe(),
        weights: frozen.body.num_params(),
        rows: [train.rows, val.rows, splits.test.len(splits.d_in)],
        epochs: history.len(),
        best_epoch,
        stop_reason,
        train_seconds,
        outputs,
        gradients,
        history,
        refinement: Vec::new(),
    };
    Ok(Fitted { surrogate: frozen, normalization: norm, report, test: (splits.test, predicted), extra: extra.clone() })
}

/// Extra training rows must have the dataset's widths and finite values.
fn check_extra(extra: &Split, d_in: usize, d_out: usize, origin: &Path) -> Result<()> {
    let bad = |m: String| Err(crate::error::SurrogateError::Data { dataset: origin.to_path_buf(), message: m });
    let rows = extra.len(d_in);
    if extra.inputs.len() != rows * d_in || extra.outputs.len() != rows * d_out {
        return bad(format!(
            "extra training rows: {} input and {} output values do not make rows of widths {d_in} and {d_out}",
            extra.inputs.len(),
            extra.outputs.len()
        ));
    }
    if let Some(i) = extra.inputs.iter().chain(&extra.outputs).position(|v| !v.is_finite()) {
        let row = if i < extra.inputs.len() { i / d_in } else { (i - extra.inputs.len()) / d_out.max(1) };
        return bad(format!("extra training row {row} holds a non-finite value"));
    }
    Ok(())
}

/// Validation MSE per output, in normalised units.
fn per_output_mse(model: &Surrogate, val: &Normed) -> Vec<f64> {
    let d_out = val.t.dims()[1];
    let diff = to_vec((model.body.forward(val.z.clone()) - val.t.clone()).square().mean_dim(0));
    (0..d_out).map(|k| diff[k]).collect()
}

fn epoch_bar(epochs: u64, show: bool) -> ProgressBar {
    almost_sim::generate::styled_bar(epochs, show, "fitting {bar:30} epoch {pos}/{len}  {msg}  [{elapsed}]")
}

/// Rebuilds the device a dataset was made with (for gradient checks and refinement), checking
/// that its spec hash still matches the dataset's.
pub fn rebuild_device(dataset: &Dataset) -> Result<std::sync::Arc<dyn DeviceModel>> {
    let plan = &dataset.manifest.plan;
    almost_sim::devices::rebuild_recorded(&plan.device_config, plan.solver.as_ref(), &plan.device_hash).map_err(|e| {
        match e {
            almost_sim::SimError::DeviceChanged { .. } => {
                crate::error::SurrogateError::Data { dataset: dataset.dir.clone(), message: e.to_string() }
            }
            other => other.into(),
        }
    })
}

/// Writes the report, plots and loss curve of a fit into `dir`.
pub fn write_artifacts(fitted: &Fitted, dir: &Path, plots: bool) -> Result<()> {
    almost_sim::fsutil::write_json_atomic(&dir.join("report.json"), &fitted.report)?;
    if plots {
        let d_out = fitted.report.outputs.len();
        let (test, predicted) = &fitted.test;
        for (k, m) in fitted.report.outputs.iter().enumerate() {
            let (sim, pred) = (column(&test.outputs, d_out, k), column(predicted, d_out, k));
            let err: Vec<f64> = pred.iter().zip(&sim).map(|(p, s)| p - s).collect();
            let suffix = if d_out > 1 { format!("-{}", m.name) } else { String::new() };
            crate::plots::parity(
                &dir.join(format!("parity{suffix}.svg")),
                &format!("{} [{}], test split", m.name, m.unit),
                &sim,
                &pred,
            )?;
            crate::plots::error_histogram(
                &dir.join(format!("errors{suffix}.svg")),
                &format!("error of {} [{}]", m.name, m.unit),
                &err,
                40,
            )?;
        }
        crate::plots::loss_curve(&dir.join("loss.svg"), "surrogate fit", &fitted.report.history)?;
    }
    Ok(())
}
