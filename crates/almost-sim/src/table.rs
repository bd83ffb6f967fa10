//! Rows of (index, x, A, y, status) in memory, and their `.npz` form on disk.
//!
//! Arrays in the file: `index` `[N]` uint64 (sample number in the design), `x` `[N, n]` f64,
//! `a` `[N, m]` f64, `y` `[N, k]` f64 (NaN where the sample failed), `status` `[N]` uint8
//! (0 = ok, else a [`FailureKind`] code). `np.load(path)` opens it directly.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{FailureKind, Result, SimError};
use crate::fsutil::write_atomic;
use crate::npz::{Extras, NpyArray, NpyData, NpyView, encode_npz_views, read_npz_with};

/// A block of dataset rows, row-major.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Inputs per row.
    pub nx: usize,
    /// Parameters per row.
    pub na: usize,
    /// Outputs per row.
    pub ny: usize,
    /// Design index of each row.
    pub index: Vec<u64>,
    /// Inputs, `len * nx`.
    pub x: Vec<f64>,
    /// Parameters, `len * na`.
    pub a: Vec<f64>,
    /// Outputs, `len * ny` (NaN on failed rows).
    pub y: Vec<f64>,
    /// 0 = ok, else a failure code.
    pub status: Vec<u8>,
}

impl Table {
    /// An empty table with the given widths.
    pub fn new(nx: usize, na: usize, ny: usize) -> Self {
        Self { nx, na, ny, ..Default::default() }
    }

    /// An empty table with room for `rows` rows.
    pub fn with_capacity(nx: usize, na: usize, ny: usize, rows: usize) -> Self {
        Self {
            nx,
            na,
            ny,
            index: Vec::with_capacity(rows),
            x: Vec::with_capacity(rows * nx),
            a: Vec::with_capacity(rows * na),
            y: Vec::with_capacity(rows * ny),
            status: Vec::with_capacity(rows),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Appends one row; `y = None` records a failure with `status`.
    pub fn push(&mut self, index: u64, x: &[f64], a: &[f64], y: Option<&[f64]>, status: u8) {
        self.index.push(index);
        self.x.extend_from_slice(x);
        self.a.extend_from_slice(a);
        match y {
            Some(y) => self.y.extend_from_slice(y),
            None => self.y.extend(std::iter::repeat_n(f64::NAN, self.ny)),
        }
        self.status.push(status);
    }

    /// Appends all rows of `other` (same widths).
    pub fn append(&mut self, other: &Table) {
        self.index.extend_from_slice(&other.index);
        self.x.extend_from_slice(&other.x);
        self.a.extend_from_slice(&other.a);
        self.y.extend_from_slice(&other.y);
        self.status.extend_from_slice(&other.status);
    }

    /// Inputs of row `i`.
    pub fn x_row(&self, i: usize) -> &[f64] {
        &self.x[i * self.nx..(i + 1) * self.nx]
    }

    /// Parameters of row `i`.
    pub fn a_row(&self, i: usize) -> &[f64] {
        &self.a[i * self.na..(i + 1) * self.na]
    }

    /// Outputs of row `i`.
    pub fn y_row(&self, i: usize) -> &[f64] {
        &self.y[i * self.ny..(i + 1) * self.ny]
    }

    /// `[min, max]` of each output over the rows whose sample succeeded.
    pub fn y_range(&self) -> Vec<[f64; 2]> {
        let mut range = vec![[f64::INFINITY, f64::NEG_INFINITY]; self.ny];
        for r in self.ok_rows() {
            for (m, &v) in range.iter_mut().zip(self.y_row(r)) {
                *m = [m[0].min(v), m[1].max(v)];
            }
        }
        range
    }

    /// Indices of the rows whose sample succeeded.
    pub fn ok_rows(&self) -> Vec<usize> {
        (0..self.len()).filter(|&i| self.status[i] == 0).collect()
    }

    /// Writes the table as `.npz`, atomically; returns the bytes written.
    pub fn write(&self, path: &Path) -> Result<Vec<u8>> {
        self.write_with(path, &[])
    }

    /// Writes the table as `.npz` with extra raw entries, atomically; returns the bytes written.
    pub fn write_with(&self, path: &Path, extras: &[(&str, &[u8])]) -> Result<Vec<u8>> {
        let bytes = self.encode(extras).map_err(|e| SimError::io(path, e))?;
        write_atomic(path, &bytes)?;
        Ok(bytes)
    }

    /// The `.npz` bytes of the table plus raw `extras` entries.
    pub fn encode(&self, extras: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
        let n = self.len();
        let arrays: [(&str, &[usize], NpyView); 5] = [
            ("index", &[n], NpyView::U64(&self.index)),
            ("x", &[n, self.nx], NpyView::F64(&self.x)),
            ("a", &[n, self.na], NpyView::F64(&self.a)),
            ("y", &[n, self.ny], NpyView::F64(&self.y)),
            ("status", &[n], NpyView::U8(&self.status)),
        ];
        encode_npz_views(&arrays, extras)
    }

    /// Reads and validates a table: expected widths, consistent row counts, finite x and A,
    /// finite y on every ok row, known status codes. Errors name the file, array and row.
    pub fn read(path: &Path, nx: usize, na: usize, ny: usize) -> Result<Self> {
        Ok(Self::read_with(path, nx, na, ny)?.0)
    }

    /// Like [`Table::read`], also returning the archive's non-array entries.
    pub fn read_with(path: &Path, nx: usize, na: usize, ny: usize) -> Result<(Self, Extras)> {
        let (mut arrays, extras) = read_npz_with(path)?;
        let bad = |m: String| SimError::bad_file(path, m);
        let index = match take(&mut arrays, "index", path)? {
            (shape, NpyData::U64(v)) if shape.len() == 1 => v,
            (shape, _) => return Err(bad(format!("array 'index' must be 1-D uint64, found shape {shape:?}"))),
        };
        let n = index.len();
        let mut matrix = |name: &str, width: usize| -> Result<Vec<f64>> {
            match take(&mut arrays, name, path)? {
                (shape, NpyData::F64(v)) if shape == [n, width] => Ok(v),
                (shape, NpyData::F64(_)) => {
                    Err(bad(format!("array '{name}' has shape {shape:?}, expected [{n}, {width}]")))
                }
                _ => Err(bad(format!("array '{name}' must hold floats"))),
            }
        };
        let x = matrix("x", nx)?;
        let a = matrix("a", na)?;
        let y = matrix("y", ny)?;
        let status = match take(&mut arrays, "status", path)? {
            (shape, NpyData::U8(v)) if shape == [n] => v,
            (shape, _) => return Err(bad(format!("array 'status' must be uint8 of shape [{n}], found {shape:?}"))),
        };
        let table = Self { nx, na, ny, index, x, a, y, status };
        table.validate().map_err(bad)?;
        Ok((table, extras))
    }

    fn validate(&self) -> std::result::Result<(), String> {
        for i in 0..self.len() {
            if let Some(j) = self.x_row(i).iter().position(|v| !v.is_finite()) {
                return Err(format!("row {i} (sample {}): x[{j}] is not finite", self.index[i]));
            }
            if let Some(j) = self.a_row(i).iter().position(|v| !v.is_finite()) {
                return Err(format!("row {i} (sample {}): a[{j}] is not finite", self.index[i]));
            }
            let s = self.status[i];
            if s == 0 {
                if let Some(j) = self.y_row(i).iter().position(|v| !v.is_finite()) {
                    return Err(format!(
                        "row {i} (sample {}): y[{j}] is NaN or infinite but status says ok",
                        self.index[i]
                    ));
                }
            } else if FailureKind::from_code(s).is_none() {
                return Err(format!("row {i} (sample {}): unknown status code {s}", self.index[i]));
            }
        }
        Ok(())
    }
}

fn take(arrays: &mut BTreeMap<String, NpyArray>, name: &str, path: &Path) -> Result<(Vec<usize>, NpyData)> {
    arrays
        .remove(name)
        .map(|a| (a.shape, a.data))
        .ok_or_else(|| SimError::bad_file(path, format!("array '{name}' is missing")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new(2, 1, 1);
        t.push(0, &[0.1, 0.2], &[0.3], Some(&[0.4]), 0);
        t.push(1, &[0.5, 0.6], &[0.7], None, FailureKind::Solver.code());
        t
    }

    #[test]
    fn round_trip_keeps_failed_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.npz");
        table().write(&p).unwrap();
        let back = Table::read(&p, 2, 1, 1).unwrap();
        assert_eq!(back.index, vec![0, 1]);
        assert_eq!(back.ok_rows(), vec![0]);
        assert!(back.y_row(1)[0].is_nan());
        let err = Table::read(&p, 3, 1, 1).unwrap_err().to_string();
        assert!(err.contains("array 'x' has shape [2, 2], expected [2, 3]"), "{err}");
    }

    #[test]
    fn nan_in_ok_rows_or_inputs_is_rejected_with_row() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.npz");
        let mut t = table();
        t.y[0] = f64::NAN;
        t.write(&p).unwrap();
        let err = Table::read(&p, 2, 1, 1).unwrap_err().to_string();
        assert!(err.contains("n.npz") && err.contains("row 0") && err.contains("y[0]"), "{err}");
        let mut t = table();
        t.x[3] = f64::INFINITY;
        t.write(&p).unwrap();
        let err = Table::read(&p, 2, 1, 1).unwrap_err().to_string();
        assert!(err.contains("row 1") && err.contains("x[1]"), "{err}");
    }
}
