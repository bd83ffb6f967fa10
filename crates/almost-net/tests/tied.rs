//! A constant shared by every device (a conditioned device's last parameter): all copies
//! start equal at the middle of its range, the gradient each copy is given is the gradient
//! of the loss with respect to the shared constant (checked against finite differences),
//! and a training step keeps the copies equal.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use almost_net::training::train::cross_entropy;
use almost_surrogate::tensor_io::to_vec;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{DType, Device};

fn copies(net: &almost_net::DeviceNetwork) -> Vec<f64> {
    net.layers.iter().flat_map(|l| to_vec(l.a.val()).chunks(5).map(|r| r[4]).collect::<Vec<_>>()).collect()
}

#[test]
fn the_shared_constant_gets_its_true_gradient_and_stays_one_value() {
    let _serial = common::rng_lock();
    let tmp = tempfile::tempdir().unwrap();
    let sur = common::conditioned_surrogate(tmp.path(), 4);
    let cfg = common::net_config(&common::bars(tmp.path(), 150), &sur);
    let device = Device::flex().autodiff();
    let (net, x, y) = common::network_and_batch(&cfg, DType::F64, &device, 5, 24);
    assert!(copies(&net).iter().all(|v| *v == 0.25), "starts at the middle of [0, 0.5]");
    assert_eq!(net.tied_values(), BTreeMap::from([("eps".to_string(), 0.25)]));

    let loss_of = |n: &almost_net::DeviceNetwork| cross_entropy(n.forward(x.clone()), y.clone()).0;
    let grads = GradientsParams::from_grads(loss_of(&net).backward(), &net);
    let mut tied = net.tie_gradients(grads);
    let given: Vec<f64> = net
        .layers
        .iter()
        .flat_map(|l| to_vec(tied.remove::<2>(l.a.id).unwrap()).chunks(5).map(|r| r[4]).collect::<Vec<_>>())
        .collect();
    assert!(given.windows(2).all(|w| w[0] == w[1]), "every copy is given the same gradient");
    let h = 1e-6;
    let shifted = |d: f64| {
        let moved = net.clone().set_tied_values(&BTreeMap::from([("eps".to_string(), 0.25 + d)]));
        to_vec(loss_of(&moved))[0]
    };
    let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
    assert!(
        (fd - given[0]).abs() < 1e-5 * (1e-6 + fd.abs()),
        "dLoss/deps: finite differences {fd}, given {}",
        given[0]
    );

    // one Adam step on the tied gradients, then the projection: still one value, and it moved
    let grads = net.tie_gradients(GradientsParams::from_grads(loss_of(&net).backward(), &net));
    let mut optim = AdamConfig::new().init();
    let before: Vec<_> = net.layers.iter().map(|l| l.a.val().detach()).collect();
    let stepped = optim.step(0.01, net.clone(), grads).scale_steps(&before).project();
    let after = copies(&stepped);
    assert!(after.windows(2).all(|w| (w[0] - w[1]).abs() < 1e-15), "{after:?}");
    // Adam's first step is the learning rate times the sign, times the half-range 0.25
    assert!((after[0] - (0.25 - 0.01 * 0.25 * given[0].signum())).abs() < 1e-6, "{}", after[0]);
}
