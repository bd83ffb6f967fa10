//! A synthetic image set for smoke tests and first runs without downloads: 8x8 images of
//! three classes (a horizontal bar, a vertical bar, a diagonal) at varying positions,
//! written as an IDX pool that [`crate::data::images::load`] reads like MNIST.

use std::path::Path;

use crate::data::idx::{IdxImages, encode_images, encode_labels};
use crate::error::{NetError, Result};

/// The pixels and labels of `count` bar images (class = index mod 3).
pub fn bars(count: usize) -> (IdxImages, Vec<u8>) {
    let mut pixels = Vec::with_capacity(count * 64);
    let mut labels = Vec::with_capacity(count);
    for i in 0..count {
        let class = (i % 3) as u8;
        let pos = (i * 7 / 3) % 6 + 1;
        let mut img = [0u8; 64];
        for k in 0..8 {
            let (r, c) = match class {
                0 => (pos, k),
                1 => (k, pos),
                _ => (k, (k + pos) % 8),
            };
            img[r * 8 + c] = 255;
        }
        pixels.extend_from_slice(&img);
        labels.push(class);
    }
    (IdxImages { count, rows: 8, cols: 8, pixels }, labels)
}

/// Writes `count` bar images into the folder `dir` (created) as `images-idx3-ubyte` and
/// `labels-idx1-ubyte`.
pub fn write_bars(dir: &Path, count: usize) -> Result<()> {
    let (images, labels) = bars(count);
    std::fs::create_dir_all(dir).map_err(|e| NetError::io(dir, e))?;
    let path = dir.join("images-idx3-ubyte");
    almost_sim::fsutil::write_atomic(&path, &encode_images(&images))?;
    let path = dir.join("labels-idx1-ubyte");
    almost_sim::fsutil::write_atomic(&path, &encode_labels(&labels))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_three_balanced_classes_of_one_bar_each() {
        let (images, labels) = bars(30);
        assert_eq!(labels.iter().filter(|l| **l == 2).count(), 10);
        for img in images.pixels.chunks(64) {
            assert_eq!(img.iter().filter(|p| **p == 255).count(), 8);
        }
    }
}
