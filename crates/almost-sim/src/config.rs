//! The generation config (a TOML file in `simulations/`) and the resolved [`Plan`] it becomes.
//!
//! ```toml
//! name = "diode-node"            # dataset name; default output folder datasets/<name>
//! [device]
//! kind = "diode-node"            # analytic | diode-node | fhn-neuron | duffing-mems | diffsl
//! fan_in = 8
//! [device.constants]             # optional overrides of physical constants
//! i_s = 1e-9
//! [design]
//! kind = "sobol"                 # sobol | lhs | uniform | grid
//! samples = 20000
//! seed = 1
//! [solver]                       # optional: method, rtol, atol, max_steps, max_seconds
//! method = "bdf"
//! [box]                          # optional: one interval for all x, one for all A
//! x = [-1.0, 1.0]
//! [output]                       # optional
//! shard_size = 4096
//! ```
//! Unknown keys anywhere are errors that name the key and the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::design::{Design, DesignConfig};
use crate::devices::{DeviceConfig, RustDeviceRef};
use crate::domain::{BoxOverrides, DomainBox};
use crate::error::{Result, SimError};
use crate::model::DeviceModel;
use crate::solver::{SolverOverrides, SolverSettings};
use crate::spec::{DeviceSpec, hex_sha256};

/// A generation config as written in TOML.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateConfig {
    /// Dataset name.
    pub name: String,
    /// Which device.
    pub device: DeviceConfig,
    /// Where the points go.
    pub design: DesignConfig,
    /// Solver overrides.
    #[serde(default)]
    pub solver: SolverOverrides,
    /// Box overrides.
    #[serde(default, rename = "box")]
    pub domain: BoxOverrides,
    /// Output settings.
    #[serde(default)]
    pub output: OutputConfig,
}

impl GenerateConfig {
    /// A config from values: `samples` points of a Sobol design seeded with `seed` over the
    /// device's own box, its default solver, the default output folder.
    pub fn sobol(name: &str, device: DeviceConfig, samples: u64, seed: u64) -> Self {
        Self {
            name: name.to_string(),
            device,
            design: DesignConfig {
                kind: crate::design::DesignKind::Sobol,
                samples,
                seed,
                levels: None,
                boundary: None,
            },
            solver: SolverOverrides::default(),
            domain: BoxOverrides::default(),
            output: OutputConfig::default(),
        }
    }
}

/// The `[output]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Output folder (default `datasets/<name>`).
    pub dir: Option<PathBuf>,
    /// Samples per shard file.
    #[serde(default = "default_shard_size")]
    pub shard_size: u64,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self { dir: None, shard_size: default_shard_size() }
    }
}

fn default_shard_size() -> u64 {
    4096
}

impl GenerateConfig {
    /// Reads and parses a config file; relative paths in it (the device file, `output.dir`)
    /// resolve against its folder.
    pub fn load(path: &Path) -> Result<Self> {
        let mut cfg: Self = crate::fsutil::read_toml(path)?;
        cfg.device.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        if let Some(dir) = &cfg.output.dir {
            cfg.output.dir = Some(crate::fsutil::relative_to_file(path, dir));
        }
        Ok(cfg)
    }

    /// The output folder: `output.dir` or `datasets/<name>`.
    pub fn out_dir(&self) -> PathBuf {
        self.output.dir.clone().unwrap_or_else(|| Path::new("datasets").join(&self.name))
    }

    /// Validates everything and builds the device, design and box (`origin` names the file).
    pub fn resolve(&self, origin: &str) -> Result<Job> {
        let device = self.device.build(&self.solver)?;
        Job::assemble(
            &self.name,
            device,
            self.device.clone(),
            &self.design,
            &self.domain,
            self.output.shard_size,
            origin,
        )
    }
}

/// Format tag written into plans and manifests.
pub const DATASET_FORMAT: &str = "almost-dataset/1";

/// Everything that determines a dataset's content; two runs with equal plans produce equal arrays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Format tag.
    pub format: String,
    /// Dataset name.
    pub name: String,
    /// The `[device]` table, to rebuild the device later (e.g. to evaluate on physics).
    pub device_config: DeviceConfig,
    /// The device's self-description.
    pub device: DeviceSpec,
    /// Hash of `device`.
    pub device_hash: String,
    /// Box the design covers.
    #[serde(rename = "box")]
    pub domain: DomainBox,
    /// The design.
    pub design: DesignConfig,
    /// Solver settings (ODE devices).
    pub solver: Option<SolverSettings>,
    /// Samples per shard.
    pub shard_size: u64,
}

impl Plan {
    /// Hex SHA-256 of the plan's canonical JSON.
    pub fn hash(&self) -> String {
        hex_sha256(&serde_json::to_vec(self).unwrap_or_default())
    }

    /// Number of shards.
    pub fn n_shards(&self) -> u64 {
        self.design.samples.div_ceil(self.shard_size)
    }

    /// Sample indices of shard `s`.
    pub fn shard_range(&self, s: u64) -> std::ops::Range<u64> {
        let start = s * self.shard_size;
        start..(start + self.shard_size).min(self.design.samples)
    }
}

/// A resolved config: the device, the design and box, and the plan that records them.
pub struct Job {
    /// The device to simulate.
    pub device: Arc<dyn DeviceModel>,
    /// The design over the unit cube.
    pub design: Design,
    /// The box the unit cube maps to.
    pub domain: DomainBox,
    /// The resolved plan.
    pub plan: Plan,
}

impl Job {
    /// A job for a device built in code (e.g. a researcher's own [`DeviceModel`]).
    pub fn for_device(
        name: &str,
        device: Arc<dyn DeviceModel>,
        design: &DesignConfig,
        domain: &BoxOverrides,
        shard_size: u64,
    ) -> Result<Self> {
        let config = DeviceConfig::Rust(RustDeviceRef { name: device.spec().kind.clone() });
        Self::assemble(name, device, config, design, domain, shard_size, &format!("job '{name}'"))
    }

    fn assemble(
        name: &str,
        device: Arc<dyn DeviceModel>,
        device_config: DeviceConfig,
        design: &DesignConfig,
        domain: &BoxOverrides,
        shard_size: u64,
        origin: &str,
    ) -> Result<Self> {
        if name.trim().is_empty() || name.contains(['/', '\\']) {
            return Err(SimError::config(origin, format!("name = {name:?} must be a non-empty folder name")));
        }
        if shard_size == 0 {
            return Err(SimError::config(origin, "output.shard_size must be at least 1"));
        }
        device.spec().validate()?;
        let domain = DomainBox::from_overrides(device.spec(), domain, origin)?;
        let design_built = Design::new(design, domain.dim(), origin)?;
        let plan = Plan {
            format: DATASET_FORMAT.into(),
            name: name.to_string(),
            device_config,
            device: device.spec().clone(),
            device_hash: device.spec().hash(),
            domain: domain.clone(),
            design: design.clone(),
            solver: device.solver().cloned(),
            shard_size,
        };
        Ok(Self { device, design: design_built, domain, plan })
    }

    /// The (x, A) of sample `i`.
    pub fn point(&self, i: u64) -> (Vec<f64>, Vec<f64>) {
        let mut u = vec![0.0; self.domain.dim()];
        self.design.unit_point(i, &mut u);
        let mut x = vec![0.0; self.domain.x.len()];
        let mut a = vec![0.0; self.domain.a.len()];
        self.domain.map_unit(&u, &mut x, &mut a);
        (x, a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        "name = \"t\"\n[device]\nkind = \"analytic\"\nfan_in = 2\n[design]\nkind = \"sobol\"\nsamples = 10\n";

    /// A resumed job compares the hash of the plan it reads back from `plan.json` with its
    /// own: floats such as a log-spaced sweep value (1e-11 computed as exp(ln 1e-11)) must
    /// come back bit for bit, or a sweep over i_s could never resume.
    #[test]
    fn the_plan_hash_survives_its_json_round_trip() {
        for i_s in [1e-11f64.ln().exp(), (1e-11f64.ln() + (1e-8f64.ln() - 1e-11f64.ln()) / 3.0).exp(), 0.1 + 0.2] {
            let mut cfg = GenerateConfig::sobol("t", DeviceConfig::builtin("diode-node", 2).unwrap(), 10, 1);
            cfg.device =
                cfg.device.with_constants(&std::collections::BTreeMap::from([("i_s".to_string(), i_s)])).unwrap();
            let plan = cfg.resolve("t").unwrap().plan;
            let back: Plan = serde_json::from_slice(&serde_json::to_vec(&plan).unwrap()).unwrap();
            assert_eq!(back.hash(), plan.hash(), "i_s = {i_s:e}");
        }
    }

    #[test]
    fn parses_and_resolves() {
        let cfg: GenerateConfig = toml::from_str(GOOD).unwrap();
        let job = cfg.resolve("t.toml").unwrap();
        assert_eq!(job.plan.n_shards(), 1);
        assert_eq!(cfg.out_dir(), Path::new("datasets/t"));
        let (x, a) = job.point(3);
        assert!(job.domain.contains(&x, &a, 0.0));
    }

    #[test]
    fn config_errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, GOOD.replace("samples = 10", "samples = 10\nsamplez = 3")).unwrap();
        let err = GenerateConfig::load(&p).unwrap_err().to_string();
        assert!(err.contains("bad.toml") && err.contains("samplez"), "{err}");
        std::fs::write(&p, GOOD.replace("analytic", "memristor")).unwrap();
        let err = GenerateConfig::load(&p).unwrap_err().to_string();
        assert!(err.contains("memristor"), "{err}");
        let cfg: GenerateConfig = toml::from_str(&GOOD.replace("samples = 10", "samples = 0")).unwrap();
        assert!(
            cfg.resolve("z.toml")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("samples must be at least 1")
        );
        let cfg: GenerateConfig = toml::from_str(&format!("{GOOD}[box]\nx = [1.0, -1.0]\n")).unwrap();
        assert!(cfg.resolve("z.toml").err().map(|e| e.to_string()).unwrap_or_default().contains("box.x"));
    }
}
