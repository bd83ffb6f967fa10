//! `.npy` arrays inside `.npz` zip archives, as numpy's `np.load` reads and writes them.
//!
//! Only what datasets need: little-endian `f8`/`f4` (read as f64), `u1`, `i8`/`u8`/`i4`
//! (read as u64), C order. Every malformation (bad magic, truncated data, unknown dtype,
//! shape that does not match the data) is an error naming the file and the array.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;

use crate::error::{Result, SimError};
use crate::fsutil::write_atomic;

/// The element data of an array.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// 64-bit floats (`<f8`; `<f4` is widened on read).
    F64(Vec<f64>),
    /// Bytes (`|u1`).
    U8(Vec<u8>),
    /// 64-bit unsigned integers (`<u8`; `<i8`/`<i4` read if non-negative).
    U64(Vec<u64>),
}

/// Borrowed element data of an array, for writing without copying.
#[derive(Clone, Copy, Debug)]
pub enum NpyView<'a> {
    /// 64-bit floats.
    F64(&'a [f64]),
    /// Bytes.
    U8(&'a [u8]),
    /// 64-bit unsigned integers.
    U64(&'a [u64]),
}

impl NpyView<'_> {
    fn descr(self) -> &'static str {
        match self {
            Self::F64(_) => "<f8",
            Self::U8(_) => "|u1",
            Self::U64(_) => "<u8",
        }
    }

    fn bytes(self) -> usize {
        match self {
            Self::F64(v) => v.len() * 8,
            Self::U8(v) => v.len(),
            Self::U64(v) => v.len() * 8,
        }
    }
}

impl NpyData {
    /// The elements, borrowed.
    pub fn view(&self) -> NpyView<'_> {
        match self {
            Self::F64(v) => NpyView::F64(v),
            Self::U8(v) => NpyView::U8(v),
            Self::U64(v) => NpyView::U64(v),
        }
    }
}

/// Writes one array as `.npy` (format version 1.0) into `w`, converting in small blocks.
pub fn write_npy(w: &mut impl Write, shape: &[usize], data: NpyView) -> std::io::Result<()> {
    let shape = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", data.descr());
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    w.write_all(b"\x93NUMPY\x01\x00")?;
    w.write_all(&(header.len() as u16).to_le_bytes())?;
    w.write_all(header.as_bytes())?;
    match data {
        NpyView::F64(v) => write_words(w, v.iter().map(|x| x.to_le_bytes())),
        NpyView::U64(v) => write_words(w, v.iter().map(|x| x.to_le_bytes())),
        NpyView::U8(v) => w.write_all(v),
    }
}

/// Writes 8-byte words through a 32 KiB block (no whole-array copy).
fn write_words(w: &mut impl Write, mut words: impl Iterator<Item = [u8; 8]>) -> std::io::Result<()> {
    let mut block = [0u8; 8 * 4096];
    loop {
        let mut n = 0;
        for (dst, src) in block.chunks_exact_mut(8).zip(words.by_ref()) {
            dst.copy_from_slice(&src);
            n += 1;
        }
        if n == 0 {
            return Ok(());
        }
        w.write_all(&block[..8 * n])?;
    }
}

/// An n-dimensional array in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Extent of each axis.
    pub shape: Vec<usize>,
    /// Elements, row-major.
    pub data: NpyData,
}

impl NpyArray {
    /// A 2-D f64 array.
    pub fn f64_2d(rows: usize, cols: usize, data: Vec<f64>) -> Self {
        Self { shape: vec![rows, cols], data: NpyData::F64(data) }
    }

    /// Encodes the array as `.npy` (format version 1.0).
    pub fn to_npy(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.data.view().bytes());
        // writing into a Vec cannot fail
        let _ = write_npy(&mut out, &self.shape, self.data.view());
        out
    }

    /// Decodes `.npy` bytes; `what` names the array in errors.
    pub fn from_npy(bytes: &[u8], what: &str) -> std::result::Result<Self, String> {
        if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
            return Err(format!("array '{what}': not an .npy array (bad magic)"));
        }
        let (header_len, start) = match bytes[6] {
            1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
            2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
            v => return Err(format!("array '{what}': unsupported .npy version {v}")),
        };
        let header = bytes
            .get(start..start + header_len)
            .and_then(|h| std::str::from_utf8(h).ok())
            .ok_or_else(|| format!("array '{what}': truncated or unreadable header"))?;
        let descr = dict_value(header, "descr").ok_or_else(|| format!("array '{what}': header has no descr"))?;
        let descr = descr.trim_matches(|c| c == '\'' || c == '"');
        if dict_value(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
            return Err(format!("array '{what}': Fortran order is not supported"));
        }
        let shape_text = dict_value(header, "shape").ok_or_else(|| format!("array '{what}': header has no shape"))?;
        let shape = shape_text
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<usize>().map_err(|_| format!("array '{what}': bad shape {shape_text}")))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let count: usize = shape.iter().product();
        let body = &bytes[start + header_len..];
        let item = match descr {
            "<f8" | "<i8" | "<u8" => 8,
            "<f4" | "<i4" => 4,
            "|u1" | "<u1" | "|b1" => 1,
            other => return Err(format!("array '{what}': unsupported dtype {other}")),
        };
        if body.len() != count * item {
            return Err(format!(
                "array '{what}': truncated or padded data: shape {shape:?} needs {} bytes, found {}",
                count * item,
                body.len()
            ));
        }
        let chunks8 = || body.chunks_exact(8).map(|c| <[u8; 8]>::try_from(c).unwrap_or_default());
        let chunks4 = || body.chunks_exact(4).map(|c| <[u8; 4]>::try_from(c).unwrap_or_default());
        let data = match descr {
            "<f8" => NpyData::F64(chunks8().map(f64::from_le_bytes).collect()),
            "<f4" => NpyData::F64(chunks4().map(|c| f64::from(f32::from_le_bytes(c))).collect()),
            "<u8" => NpyData::U64(chunks8().map(u64::from_le_bytes).collect()),
            "<i8" => NpyData::U64(
                chunks8()
                    .map(|c| {
                        u64::try_from(i64::from_le_bytes(c)).map_err(|_| format!("array '{what}': negative index"))
                    })
                    .collect::<std::result::Result<_, _>>()?,
            ),
            "<i4" => NpyData::U64(
                chunks4()
                    .map(|c| {
                        u64::try_from(i32::from_le_bytes(c)).map_err(|_| format!("array '{what}': negative index"))
                    })
                    .collect::<std::result::Result<_, _>>()?,
            ),
            _ => NpyData::U8(body.to_vec()),
        };
        Ok(Self { shape, data })
    }
}

/// The raw text of `key`'s value in a Python dict literal header.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = header[at + key.len() + 2..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find(',').unwrap_or(rest.len()) };
    Some(rest[..end].trim())
}

/// Writes named arrays as an uncompressed `.npz`, atomically.
pub fn write_npz(path: &Path, arrays: &[(&str, &NpyArray)]) -> Result<()> {
    write_npz_with(path, arrays, &[]).map(|_| ())
}

/// Like [`write_npz`], plus raw `extras` entries (e.g. a JSON report) stored under their names.
pub fn write_npz_with(path: &Path, arrays: &[(&str, &NpyArray)], extras: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let bytes = encode_npz(arrays, extras).map_err(|e| SimError::io(path, e))?;
    write_atomic(path, &bytes)?;
    Ok(bytes)
}

/// The bytes of an uncompressed `.npz` holding `arrays` and raw `extras` entries.
pub fn encode_npz(arrays: &[(&str, &NpyArray)], extras: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
    let views: Vec<(&str, &[usize], NpyView)> = arrays.iter().map(|(n, a)| (*n, &a.shape[..], a.data.view())).collect();
    encode_npz_views(&views, extras)
}

/// Like [`encode_npz`], from borrowed arrays `(name, shape, elements)`: no copy of the data
/// is made beyond the archive itself, which is allocated once at its final size.
pub fn encode_npz_views(arrays: &[(&str, &[usize], NpyView)], extras: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
    let size: usize = arrays.iter().map(|(_, _, v)| v.bytes() + 512).sum::<usize>()
        + extras.iter().map(|(_, b)| b.len() + 512).sum::<usize>()
        + 1024;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(size)));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(arrays.iter().any(|(_, _, v)| v.bytes() > u32::MAX as usize / 2));
    for (name, shape, view) in arrays {
        zip.start_file(format!("{name}.npy"), options).map_err(std::io::Error::other)?;
        write_npy(&mut zip, shape, *view)?;
    }
    for (name, bytes) in extras {
        zip.start_file(*name, options).map_err(std::io::Error::other)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
}

/// Reads every array of an `.npz` (stored or deflated), keyed by name without `.npy`.
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, NpyArray>> {
    Ok(read_npz_with(path)?.0)
}

/// Raw entries of an archive that are not `.npy` arrays, by name.
pub type Extras = BTreeMap<String, Vec<u8>>;

/// Reads the arrays of an `.npz` and, separately, its other entries.
pub fn read_npz_with(path: &Path) -> Result<(BTreeMap<String, NpyArray>, Extras)> {
    let file = std::fs::File::open(path).map_err(|e| SimError::io(path, e))?;
    read_npz_from(std::io::BufReader::new(file)).map_err(|m| SimError::bad_file(path, m))
}

fn read_npz_from<R: Read + Seek>(reader: R) -> std::result::Result<(BTreeMap<String, NpyArray>, Extras), String> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| format!("not a readable .npz archive (truncated?): {e}"))?;
    let mut out = BTreeMap::new();
    let mut extras = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| format!("archive entry {i}: {e}"))?;
        let full = entry.name().map_err(|e| format!("archive entry {i}: {e}"))?.to_string();
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).map_err(|e| format!("entry '{full}': {e}"))?;
        match full.strip_suffix(".npy") {
            Some(name) => {
                out.insert(name.to_string(), NpyArray::from_npy(&bytes, name)?);
            }
            None => {
                extras.insert(full, bytes);
            }
        }
    }
    Ok((out, extras))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npz_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npz");
        let x = NpyArray::f64_2d(2, 3, vec![1.0, -2.5, 3.0, f64::NAN, 0.0, 1e300]);
        let s = NpyArray { shape: vec![2], data: NpyData::U8(vec![0, 3]) };
        let i = NpyArray { shape: vec![2], data: NpyData::U64(vec![7, 8]) };
        write_npz(&p, &[("x", &x), ("status", &s), ("index", &i)]).unwrap();
        let back = read_npz(&p).unwrap();
        assert_eq!(back["status"], s);
        assert_eq!(back["index"], i);
        assert_eq!(back["x"].shape, vec![2, 3]);
        let NpyData::F64(v) = &back["x"].data else { panic!("dtype") };
        assert!(v[3].is_nan() && v[5] == 1e300);
    }

    #[test]
    fn truncated_archive_and_array_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.npz");
        let x = NpyArray::f64_2d(100, 2, vec![0.5; 200]);
        write_npz(&p, &[("x", &x)]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_npz(&p).unwrap_err().to_string();
        assert!(err.contains("t.npz") && err.contains("truncated"), "{err}");
        let mut npy = x.to_npy();
        npy.truncate(npy.len() - 8);
        let err = NpyArray::from_npy(&npy, "x").unwrap_err();
        assert!(err.contains("needs 1600 bytes, found 1592"), "{err}");
        assert!(NpyArray::from_npy(b"PK\x03\x04garbage", "y").unwrap_err().contains("bad magic"));
    }
}
