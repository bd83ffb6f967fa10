//! Regression by MSE: a student chain of devices learns the outputs of a teacher chain with
//! other A (a realisable target); bad data and mismatched widths are errors.

#![allow(clippy::unwrap_used)]

mod common;

use almost_net::DeviceNetwork;
use almost_net::network::chain::Head;
use almost_net::network::layer::{DeviceLayer, LayerPlan};
use almost_net::training::regression::{RegressionConfig, RegressionData, train_regression};
use burn::tensor::{DType, Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};

/// Three fan-in-4 devices reading 4 inputs in [0, 1], then one device reading their outputs
/// (and the first of them twice).
fn chain(surrogate: &std::path::Path, seed: u64, device: &Device) -> DeviceNetwork {
    let sur = almost_surrogate::load(surrogate, device).unwrap().surrogate.cast(DType::F64);
    let plan = |indices: Vec<usize>, gain: f64, offset: f64| LayerPlan {
        indices,
        fan_in: 4,
        output: 0,
        gain,
        offset,
        a_lo: vec![-1.0; 4],
        a_hi: vec![1.0; 4],
        init_fraction: 1.0,
        reference: None,
    };
    device.seed(seed);
    let layers = vec![
        DeviceLayer::new(&plan(vec![0, 1, 2, 3, 1, 2, 3, 0, 2, 3, 0, 1], 2.0, -1.0), sur.clone(), DType::F64, device),
        DeviceLayer::new(&plan(vec![0, 1, 2, 0], 1.0, 0.0), sur, DType::F64, device),
    ];
    DeviceNetwork { layers, head: Head::Outputs }
}

#[test]
fn a_student_chain_learns_a_teacher_chain_and_bad_data_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let sur = common::analytic_surrogate(tmp.path(), 4);
    let device = Device::flex().autodiff();
    let teacher = chain(&sur, 11, &device);
    let student = chain(&sur, 12, &device);
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let inputs: Vec<f64> = (0..200 * 4).map(|_| rng.random::<f64>()).collect();
    let x = Tensor::<2>::from_data(TensorData::new(inputs.clone(), [200, 4]), (&device, DType::F64));
    let targets = almost_surrogate::tensor_io::to_vec(teacher.activations(x).pop().unwrap());
    let data = RegressionData { inputs, d_in: 4, targets, d_out: 1 };
    let cfg = RegressionConfig { epochs: 60, batch_size: 20, learning_rate: 0.05, seed: 1 };
    let (trained, history) = train_regression(student.clone(), &data, &cfg, &device).unwrap();
    println!("training MSE {:.3e} -> {:.3e}", history[0], history[59]);
    assert_eq!(history.len(), 60);
    assert!(history[59] < 0.1 * history[0], "MSE {} -> {}", history[0], history[59]);
    for (layer, a) in trained.layers.iter().zip(trained.a_values()) {
        assert!(a.iter().all(|v| (-1.0..=1.0).contains(v)), "A left its bounds in a layer of {}", layer.devices());
    }
    assert_eq!(train_regression(student.clone(), &data, &cfg, &device).unwrap().1, history, "not reproducible");

    let mut wide = data.clone();
    wide.d_out = 2;
    wide.targets = wide.targets.iter().flat_map(|&t| [t, t]).collect();
    let err = train_regression(student.clone(), &wide, &cfg, &device).err().unwrap().to_string();
    assert!(err.contains("layer 1") && err.contains("targets are 2 wide"), "{err}");
    let narrow = RegressionData { inputs: data.inputs[..600].to_vec(), d_in: 3, ..data.clone() };
    let err = train_regression(student.clone(), &narrow, &cfg, &device).err().unwrap().to_string();
    assert!(err.contains("layer 0") && err.contains("index 3") && err.contains("3 wide"), "{err}");
    let mut nan = data.clone();
    nan.targets[17] = f64::NAN;
    let err = train_regression(student, &nan, &cfg, &device).err().unwrap().to_string();
    assert!(err.contains("row 17") && err.contains("non-finite"), "{err}");
}
