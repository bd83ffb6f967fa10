//! A small sweep end to end (three values of the closed form's eps, a tiny network on
//! synthetic bars), and its resume: killed during its third value and run again, it writes
//! the same sweep.csv.

#![allow(clippy::unwrap_used)]

use almost_cli::sweep::config::SweepConfig;
use almost_cli::sweep::run::{SweepOptions, run, value_dir};

#[test]
fn a_small_sweep_runs_end_to_end_and_resumes_to_the_same_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    almost_net::data::synthetic::write_bars(&root.join("bars"), 150).unwrap();
    std::fs::write(
        root.join("sim.toml"),
        "name = \"an\"\n[device]\nkind = \"analytic\"\nfan_in = 4\neps = 0.0\n[design]\nkind = \"sobol\"\nsamples = 600\nseed = 2\n[output]\nshard_size = 128\n",
    )
    .unwrap();
    std::fs::write(
        root.join("fit.toml"),
        "[architecture]\nkind = \"mlp\"\nhidden = [16]\npair_products = true\n[training]\nmax_epochs = 60\n",
    )
    .unwrap();
    std::fs::write(
        root.join("net.toml"),
        "name = \"bars\"\n[data]\ndir = \"bars\"\ntrain = 96\ntest = 48\nclasses = 3\n\
         [[layers]]\nsurrogate = \"replaced\"\nwiring = { kind = \"patches\", kernel = 2, stride = 2, channels = 2 }\n\
         [[layers]]\nsurrogate = \"replaced\"\nwiring = { kind = \"random\", devices = 6, fan_in = 4, seed = 3 }\n\
         [readout]\nclasses = 3\nper_class = 2\n[training]\nbatch_size = 16\nlearning_rate = 0.05\nmax_surrogate_error = 0.2\n",
    )
    .unwrap();
    let sweeps = root.join("sweeps");
    std::fs::create_dir_all(&sweeps).unwrap();
    std::fs::write(
        sweeps.join("eps.toml"),
        "name = \"eps\"\nsimulation = \"../sim.toml\"\nconstant = \"eps\"\nvalues = [0.0, 0.5, 1.0]\n\
         network = \"../net.toml\"\nfit = \"../fit.toml\"\nseeds = [1]\nreference = 0.0\nepochs = 1\n",
    )
    .unwrap();
    let cfg = SweepConfig::load(&sweeps.join("eps.toml")).unwrap();
    let out = root.join("out");
    let rows = run(&cfg, &out, &SweepOptions::default()).unwrap();
    assert_eq!(rows.len(), 3);
    for (r, v) in rows.iter().zip([0.0, 0.5, 1.0]) {
        assert_eq!(r.value, v);
        assert!(r.surrogate_rmse_percent.is_finite() && r.surrogate_rmse_percent > 0.0, "{r:?}");
        assert!(r.accuracy_physics.is_finite() && r.physics_images == 48, "{r:?}");
        assert_eq!(r.status, "trained");
    }
    // each value simulated its own device: the datasets differ
    let y = |k: usize| almost_sim::Dataset::load(&value_dir(&out, k).join("dataset")).unwrap().table.y;
    assert_ne!(y(0), y(2));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert!(csv.starts_with("eps,seed,surrogate_rmse_percent,accuracy_surrogates,accuracy_physics"), "{csv}");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let svg = std::fs::read_to_string(out.join("sweep.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("plain neuron"), "the figure marks the plain neuron");

    // killed during the third value, after part of its generation: its later stages are gone
    let third = value_dir(&out, 2);
    std::fs::remove_dir_all(third.join("seed-1")).unwrap();
    std::fs::remove_dir_all(third.join("surrogate")).unwrap();
    for f in ["manifest.json", "data.npz", "shards/shard-000003.npz"] {
        std::fs::remove_file(third.join("dataset").join(f)).unwrap();
    }
    std::fs::write(out.join("sweep.csv"), "stale").unwrap();
    let again = run(&cfg, &out, &SweepOptions::default()).unwrap();
    assert_eq!(again, rows);
    assert_eq!(std::fs::read_to_string(out.join("sweep.csv")).unwrap(), csv);
    // one value alone (a Slurm array task) leaves the others as they are
    let one = run(&cfg, &out, &SweepOptions { only: Some(1), ..Default::default() }).unwrap();
    assert_eq!(one, rows);
    assert!(run(&cfg, &out, &SweepOptions { only: Some(3), ..Default::default() }).is_err());
}
