//! Every network config shipped in simulations/networks loads and validates.

#![allow(clippy::unwrap_used)]

use almost_net::NetConfig;

#[test]
fn every_shipped_network_config_loads_and_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulations/networks");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let cfg = NetConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!cfg.layers.is_empty(), "{}", path.display());
            names.push(cfg.name);
        }
    }
    for shipped in [
        "digits-diode",
        "digits-diode-wide",
        "digits-diode-wider",
        "fashion-diode",
        "fashion-diode-deep5",
        "fashion-diode-deep5-restart",
    ] {
        assert!(names.iter().any(|n| n == shipped), "{shipped} in {names:?}");
    }
}
