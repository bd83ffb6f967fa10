//! `almost-train bench epoch --export DIR`: everything another framework needs to build the
//! same device network (benches/devnet_pytorch.py): per layer the wiring, the fixed input map,
//! A and the frozen surrogate's tensors; the readout; the training and test pixels; and the
//! logits almost computes for the first training images, to check the twin against.

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::{DType, Device};

use almost_net::data::images::ImageSet;
use almost_net::network::chain::Head;
use almost_net::network::config::ReadoutOrder;
use almost_net::{DeviceNetwork, NetConfig};
use almost_sim::npz::{NpyArray, NpyData, write_npz_with};
use almost_surrogate::tensor_io::to_vec;

/// Training images whose logits are exported for the check.
pub const CHECK_IMAGES: usize = 64;

fn f64s(shape: &[usize], data: Vec<f64>) -> NpyArray {
    NpyArray { shape: shape.to_vec(), data: NpyData::F64(data) }
}

/// Writes `dir/twin.npz` for `network` as built from `cfg` (its initial A) with the images of
/// `train_set` and `test_set`, and a `meta.json` entry describing the layers.
pub fn export(
    cfg: &NetConfig,
    network: &DeviceNetwork,
    train_set: &ImageSet,
    test_set: &ImageSet,
    dir: &Path,
) -> Result<()> {
    let device = Device::flex();
    let mut arrays: Vec<(String, NpyArray)> = Vec::new();
    let mut layers_meta = Vec::new();
    for (l, layer) in network.layers.iter().enumerate() {
        let meta = layer.meta.as_ref().context("a layer without its surrogate's description")?;
        let s = &layer.surrogate;
        let m = layer.devices();
        arrays.push((
            format!("l{l}.indices"),
            NpyArray {
                shape: vec![m, layer.fan_in],
                data: NpyData::U64(layer.indices.iter().map(|&i| i as u64).collect()),
            },
        ));
        let a = to_vec(layer.a.val());
        arrays.push((format!("l{l}.a"), f64s(&[m, a.len() / m.max(1)], a)));
        for (name, t) in [
            ("in_shift", s.in_shift.val()),
            ("in_scale", s.in_scale.val()),
            ("out_shift", s.out_shift.val()),
            ("out_scale", s.out_scale.val()),
        ] {
            let v = to_vec(t);
            arrays.push((format!("l{l}.{name}"), f64s(&[v.len()], v)));
        }
        for (k, dense) in s.body.layers.iter().enumerate() {
            let dims = dense.weight.val().dims();
            arrays.push((format!("l{l}.w{k}"), f64s(&dims, to_vec(dense.weight.val()))));
            let b = to_vec(dense.bias.val());
            arrays.push((format!("l{l}.b{k}"), f64s(&[b.len()], b)));
        }
        layers_meta.push(serde_json::json!({
            "devices": m, "fan_in": layer.fan_in, "gain": layer.gain, "offset": layer.offset,
            "reference": layer.reference, "output": layer.output, "n_x": meta.n_x, "n_a": meta.n_a,
            "n_y": meta.n_y, "a_lo": layer.a_lo, "a_hi": layer.a_hi,
            "architecture": meta.architecture, "dense_layers": s.body.layers.len(),
            "pairs": s.body.pairs, "squares": s.body.squares, "final_activation": s.body.final_activation,
            "activation": s.body.activation,
        }));
    }
    let Head::Classes(r) = &network.head else { anyhow::bail!("the twin exports classifying networks only") };
    let n = CHECK_IMAGES.min(train_set.len());
    let logits = check_logits(network, train_set, n, &device);
    arrays.push(("check_logits".into(), f64s(&[n, r.classes], logits)));
    let pixels = |set: &ImageSet| NpyArray {
        shape: vec![set.len(), set.rows * set.cols],
        data: NpyData::U8(set.pixels.clone()),
    };
    let labels = |set: &ImageSet| NpyArray {
        shape: vec![set.len()],
        data: NpyData::U64(set.labels.iter().map(|&v| u64::from(v)).collect()),
    };
    arrays.push(("train_pixels".into(), pixels(train_set)));
    arrays.push(("train_labels".into(), labels(train_set)));
    arrays.push(("test_pixels".into(), pixels(test_set)));
    arrays.push(("test_labels".into(), labels(test_set)));
    let meta = serde_json::json!({
        "layers": layers_meta,
        "readout": { "classes": r.classes, "per_class": r.per_class, "scale": r.scale,
                     "interleaved": r.order == ReadoutOrder::Interleaved },
        "training": { "batch_size": cfg.training.batch_size, "learning_rate": cfg.training.learning_rate,
                      "threads": cfg.training.threads },
        "rows": train_set.rows, "cols": train_set.cols,
    });
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let refs: Vec<(&str, &NpyArray)> = arrays.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let json = serde_json::to_vec_pretty(&meta)?;
    write_npz_with(&dir.join("twin.npz"), &refs, &[("meta.json", &json)])?;
    Ok(())
}

/// almost's logits (f32 backend) for the first `n` training images.
fn check_logits(network: &DeviceNetwork, set: &ImageSet, n: usize, device: &Device) -> Vec<f64> {
    let idx: Vec<usize> = (0..n).collect();
    let x = almost_net::data::batch::images(set, &idx, None, DType::F32, device);
    to_vec(network.forward(x))
}
