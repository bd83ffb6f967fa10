//! Designs: how the points (x, A) are placed in the box.
//!
//! Point `i` of every design is a pure function of `(seed, i)` (and the total count, for
//! Latin hypercubes and grids), which is what makes sharding and resuming trivial: any
//! machine can compute any slice of the design without seeing the rest.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sobol::Sobol;
use sobol::params::JoeKuoD6;

use crate::error::{Result, SimError};

/// Kind of design.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DesignKind {
    /// Sobol low-discrepancy sequence (Joe-Kuo D6 directions, random digital shift by seed).
    Sobol,
    /// Latin hypercube: each axis cut into `samples` strata, one point per stratum.
    Lhs,
    /// Independent uniform points.
    Uniform,
    /// Full factorial grid with `levels` points per axis, ends included.
    Grid,
}

/// The `[design]` config table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignConfig {
    /// Kind of design.
    pub kind: DesignKind,
    /// Number of points.
    pub samples: u64,
    /// Seed of the randomisation.
    #[serde(default)]
    pub seed: u64,
    /// Points per axis (grid only); `samples` must equal `levels^dim`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<u64>,
    /// Share of the points put on the box's faces, edges and corners (not for grids, whose
    /// ends are on the faces already); omitted: [`DEFAULT_BOUNDARY`]. A network drives its
    /// devices to the edges of their box (inputs at their ends, A at its bounds), where a
    /// space-filling design puts almost no points and a surrogate would extrapolate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<f64>,
}

/// The share of boundary points of a design that does not name one (grids: none).
pub const DEFAULT_BOUNDARY: f64 = 0.1;

impl DesignConfig {
    /// The share of boundary points this design puts down.
    pub fn boundary_share(&self) -> f64 {
        match self.kind {
            DesignKind::Grid => 0.0,
            _ => self.boundary.unwrap_or(DEFAULT_BOUNDARY),
        }
    }
}

/// A validated design over the unit cube of a given dimension.
#[derive(Clone, Debug)]
pub struct Design {
    config: DesignConfig,
    dim: usize,
    sobol_dirs: Vec<Vec<u64>>,
    shifts: Vec<u64>,
}

const SOBOL_BITS: usize = 52;

impl Design {
    /// Validates `config` for `dim` coordinates (`origin` names the config in errors).
    pub fn new(config: &DesignConfig, dim: usize, origin: &str) -> Result<Self> {
        let bad = |m: String| Err(SimError::config(origin, m));
        if config.samples == 0 {
            return bad("design.samples must be at least 1".into());
        }
        if dim == 0 {
            return bad("the design box has no coordinates".into());
        }
        if config.levels.is_some() && config.kind != DesignKind::Grid {
            return bad("design.levels only applies to kind = \"grid\"".into());
        }
        if let Some(b) = config.boundary {
            if config.kind == DesignKind::Grid && b != 0.0 {
                return bad("design.boundary does not apply to grids (their end levels lie on the faces)".into());
            }
            if !(0.0..=1.0).contains(&b) {
                return bad(format!("design.boundary = {b} must be a share in [0, 1]"));
            }
        }
        let mut sobol_dirs = Vec::new();
        match config.kind {
            DesignKind::Sobol => {
                let params = JoeKuoD6::standard();
                if dim > params.max_dims {
                    return bad(format!(
                        "Sobol designs support at most {} coordinates, this box has {dim}",
                        params.max_dims
                    ));
                }
                if config.samples > 1 << 40 {
                    return bad(format!("design.samples = {} exceeds the Sobol limit 2^40", config.samples));
                }
                sobol_dirs = Sobol::<f64>::init_direction_vals::<u32>(dim, SOBOL_BITS, &params);
            }
            DesignKind::Lhs => {
                if config.samples > u64::from(u32::MAX) {
                    return bad(format!(
                        "design.samples = {} exceeds the Latin hypercube limit 2^32 - 1",
                        config.samples
                    ));
                }
            }
            DesignKind::Uniform => {}
            DesignKind::Grid => {
                let Some(levels) = config.levels.filter(|&l| l >= 2) else {
                    return bad("a grid design needs design.levels >= 2".into());
                };
                let total = u32::try_from(dim).ok().and_then(|d| levels.checked_pow(d));
                if total != Some(config.samples) {
                    let shown = total.map_or("more than 2^64".to_string(), |t| t.to_string());
                    return bad(format!(
                        "a grid with {levels} levels over {dim} coordinates has {shown} points; set design.samples to that"
                    ));
                }
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let shifts = (0..dim).map(|_| rng.random::<u64>()).collect();
        Ok(Self { config: config.clone(), dim, sobol_dirs, shifts })
    }

    /// Number of points.
    pub fn len(&self) -> u64 {
        self.config.samples
    }

    /// Whether the design is empty (never, once validated).
    pub fn is_empty(&self) -> bool {
        self.config.samples == 0
    }

    /// Number of coordinates per point.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The config this design was built from.
    pub fn config(&self) -> &DesignConfig {
        &self.config
    }

    /// Writes point `i` (in the unit cube) into `out` (length [`Design::dim`]).
    ///
    /// A seeded share ([`DesignConfig::boundary_share`]) of the points is moved onto the
    /// boundary: each such point draws a share q in [0, 1] and pins every coordinate, with
    /// probability q, to 0 or 1 (a fair coin); q near 0 gives points on one face, q near 1
    /// corners. Which points, and how, depends only on (seed, i).
    pub fn unit_point(&self, i: u64, out: &mut [f64]) {
        self.base_point(i, out);
        let share = self.config.boundary_share();
        let seed = self.config.seed ^ 0xB0B0_B0B0_B0B0;
        if share > 0.0 && unit_hash(seed, u64::MAX, i) < share {
            let q = unit_hash(seed, u64::MAX - 1, i);
            let mut pinned = false;
            for (d, o) in out.iter_mut().enumerate() {
                if unit_hash(seed, 2 * d as u64, i) < q {
                    *o = if unit_hash(seed, 2 * d as u64 + 1, i) < 0.5 { 0.0 } else { 1.0 };
                    pinned = true;
                }
            }
            if !pinned {
                // at least one face: the coordinate drawn by the point's own hash
                let d = (unit_hash(seed, u64::MAX - 2, i) * out.len() as f64) as usize % out.len().max(1);
                if let Some(o) = out.get_mut(d) {
                    *o = if *o < 0.5 { 0.0 } else { 1.0 };
                }
            }
        }
    }

    /// The point of the plain space-filling design.
    fn base_point(&self, i: u64, out: &mut [f64]) {
        let n = self.config.samples;
        match self.config.kind {
            DesignKind::Sobol => {
                let gray = i ^ (i >> 1);
                for (d, o) in out.iter_mut().enumerate() {
                    let dirs = &self.sobol_dirs[d];
                    let mut v = 0u64;
                    let mut g = gray;
                    while g != 0 {
                        v ^= dirs[g.trailing_zeros() as usize];
                        g &= g - 1;
                    }
                    *o = ((v ^ self.shifts[d]) >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                }
            }
            DesignKind::Lhs => {
                for (d, o) in out.iter_mut().enumerate() {
                    let stratum = kensler_permute(i as u32, n as u32, self.shifts[d] as u32);
                    let jitter = unit_hash(self.config.seed, d as u64, i);
                    *o = (f64::from(stratum) + jitter) / n as f64;
                }
            }
            DesignKind::Uniform => {
                let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
                rng.set_stream(i);
                for o in out.iter_mut() {
                    *o = rng.random::<f64>();
                }
            }
            DesignKind::Grid => {
                let levels = self.config.levels.unwrap_or(2);
                let mut rest = i;
                for o in out.iter_mut() {
                    *o = (rest % levels) as f64 / (levels - 1) as f64;
                    rest /= levels;
                }
            }
        }
    }
}

/// A pseudo-random permutation of `0..len` evaluated at `i` (Kensler 2013, "Correlated
/// Multi-Jittered Sampling", Pixar TM 13-01): a bijection computed without memory.
fn kensler_permute(mut i: u32, len: u32, p: u32) -> u32 {
    let mut w = len.wrapping_sub(1);
    w |= w >> 1;
    w |= w >> 2;
    w |= w >> 4;
    w |= w >> 8;
    w |= w >> 16;
    loop {
        i ^= p;
        i = i.wrapping_mul(0xe170893d);
        i ^= p >> 16;
        i ^= (i & w) >> 4;
        i ^= p >> 8;
        i = i.wrapping_mul(0x0929eb3f);
        i ^= p >> 23;
        i ^= (i & w) >> 1;
        i = i.wrapping_mul(1 | p >> 27);
        i = i.wrapping_mul(0x6935fa69);
        i ^= (i & w) >> 11;
        i = i.wrapping_mul(0x74dcb303);
        i ^= (i & w) >> 2;
        i = i.wrapping_mul(0x9e501cc3);
        i ^= (i & w) >> 2;
        i = i.wrapping_mul(0xc860a3df);
        i &= w;
        i ^= i >> 5;
        if i < len {
            break;
        }
    }
    ((u64::from(i) + u64::from(p)) % u64::from(len)) as u32
}

/// A standard normal number from two uniforms (Box-Muller), for seeded perturbations.
pub fn standard_normal<R: Rng>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A uniform number in [0, 1) from a SplitMix64 hash of (seed, d, i).
fn unit_hash(seed: u64, d: u64, i: u64) -> f64 {
    let mut z = seed ^ d.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design(kind: DesignKind, samples: u64, seed: u64, dim: usize) -> Design {
        let levels = (kind == DesignKind::Grid).then(|| (samples as f64).powf(1.0 / dim as f64).round() as u64);
        Design::new(&DesignConfig { kind, samples, seed, levels, boundary: Some(0.0) }, dim, "test").unwrap()
    }

    fn points(d: &Design) -> Vec<Vec<f64>> {
        (0..d.len())
            .map(|i| {
                let mut p = vec![0.0; d.dim()];
                d.unit_point(i, &mut p);
                p
            })
            .collect()
    }

    #[test]
    fn every_design_stays_in_the_unit_cube_and_is_reproducible() {
        for kind in [DesignKind::Sobol, DesignKind::Lhs, DesignKind::Uniform, DesignKind::Grid] {
            let a = points(&design(kind, 64, 7, 3));
            assert!(a.iter().flatten().all(|v| (0.0..=1.0).contains(v)), "{kind:?}");
            assert_eq!(a, points(&design(kind, 64, 7, 3)), "{kind:?}");
        }
        assert_ne!(points(&design(DesignKind::Sobol, 8, 1, 2)), points(&design(DesignKind::Sobol, 8, 2, 2)));
    }

    #[test]
    fn designs_put_their_boundary_share_on_faces_and_corners() {
        let dim = 8;
        for kind in [DesignKind::Sobol, DesignKind::Lhs, DesignKind::Uniform] {
            let cfg = DesignConfig { kind, samples: 4000, seed: 5, levels: None, boundary: None };
            let pts = points(&Design::new(&cfg, dim, "b.toml").unwrap());
            let on_face = |p: &Vec<f64>| p.iter().filter(|v| **v == 0.0 || **v == 1.0).count();
            let boundary = pts.iter().filter(|p| on_face(p) > 0).count() as f64 / pts.len() as f64;
            assert!((boundary - DEFAULT_BOUNDARY).abs() < 0.02, "{kind:?}: {boundary}");
            // from single faces to corners: some points have every coordinate pinned, or nearly
            assert!(pts.iter().any(|p| on_face(p) == 1), "{kind:?}");
            assert!(pts.iter().any(|p| on_face(p) >= dim - 1), "{kind:?}");
            // both ends of every axis are reached
            for d in 0..dim {
                assert!(pts.iter().any(|p| p[d] == 0.0) && pts.iter().any(|p| p[d] == 1.0), "{kind:?} axis {d}");
            }
            let plain = DesignConfig { boundary: Some(0.0), ..cfg };
            let pts = points(&Design::new(&plain, dim, "b.toml").unwrap());
            assert!(pts.iter().all(|p| on_face(p) == 0), "{kind:?}: boundary = 0 leaves the design alone");
        }
        let grid = DesignConfig { kind: DesignKind::Grid, samples: 9, seed: 0, levels: Some(3), boundary: Some(0.1) };
        let err = Design::new(&grid, 2, "g.toml").unwrap_err().to_string();
        assert!(err.contains("g.toml") && err.contains("boundary"), "{err}");
    }

    #[test]
    fn lhs_hits_every_stratum_once() {
        let n = 100;
        let pts = points(&design(DesignKind::Lhs, n, 3, 4));
        for d in 0..4 {
            let mut strata: Vec<u64> = pts.iter().map(|p| (p[d] * n as f64) as u64).collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn sobol_is_balanced_on_dyadic_boxes() {
        // the first 2^k points of a (digitally shifted) Sobol sequence put 2^(k-2) in each quarter
        let pts = points(&design(DesignKind::Sobol, 256, 11, 2));
        let mut counts = [0usize; 4];
        for p in &pts {
            counts[(p[0] * 2.0) as usize * 2 + (p[1] * 2.0) as usize] += 1;
        }
        assert_eq!(counts, [64; 4]);
        let mean: f64 = pts.iter().map(|p| p[0]).sum::<f64>() / 256.0;
        assert!((mean - 0.5).abs() < 0.01);
    }

    #[test]
    fn grid_has_all_corners_and_bad_configs_are_named() {
        let pts = points(&design(DesignKind::Grid, 9, 0, 2));
        assert!(pts.contains(&vec![0.0, 0.0]) && pts.contains(&vec![1.0, 1.0]) && pts.contains(&vec![0.5, 0.5]));
        let err = Design::new(
            &DesignConfig { kind: DesignKind::Grid, samples: 10, seed: 0, levels: Some(3), boundary: None },
            2,
            "g.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("g.toml") && err.contains("has 9 points"), "{err}");
        let err = Design::new(
            &DesignConfig { kind: DesignKind::Sobol, samples: 0, seed: 0, levels: None, boundary: None },
            2,
            "z.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("samples must be at least 1"), "{err}");
    }

    #[test]
    fn normal_draws_have_unit_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let v: Vec<f64> = (0..20000).map(|_| standard_normal(&mut rng)).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "{mean} {var}");
    }
}
