//! Trained runs side by side: the runs of one network that differ only in the training seed
//! become one entry (mean and spread over the seeds, the test set's binomial standard error,
//! the surrogate-physics gap, box exits), tabled (`compare.csv`) and drawn against the number
//! of devices next to published results ([`plot`]).

pub mod plot;
pub mod rows;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use almost_sim::fsutil::{read_json, write_atomic};

use crate::check::physics_check::binomial_stderr;
use crate::error::{NetError, Result};
use crate::physics::run_physics::nominal_whole_test_set;
use crate::training::run::RunSummary;

/// One finished run, as `compare` reads it from its `network.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunPoint {
    /// The run folder.
    pub run: PathBuf,
    /// The config's name.
    pub name: String,
    /// The training seed.
    pub seed: u64,
    /// Devices, all layers.
    pub devices: usize,
    /// Trained parameters A, all layers.
    pub parameters: usize,
    /// Test accuracy on the surrogates (last epoch).
    pub surrogate: f64,
    /// Test accuracy on the physics and the images behind it, when the closing check ran.
    pub physics: Option<(f64, usize)>,
    /// Test images in the whole test set.
    pub test_images: usize,
    /// Share of device evaluations outside the surrogate's box, worst layer, last probed epoch.
    pub box_exits: Option<f64>,
}

/// A published all-device result, drawn as a labelled horizontal line on its data set's panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    /// The data set's folder name the result belongs to (`mnist-10k`, `fashion-mnist`).
    pub dataset: String,
    /// Test accuracy (0..1).
    pub accuracy: f64,
    /// Who and what.
    pub label: String,
}

impl std::str::FromStr for Published {
    type Err = String;
    /// `DATASET=ACCURACY=LABEL`, e.g. `fashion-mnist=0.898=PAT oscillators (Wright 2022)`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let mut parts = s.splitn(3, '=');
        let (Some(dataset), Some(acc), Some(label)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("{s:?}: expected DATASET=ACCURACY=LABEL"));
        };
        let accuracy: f64 = acc.trim().parse().map_err(|_| format!("{s:?}: {acc:?} is not a number"))?;
        if !(0.0..=1.0).contains(&accuracy) {
            return Err(format!("{s:?}: the accuracy is a share in [0, 1], not {accuracy}"));
        }
        Ok(Self { dataset: dataset.trim().into(), accuracy, label: label.trim().into() })
    }
}

/// The runs of one network (same config but for the name and the training seed).
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Label: the runs' names without their seed markers (`-s2`, `-seed2`), each once.
    pub name: String,
    /// The data set's folder name.
    pub dataset: String,
    /// Its runs, in the order given.
    pub runs: Vec<RunPoint>,
}

impl Group {
    /// Devices of the network.
    pub fn devices(&self) -> usize {
        self.runs[0].devices
    }

    /// The physics accuracies of the runs checked on the whole test set.
    pub fn physics_full(&self) -> Vec<f64> {
        self.runs.iter().filter_map(|r| r.physics.filter(|p| p.1 == r.test_images).map(|p| p.0)).collect()
    }

    /// Mean and sample standard deviation of the whole-test-set physics accuracies.
    pub fn physics_mean_sd(&self) -> Option<(f64, f64)> {
        mean_sd(&self.physics_full())
    }

    /// Mean and sample standard deviation of the surrogate accuracies.
    pub fn surrogate_mean_sd(&self) -> Option<(f64, f64)> {
        mean_sd(&self.runs.iter().map(|r| r.surrogate).collect::<Vec<_>>())
    }
}

fn mean_sd(v: &[f64]) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    Some((mean, sd))
}

/// Reads one run folder's `network.json`.
pub fn read_run(run: &Path) -> Result<(RunPoint, serde_json::Value)> {
    let path = run.join("network.json");
    if !path.exists() {
        return Err(NetError::BadRun { path, message: "missing: not a finished run (almost-train network)".into() });
    }
    let summary: RunSummary = read_json(&path)?;
    let checked = summary.physics_check.as_ref().and_then(|v| v.checked());
    // the training's own check where it covered the whole test set, else the run's
    // `evaluate --physics` report where that is one of the nominal devices on the whole test
    // set with the present A
    let whole =
        checked.filter(|c| c.report.images == c.test_images).map(|c| (c.report.accuracy_physics, c.test_images));
    let (physics, test_images) = match whole.or_else(|| nominal_whole_test_set(run)) {
        Some((accuracy, images)) => (Some((accuracy, images)), images),
        None => (checked.map(|c| (c.report.accuracy_physics, c.report.images)), checked.map_or(0, |c| c.test_images)),
    };
    let box_exits = summary
        .history
        .iter()
        .rev()
        .find(|h| !h.health.is_empty())
        .map(|h| h.health.iter().map(|l| l.outside_box).fold(0.0, f64::max));
    let point = RunPoint {
        run: run.to_path_buf(),
        name: summary.config.name.clone(),
        seed: summary.config.training.seed,
        devices: summary.devices.iter().sum(),
        parameters: summary.trained_parameters,
        surrogate: summary.test_accuracy_surrogate,
        physics,
        test_images,
        box_exits,
    };
    // the group key: the config without what differs between seeds of one network, its
    // paths without `.` components (the pipeline writes `./models/..`, a config `models/..`)
    let mut config = summary.config.clone();
    config.data.dir = without_dots(&config.data.dir);
    for layer in &mut config.layers {
        layer.surrogate = without_dots(&layer.surrogate);
    }
    let mut key =
        serde_json::to_value(&config).map_err(|e| NetError::BadRun { path: path.clone(), message: e.to_string() })?;
    if let Some(obj) = key.as_object_mut() {
        obj.remove("name");
        if let Some(t) = obj.get_mut("training").and_then(|t| t.as_object_mut()) {
            for k in ["seed", "threads", "init", "eval_images", "physics_check_images", "physics_check_solves"] {
                t.remove(k);
            }
        }
    }
    let dataset = summary.config.data.dir.file_name().map_or_else(String::new, |d| d.to_string_lossy().into_owned());
    Ok((point, serde_json::json!({ "config": key, "dataset": dataset })))
}

/// `path` without its `.` components: `./models/x` is `models/x`.
fn without_dots(path: &Path) -> PathBuf {
    path.components().filter(|c| *c != std::path::Component::CurDir).collect()
}

/// Reads the runs and groups those of one network, in the order first seen.
pub fn gather(runs: &[PathBuf]) -> Result<Vec<Group>> {
    let mut groups: Vec<(serde_json::Value, Group)> = Vec::new();
    for run in runs {
        let (point, key) = read_run(run)?;
        let dataset = key["dataset"].as_str().unwrap_or_default().to_string();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.runs.push(point),
            None => groups.push((key, Group { name: String::new(), dataset, runs: vec![point] })),
        }
    }
    Ok(groups
        .into_iter()
        .map(|(_, mut g)| {
            g.name = label(&g.runs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>());
            g
        })
        .collect())
}

/// A run's name without its seed marker: `wide-s2` and `wide-seed2` are `wide`.
fn without_seed(name: &str) -> &str {
    let digits = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if digits.len() == name.len() {
        return name;
    }
    digits.strip_suffix("-seed").or_else(|| digits.strip_suffix("-s")).unwrap_or(name)
}

/// The label of a group: its runs' names without seed markers, each once.
fn label(names: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        let n = without_seed(n);
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out.join(" / ")
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.2}", 100.0 * v))
}

/// The table: one row per network. Physics figures only from checks on the whole test set.
pub fn table(groups: &[Group]) -> String {
    let mut s = format!(
        "{:<28} {:<14} {:>7} {:>6} {:>5} {:>10} {:>6} {:>8} {:>10} {:>7} {:>6}\n",
        "network", "data", "devices", "A", "seeds", "physics %", "sd", "stderr", "surrogate", "gap", "box"
    );
    for g in groups {
        let phys = g.physics_mean_sd();
        let surr = g.surrogate_mean_sd();
        let n_test = g.runs.iter().map(|r| r.test_images).max().unwrap_or(0);
        let stderr = phys.map(|(m, _)| binomial_stderr(m, n_test));
        let gap = phys.zip(surr).map(|(p, s)| p.0 - s.0);
        let boxes =
            g.runs.iter().filter_map(|r| r.box_exits).fold(None, |m: Option<f64>, b| Some(m.map_or(b, |m| m.max(b))));
        let _ = writeln!(
            s,
            "{:<28} {:<14} {:>7} {:>6} {:>5} {:>10} {:>6} {:>8} {:>10} {:>7} {:>6}",
            g.name,
            g.dataset,
            g.devices(),
            g.runs[0].parameters,
            g.runs.len(),
            pct(phys.map(|p| p.0)),
            pct(phys.map(|p| p.1)),
            pct(stderr),
            pct(surr.map(|p| p.0)),
            pct(gap),
            pct(boxes),
        );
        let partial = g.runs.len() - g.physics_full().len();
        if partial > 0 {
            let _ =
                writeln!(s, "  ({partial} run(s) not checked on the whole test set: left out of the physics figures)");
        }
    }
    s.push_str(
        "(in %: physics is the mean over seeds of the accuracy on all test images, sd its sample standard\n\
         deviation over seeds, stderr the test set's binomial standard error at that mean; gap = physics -\n\
         surrogate; box: the worst layer's share of device evaluations outside the surrogate's box)\n",
    );
    s
}

/// `compare.csv`: one row per run (pandas: `pd.read_csv`).
pub fn write_csv(path: &Path, groups: &[Group]) -> Result<()> {
    let mut s = format!("{}\n", rows::HEADER);
    for g in groups {
        for r in &g.runs {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{}",
                g.name,
                g.dataset,
                r.run.display(),
                r.seed,
                r.devices,
                r.parameters,
                r.surrogate,
                r.physics.map_or_else(String::new, |p| p.0.to_string()),
                r.physics.map_or_else(String::new, |p| p.1.to_string()),
                r.test_images,
                r.box_exits.map_or_else(String::new, |b| b.to_string()),
            );
        }
    }
    Ok(write_atomic(path, s.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_results_parse_and_bad_ones_say_why() {
        let p: Published = "fashion-mnist=0.898=PAT oscillators (Wright 2022)".parse().unwrap();
        assert_eq!(p.dataset, "fashion-mnist");
        assert!((p.accuracy - 0.898).abs() < 1e-12);
        assert_eq!(p.label, "PAT oscillators (Wright 2022)");
        assert!("mnist=97.9=x".parse::<Published>().unwrap_err().contains("[0, 1]"));
        assert!("mnist=0.9".parse::<Published>().unwrap_err().contains("DATASET=ACCURACY=LABEL"));
    }

    #[test]
    fn spread_is_the_sample_standard_deviation() {
        let (m, sd) = mean_sd(&[0.974, 0.971, 0.970]).unwrap();
        assert!((m - 0.971_666_666).abs() < 1e-6);
        assert!((sd - 0.002_081_666).abs() < 1e-6, "{sd}");
        assert_eq!(mean_sd(&[0.5]), Some((0.5, 0.0)));
        assert_eq!(mean_sd(&[]), None);
    }

    #[test]
    fn seeds_of_one_network_share_one_label() {
        assert_eq!(label(&["digits-wide-s1", "digits-wide-s2", "digits-wide-seed3"]), "digits-wide");
        assert_eq!(label(&["x-wide-s1", "digits-wide-s2"]), "x-wide / digits-wide");
        assert_eq!(label(&["wide-v2"]), "wide-v2");
        assert_eq!(label(&["net"]), "net");
    }
}
