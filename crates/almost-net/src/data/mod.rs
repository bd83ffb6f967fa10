//! Images for device networks: MNIST-format files read with errors, not panics ([`idx`]), a
//! folder loaded and split with a seed ([`images`]), batches as tensors ([`batch`]), and a
//! synthetic set of bars for smoke tests ([`synthetic`]).

pub mod batch;
pub mod idx;
pub mod images;
pub mod synthetic;
