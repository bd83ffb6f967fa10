//! The seed's question: can gradient descent recover the coefficients a_i of
//! E = exp(sum_i a_i A_i) from E and the generators A_i? (d = 4, k = 6, f64.)
//!
//! Then what happens when the a_i are not identifiable: a generator that is a combination of
//! others, and rotation generators whose exponential is periodic.
//!
//! Run: `cargo run --release --example matrix_recover`

use almost::net::matrix::recover::{RecoverOptions, recover};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};

fn row_major(m: &DMatrix<f64>) -> Vec<f64> {
    let d = m.nrows();
    (0..d * d).map(|i| m[(i / d, i % d)]).collect()
}

fn rel(a: &[f64], b: &[f64]) -> f64 {
    let err: f64 = a.iter().zip(b).map(|(p, q)| (p - q).powi(2)).sum::<f64>().sqrt();
    err / b.iter().map(|q| q * q).sum::<f64>().sqrt()
}

fn main() {
    let (d, k) = (4, 6);
    let mut rng = rand::rngs::StdRng::seed_from_u64(2024);
    let mut gens: Vec<DMatrix<f64>> = (0..k)
        .map(|_| {
            let m = DMatrix::<f64>::from_fn(d, d, |_, _| rng.random_range(-1.0..1.0));
            let n = m.lp_norm(1);
            m / n
        })
        .collect();
    let truth: Vec<f64> = (0..k).map(|_| rng.random_range(-1.0..1.0)).collect();
    let make_e =
        |gens: &[DMatrix<f64>], a: &[f64]| gens.iter().zip(a).fold(DMatrix::zeros(d, d), |s, (g, c)| s + g * *c).exp();

    println!("1. identifiable: {k} random 4x4 generators");
    let e = make_e(&gens, &truth);
    let flat: Vec<Vec<f64>> = gens.iter().map(row_major).collect();
    let r = recover(&flat, d, &row_major(&e), &vec![0.0; k], &RecoverOptions::default());
    println!("   truth     {truth:.6?}");
    println!("   recovered {:.6?}", r.a);
    println!(
        "   relative error {:.2e}, residual {:.2e}, {} iterations, {:.2} s",
        rel(&r.a, &truth),
        r.residual.sqrt(),
        r.iterations,
        r.seconds
    );

    println!("\n2. not identifiable: A_6 = A_1 + A_2 (a whole line of solutions)");
    gens[5] = &gens[0] + &gens[1];
    let e = make_e(&gens, &truth);
    let flat: Vec<Vec<f64>> = gens.iter().map(row_major).collect();
    let r = recover(&flat, d, &row_major(&e), &vec![0.0; k], &RecoverOptions::default());
    let null = [1.0, 1.0, 0.0, 0.0, 0.0, -1.0];
    let shift: f64 = r.a.iter().zip(&truth).zip(&null).map(|((p, q), n)| (p - q) * n).sum::<f64>() / 3.0;
    let along: Vec<f64> = truth.iter().zip(&null).map(|(q, n)| q + shift * n).collect();
    println!("   recovered {:.6?}", r.a);
    println!(
        "   residual {:.2e} (E is matched), but the coefficients differ from the truth by {:.2e}; \n   they equal truth + {shift:.4} x (1, 1, 0, 0, 0, -1) to {:.2e}",
        r.residual.sqrt(),
        rel(&r.a, &truth),
        rel(&r.a, &along)
    );

    println!("\n3. not identifiable: exp of a rotation generator is periodic");
    let mut j = DMatrix::<f64>::zeros(d, d);
    j[(0, 1)] = -1.0;
    j[(1, 0)] = 1.0;
    let angle = 0.5 + 2.0 * std::f64::consts::PI;
    let e = (&j * angle).exp();
    let r = recover(&[row_major(&j)], d, &row_major(&e), &[0.0], &RecoverOptions::default());
    println!(
        "   true angle {angle:.6}, recovered {:.6}: differs by {:.6} = 2 pi, with residual {:.2e}",
        r.a[0],
        angle - r.a[0],
        r.residual.sqrt()
    );
}
