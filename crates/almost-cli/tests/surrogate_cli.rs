//! The surrogate command's target mode as a user runs it: the dataset grows through the
//! generator until the fit reaches the target or the budget.

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn target_mode_grows_the_dataset_until_the_budget_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let gen_cfg = dir.path().join("gen.toml");
    std::fs::write(
        &gen_cfg,
        "name = \"an\"\n[device]\nkind = \"analytic\"\nfan_in = 2\n[design]\nkind = \"sobol\"\nsamples = 200\nseed = 4\n[output]\nshard_size = 64\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_almost-simulate"))
        .arg("generate")
        .arg(&gen_cfg)
        .arg("--out")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fit_cfg = dir.path().join("fit.toml");
    std::fs::write(&fit_cfg, "[architecture]\nkind = \"mlp\"\nhidden = [8]\n[training]\nmax_epochs = 5\n").unwrap();
    // a target no 5-epoch fit reaches: the dataset doubles until the budget stops it
    let out = Command::new(env!("CARGO_BIN_EXE_almost-train"))
        .args(["surrogate", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(dir.path().join("model"))
        .arg("--config")
        .arg(&fit_cfg)
        .args(["--target", "0.001", "--budget", "800", "--no-gradient-check"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("not reached within the budget of 800"), "{err}");
    for n in ["200", "400", "800"] {
        assert!(err.lines().any(|l| l.trim_start().starts_with(n)), "no row for {n} samples: {err}");
    }
    let grown = almost_sim::Dataset::load(&data).unwrap();
    assert_eq!(grown.manifest.samples, 800);
    assert!(dir.path().join("model").join("surrogate.json").exists());
}
