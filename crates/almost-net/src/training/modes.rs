//! The training modes, each one [`TrainStep`]: surrogate (forward and backward through the
//! frozen surrogates, data parallel), and the two that use the physics.
//!
//! **Physics-aware** (Wright et al., Nature 601:549, 2022): the forward pass runs on the
//! hardware; the backward pass uses the frozen surrogate's Jacobian evaluated at the physical
//! activations. Built as an explicit straight-through construction, not a custom backward
//! op: each layer's output is `y_sur + (y_phys - y_sur).detach()`, where `y_sur` is the
//! surrogate at the layer's *physical* inputs. Its value is `y_phys`; its gradient is the
//! surrogate's, at the physical operating point, chained through the physical activations.
//!
//! **Exact**: forward on the hardware, backward with the devices' own derivatives (forward
//! ODE sensitivities, or closed forms), by an explicit chain rule on the host in f64. No
//! surrogate is involved; it is the reference that shows how good the surrogate gradients are.
//!
//! Both run the devices through the one host pass of [`crate::physics::forward`].

use burn::optim::GradientsParams;
use burn::tensor::{Int, Tensor, TensorCreationOptions, TensorData};

use almost_surrogate::tensor_io::{f32s, to_vec};

use crate::error::{NetError, Result};
use crate::fused::FusedNet;
use crate::network::chain::DeviceNetwork;
use crate::network::config::Mode;
use crate::physics::forward::{forward_host, hardware_a};
use crate::physics::hardware::Hardware;
use crate::training::exact::{exact_gradients, gradients_of};
use crate::training::loss::{Targets, head_loss, head_loss_host};
use crate::training::parallel::data_parallel;
use crate::training::step::{Batch, StepOutcome, TrainStep};

/// Forward and backward through the frozen surrogates: on the host kernel when `fused` is
/// given (its devices split over `threads`), else through burn's autodiff (the batch split
/// over `threads`).
pub struct SurrogateMode {
    /// Threads sharing each batch.
    pub threads: usize,
    /// The network on the host kernel (none: the autodiff reference path).
    pub fused: Option<FusedNet>,
}

impl TrainStep for SurrogateMode {
    fn step(&self, network: &DeviceNetwork, batch: &Batch) -> Result<StepOutcome> {
        if let Some(fused) = &self.fused {
            return fused.surrogate_step(network, batch, self.threads);
        }
        let (loss, correct, grads) = data_parallel(network, batch.x.clone(), &batch.targets, self.threads)?;
        Ok(StepOutcome {
            loss: loss.into_scalar::<f64>(),
            correct: correct.map(|c| c.into_scalar::<i64>() as usize),
            grads,
        })
    }
}

/// The step of `mode`: the physics modes need the `hardware` (seeing A quantised to `bits`);
/// the surrogate passes run on the host kernel when `fused` is given.
pub fn step_for<'h>(
    mode: Mode,
    hardware: Option<&'h dyn Hardware>,
    bits: u32,
    threads: usize,
    fused: Option<FusedNet>,
) -> Result<Box<dyn TrainStep + 'h>> {
    let need = || NetError::config("training.mode", format!("mode {mode} runs on the devices, and none were given"));
    Ok(match mode {
        Mode::Surrogate => Box::new(SurrogateMode { threads, fused }),
        Mode::PhysicsAware => Box::new(PhysicsAwareMode { hardware: hardware.ok_or_else(need)?, bits, fused, threads }),
        Mode::Exact => Box::new(ExactMode { hardware: hardware.ok_or_else(need)?, bits }),
    })
}
/// Forward on the hardware, backward through the surrogates at the physical activations.
pub struct PhysicsAwareMode<'h> {
    /// The devices.
    pub hardware: &'h dyn Hardware,
    /// Bits of A as the hardware sees it (0 = exact).
    pub bits: u32,
    /// The surrogates on the host kernel (none: the autodiff reference path).
    pub fused: Option<FusedNet>,
    /// Threads of the host kernel.
    pub threads: usize,
}

impl TrainStep for PhysicsAwareMode<'_> {
    fn step(&self, network: &DeviceNetwork, batch: &Batch) -> Result<StepOutcome> {
        let rows = batch.len();
        let a_hw = hardware_a(network, self.bits);
        // a failed solve falls back to the surrogate's value for that device
        let fallback = |l: usize, x: &[f64]| {
            let layer = &network.layers[l];
            let opts = TensorCreationOptions::new(batch.x.device()).with_dtype(batch.x.dtype());
            let xt = Tensor::<3>::from_data(TensorData::new(x.to_vec(), [rows, layer.devices(), layer.fan_in]), opts);
            to_vec(layer.respond(xt).detach())
        };
        let x = to_vec(batch.x.clone().detach());
        let passes = forward_host(network, self.hardware, &a_hw, &x, rows, &fallback);
        if let Some(fused) = &self.fused {
            // the surrogates' gradients at the physical activations, on the host kernel
            let last = passes.last().map(|p| p.out.clone()).unwrap_or_default();
            let (loss, correct, g) = head_loss_host(&network.head, &last, &batch.targets.host(), rows)?;
            let mut owned = vec![f32s(&x)];
            owned.extend(passes.iter().take(passes.len().saturating_sub(1)).map(|p| f32s(&p.out)));
            let inputs: Vec<&[f32]> = owned.iter().map(Vec::as_slice).collect();
            let grad_a = fused.gradients(network, &inputs, rows, f32s(&g), self.threads);
            let inner = batch.x.device().inner();
            return Ok(StepOutcome { loss, correct, grads: gradients_of(network, &grad_a, &inner) });
        }
        let mut u = batch.x.clone();
        for (layer, pass) in network.layers.iter().zip(passes) {
            let y_sur = layer.forward(u);
            let options = TensorCreationOptions::new(y_sur.device()).with_dtype(y_sur.dtype());
            let y_phys = Tensor::<2>::from_data(TensorData::new(pass.out, [rows, layer.devices()]), options);
            u = y_sur.clone() + (y_phys - y_sur.detach());
        }
        let (loss, correct) = head_loss(&network.head, u, &batch.targets)?;
        let grads = GradientsParams::from_grads(loss.backward(), network);
        Ok(StepOutcome {
            loss: loss.into_scalar::<f64>(),
            correct: correct.map(|c| c.into_scalar::<i64>() as usize),
            grads,
        })
    }
}

/// Forward on the hardware, backward with the devices' exact derivatives.
pub struct ExactMode<'h> {
    /// The devices (they must provide derivatives).
    pub hardware: &'h dyn Hardware,
    /// Bits of A as the hardware sees it (0 = exact).
    pub bits: u32,
}

impl TrainStep for ExactMode<'_> {
    fn step(&self, network: &DeviceNetwork, batch: &Batch) -> Result<StepOutcome> {
        let x = to_vec(batch.x.clone().detach());
        let s = exact_gradients(network, &x, &batch.targets.host(), self.hardware, self.bits)?;
        let inner = batch.x.device().inner();
        Ok(StepOutcome { loss: s.loss, correct: s.correct, grads: gradients_of(network, &s.grad_a, &inner) })
    }
}

/// The physics-aware step of a classifying network for class labels `y`: loss, correct
/// predictions and A-gradients.
pub fn physics_aware_step(
    network: &DeviceNetwork,
    x: Tensor<2>,
    y: Tensor<1, Int>,
    hardware: &dyn Hardware,
    bits: u32,
) -> Result<(f64, usize, GradientsParams)> {
    let out = PhysicsAwareMode { hardware, bits, fused: None, threads: 1 }
        .step(network, &Batch { x, targets: Targets::Labels(y) })?;
    Ok((out.loss, out.correct.unwrap_or(0), out.grads))
}
