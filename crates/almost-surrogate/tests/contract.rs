//! The contract every surrogate kind passes (after Surrogates.jl's interface tests): it fits
//! the analytic device to small held-out error with faithful gradients, round-trips through
//! save/load bit for bit, and refuses corrupted or mismatched files with a clear error.

#![allow(clippy::unwrap_used)]

mod common;

use almost_surrogate::surrogate::predict;
use almost_surrogate::{
    Activation, Architecture, FitConfig, FitOptions, SurrogateMeta, fit, load, rebuild_device, save,
};
use burn::tensor::Device;

fn kinds() -> Vec<(Architecture, f64)> {
    vec![
        (
            Architecture::Mlp {
                hidden: vec![32, 32],
                activation: Activation::Tanh,
                pair_products: false,
                square_products: false,
            },
            0.01,
        ),
        (
            Architecture::Mlp {
                hidden: vec![32, 32],
                activation: Activation::Tanh,
                pair_products: true,
                square_products: false,
            },
            0.01,
        ),
        (
            Architecture::Mlp {
                hidden: vec![32, 32],
                activation: Activation::Tanh,
                pair_products: true,
                square_products: true,
            },
            0.01,
        ),
        (Architecture::OneLayer { degree: 3, activation: Activation::Tanh }, 0.002),
    ]
}

#[test]
fn every_kind_fits_round_trips_and_refuses_bad_files() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = common::analytic_dataset(&tmp.path().join("data"), 3000);
    let device_model = rebuild_device(&ds).unwrap();
    let mut saved_dirs = Vec::new();
    for (i, (arch, tolerance)) in kinds().into_iter().enumerate() {
        let mut cfg = FitConfig { architecture: arch.clone(), ..Default::default() };
        cfg.training.max_epochs = 150;
        cfg.training.batch_size = 128;
        cfg.report.gradient_points = 32;
        let fitted = fit(&ds, &cfg, Some(device_model.as_ref()), &FitOptions::default()).unwrap();
        let m = &fitted.report.outputs[0];
        assert!(
            m.relative_rmse < tolerance,
            "{}: relative RMSE {} >= {tolerance}\n{}",
            arch.describe(),
            m.relative_rmse,
            fitted.report.table()
        );
        assert!(m.r2 > 0.999, "{}", fitted.report.table());
        let g = fitted.report.gradients.as_ref().unwrap();
        assert!(g.median_cosine > 0.99 && g.median_rel_error_da < 0.1, "{}", fitted.report.table());

        let dir = tmp.path().join(format!("model{i}"));
        save(&dir, &fitted.surrogate, SurrogateMeta::for_fit(&fitted, &ds, &cfg)).unwrap();
        println!("{}", fitted.report.table());
        let device = Device::flex();
        let loaded = load(&dir, &device).unwrap();
        assert_eq!(loaded.surrogate.weights_snapshot(), fitted.surrogate.weights_snapshot());
        let inputs: Vec<f64> = (0..40).map(|k| ((k * 37 % 17) as f64 / 8.0) - 1.0).collect();
        let dtype = burn::tensor::DType::F32;
        let before = predict(&fitted.surrogate, &inputs, 4, dtype, &device);
        let after = predict(&loaded.surrogate, &inputs, 4, dtype, &device);
        assert_eq!(before, after, "round trip is not bit-identical");
        // saving the loaded surrogate again gives the same bytes
        let again = tmp.path().join(format!("again{i}"));
        save(&again, &loaded.surrogate, loaded.meta.clone()).unwrap();
        let (a, b) = (
            std::fs::read(dir.join("surrogate.safetensors")).unwrap(),
            std::fs::read(again.join("surrogate.safetensors")).unwrap(),
        );
        if a != b {
            let first = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(0);
            panic!(
                "re-saved weights differ at byte {first} of {} / {}: {:?} vs {:?}",
                a.len(),
                b.len(),
                String::from_utf8_lossy(&a[first.saturating_sub(40)..(first + 40).min(a.len())]),
                String::from_utf8_lossy(&b[first.saturating_sub(40)..(first + 40).min(b.len())])
            );
        }
        assert!(loaded.in_domain(&[0.5, -0.5], &[0.1, 0.2], 0.0) && !loaded.in_domain(&[1.5, 0.0], &[0.1, 0.2], 0.0));
        saved_dirs.push(dir);
    }

    // a flipped byte in the weights
    let w = saved_dirs[0].join("surrogate.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x40;
    std::fs::write(&w, &bytes).unwrap();
    let err = load(&saved_dirs[0], &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("surrogate.safetensors") && err.contains("does not match the weights hash"), "{err}");

    // weights of another architecture under a JSON that vouches for them
    let other = std::fs::read(saved_dirs[1].join("surrogate.safetensors")).unwrap();
    std::fs::write(&w, &other).unwrap();
    let meta_path = saved_dirs[0].join("surrogate.json");
    let mut meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["weights_sha256"] = serde_json::Value::String(almost_sim::spec::hex_sha256(&other));
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    let err = load(&saved_dirs[0], &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("does not fit the architecture"), "{err}");

    // a missing folder
    let err = load(&tmp.path().join("nothing"), &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("not a surrogate folder"), "{err}");
}
