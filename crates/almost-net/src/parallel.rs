//! Data-parallel training steps: one batch split over threads, gradients summed in order.

use burn::optim::GradientsParams;
use burn::tensor::{Int, Tensor};

use crate::loss::cross_entropy;
use crate::network::DeviceNetwork;

/// Loss, correct count and A-gradients of one batch, computed on `threads` threads, each
/// running forward and backward on a slice of the batch; the gradients of the slices are
/// summed in a fixed order, so the result does not depend on scheduling.
///
/// # Shapes
/// - x: `[batch, pixels]`, y: `[batch]`
pub fn data_parallel_step(
    network: &DeviceNetwork,
    x: Tensor<2>,
    y: Tensor<1, Int>,
    threads: usize,
) -> (Tensor<1>, Tensor<1, Int>, GradientsParams) {
    let [batch, width] = x.dims();
    let parts = threads.clamp(1, batch.max(1));
    let bounds: Vec<(usize, usize)> =
        (0..parts).map(|p| (p * batch / parts, (p + 1) * batch / parts)).filter(|(a, b)| b > a).collect();
    let results: Vec<(Tensor<1>, Tensor<1, Int>, GradientsParams)> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .iter()
            .map(|&(a, b)| {
                let (xs, ys, mut net) = (x.clone().slice([a..b, 0..width]), y.clone().slice(a..b), network.clone());
                scope.spawn(move || {
                    // each slice gets its own leaves for A (same parameter ids): graphs that
                    // share a leaf are merged by burn's autodiff, and two threads running
                    // backward on a merged graph race ("graph tape has already been consumed")
                    for layer in &mut net.layers {
                        layer.a = layer.a.clone().map(|t| t.detach().require_grad());
                    }
                    let (loss, correct) = cross_entropy(net.forward(xs), ys);
                    // the slice's share of the batch mean: the shares sum to the batch loss
                    let scaled = loss * ((b - a) as f64 / batch as f64);
                    let grads = GradientsParams::from_grads(scaled.backward(), &net);
                    (scaled.detach(), correct, grads)
                })
            })
            .collect();
        // a slice that panicked must not silently drop out of the batch's gradient
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut iter = results.into_iter();
    let (mut loss, mut correct, mut grads) = match iter.next() {
        Some(r) => r,
        None => return (Tensor::zeros([1], &x.device()), Tensor::zeros([1], &x.device()), GradientsParams::new()),
    };
    for (l, c, mut g) in iter {
        loss = loss + l;
        correct = correct + c;
        for layer in &network.layers {
            let id = layer.a.id;
            match (grads.remove::<2>(id), g.remove::<2>(id)) {
                (Some(p), Some(q)) => grads.register(id, p + q),
                (Some(p), None) | (None, Some(p)) => grads.register(id, p),
                (None, None) => {}
            }
        }
    }
    (loss, correct, grads)
}
