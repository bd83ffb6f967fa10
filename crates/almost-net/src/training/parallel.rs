//! Data-parallel training steps: one batch split over threads, gradients summed in order.

use burn::optim::GradientsParams;
use burn::tensor::{Int, Tensor};

use crate::error::Result;
use crate::network::chain::DeviceNetwork;
use crate::training::loss::{Targets, head_loss};

/// Loss, correct count (when classifying) and A-gradients of one batch, computed on
/// `threads` threads, each running forward and backward on a slice of the batch; the
/// gradients of the slices are summed in a fixed order, so the result does not depend on
/// scheduling.
///
/// # Shapes
/// - x: `[batch, width]`; targets: `[batch]` labels or `[batch, outputs]` values
pub fn data_parallel(
    network: &DeviceNetwork,
    x: Tensor<2>,
    targets: &Targets,
    threads: usize,
) -> Result<(Tensor<1>, Option<Tensor<1, Int>>, GradientsParams)> {
    let [batch, width] = x.dims();
    let parts = threads.clamp(1, batch.max(1));
    let bounds: Vec<(usize, usize)> =
        (0..parts).map(|p| (p * batch / parts, (p + 1) * batch / parts)).filter(|(a, b)| b > a).collect();
    type Slice = Result<(Tensor<1>, Option<Tensor<1, Int>>, GradientsParams)>;
    let results: Vec<Slice> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .iter()
            .map(|&(a, b)| {
                let (xs, ts, mut net) = (x.clone().slice([a..b, 0..width]), targets.rows(a, b), network.clone());
                let device = x.device();
                scope.spawn(move || {
                    // each slice gets its own leaves for A (same parameter ids): graphs that
                    // share a leaf are merged by burn's autodiff, and two threads running
                    // backward on a merged graph race ("graph tape has already been consumed")
                    for layer in &mut net.layers {
                        layer.a = layer.a.clone().map(|t| t.detach().require_grad());
                    }
                    let last = net.activations(xs).pop().unwrap_or_else(|| Tensor::zeros([0, 0], &device));
                    let (loss, correct) = head_loss(&net.head, last, &ts)?;
                    // the slice's share of the batch mean: the shares sum to the batch loss
                    let scaled = loss * ((b - a) as f64 / batch as f64);
                    let grads = GradientsParams::from_grads(scaled.backward(), &net);
                    Ok((scaled.detach(), correct, grads))
                })
            })
            .collect();
        // a slice that panicked must not silently drop out of the batch's gradient
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut iter = results.into_iter();
    let (mut loss, mut correct, mut grads) = match iter.next() {
        Some(r) => r?,
        None => return Ok((Tensor::zeros([1], &x.device()), None, GradientsParams::new())),
    };
    for r in iter {
        let (l, c, mut g) = r?;
        loss = loss + l;
        correct = match (correct, c) {
            (Some(p), Some(q)) => Some(p + q),
            (p, q) => p.or(q),
        };
        for layer in &network.layers {
            let id = layer.a.id;
            match (grads.remove::<2>(id), g.remove::<2>(id)) {
                (Some(p), Some(q)) => grads.register(id, p + q),
                (Some(p), None) | (None, Some(p)) => grads.register(id, p),
                (None, None) => {}
            }
        }
    }
    Ok((loss, correct, grads))
}

/// [`data_parallel`] for a classifying network and class labels `y` (`[batch]`).
pub fn data_parallel_step(
    network: &DeviceNetwork,
    x: Tensor<2>,
    y: Tensor<1, Int>,
    threads: usize,
) -> Result<(Tensor<1>, Tensor<1, Int>, GradientsParams)> {
    let device = y.device();
    let (loss, correct, grads) = data_parallel(network, x, &Targets::Labels(y), threads)?;
    Ok((loss, correct.unwrap_or_else(|| Tensor::zeros([1], &device)), grads))
}
