//! Moving row-major f64 data in and out of burn tensors.

use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};

/// A `[rows, cols]` tensor of `dtype` on `device` from row-major f64 values.
pub fn matrix(data: &[f64], cols: usize, dtype: DType, device: &Device) -> Tensor<2> {
    let rows = data.len() / cols.max(1);
    let options = TensorCreationOptions::new(device.clone()).with_dtype(dtype);
    Tensor::from_data(TensorData::new(data.to_vec(), [rows, cols]), options)
}

/// Host f64 values of any float tensor, row-major.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap_or_default()
}

/// f64 values as f32 (the host kernel's precision).
pub fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// A tensor's values as host f32, row-major (read as they are when the tensor is f32).
pub fn to_f32<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.clone().detach().into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()
}
