//! Images for device networks: MNIST-format files read with errors, not panics ([`idx`]), a
//! folder loaded and split with a seed ([`images`]), and batches as tensors ([`batch`]).

pub mod batch;
pub mod idx;
pub mod images;
