//! The seed's chain of three devices: two diode nodes feed a third, and only their
//! parameters A (nine conductances with signs) are trained, to solve XOR on the plane.
//!
//! XOR is the smallest task a single neuron cannot solve, so success shows the chain uses
//! the devices' nonlinearity. A diode node is an odd function of its inputs, and a chain of
//! odd functions cannot produce XOR (which is even about the centre): so each node gets a
//! third input tied to a +2 V reference line, a bias. The example simulates the fan-in-3
//! diode node, fits its surrogate, trains the chain through the frozen surrogate, and runs
//! the trained chain on the real physics (three ODE solves per point).
//!
//! Run: `cargo run --release --example chain_of_three`

use almost::net::DeviceNetwork;
use almost::net::network::chain::Head;
use almost::net::network::layer::{DeviceLayer, LayerPlan};
use almost::net::training::regression::{RegressionConfig, RegressionData, train_regression};
use almost::sim::{Dataset, GenerateConfig, GenerateOptions, generate};
use almost::surrogate::{Activation, Architecture, FitConfig, FitOptions, fit, rebuild_device};
use burn::module::Module;
use burn::tensor::{DType, Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};

fn main() -> anyhow::Result<()> {
    // 1. the device: a diode node with two inputs, driven over [-2, 2] V
    let cfg: GenerateConfig = toml::from_str(
        "name = \"diode2\"\n[device]\nkind = \"diode-node\"\nfan_in = 3\n[design]\nkind = \"sobol\"\nsamples = 8000\nseed = 1\n[box]\nx = [-2.0, 2.0]\n",
    )?;
    let dir = std::env::temp_dir().join("almost-example-chain");
    let _ = std::fs::remove_dir_all(&dir);
    generate(&cfg.resolve("example")?, &dir, &GenerateOptions::default())?;
    let dataset = Dataset::load(&dir)?;
    let device = rebuild_device(&dataset)?;

    // 2. its surrogate
    let mut fc = FitConfig {
        architecture: Architecture::Mlp {
            hidden: vec![32, 32],
            activation: Activation::Tanh,
            pair_products: true,
            square_products: false,
        },
        ..Default::default()
    };
    fc.training.max_epochs = 300;
    let fitted = fit(&dataset, &fc, Some(device.as_ref()), &FitOptions::default())?;
    println!("surrogate: held-out RMSE {:.3}% of the output range", 100.0 * fitted.report.outputs[0].relative_rmse);

    // 3. the chain: layer 1 = two devices reading (x1, x2), layer 2 = one device reading both
    let autodiff = Device::flex().autodiff();
    autodiff.seed(1);
    let surrogate = fitted.surrogate.clone();
    let y_range = [-0.62, 0.62];
    // upstream range -> [-2, 2] V; index 2 is the reference line, mapped to +2 V
    let plan = |indices: Vec<usize>, upstream: [f64; 2]| {
        let gain = 4.0 / (upstream[1] - upstream[0]);
        let offset = -2.0 - gain * upstream[0];
        LayerPlan {
            indices,
            fan_in: 3,
            output: 0,
            gain,
            offset,
            a_lo: vec![-1.0; 3],
            a_hi: vec![1.0; 3],
            init_fraction: 1.0,
            reference: Some((2.0 - offset) / gain),
        }
    };
    let layers = vec![
        DeviceLayer::new(&plan(vec![0, 1, 2, 0, 1, 2], [0.0, 1.0]), surrogate.clone(), DType::F32, &autodiff),
        DeviceLayer::new(&plan(vec![0, 1, 2], y_range), surrogate, DType::F32, &autodiff),
    ];
    let chain = DeviceNetwork { layers, head: Head::Outputs };

    // XOR: +0.4 V where exactly one coordinate exceeds 1/2, else -0.4 V
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let points: Vec<[f64; 2]> = (0..256).map(|_| [rng.random::<f64>(), rng.random::<f64>()]).collect();
    let target = |p: &[f64; 2]| if (p[0] > 0.5) ^ (p[1] > 0.5) { 0.4 } else { -0.4 };
    let data = RegressionData {
        inputs: points.iter().flatten().copied().collect(),
        d_in: 2,
        targets: points.iter().map(target).collect(),
        d_out: 1,
    };
    let xs = Tensor::<2>::from_data(TensorData::new(data.inputs.clone(), [256, 2]), &autodiff);
    // full-batch Adam by mean squared error, cosine-decayed learning rate, A projected into [-1, 1]
    let cfg = RegressionConfig { epochs: 2000, batch_size: 256, learning_rate: 0.02, seed: 1 };
    let (chain, history) = train_regression(chain, &data, &cfg, &autodiff)?;
    for (step, mse) in history.iter().enumerate().step_by(400) {
        println!("step {step:>4}: mse {mse:.5}");
    }

    // 4. the trained chain on the real physics
    let a = chain.a_values();
    let run = |p: &[f64; 2]| -> anyhow::Result<f64> {
        let x = chain.layers[0].device_inputs_host(p, 1);
        let h0 = device.respond(&x[0..3], &a[0][0..3])?[0];
        let h1 = device.respond(&x[3..6], &a[0][3..6])?[0];
        let x = chain.layers[1].device_inputs_host(&[h0, h1], 1);
        Ok(device.respond(&x, &a[1])?[0])
    };
    let (mut right_sur, mut right_phys) = (0, 0);
    let y_sur = almost::surrogate::tensor_io::to_vec(
        chain.valid().activations(xs.clone().inner()).pop().unwrap_or_else(|| Tensor::zeros([256, 1], &Device::flex())),
    );
    for (i, p) in points.iter().enumerate() {
        let want = target(p) > 0.0;
        right_sur += usize::from((y_sur[i] > 0.0) == want);
        right_phys += usize::from((run(p)? > 0.0) == want);
    }
    println!("trained A: layer 1 {:?}, layer 2 {:?}", a[0], a[1]);
    println!("XOR accuracy on 256 points: surrogate chain {right_sur}/256, physical chain {right_phys}/256");
    Ok(())
}
