//! Image batches as tensors, with optional random-shift augmentation.

use burn::tensor::{DType, Device, Int, Tensor, TensorCreationOptions, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::data::images::ImageSet;

/// Pixels of the images at `indices` scaled to [0, 1], each shifted by a random offset of at
/// most `max_shift` pixels (zero fill) when `rng` is given.
///
/// # Shapes
/// - output: `[indices.len(), rows * cols]`
pub fn images(
    set: &ImageSet,
    indices: &[usize],
    shift: Option<(&mut ChaCha8Rng, usize)>,
    dtype: DType,
    device: &Device,
) -> Tensor<2> {
    let data = host_images(set, indices, shift);
    let options = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
    Tensor::from_data(TensorData::new(data, [indices.len(), set.pixels_per_image()]), options)
}

/// [`images`] on the host: row-major `[indices.len(), rows * cols]`.
pub fn host_images(set: &ImageSet, indices: &[usize], shift: Option<(&mut ChaCha8Rng, usize)>) -> Vec<f32> {
    let n = set.pixels_per_image();
    let (rows, cols) = (set.rows as isize, set.cols as isize);
    let mut data = vec![0f32; indices.len() * n];
    let mut shift = shift;
    for (b, &i) in indices.iter().enumerate() {
        let img = &set.pixels[i * n..(i + 1) * n];
        let out = &mut data[b * n..(b + 1) * n];
        let (dr, dc) = match shift.as_mut() {
            Some((rng, m)) if *m > 0 => {
                let m = *m as isize;
                (rng.random_range(-(m as i64)..=m as i64) as isize, rng.random_range(-(m as i64)..=m as i64) as isize)
            }
            _ => (0, 0),
        };
        for r in 0..rows {
            let sr = r - dr;
            if sr < 0 || sr >= rows {
                continue;
            }
            for c in 0..cols {
                let sc = c - dc;
                if sc >= 0 && sc < cols {
                    out[(r * cols + c) as usize] = f32::from(img[(sr * cols + sc) as usize]) / 255.0;
                }
            }
        }
    }
    data
}

/// Labels at `indices` as an integer tensor.
///
/// # Shapes
/// - output: `[indices.len()]`
pub fn labels(set: &ImageSet, indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = indices.iter().map(|&i| i64::from(set.labels[i])).collect();
    Tensor::from_data(TensorData::new(v, [indices.len()]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn shift_moves_pixels_and_fills_zero() {
        let set = ImageSet { rows: 2, cols: 2, pixels: vec![255, 0, 0, 0], labels: vec![3] };
        let device = Device::flex();
        let plain = images(&set, &[0], None, DType::F32, &device).into_data().convert::<f32>().try_to_vec::<f32>();
        assert_eq!(plain.ok(), Some(vec![1.0, 0.0, 0.0, 0.0]));
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let v = images(&set, &[0], Some((&mut rng, 1)), DType::F32, &device)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            assert!(v.iter().sum::<f32>() <= 1.0);
            seen.insert(v.iter().position(|&p| p == 1.0));
        }
        assert!(seen.len() >= 3, "{seen:?}");
    }
}
