//! Repeated device calls answered once, and the others grouped into batched solves
//! ([`per_device_runs`]). Within one layer call, the samples of a device that see the very
//! same inputs (bit for bit) get the very same answer, since a device's response is a
//! function of its layer, its index, its inputs and its A alone (the [`Hardware`] contract;
//! read noise is a function of the inputs too). Image data repeat: a blank 4x4 patch is the
//! same for every image whose digit leaves it blank, and the next layer's devices that only
//! see blank patches repeat in turn. Measured on the first test images in batches of 25: the
//! digit network solves 48 % of its first layer's calls and 63 % of all; the five-layer
//! Fashion-MNIST network 78 % and 89 %.
//!
//! [`Hardware`]: crate::physics::hardware::Hardware

use rayon::prelude::*;

use almost_sim::ode::BATCH;

use crate::physics::layer_call::LayerCall;

/// The distinct input rows of one device over the samples of a layer call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Distinct {
    /// The sample of each distinct row, in the order of first occurrence.
    pub firsts: Vec<usize>,
    /// For every sample, the index of its row in `firsts`.
    pub of_sample: Vec<usize>,
}

/// Devices whose rows one task goes through together (sample by sample, so that it reads
/// the layer call's memory in order).
const DEVICES_PER_TASK: usize = 32;

/// The distinct input rows of every device of a layer call `x` (`[samples, devices, fan_in]`
/// row-major), compared bit for bit (so 0.0 and -0.0 are two rows, and a NaN row equals
/// the same NaN row); in parallel over groups of devices.
pub fn distinct_layer(x: &[f64], devices: usize, fan_in: usize) -> Vec<Distinct> {
    distinct_layer_by(x, devices, fan_in, hash)
}

/// How many distinct solves a layer call `x` asks for: the distinct input rows of each
/// device ([`distinct_layer`]), summed over the devices.
pub fn distinct_calls(x: &[f64], devices: usize, fan_in: usize) -> usize {
    distinct_layer(x, devices, fan_in).iter().map(|d| d.firsts.len()).sum()
}

/// [`distinct_layer`] with the rows hashed by `hash`: per device an open-addressing table
/// (linear probing, at most half full) of the distinct rows found so far.
fn distinct_layer_by(x: &[f64], devices: usize, fan_in: usize, hash: fn(&[f64]) -> u64) -> Vec<Distinct> {
    if devices == 0 {
        return Vec::new();
    }
    let samples = x.len() / (devices * fan_in).max(1);
    let bits = (2 * samples).next_power_of_two().max(2).trailing_zeros();
    let cap = 1usize << bits;
    let row = |s: usize, j: usize| &x[(s * devices + j) * fan_in..(s * devices + j + 1) * fan_in];
    let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
    let groups: Vec<Vec<Distinct>> = (0..devices.div_ceil(DEVICES_PER_TASK))
        .into_par_iter()
        .map(|g| {
            let js = g * DEVICES_PER_TASK..((g + 1) * DEVICES_PER_TASK).min(devices);
            let width = js.len();
            // slot -> (hash, index into firsts); usize::MAX marks a free slot
            let mut table = vec![(0u64, usize::MAX); width * cap];
            let mut out: Vec<Distinct> =
                (0..width).map(|_| Distinct { firsts: Vec::new(), of_sample: Vec::with_capacity(samples) }).collect();
            for s in 0..samples {
                for (w, j) in js.clone().enumerate() {
                    let r = row(s, j);
                    let h = hash(r);
                    let (slots, d) = (&mut table[w * cap..(w + 1) * cap], &mut out[w]);
                    // the high bits are the best mixed
                    let mut i = (h >> (64 - bits)) as usize & (cap - 1);
                    let k = loop {
                        let (hk, k) = slots[i];
                        if k == usize::MAX {
                            slots[i] = (h, d.firsts.len());
                            d.firsts.push(s);
                            break d.firsts.len() - 1;
                        }
                        if hk == h && same(row(d.firsts[k], j), r) {
                            break k;
                        }
                        i = (i + 1) & (cap - 1);
                    };
                    d.of_sample.push(k);
                }
            }
            out
        })
        .collect();
    groups.into_iter().flatten().collect()
}

/// `answer(device, points)` for every call of `call`, in the call's order (`None` where an
/// answer came back short). A device's samples with the very same inputs are asked once
/// ([`distinct_layer`]) and a clone of its answer (a failure included) given to each. Each
/// device's distinct calls go in runs of at most [`BATCH`] (runs of one device equally long),
/// the runs in parallel (rayon). Which calls share a run depends only on the layer call, so
/// the answers do not depend on the thread count.
pub(crate) fn per_device_runs<T: Send + Clone>(
    call: &LayerCall<'_>,
    answer: impl Fn(usize, &[(&[f64], &[f64])]) -> Vec<T> + Sync,
) -> Vec<Option<T>> {
    let devices = call.devices();
    if devices == 0 {
        return Vec::new();
    }
    let distinct = distinct_layer(call.x, devices, call.fan_in);
    // (device, first distinct row, rows) of every run
    let work: Vec<(usize, usize, usize)> = distinct
        .iter()
        .enumerate()
        .flat_map(|(j, d)| {
            let n = d.firsts.len();
            let runs = n.div_ceil(BATCH).max(1);
            let len = n.div_ceil(runs).max(1);
            (0..n).step_by(len).map(move |first| (j, first, len.min(n - first)))
        })
        .collect();
    let pieces: Vec<Vec<T>> = work
        .par_iter()
        .map(|&(j, first, len)| {
            let points: Vec<(&[f64], &[f64])> = distinct[j].firsts[first..first + len]
                .iter()
                .map(|&s| {
                    let (_, x, a) = call.call(s * devices + j);
                    (x, a)
                })
                .collect();
            answer(j, &points)
        })
        .collect();
    // each answer into the slot of its row's first sample, then a copy into every repeat
    let mut slots: Vec<Option<T>> = (0..call.calls()).map(|_| None).collect();
    for (&(j, first, _), piece) in work.iter().zip(pieces) {
        for (&s, y) in distinct[j].firsts[first..].iter().zip(piece) {
            slots[s * devices + j] = Some(y);
        }
    }
    for (j, d) in distinct.iter().enumerate() {
        for (s, &k) in d.of_sample.iter().enumerate() {
            if d.firsts[k] != s {
                slots[s * devices + j] = slots[d.firsts[k] * devices + j].clone();
            }
        }
    }
    slots
}

/// A row's bits mixed into 64: four multiply-xor chains side by side (so that they overlap),
/// folded together at the end.
fn hash(row: &[f64]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut acc = [row.len() as u64, 1, 2, 3];
    for chunk in row.chunks(4) {
        for (a, v) in acc.iter_mut().zip(chunk) {
            *a = (*a ^ v.to_bits()).wrapping_mul(K);
        }
    }
    acc.iter().fold(0u64, |h, &a| (h.rotate_left(23) ^ a).wrapping_mul(K))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rows[s][j]` as a layer call's `x`.
    fn layer(rows: &[Vec<Vec<f64>>]) -> Vec<f64> {
        rows.iter().flatten().flatten().copied().collect()
    }

    #[test]
    fn equal_rows_share_one_entry_and_every_sample_finds_its_own() {
        let one = |a: f64, b: f64| vec![vec![a, b], vec![b, a]];
        // device 0 sees these; device 1 the same numbers swapped
        let rows: Vec<Vec<Vec<f64>>> = vec![
            one(0.0, 0.0),
            one(0.5, 1.0),
            one(0.0, 0.0),
            one(-0.0, 0.0),
            one(f64::NAN, 1.0),
            one(0.5, 1.0),
            one(f64::NAN, 1.0),
        ];
        let x = layer(&rows);
        let d = distinct_layer(&x, 2, 2);
        assert_eq!(d.len(), 2);
        for dj in &d {
            assert_eq!(dj.firsts, vec![0, 1, 3, 4]);
            assert_eq!(dj.of_sample, vec![0, 1, 0, 2, 3, 1, 3]);
        }
        assert_eq!(distinct_calls(&x, 2, 2), 8);
    }

    #[test]
    fn rows_that_share_a_hash_are_still_told_apart_and_groups_keep_their_devices() {
        // every row hashes alike here: the probing must keep them apart; 70 devices span
        // three groups, device j repeating with period 1 + j % 7
        let (samples, devices) = (50, 70);
        let rows: Vec<Vec<Vec<f64>>> =
            (0..samples).map(|s| (0..devices).map(|j| vec![(s % (1 + j % 7)) as f64, j as f64]).collect()).collect();
        let x = layer(&rows);
        for d in [distinct_layer_by(&x, devices, 2, |_| 42), distinct_layer(&x, devices, 2)] {
            for (j, dj) in d.iter().enumerate() {
                let period = 1 + j % 7;
                assert_eq!(dj.firsts, (0..period).collect::<Vec<_>>(), "device {j}");
                for (s, &k) in dj.of_sample.iter().enumerate() {
                    assert_eq!(k, s % period, "device {j} sample {s}");
                }
            }
        }
    }
}
