//! Device networks end to end on small problems: only A trains, A stays in bounds, gradients
//! match finite differences, dimensions are checked, runs resume.

#![allow(clippy::unwrap_used)]

mod common;

use almost_net::build;
use almost_net::data::images;
use almost_net::network::config::NetConfig;
use almost_net::network::wiring::WiringConfig;
use almost_net::training::train::{TrainOptions, cross_entropy, data_parallel_step, train};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{DType, Device};

use common::input;

/// The two-layer bars network on the analytic device (fan-in 4), built on the autodiff CPU
/// device seeded with 5, and its training images.
fn bars_network(dir: &std::path::Path) -> (almost_net::data::images::ImageSet, Device, almost_net::DeviceNetwork) {
    let sur = common::analytic_surrogate(dir, 4);
    let cfg = common::net_config(&common::bars(dir, 150), &sur);
    let (train_set, _) = images::load(&cfg.data).unwrap();
    let device = Device::flex().autodiff();
    device.seed(5);
    let net = build(&cfg, input(), DType::F32, &device).unwrap();
    (train_set, device, net)
}

#[test]
fn only_a_trains_and_stays_in_bounds() {
    let _serial = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let (train_set, device, mut net) = bars_network(tmp.path());
    let b_before: Vec<_> = net.layers.iter().map(|l| l.surrogate.weights_snapshot()).collect();
    let a_before = net.a_values();
    let mut optim = AdamConfig::new().init();
    let idx: Vec<usize> = (0..32).collect();
    for step in 0..10 {
        let x = almost_net::data::batch::images(&train_set, &idx, None, DType::F32, &device);
        let y = almost_net::data::batch::labels(&train_set, &idx, &device);
        let (loss, _) = cross_entropy(net.forward(x), y);
        let grads = loss.backward();
        for layer in &net.layers {
            assert!(layer.a.val().grad(&grads).is_some(), "A has a gradient");
            assert!(layer.surrogate.body.layers[0].weight.val().grad(&grads).is_none(), "B has no gradient");
            assert!(layer.surrogate.in_scale.val().grad(&grads).is_none(), "normalisation has no gradient");
        }
        let grads = GradientsParams::from_grads(grads, &net);
        // a huge learning rate pushes A against its bounds: projection must hold them
        let lr = if step < 5 { 5.0 } else { 0.05 };
        net = optim.step(lr, net, grads).project();
        for (layer, a) in net.layers.iter().zip(net.a_values()) {
            for (j, v) in a.iter().enumerate() {
                let k = j % layer.a_lo.len();
                assert!(
                    *v >= layer.a_lo[k] && *v <= layer.a_hi[k],
                    "A = {v} left [{}, {}]",
                    layer.a_lo[k],
                    layer.a_hi[k]
                );
            }
        }
    }
    let b_after: Vec<_> = net.layers.iter().map(|l| l.surrogate.weights_snapshot()).collect();
    assert_eq!(b_before, b_after, "surrogate weights B changed");
    assert_ne!(a_before, net.a_values(), "A did not train");
    assert!(net.a_values().iter().flatten().any(|v| v.abs() == 1.0), "the big steps should have hit a bound");
}

#[test]
fn a_learning_rate_is_a_share_of_each_parameters_half_range() {
    let _serial = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let (train_set, device, net) = bars_network(tmp.path());
    let idx: Vec<usize> = (0..32).collect();
    let x = almost_net::data::batch::images(&train_set, &idx, None, DType::F32, &device);
    let y = almost_net::data::batch::labels(&train_set, &idx, &device);
    let step = |mut net: almost_net::DeviceNetwork| {
        let before: Vec<_> = net.layers.iter().map(|l| l.a.val().detach()).collect();
        let (loss, _) = cross_entropy(net.forward(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let mut optim = AdamConfig::new().init();
        net = optim.step(0.01, net, grads).scale_steps(&before);
        net
    };
    // A in [-1, 1]: the optimiser's step is left exactly as it is (Adam's first step: ~lr)
    let unit = step(net.clone());
    let moved: Vec<f64> = unit.a_values()[0].iter().zip(&net.a_values()[0]).map(|(p, q)| (p - q).abs()).collect();
    assert!(moved.iter().all(|d| *d < 0.0101) && moved.iter().any(|d| *d > 0.009), "{moved:?}");
    // the same device with A in a physical unit (a conductance up to 2e-4 S, half-range 1e-4):
    // the step is the same share of the bounds
    let mut siemens = net.clone();
    siemens.layers[0].a_lo = vec![-1e-4; siemens.layers[0].a_lo.len()];
    siemens.layers[0].a_hi = vec![1e-4; siemens.layers[0].a_hi.len()];
    let scaled = step(siemens);
    for ((p, q), d) in scaled.a_values()[0].iter().zip(&net.a_values()[0]).zip(&moved) {
        let got = (p - q).abs();
        // f32 A near 0.5 resolves about 6e-8
        assert!((got - 1e-4 * d).abs() <= 2e-7, "moved {got}, expected {}", 1e-4 * d);
    }
}

#[test]
fn gradient_through_two_chained_surrogates_matches_finite_differences_in_f64() {
    let _serial = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let sur = common::analytic_surrogate(tmp.path(), 4);
    let mut cfg = common::net_config(&common::bars(tmp.path(), 150), &sur);
    cfg.layers[0].wiring = WiringConfig::Random { devices: 4, fan_in: 4, seed: 1 };
    cfg.layers[1].wiring = WiringConfig::Dense { devices: 6 };
    let device = Device::flex().autodiff();
    let (net, x, y) = common::network_and_batch(&cfg, DType::F64, &device, 9, 12);
    let loss_of = |n: &almost_net::DeviceNetwork| cross_entropy(n.forward(x.clone()), y.clone()).0;
    let grads = loss_of(&net).backward();
    let analytic: Vec<Vec<f64>> =
        net.layers.iter().map(|l| almost_surrogate::tensor_io::to_vec(l.a.val().grad(&grads).unwrap())).collect();
    let h = 1e-6;
    let mut worst: f64 = 0.0;
    for (l, layer) in net.layers.iter().enumerate() {
        let a = almost_surrogate::tensor_io::to_vec(layer.a.val());
        for k in (0..a.len()).step_by(3) {
            let perturbed = |delta: f64| {
                let mut v = a.clone();
                v[k] += delta;
                almost_surrogate::tensor_io::to_vec(loss_of(&common::with_a(&net, l, &v, &device)))[0]
            };
            let fd = (perturbed(h) - perturbed(-h)) / (2.0 * h);
            let err = (fd - analytic[l][k]).abs() / (1e-6 + fd.abs().max(analytic[l][k].abs()));
            worst = worst.max(err);
        }
    }
    assert!(worst < 1e-5, "worst relative error of dLoss/dA {worst:e}");
}

#[test]
fn dimension_mismatches_are_errors_before_any_data() {
    let _serial = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let sur = common::analytic_surrogate(tmp.path(), 4);
    let mut cfg: NetConfig = common::net_config(tmp.path(), &sur);
    cfg.layers[0].wiring = WiringConfig::Patches { kernel: 3, stride: 1, channels: 1, fan_in: None, seed: 0 };
    let err = build(&cfg, input(), DType::F32, &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("layer 0") && err.contains("delivers 9 inputs") && err.contains("fan-in 4"), "{err}");
    let mut cfg: NetConfig = common::net_config(tmp.path(), &sur);
    cfg.readout.per_class = 3;
    let err = build(&cfg, input(), DType::F32, &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("readout") && err.contains("need 9 devices") && err.contains("it has 6"), "{err}");
    let mut cfg: NetConfig = common::net_config(tmp.path(), &sur);
    cfg.layers[1].surrogate = tmp.path().join("missing");
    let err = build(&cfg, input(), DType::F32, &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("not a surrogate folder"), "{err}");
}

#[test]
fn fine_tuning_from_a_folder_that_is_not_a_trained_run_says_so() {
    let _serial = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = common::quick_bars_config(tmp.path());
    let first = tmp.path().join("first-cycle");
    cfg.training.init = Some(first.clone());
    let run = tmp.path().join("second-cycle");
    let err = train(&cfg, &run, &TrainOptions { skip_physics_check: true, ..Default::default() }).err().unwrap();
    let text = err.to_string();
    assert!(text.contains("first-cycle") && text.contains("is not a trained run"), "{text}");
    assert!(!run.join("network.json").exists(), "nothing trained");
    // once the first cycle exists, the second starts from it
    cfg.training.init = None;
    train(&cfg, &first, &TrainOptions { skip_physics_check: true, ..Default::default() }).unwrap();
    cfg.training.init = Some(first);
    train(&cfg, &run, &TrainOptions { skip_physics_check: true, ..Default::default() }).unwrap();
}

#[test]
fn resumed_run_continues_the_same_run() {
    let _serial = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let sur = common::analytic_surrogate(tmp.path(), 4);
    let cfg = common::net_config(&common::bars(tmp.path(), 150), &sur);
    let straight = train(&cfg, &tmp.path().join("straight"), &TrainOptions::default()).unwrap();
    let cut = tmp.path().join("cut");
    let first = train(&cfg, &cut, &TrainOptions { stop_after: Some(1), ..Default::default() }).unwrap();
    assert_eq!(first.history.len(), 1);
    let second = train(&cfg, &cut, &TrainOptions::default()).unwrap();
    assert_eq!(second.resumed_from, Some(1));
    assert_eq!(
        second.history,
        straight
            .history
            .iter()
            .map(|h| almost_net::training::history::EpochMetrics {
                seconds: second.history[h.epoch - 1].seconds,
                health: second.history[h.epoch - 1].health.clone(),
                ..h.clone()
            })
            .collect::<Vec<_>>()
    );
    // the per-epoch probe of the operating points agrees to rounding (summation order)
    for (a, b) in second.history.iter().zip(&straight.history) {
        assert_eq!(a.health.len(), b.health.len());
        for (p, q) in a.health.iter().zip(&b.health) {
            assert_eq!((p.evaluations, p.sampled, p.failed), (q.evaluations, q.sampled, q.failed));
            assert!((p.operating_error - q.operating_error).abs() < 1e-9, "{p:?} vs {q:?}");
            assert!((p.outside_box - q.outside_box).abs() < 1e-12 && (p.high_error - q.high_error).abs() < 1e-12);
        }
    }
    assert_eq!(second.network.a_values(), straight.network.a_values());
    assert!(cut.join("metrics.csv").exists() && cut.join("curves.svg").exists() && cut.join("a.npz").exists());
    // a different config in the same folder is refused
    let mut other = cfg.clone();
    other.training.learning_rate = 0.2;
    let config_before = std::fs::read(cut.join("config.json")).unwrap();
    let err = train(&other, &cut, &TrainOptions::default()).err().unwrap().to_string();
    assert!(err.contains("different network config"), "{err}");
    // ... and says which key differs, with both values
    assert!(err.contains("training.learning_rate: ") && err.contains(" in the run, 0.2 now"), "{err}");
    assert_eq!(std::fs::read(cut.join("config.json")).unwrap(), config_before, "a refused resume rewrote config.json");
}

#[test]
fn data_parallel_gradient_equals_single_thread_gradient() {
    let _serial = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let sur = common::analytic_surrogate(tmp.path(), 4);
    let cfg = common::net_config(&common::bars(tmp.path(), 150), &sur);
    let device = Device::flex().autodiff();
    let (net, x, y) = common::network_and_batch(&cfg, DType::F64, &device, 1, 20);
    let (x_all, y_all, x_again, y_again) = (x.clone(), y.clone(), x.clone(), y.clone());
    let (l1, _, g1) = data_parallel_step(&net, x.clone(), y.clone(), 1).unwrap();
    let (l3, _, g3) = data_parallel_step(&net, x, y, 3).unwrap();
    let (l1, l3) = (almost_surrogate::tensor_io::to_vec(l1)[0], almost_surrogate::tensor_io::to_vec(l3)[0]);
    assert!((l1 - l3).abs() < 1e-12);
    common::assert_same_a_grads(&net, g1, g3);
    // and both equal the plain backward pass of the whole batch
    let (loss, _) = cross_entropy(net.forward(x_all), y_all);
    let plain = burn::optim::GradientsParams::from_grads(loss.backward(), &net);
    let (_, _, g1) = data_parallel_step(&net, x_again, y_again, 1).unwrap();
    common::assert_same_a_grads(&net, plain, g1);
}

#[test]
fn parallel_slices_never_share_an_autodiff_graph() {
    let _serial = common::rng_lock();
    // Stress test. burn merges autodiff graphs that share a leaf; when every slice used the
    // network's own A leaves, 16 threads running forward/backward at once hung (a deadlock)
    // or panicked ("graph tape has already been consumed") in about one run in three within
    // a few hundred steps. Each slice now has its own leaves; a watchdog turns a hang into a
    // failure.
    let tmp = tempfile::tempdir().unwrap();
    let sur = common::analytic_surrogate(tmp.path(), 4);
    let cfg = common::net_config(&common::bars(tmp.path(), 150), &sur);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let device = Device::flex().autodiff();
        let (net, x, y) = common::network_and_batch(&cfg, DType::F32, &device, 1, 96);
        for _ in 0..1000 {
            let (loss, _, _) = data_parallel_step(&net, x.clone(), y.clone(), 16).unwrap();
            assert!(almost_surrogate::tensor_io::to_vec(loss)[0].is_finite());
        }
        done_tx.send(()).unwrap();
    });
    let outcome = done_rx.recv_timeout(std::time::Duration::from_secs(600));
    assert!(outcome.is_ok(), "1000 data-parallel steps did not finish in 10 minutes (hung) or panicked: {outcome:?}");
}
