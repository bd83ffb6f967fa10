//! The fused path (host kernel) against the reference (burn's autodiff graph in f64): logits
//! and dLoss/dA of a small two-layer network agree to 1e-5 of their size for every MLP
//! surrogate form and activation, in surrogate mode and in the surrogate half of
//! physics-aware training, for a classifying and a regressing head; the one-layer polynomial
//! form is left to the reference.

#![allow(clippy::unwrap_used)]

mod common;

use almost_net::DeviceNetwork;
use almost_net::fused::FusedNet;
use almost_net::network::chain::{Head, Readout};
use almost_net::network::config::ReadoutOrder;
use almost_net::network::layer::{DeviceLayer, LayerPlan};
use almost_net::physics::hardware::{Hardware, LayerCall};
use almost_net::training::loss::Targets;
use almost_net::training::modes::{PhysicsAwareMode, SurrogateMode};
use almost_net::training::step::{Batch, TrainStep};
use almost_sim::Jacobian;
use almost_surrogate::normalize::Normalization;
use almost_surrogate::tensor_io::to_vec;
use almost_surrogate::{Activation, Architecture, Surrogate};
use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{DType, Device, Distribution, Int, Tensor, TensorCreationOptions, TensorData};

const N_X: usize = 4;
const N_A: usize = 5;

/// A surrogate with random weights and biases and a non-trivial normalisation, 2 outputs.
fn surrogate(arch: &Architecture, device: &Device) -> Surrogate {
    let norm = Normalization {
        in_shift: (0..N_X + N_A).map(|i| 0.05 * i as f64 - 0.1).collect(),
        in_scale: (0..N_X + N_A).map(|i| 1.3 - 0.1 * i as f64).collect(),
        out_shift: vec![0.2, -0.1],
        out_scale: vec![0.7, 1.6],
    };
    let mut s = Surrogate::new(arch, &norm, N_X, DType::F64, device);
    for layer in &mut s.body.layers {
        let n = layer.bias.val().dims()[0];
        let options = TensorCreationOptions::new(device.clone()).with_dtype(DType::F64);
        layer.bias = Param::from_tensor(Tensor::random([n], Distribution::Uniform(-0.5, 0.5), options));
    }
    s
}

/// 12 devices of fan-in 4 (three upstream lines and the reference line) on 9 inputs, then
/// 6 devices reading them, summed into 3 classes.
fn network(arch: &Architecture, output: usize, device: &Device) -> DeviceNetwork {
    let sur = surrogate(arch, device);
    let plan = |indices: Vec<usize>, gain: f64, offset: f64, reference: Option<f64>| LayerPlan {
        indices,
        fan_in: N_X,
        output,
        gain,
        offset,
        reference,
        a_lo: vec![-1.0; N_A],
        a_hi: vec![1.0; N_A],
        init_fraction: 1.0,
    };
    let first: Vec<usize> = (0..12).flat_map(|j| [(j * 5) % 9, (j * 2 + 1) % 9, (j + 4) % 9, 9]).collect();
    let second: Vec<usize> = (0..6).flat_map(|j| [j, (j + 3) % 12, (j * 5 + 2) % 12, 11 - j]).collect();
    let layers = vec![
        DeviceLayer::new(&plan(first, 1.8, -0.9, Some(0.6)), sur.clone(), DType::F64, device),
        DeviceLayer::new(&plan(second, 1.2, -0.4, None), sur, DType::F64, device),
    ];
    let head = Head::Classes(Readout { classes: 3, per_class: 2, scale: 1.7, order: ReadoutOrder::Interleaved });
    DeviceNetwork { layers, head }
}

fn batch(device: &Device) -> Batch {
    let rows = 5;
    let x: Vec<f64> = (0..rows * 9).map(|k| ((k * 37 % 23) as f64) / 22.0).collect();
    let y: Vec<i64> = (0..rows as i64).map(|b| b % 3).collect();
    Batch {
        x: Tensor::<2>::from_data(TensorData::new(x, [rows, 9]), (device, DType::F64)),
        targets: Targets::Labels(Tensor::<1, Int>::from_data(TensorData::new(y, [rows]), device)),
    }
}

/// Asserts |a - b| <= tol * max|b| over the whole of each set.
fn assert_close(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let size = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = a.iter().zip(b).fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
    assert!(size > 0.0, "{what}: all zero");
    assert!(worst <= tol * size, "{what}: differs by {worst:.3e}, {:.3e} of its size {size:.3e}", worst / size);
}

fn grads_of(net: &DeviceNetwork, mut g: GradientsParams) -> Vec<Vec<f64>> {
    net.layers.iter().map(|l| to_vec(g.remove::<2>(l.a.id).unwrap())).collect()
}

fn forms() -> Vec<(String, Architecture, usize)> {
    let mlp = |hidden: Vec<usize>, activation, pairs, squares| Architecture::Mlp {
        hidden,
        activation,
        pair_products: pairs,
        square_products: squares,
    };
    let mut out = Vec::new();
    for act in Activation::ALL {
        out.push((format!("mlp [16, 16] {act:?}"), mlp(vec![16, 16], act, false, false), 0));
    }
    out.push(("mlp [] (linear)".into(), mlp(vec![], Activation::Tanh, false, false), 1));
    out.push(("mlp [8] x*A".into(), mlp(vec![8], Activation::Tanh, true, false), 1));
    out.push(("mlp [8] x^2*A".into(), mlp(vec![8], Activation::Softsign, false, true), 0));
    out.push(("mlp [8, 8, 8] both".into(), mlp(vec![8, 8, 8], Activation::Softsign, true, true), 1));
    out
}

#[test]
fn logits_and_gradients_of_the_fused_path_match_the_reference_for_every_form_and_activation() {
    let _guard = common::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(5);
    let data = batch(&device);
    for (name, arch, output) in forms() {
        let net = network(&arch, output, &device);
        let fused = FusedNet::new(&net).unwrap();
        let reference = SurrogateMode { threads: 1, fused: None }.step(&net, &data).unwrap();
        let (ref_loss, ref_correct, want) = (reference.loss, reference.correct, grads_of(&net, reference.grads));
        let want_logits = to_vec(net.forward(data.x.clone()).detach());
        let x32: Vec<f32> = to_vec(data.x.clone()).iter().map(|&v| v as f32).collect();
        let Head::Classes(readout) = &net.head else { unreachable!() };
        for threads in [1, 3] {
            let acts = fused.activations(&net, &x32, 5, threads);
            let last: Vec<f64> = acts[1].iter().map(|&v| f64::from(v)).collect();
            let logits: Vec<f64> = last.chunks(6).flat_map(|row| readout.logits_host(row)).collect();
            assert_close(&format!("{name}, logits, {threads} threads"), &logits, &want_logits, 1e-5);
            let step = SurrogateMode { threads, fused: Some(fused.clone()) }.step(&net, &data).unwrap();
            assert!((step.loss - ref_loss).abs() < 1e-5 * ref_loss, "{name}: loss");
            assert_eq!(step.correct, ref_correct, "{name}: correct");
            let got = grads_of(&net, step.grads);
            for l in 0..2 {
                assert_close(&format!("{name}, dLoss/dA of layer {l}, {threads} threads"), &got[l], &want[l], 1e-5);
            }
        }
    }
}

#[test]
fn the_one_layer_form_is_left_to_the_reference() {
    let _guard = common::rng_lock();
    let device = Device::flex().autodiff();
    let net = network(&Architecture::OneLayer { degree: 2, activation: Activation::Tanh }, 0, &device);
    assert!(FusedNet::new(&net).is_none());
}

/// "Physics" that is a surrogate network with other A: its activations differ from the
/// trained network's, so the surrogate half of physics-aware training is differentiated
/// away from the surrogate's own operating points.
struct OtherNetwork(DeviceNetwork);

impl Hardware for OtherNetwork {
    fn respond(&self, _l: usize, _d: usize, _x: &[f64], _a: &[f64]) -> almost_sim::Result<Vec<f64>> {
        unreachable!("respond_layer is overridden")
    }
    fn jacobian(&self, _l: usize, _d: usize, _x: &[f64], _a: &[f64]) -> Option<almost_sim::Result<Jacobian>> {
        None
    }
    fn respond_layer(&self, call: &LayerCall<'_>) -> Vec<Option<f64>> {
        let layer = &self.0.layers[call.layer];
        let (m, batch) = (call.devices(), call.calls() / call.devices());
        let opts = TensorCreationOptions::new(Device::flex()).with_dtype(DType::F64);
        let x = Tensor::<3>::from_data(TensorData::new(call.x.to_vec(), [batch, m, call.fan_in]), opts);
        // the other network's own A, not the ones asked for
        let y = layer.surrogate.forward_devices(x, layer.a.val());
        let n_y = y.dims()[2];
        to_vec(y).chunks(n_y).map(|r| Some(r[layer.output] + 0.01)).collect()
    }
}

#[test]
fn the_physics_aware_step_on_the_fused_path_matches_the_reference() {
    let _guard = common::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(9);
    let data = batch(&device);
    let arch = Architecture::default();
    let net = network(&arch, 0, &device);
    let hardware = OtherNetwork(network(&arch, 0, &device).valid());
    let fused = FusedNet::new(&net);
    let reference =
        PhysicsAwareMode { hardware: &hardware, bits: 0, fused: None, threads: 1 }.step(&net, &data).unwrap();
    let got = PhysicsAwareMode { hardware: &hardware, bits: 0, fused, threads: 2 }.step(&net, &data).unwrap();
    assert!((got.loss - reference.loss).abs() < 1e-9 * reference.loss, "the loss is the physics' in both");
    let (g, w) = (grads_of(&net, got.grads), grads_of(&net, reference.grads));
    for l in 0..2 {
        assert_close(&format!("physics-aware dLoss/dA of layer {l}"), &g[l], &w[l], 1e-5);
    }
}

#[test]
fn a_regression_step_on_the_fused_path_matches_the_reference() {
    let _guard = common::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(13);
    let mut net = network(&Architecture::default(), 0, &device);
    net.head = Head::Outputs;
    let rows = 5;
    let values: Vec<f64> = (0..rows * 6).map(|k| ((k * 7 % 11) as f64) / 10.0 - 0.5).collect();
    let x = batch(&device).x;
    let data = Batch {
        x,
        targets: Targets::Values(Tensor::<2>::from_data(TensorData::new(values, [rows, 6]), (&device, DType::F64))),
    };
    let reference = SurrogateMode { threads: 1, fused: None }.step(&net, &data).unwrap();
    let got = SurrogateMode { threads: 2, fused: FusedNet::new(&net) }.step(&net, &data).unwrap();
    assert!((got.loss - reference.loss).abs() < 1e-5 * reference.loss, "{} vs {}", got.loss, reference.loss);
    assert!(got.correct.is_none());
    let (g, w) = (grads_of(&net, got.grads), grads_of(&net, reference.grads));
    for l in 0..2 {
        assert_close(&format!("regression dLoss/dA of layer {l}"), &g[l], &w[l], 1e-5);
    }
}
