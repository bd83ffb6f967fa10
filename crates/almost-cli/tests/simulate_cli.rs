//! The data-generator binary as a user runs it: help, config errors, kill and resume, merge.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_almost-simulate"))
}

fn write_config(dir: &Path, body: &str) -> std::path::PathBuf {
    let p = dir.join("cfg.toml");
    std::fs::write(&p, body).unwrap();
    p
}

const DUFFING: &str = "name = \"duff\"\n[device]\nkind = \"duffing-mems\"\nfan_in = 2\n[design]\nkind = \"sobol\"\nsamples = 1200\nseed = 4\n[output]\nshard_size = 40\n";

#[test]
fn help_speaks_to_a_physicist() {
    let out = bin().arg("generate").arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("--samples") && text.contains("--shard") && text.contains("Slurm"), "{text}");
}

#[test]
fn config_errors_name_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &DUFFING.replace("fan_in = 2", "fan_in = 2\nfan_out = 3"));
    let out = bin().arg("generate").arg(&cfg).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cfg.toml") && err.contains("fan_out"), "{err}");
    let cfg = write_config(dir.path(), DUFFING);
    let out = bin().arg("generate").arg(&cfg).args(["--samples", "0"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("samples must be at least 1"));
    let out = bin().args(["inspect", "/nonexistent/dataset"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such dataset folder"));
}

#[test]
fn killed_run_resumes_to_the_same_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), DUFFING);
    let (full, cut) = (dir.path().join("full"), dir.path().join("cut"));
    let status = bin().arg("generate").arg(&cfg).arg("--out").arg(&full).stdout(Stdio::null()).status().unwrap();
    assert!(status.success());

    let mut child = bin()
        .arg("generate")
        .arg(&cfg)
        .args(["--threads", "1", "--out"])
        .arg(&cut)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let shards = |d: &Path| std::fs::read_dir(d.join("shards")).map(|r| r.count()).unwrap_or(0);
    while shards(&cut) < 3 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!cut.join("manifest.json").exists(), "the run finished before it could be killed");

    let out = bin().arg("generate").arg(&cfg).arg("--out").arg(&cut).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already done"));
    assert_eq!(std::fs::read(full.join("data.npz")).unwrap(), std::fs::read(cut.join("data.npz")).unwrap());
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("1200 ok") && summary.contains("histogram"), "{summary}");
}

#[test]
fn shard_runs_merge_into_one_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &DUFFING.replace("samples = 1200", "samples = 100"));
    for k in 0..2 {
        let out = dir.path().join(format!("part{k}"));
        let status =
            bin().arg("generate").arg(&cfg).args(["--shard", &format!("{k}/2"), "--out"]).arg(&out).output().unwrap();
        assert!(status.status.success());
        assert!(!out.join("manifest.json").exists());
    }
    let merged = dir.path().join("merged");
    let out = bin()
        .arg("merge")
        .arg("--out")
        .arg(&merged)
        .arg(dir.path().join("part0"))
        .arg(dir.path().join("part1"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("100 ok"));
}
