//! Repeated device calls answered once (`almost_net::physics::distinct`): on real device
//! solves, a layer call whose samples repeat their inputs (blank image patches) answers every
//! call bit for bit as the batched solve of all its calls did before (a lane's answer does not
//! depend on its companions), with the dataset's Tsitouras lanes and with the training
//! solver's Rodas4, and within solver tolerance of a solve alone; derivatives (sensitivity
//! lanes) to rounding.

use almost_net::physics::hardware::{Hardware, LayerCall, NominalHardware};
use almost_sim::devices::{DeviceConfig, OdeDeviceConfig};
use almost_sim::solver::{SolverMethod, SolverOverrides};

/// `samples` rows of `devices` devices with fan-in `n`: device j's input repeats with period
/// `1 + j % 4` (period 1: the same blank row for every sample), A in the device box.
fn repeating_call(samples: usize, devices: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = Vec::with_capacity(samples * devices * n);
    for s in 0..samples {
        for j in 0..devices {
            let phase = s % (1 + j % 4);
            x.extend((0..n).map(|i| if phase == 0 { 0.0 } else { 0.3 * ((phase * 7 + i * 3 + j) % 5) as f64 - 0.6 }));
        }
    }
    let a = (0..devices * n).map(|k| 0.4 * ((k * 5 % 7) as f64 / 3.0 - 1.0)).collect();
    (x, a)
}

/// Device j's points of `call`, every sample in order.
fn points_of<'a>(call: &'a LayerCall<'a>, j: usize) -> Vec<(&'a [f64], &'a [f64])> {
    let devices = call.devices();
    (0..call.calls() / devices)
        .map(|s| {
            let (_, x, a) = call.call(s * devices + j);
            (x, a)
        })
        .collect()
}

#[test]
fn repeated_inputs_get_the_very_answer_of_their_own_solve() {
    let n = 4;
    let config = DeviceConfig::DiodeNode(OdeDeviceConfig { fan_in: n, constants: Default::default() });
    let (samples, devices) = (40, 6);
    let (x, a) = repeating_call(samples, devices, n);
    let call = LayerCall { layer: 0, x: &x, fan_in: n, a: &a, n_a: n, output: 0 };
    for method in [None, Some(SolverMethod::Rodas4)] {
        let solver =
            SolverOverrides { method, rtol: method.map(|_| 1e-3), atol: method.map(|_| 1e-5), ..Default::default() };
        let hardware = NominalHardware { devices: vec![config.build(&solver).unwrap()] };
        let out = hardware.respond_layer(&call);
        // every call of a device in one batch, repeats and all
        let every: Vec<Vec<f64>> = (0..devices)
            .map(|j| {
                let points = points_of(&call, j);
                hardware.respond_points(0, j, &points).into_iter().map(|y| y.unwrap()[0]).collect()
            })
            .collect();
        for (c, y) in out.iter().enumerate() {
            let (j, xc, ac) = call.call(c);
            assert_eq!(y.map(f64::to_bits), Some(every[j][c / devices].to_bits()), "{method:?}: call {c}");
            let alone = hardware.respond(0, j, xc, ac).unwrap()[0];
            assert!((y.unwrap() - alone).abs() < 1e-4, "{method:?}: call {c}: {y:?} against {alone} alone");
        }
        if method.is_some() {
            // forward sensitivities do not take Rodas4
            continue;
        }
        let jacs = hardware.jacobian_layer(&call);
        let every: Vec<_> = (0..devices).map(|j| hardware.jacobian_points(0, j, &points_of(&call, j))).collect();
        for (c, jac) in jacs.into_iter().enumerate() {
            let j = c % devices;
            let want = every[j][c / devices].as_ref().unwrap().as_ref().unwrap();
            let got = jac.unwrap().unwrap();
            // sensitivity lanes agree with their batch to rounding, not bit for bit
            let close = |a: &[Vec<f64>], b: &[Vec<f64>]| {
                a.iter().flatten().zip(b.iter().flatten()).all(|(u, v)| (u - v).abs() <= 1e-12 * (1.0 + v.abs()))
            };
            assert_eq!(got.y, want.y, "call {c}");
            assert!(close(&got.dy_dx, &want.dy_dx) && close(&got.dy_da, &want.dy_da), "call {c}: {got:?} {want:?}");
        }
    }
}
