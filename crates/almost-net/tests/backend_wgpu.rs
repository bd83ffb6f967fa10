//! The GPU path, tested on the CPU: the test build has burn's wgpu backend (a dev-dependency
//! feature), which runs here on Mesa's lavapipe (a Vulkan driver that runs on the CPU;
//! `.ci/run` installs it). The same fine-tuning run on wgpu and on flex (same start, same
//! batches) must agree, a run trained on wgpu must evaluate the same on both, and a surrogate
//! must fit on wgpu.
//!
//! On a machine without any Vulkan or GL driver these tests say so and pass without running;
//! with `ALMOST_REQUIRE_WGPU=1` (set by `.ci/run`) a missing driver is a failure.

#![allow(clippy::unwrap_used)]

mod common;

use almost_net::training::train::{TrainOptions, host_threads, train};
use almost_net::{Mode, evaluate_run};
use almost_surrogate::surrogate::predict;
use almost_surrogate::{Backend, FitOptions, fit};
use burn::module::Module;
use burn::tensor::{DType, Device, Tensor};

/// The wgpu device, or `None` (said on stderr) where the machine has no driver for it and
/// `ALMOST_REQUIRE_WGPU` is not set.
fn wgpu_device() -> Option<Device> {
    let gpu = Backend::Wgpu.device().unwrap();
    let probe = gpu.clone();
    // wgpu opens its adapter on first use and panics when there is none
    let works = std::panic::catch_unwind(move || Tensor::<1>::zeros([1], &probe).into_data()).is_ok();
    if works {
        eprintln!("wgpu device: {}", almost_surrogate::backend::describe(&gpu));
        return Some(gpu);
    }
    assert!(
        std::env::var_os("ALMOST_REQUIRE_WGPU").is_none(),
        "ALMOST_REQUIRE_WGPU is set and wgpu has no adapter here"
    );
    eprintln!("skipped: wgpu finds no adapter on this machine (install mesa-vulkan-drivers to run it on the CPU)");
    None
}

/// A few training steps from the same A on both backends, in each training mode: the losses of
/// every epoch and the trained A agree to f32 round-off carried through Adam (tolerances below).
#[test]
fn training_on_wgpu_agrees_with_flex_and_evaluates_the_same() {
    let _rng = common::rng_lock();
    let Some(gpu) = wgpu_device() else { return };
    assert!(!host_threads(&gpu) && host_threads(&Device::flex()));
    let tmp = tempfile::tempdir().unwrap();
    let sur = common::analytic_surrogate(tmp.path(), 4);
    let mut cfg = common::net_config(&common::bars(tmp.path(), 150), &sur);
    cfg.training.epochs = 1;
    cfg.training.threads = 1;
    // the common start: one epoch on flex (initial A are drawn by the backend's own generator)
    let start = tmp.path().join("start");
    let quiet = |device: Device| TrainOptions { skip_physics_check: true, device, ..Default::default() };
    train(&cfg, &start, &quiet(Device::flex())).unwrap();
    cfg.training.init = Some(start);
    // in every mode (the physics modes solve the devices on the host), from the same A
    let modes = [(Mode::Surrogate, 2), (Mode::PhysicsAware, 1), (Mode::Exact, 1)];
    for (mode, epochs) in modes {
        cfg.training.mode = mode;
        cfg.training.epochs = epochs;
        let on_flex = train(&cfg, &tmp.path().join(format!("flex-{mode}")), &quiet(Device::flex())).unwrap();
        let on_gpu = train(&cfg, &tmp.path().join(format!("wgpu-{mode}")), &quiet(gpu.clone())).unwrap();
        assert_eq!(on_gpu.history.len(), epochs);
        for (f, g) in on_flex.history.iter().zip(&on_gpu.history) {
            assert!((f.train_loss - g.train_loss).abs() < 1e-3 * f.train_loss.abs().max(1.0), "{mode}: {f:?}\n{g:?}");
            assert!((f.test_accuracy - g.test_accuracy).abs() <= 1.0 / 48.0 + 1e-9, "{mode}: {f:?}\n{g:?}");
        }
        let (a_flex, a_gpu) = (on_flex.network.a_values(), on_gpu.network.a_values());
        let worst = a_flex.iter().flatten().zip(a_gpu.iter().flatten()).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
        // A lies in [-1, 1] and moves by up to 0.05 a step (6 steps an epoch): f32 round-off
        // carried through Adam moves it far less
        assert!(worst < 1e-3, "{mode}: A differ by up to {worst}");
    }
    // the run trained on wgpu, evaluated on either backend (the physics on the host): the same
    // verdicts, image for image, up to one image where f32 round-off tips a near tie
    let run = tmp.path().join(format!("wgpu-{}", Mode::Surrogate));
    let here = evaluate_run(&run, true, 0, &Default::default(), &gpu).unwrap().physics.unwrap();
    let there = evaluate_run(&run, true, 0, &Default::default(), &Device::flex()).unwrap().physics.unwrap();
    assert_eq!(here.images, 48);
    assert!((here.accuracy_surrogate - there.accuracy_surrogate).abs() <= 1.0 / 48.0 + 1e-9, "{here:?}\n{there:?}");
    assert!((here.accuracy_physics - there.accuracy_physics).abs() <= 1.0 / 48.0 + 1e-9, "{here:?}\n{there:?}");
}

/// A surrogate fitted on wgpu reaches the accuracy it reaches on flex, and predicts the same
/// on both backends once saved.
#[test]
fn a_surrogate_fits_on_wgpu() {
    let _rng = common::rng_lock();
    let Some(gpu) = wgpu_device() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let text = "name = \"a\"\n[device]\nkind = \"analytic\"\nfan_in = 2\n[design]\nkind = \"sobol\"\nsamples = 2000\nseed = 2\n";
    let ds = common::dataset_of(tmp.path(), text, "2");
    let mut fc = common::quick_fit();
    let flex = fit(&ds, &fc, None, &FitOptions::default()).unwrap();
    let wgpu = fit(&ds, &fc, None, &FitOptions { progress: false, device: gpu.clone() }).unwrap();
    let (e_flex, e_gpu) = (flex.report.outputs[0].relative_rmse, wgpu.report.outputs[0].relative_rmse);
    // different initial weights (each backend draws its own): the same quality, not the same numbers
    assert!(e_gpu < 0.05 && e_gpu < 2.0 * e_flex + 0.005, "wgpu {e_gpu} vs flex {e_flex}");
    let inputs: Vec<f64> = (0..64)
        .flat_map(|i| {
            let t = i as f64 / 63.0;
            [t, 1.0 - t, 2.0 * t - 1.0, 0.5 - t]
        })
        .collect();
    let here = predict(&wgpu.surrogate, &inputs, 4, DType::F32, &gpu);
    let on_cpu = wgpu.surrogate.clone().to_device(&Device::flex());
    let there = predict(&on_cpu, &inputs, 4, DType::F32, &Device::flex());
    for (p, q) in here.iter().zip(&there) {
        assert!((p - q).abs() < 1e-4 * (1.0 + q.abs()), "{p} vs {q}");
    }
    // f64 fits run where the device has f64, and are refused with a clear error where it has not
    fc.training.precision = almost_surrogate::Precision::F64;
    let f64_fit = fit(&ds, &fc, None, &FitOptions { progress: false, device: gpu.clone() });
    if !gpu.supports_dtype(DType::F64) {
        let e = f64_fit.err().unwrap().to_string();
        assert!(e.contains("precision") && e.contains("--backend flex"), "{e}");
    }
}
