//! Rows of an earlier `compare.csv` read back, so that a figure keeps the runs whose folders
//! are gone (another machine, another session) next to the run folders read now.

use std::path::{Path, PathBuf};

use crate::compare::{Group, RunPoint};
use crate::error::{NetError, Result};

/// The header [`super::write_csv`] writes, and the one a rows file must have.
pub const HEADER: &str = "network,dataset,run,seed,devices,parameters,surrogate_accuracy,physics_accuracy,physics_images,test_images,box_exit_share";

/// One row: the data set and the run (its `name` is the group label the row was written
/// under).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The data set's folder name.
    pub dataset: String,
    /// The run.
    pub point: RunPoint,
}

/// Reads a `compare.csv`; a wrong header, a row with the wrong number of fields or a field
/// that is not a number is an error naming the file and the line.
pub fn read_rows(path: &Path) -> Result<Vec<Row>> {
    let bad = |line: usize, message: String| NetError::BadRun {
        path: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| NetError::BadRun { path: path.to_path_buf(), message: format!("cannot read: {e}") })?;
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == HEADER => {}
        _ => return Err(bad(1, format!("expected the header of compare.csv: {HEADER}"))),
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let fields = HEADER.split(',').count();
        if f.len() != fields {
            return Err(bad(i + 1, format!("{} fields, expected {fields}", f.len())));
        }
        let num = |k: usize| -> Result<f64> {
            f[k].trim().parse::<f64>().map_err(|_| bad(i + 1, format!("{:?} is not a number", f[k])))
        };
        let count = |k: usize| -> Result<usize> {
            f[k].trim().parse::<usize>().map_err(|_| bad(i + 1, format!("{:?} is not a count", f[k])))
        };
        let optional =
            |k: usize| -> Result<Option<f64>> { if f[k].trim().is_empty() { Ok(None) } else { num(k).map(Some) } };
        let physics = match optional(7)? {
            Some(acc) => Some((acc, count(8)?)),
            None => None,
        };
        let point = RunPoint {
            run: PathBuf::from(f[2].trim()),
            name: f[0].trim().to_string(),
            seed: f[3].trim().parse().map_err(|_| bad(i + 1, format!("{:?} is not a seed", f[3])))?,
            devices: count(4)?,
            parameters: count(5)?,
            surrogate: num(6)?,
            physics,
            test_images: count(9)?,
            box_exits: optional(10)?,
        };
        rows.push(Row { dataset: f[1].trim().to_string(), point });
    }
    Ok(rows)
}

/// Adds `rows` to `groups`: a row joins the group of its label and data set, or starts one;
/// a row of a run folder that was read now is left out (the folder wins).
pub fn merge(groups: &mut Vec<Group>, rows: Vec<Row>) {
    for row in rows {
        if groups.iter().any(|g| g.runs.iter().any(|r| r.run == row.point.run)) {
            continue;
        }
        match groups.iter_mut().find(|g| g.name == row.point.name && g.dataset == row.dataset) {
            Some(g) => g.runs.push(row.point),
            None => groups.push(Group { name: row.point.name.clone(), dataset: row.dataset, runs: vec![row.point] }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("almost-rows-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("compare.csv");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn rows_written_by_compare_read_back_and_join_their_group() {
        let group = Group {
            name: "net".into(),
            dataset: "mnist-10k".into(),
            runs: vec![RunPoint {
                run: "runs/net-s1".into(),
                name: "net-s1".into(),
                seed: 1,
                devices: 10,
                parameters: 160,
                surrogate: 0.95,
                physics: Some((0.94, 2000)),
                test_images: 2000,
                box_exits: None,
            }],
        };
        let path = write("roundtrip", "");
        crate::compare::write_csv(&path, std::slice::from_ref(&group)).unwrap();
        let rows = read_rows(&path).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].point, RunPoint { name: "net".into(), ..group.runs[0].clone() });
        // the same run is not counted twice; another run of the network joins its group
        let mut groups = vec![group.clone()];
        merge(&mut groups, rows.clone());
        assert_eq!(groups[0].runs.len(), 1);
        let mut other = rows[0].clone();
        other.point.run = "runs/net-s2".into();
        other.point.seed = 2;
        merge(&mut groups, vec![other]);
        assert_eq!((groups.len(), groups[0].runs.len()), (1, 2));
        // a row of another data set starts a group
        let mut fashion = rows[0].clone();
        fashion.dataset = "fashion-mnist".into();
        fashion.point.run = "runs/f".into();
        merge(&mut groups, vec![fashion]);
        assert_eq!(groups.len(), 2);
    }

    #[test]
    fn a_bad_rows_file_names_the_file_and_the_line() {
        let path = write("header", "a,b\n");
        let e = read_rows(&path).unwrap_err().to_string();
        assert!(e.contains("compare.csv") && e.contains("line 1"), "{e}");
        let path = write("field", &format!("{HEADER}\nnet,mnist,runs/a,1,10,160,0.9x,0.9,2000,2000,0\n"));
        let e = read_rows(&path).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("0.9x"), "{e}");
        let path = write("count", &format!("{HEADER}\nnet,mnist,runs/a,1\n"));
        assert!(read_rows(&path).unwrap_err().to_string().contains("4 fields"));
    }
}
