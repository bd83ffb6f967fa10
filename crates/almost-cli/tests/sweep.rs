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
    let sweeps = small_problem(root);
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
    assert!(svg.contains("<svg") && svg.contains("reference (eps = 0)"), "the figure marks the reference value");

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

/// The files of a small problem on synthetic bars: a closed-form device at fan-in 4, a
/// small fit config and a two-layer network; returns the folder of the sweep configs.
fn small_problem(root: &std::path::Path) -> std::path::PathBuf {
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
    sweeps
}

#[test]
fn design_by_gradient_trains_one_shared_constant_and_checks_it_on_the_physics() {
    let tmp = tempfile::tempdir().unwrap();
    let sweeps = small_problem(tmp.path());
    std::fs::write(
        sweeps.join("g.toml"),
        "name = \"g\"\nsimulation = \"../sim.toml\"\nconstant = \"eps\"\nvalues = [0.0, 0.5]\n\
         network = \"../net.toml\"\nfit = \"../fit.toml\"\nseeds = [1]\nepochs = 2\n[gradient]\nsamples = 1600\n",
    )
    .unwrap();
    let cfg = SweepConfig::load(&sweeps.join("g.toml")).unwrap();
    let out = tmp.path().join("out");
    let found = almost_cli::sweep::gradient::run(&cfg, &out, &SweepOptions::default()).unwrap();
    assert_eq!(found.len(), 1);
    let r = &found[0];
    assert_eq!(r.status, "trained", "{r:?}");
    // it started at the middle of [0, 0.5] and moved, inside the range
    assert!((0.0..=0.5).contains(&r.value) && (r.value - 0.25).abs() > 1e-6, "{r:?}");
    assert!(r.accuracy_physics.is_finite() && r.physics_images == 48, "{r:?}");
    // one dataset over (x, A, eps): the constant is the last parameter of the design
    let data = almost_sim::Dataset::load(&out.join("gradient/dataset")).unwrap();
    assert_eq!(data.manifest.plan.device.n_params(), 5);
    // every device of every layer holds the same eps, the one reported
    let run = out.join("gradient/seed-1");
    let loaded =
        almost_net::training::run::load_run(&run, burn::tensor::DType::F32, &burn::tensor::Device::flex()).unwrap();
    for a in loaded.network.a_values() {
        for row in a.chunks(5) {
            assert!((row[4] - r.value).abs() < 1e-6 * (1.0 + r.value.abs()), "{} vs {}", row[4], r.value);
        }
    }
    // the chosen device, written to be simulated on its own
    let at = almost_sim::GenerateConfig::load(&out.join("gradient/at-theta.toml")).unwrap();
    let eps = match at.device {
        almost_sim::devices::DeviceConfig::Analytic(c) => c.eps,
        other => panic!("{other:?}"),
    };
    assert!((eps - r.value).abs() < 1e-9);
    let simulated = almost_sim::Dataset::load(&out.join("gradient/at-theta")).unwrap();
    assert_eq!(simulated.manifest.plan.device.constants["eps"], eps);
    assert_eq!(simulated.manifest.ok, 600);
    let svg = std::fs::read_to_string(out.join("sweep.svg")).unwrap();
    assert!(svg.contains("design by gradient"));
    let csv = std::fs::read_to_string(out.join("gradient/gradient.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    // run again: nothing is redone, the same rows come back
    assert_eq!(almost_cli::sweep::gradient::run(&cfg, &out, &SweepOptions::default()).unwrap(), found);
}

/// The conditioned surrogate f(x, A; eps), one fit over eps in [0, 0.5], against plain
/// surrogates fitted at fixed eps with the same samples per value: both measured against
/// the device itself at that eps.
#[test]
fn a_conditioned_surrogate_is_as_good_as_plain_ones_at_fixed_values() {
    use almost_sim::devices::{ConditionedConfig, DeviceConfig};
    use almost_sim::{DeviceModel, GenerateConfig, GenerateOptions, generate};
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let plain = |eps: f64| {
        DeviceConfig::Analytic(almost_sim::devices::AnalyticConfig { fan_in: 4, activation: Default::default(), eps })
    };
    let fit_at = |name: &str, device: DeviceConfig, samples: u64| {
        let cfg = GenerateConfig::sobol(name, device, samples, 3);
        let job = cfg.resolve(name).unwrap();
        generate(&job, &root.join(name), &GenerateOptions::default()).unwrap();
        let data = almost_sim::Dataset::load(&root.join(name)).unwrap();
        // the second default candidate (x_i A_i and x_i^2 A_i products), the one the default
        // fit keeps for this device (`FitConfig::candidates`)
        let candidates = almost_surrogate::FitConfig::candidates(4, data.manifest.plan.device.n_params());
        let fit_cfg = candidates.last().unwrap().clone();
        almost_surrogate::fit_and_save(&data, &root.join(format!("{name}-s")), &fit_cfg, false, &Default::default())
            .unwrap();
        almost_surrogate::load(&root.join(format!("{name}-s")), &burn::tensor::Device::flex()).unwrap()
    };
    let conditioned = fit_at(
        "cond",
        DeviceConfig::Conditioned(ConditionedConfig {
            constant: "eps".into(),
            from: 0.0,
            to: 0.5,
            device: Box::new(plain(0.0)),
        }),
        6000,
    );
    // held-out points, the device as the truth
    let mut rng = 12345u64;
    let mut uniform = move || {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        2.0 * ((rng >> 11) as f64 / (1u64 << 53) as f64) - 1.0
    };
    let points: Vec<[f64; 8]> = (0..500).map(|_| std::array::from_fn(|_| uniform())).collect();
    let rmse = |saved: &almost_surrogate::SavedSurrogate, eps: Option<f64>, device: &dyn DeviceModel| {
        let d_in = saved.meta.n_x + saved.meta.n_a;
        let mut inputs = Vec::new();
        let mut truth = Vec::new();
        for p in &points {
            inputs.extend_from_slice(p);
            inputs.extend(eps);
            truth.push(device.respond(&p[..4], &p[4..]).unwrap()[0]);
        }
        let pred = almost_surrogate::surrogate::predict(
            &saved.surrogate,
            &inputs,
            d_in,
            burn::tensor::DType::F32,
            &burn::tensor::Device::flex(),
        );
        (pred.iter().zip(&truth).map(|(p, t)| (p - t).powi(2)).sum::<f64>() / truth.len() as f64).sqrt() / 2.0
    };
    let mut errors = Vec::new();
    for eps in [0.0, 0.25, 0.5] {
        let device = plain(eps).build(&Default::default()).unwrap();
        let alone = fit_at(&format!("plain-{eps}"), plain(eps), 3000);
        let (c, p) = (rmse(&conditioned, Some(eps), device.as_ref()), rmse(&alone, None, device.as_ref()));
        eprintln!("eps {eps}: conditioned {:.3}% of range, plain {:.3}%", 100.0 * c, 100.0 * p);
        errors.push((c, p));
    }
    // measured with the default fit (x_i A_i and x_i^2 A_i products): 0.70 / 0.56 / 0.66 %
    // against 0.52 / 0.45 / 0.53 %: one conditioned fit is within 1.4x of one fit per value
    let worst_plain = errors.iter().map(|e| e.1).fold(0.0, f64::max);
    for (c, p) in &errors {
        assert!(*c < 0.02, "the conditioned surrogate is usable for training everywhere: {c}");
        assert!(*c < 2.0 * worst_plain, "within 2x of the worst plain fit of the sweep: {c} vs {p}, {worst_plain}");
    }
}
