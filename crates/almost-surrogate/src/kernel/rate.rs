//! The multiply-add rate of the host kernel's matrix product: the floor a benchmark divides
//! a network's work by.

use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};

/// Multiply-adds per second of `threads` threads each multiplying two `side` x `side` f32
/// matrices with faer's product (the one the host kernel calls; AVX-512 where the CPU has
/// it), the median of `repeats` timings, each the slowest thread's.
pub fn product_rate(threads: usize, side: usize, repeats: usize) -> f64 {
    let one = || {
        let a = Mat::<f32>::from_fn(side, side, |i, j| ((i * 7 + j) % 13) as f32 * 0.1 - 0.6);
        let b = Mat::<f32>::from_fn(side, side, |i, j| ((i + j * 3) % 11) as f32 * 0.1 - 0.5);
        let mut c = Mat::<f32>::zeros(side, side);
        matmul(c.as_mut(), Accum::Replace, a.as_ref(), b.as_ref(), 1.0f32, Par::Seq); // warm-up
        let t = Instant::now();
        matmul(c.as_mut(), Accum::Replace, a.as_ref(), b.as_ref(), 1.0f32, Par::Seq);
        std::hint::black_box(&c);
        t.elapsed().as_secs_f64()
    };
    rate_of(threads, side, repeats, one)
}

/// Multiply-adds per second of `threads` threads each running `one` (a timed product of two
/// `side` x `side` matrices, returning its seconds): the median of `repeats` rounds, each
/// timed by its slowest thread.
pub fn rate_of(threads: usize, side: usize, repeats: usize, one: impl Fn() -> f64 + Sync) -> f64 {
    let mut rates: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let slowest = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads.max(1)).map(|_| s.spawn(&one)).collect();
                handles.into_iter().map(|h| h.join().unwrap_or(f64::NAN)).fold(0.0, f64::max)
            });
            (threads.max(1) * side * side * side) as f64 / slowest
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}
