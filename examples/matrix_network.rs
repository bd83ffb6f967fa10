//! A small matrix-valued network on a task where the matrix structure matters: is a
//! symmetric 3x3 matrix positive definite?
//!
//! Layer 1 has four neurons Y_j = exp(w_j X) (matrix exponential of a scalar multiple of the
//! input), layer 2 one neuron Z = sum_j v_j Y_j, and the score is trace(Z). Every neuron sees
//! multiples of the same matrix, so the score is sum over eigenvalues of sum_j v_j e^(w_j
//! lambda): a spectral function, which is what positive definiteness is. Trained by Adam on
//! the logistic loss; the loss curve goes to runs/matrix-network/loss.svg.
//!
//! Run: `cargo run --release --example matrix_network`

use almost::net::matrix::{MatrixActivation, MatrixLayer};
use almost::surrogate::report::EpochRecord;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};

#[derive(Module, Debug)]
struct SpectralNet {
    first: MatrixLayer,
    second: MatrixLayer,
}

impl SpectralNet {
    /// # Shapes
    /// - x: `[batch, 1, 3, 3]` -> scores `[batch]`
    fn forward(&self, x: Tensor<4>) -> anyhow::Result<Tensor<1>> {
        let z = self.second.forward(self.first.forward(x)?)?;
        let [batch, _, d, _] = z.dims();
        let eye = Tensor::<2>::eye(d, &z.device()).cast(z.dtype()).reshape([1, 1, d, d]);
        Ok((z * eye).sum_dim(3).sum_dim(2).reshape([batch]))
    }
}

/// Symmetric matrices with a random orientation; half positive definite.
fn sample(n: usize, rng: &mut impl Rng) -> (Vec<f64>, Vec<f64>) {
    let (mut data, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let pd = i % 2 == 0;
        let mut lambda: Vec<f64> = (0..3).map(|_| rng.random_range(0.05..1.5)).collect();
        if !pd {
            let k = rng.random_range(0..3);
            lambda[k] = -rng.random_range(0.05..1.0);
        }
        let q = DMatrix::<f64>::from_fn(3, 3, |_, _| rng.random_range(-1.0..1.0)).qr().q();
        let x = &q * DMatrix::from_diagonal(&DVector::from_vec(lambda)) * q.transpose();
        data.extend((0..9).map(|k| x[(k / 3, k % 3)]));
        labels.push(if pd { 1.0 } else { -1.0 });
    }
    (data, labels)
}

fn main() -> anyhow::Result<()> {
    let device = Device::flex().autodiff();
    device.seed(7);
    let opts = TensorCreationOptions::new(device.clone()).with_dtype(DType::F64);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let (train_x, train_y) = sample(512, &mut rng);
    let (test_x, test_y) = sample(512, &mut rng);
    let tensors = |x: &[f64], y: &[f64]| {
        (
            Tensor::<4>::from_data(TensorData::new(x.to_vec(), [y.len(), 1, 3, 3]), opts.clone()),
            Tensor::<1>::from_data(TensorData::new(y.to_vec(), [y.len()]), opts.clone()),
        )
    };
    let (xt, yt) = tensors(&train_x, &train_y);
    let (xe, ye) = tensors(&test_x, &test_y);
    let mut net = SpectralNet {
        first: MatrixLayer::new(1, 4, 3, MatrixActivation::Expm, 2.0, DType::F64, &device),
        second: MatrixLayer::new(4, 1, 3, MatrixActivation::Identity, 0.5, DType::F64, &device),
    };
    let mut optim = AdamConfig::new().init();
    let accuracy = |scores: Tensor<1>, labels: &Tensor<1>| -> f64 {
        let right = (scores * labels.clone()).greater_elem(0.0).int().sum().into_scalar::<i64>();
        right as f64 / labels.dims()[0] as f64
    };
    let mut history = Vec::new();
    for epoch in 1..=300 {
        // logistic loss log(1 + exp(-y s))
        let s = net.forward(xt.clone())?;
        let loss = burn::tensor::activation::softplus(-(s.clone() * yt.clone()), 1.0).mean();
        let train_loss = loss.clone().into_scalar::<f64>();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(0.02, net, grads);
        let valid = net.valid();
        let se = valid.forward(xe.clone().inner())?;
        let test_loss =
            burn::tensor::activation::softplus(-(se.clone() * ye.clone().inner()), 1.0).mean().into_scalar::<f64>();
        history.push(EpochRecord { epoch, train_loss, val_loss: test_loss, learning_rate: 0.02 });
        if epoch % 50 == 0 || epoch == 1 {
            println!(
                "epoch {epoch:>3}: train loss {train_loss:.4}, test loss {test_loss:.4}, test accuracy {:.1}%",
                100.0 * accuracy(se, &ye.clone().inner())
            );
        }
    }
    let w = almost::surrogate::tensor_io::to_vec(net.first.weight.val());
    let v = almost::surrogate::tensor_io::to_vec(net.second.weight.val());
    println!("learned w = {w:.3?}, v = {v:.3?}: score = sum over eigenvalues of sum_j v_j exp(w_j lambda)");
    std::fs::create_dir_all("runs/matrix-network")?;
    almost::surrogate::plots::loss_curve(
        std::path::Path::new("runs/matrix-network/loss.svg"),
        "matrix network",
        &history,
    )?;
    println!("loss curve: runs/matrix-network/loss.svg");
    Ok(())
}
