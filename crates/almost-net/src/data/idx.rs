//! The IDX format of MNIST-style image and label files, read with errors instead of panics.
//!
//! ```text
//! images: 0x00000803, count, rows, cols (big-endian u32), then count*rows*cols bytes
//! labels: 0x00000801, count, then count bytes
//! ```
//! Files may be gzip-compressed (`.gz`). The magic number, the counts and the exact length
//! (no truncation, no trailing bytes) are all checked.

use std::io::Read;
use std::path::Path;

use crate::error::{NetError, Result};

/// Images of one IDX file.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// Pixels, image after image, row-major.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[i * n..(i + 1) * n]
    }
}

fn read_all(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| NetError::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(|e| NetError::BadData {
            path: path.into(),
            message: format!("gzip stream is corrupt or truncated: {e}"),
        })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Reads an IDX image file (magic 0x00000803).
pub fn read_images(path: &Path) -> Result<IdxImages> {
    let bytes = read_all(path)?;
    let bad = |m: String| NetError::BadData { path: path.into(), message: m };
    if bytes.len() < 16 {
        return Err(bad(format!("{} bytes: too short for an IDX image header (16 bytes)", bytes.len())));
    }
    let magic = be_u32(&bytes, 0);
    if magic != 0x0803 {
        return Err(bad(format!("magic number {magic:#010x} is not 0x00000803 (unsigned-byte images)")));
    }
    let (count, rows, cols) = (be_u32(&bytes, 4) as usize, be_u32(&bytes, 8) as usize, be_u32(&bytes, 12) as usize);
    let expected = count
        .checked_mul(rows)
        .and_then(|v| v.checked_mul(cols))
        .and_then(|v| v.checked_add(16))
        .ok_or_else(|| bad(format!("header claims {count} x {rows} x {cols} pixels: too large")))?;
    if bytes.len() != expected {
        let what = if bytes.len() < expected { "truncated" } else { "has trailing bytes" };
        return Err(bad(format!(
            "{what}: header says {count} images of {rows}x{cols} = {expected} bytes, file has {}",
            bytes.len()
        )));
    }
    Ok(IdxImages { count, rows, cols, pixels: bytes[16..].to_vec() })
}

/// Reads an IDX label file (magic 0x00000801); every label must be below `classes`.
pub fn read_labels(path: &Path, classes: usize) -> Result<Vec<u8>> {
    let bytes = read_all(path)?;
    let bad = |m: String| NetError::BadData { path: path.into(), message: m };
    if bytes.len() < 8 {
        return Err(bad(format!("{} bytes: too short for an IDX label header (8 bytes)", bytes.len())));
    }
    let magic = be_u32(&bytes, 0);
    if magic != 0x0801 {
        return Err(bad(format!("magic number {magic:#010x} is not 0x00000801 (unsigned-byte labels)")));
    }
    let count = be_u32(&bytes, 4) as usize;
    if bytes.len() != 8 + count {
        let what = if bytes.len() < 8 + count { "truncated" } else { "has trailing bytes" };
        return Err(bad(format!("{what}: header says {count} labels = {} bytes, file has {}", 8 + count, bytes.len())));
    }
    let labels = bytes[8..].to_vec();
    if let Some(i) = labels.iter().position(|&l| usize::from(l) >= classes) {
        return Err(bad(format!("label {i} is {}, but there are {classes} classes", labels[i])));
    }
    Ok(labels)
}

/// IDX bytes of images (for tests and converters).
pub fn encode_images(images: &IdxImages) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + images.pixels.len());
    for v in [0x0803u32, images.count as u32, images.rows as u32, images.cols as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&images.pixels);
    out
}

/// IDX bytes of labels.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&0x0801u32.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images() -> IdxImages {
        IdxImages { count: 3, rows: 2, cols: 2, pixels: (0..12).collect() }
    }

    #[test]
    fn round_trip_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.idx");
        std::fs::write(&p, encode_images(&images())).unwrap();
        assert_eq!(read_images(&p).unwrap(), images());
        let gz = dir.path().join("i.idx.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &encode_images(&images())).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert_eq!(read_images(&gz).unwrap().image(2), &[8, 9, 10, 11]);
        let l = dir.path().join("l.idx");
        std::fs::write(&l, encode_labels(&[1, 0, 9])).unwrap();
        assert_eq!(read_labels(&l, 10).unwrap(), vec![1, 0, 9]);
    }

    #[test]
    fn truncated_padded_and_wrong_magic_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.idx");
        let bytes = encode_images(&images());
        std::fs::write(&p, &bytes[..bytes.len() - 1]).unwrap();
        let err = read_images(&p).unwrap_err().to_string();
        assert!(err.contains("i.idx") && err.contains("truncated") && err.contains("28 bytes"), "{err}");
        std::fs::write(&p, [bytes.clone(), vec![0]].concat()).unwrap();
        assert!(read_images(&p).unwrap_err().to_string().contains("trailing bytes"));
        std::fs::write(&p, encode_labels(&[1; 12])).unwrap();
        assert!(read_images(&p).unwrap_err().to_string().contains("magic number"));
        let l = dir.path().join("l.idx");
        std::fs::write(&l, encode_labels(&[1, 12])).unwrap();
        assert!(read_labels(&l, 10).unwrap_err().to_string().contains("label 1 is 12"));
        std::fs::write(&l, &encode_labels(&[1, 2, 3])[..9]).unwrap();
        assert!(read_labels(&l, 10).unwrap_err().to_string().contains("truncated"));
        std::fs::write(&p, [0x1f, 0x8b, 1, 2, 3]).unwrap();
        assert!(read_images(&p).unwrap_err().to_string().contains("gzip"));
    }
}
