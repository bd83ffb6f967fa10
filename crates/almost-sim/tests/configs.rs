//! Every simulation config shipped in simulations/ loads and resolves (device, design and box
//! built), so a researcher who runs one from the README gets a dataset, not a config error.

#![allow(clippy::unwrap_used)]

use almost_sim::GenerateConfig;

#[test]
fn every_shipped_simulation_config_loads_and_resolves() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulations");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let cfg = GenerateConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let job = cfg.resolve(&path.display().to_string()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!job.design.is_empty(), "{}", path.display());
            names.push(cfg.name);
        }
    }
    for shipped in ["diode-node", "diode-node-9", "diode-node-25", "analytic", "fhn-neuron"] {
        assert!(names.iter().any(|n| n == shipped), "{shipped} in {names:?}");
    }
}
