//! The box of (x, A) a dataset covers: the domain a surrogate may be trusted in.

use serde::{Deserialize, Serialize};

use crate::error::{Result, SimError};
use crate::spec::DeviceSpec;

/// Per-coordinate intervals of the inputs x and parameters A.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainBox {
    /// `[lo, hi]` of each input x_i.
    pub x: Vec<[f64; 2]>,
    /// `[lo, hi]` of each parameter A_j.
    pub a: Vec<[f64; 2]>,
}

/// The optional `[box]` config table: one interval for all inputs and/or all parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxOverrides {
    /// Interval for every input (may extend beyond the device's nominal range).
    pub x: Option<[f64; 2]>,
    /// Interval for every parameter (must stay inside the physical bounds).
    pub a: Option<[f64; 2]>,
}

impl DomainBox {
    /// The device's own box: its input ranges and parameter bounds.
    pub fn of_spec(spec: &DeviceSpec) -> Self {
        Self {
            x: spec.inputs.iter().map(|q| [q.lo, q.hi]).collect(),
            a: spec.params.iter().map(|q| [q.lo, q.hi]).collect(),
        }
    }

    /// The interval every input shares: the largest lower end and the smallest upper end
    /// over the inputs (where a network's fixed input map must land).
    pub fn common_x(&self) -> (f64, f64) {
        (
            self.x.iter().map(|r| r[0]).fold(f64::NEG_INFINITY, f64::max),
            self.x.iter().map(|r| r[1]).fold(f64::INFINITY, f64::min),
        )
    }

    /// The device's box narrowed or widened by `overrides`, validated.
    pub fn from_overrides(spec: &DeviceSpec, overrides: &BoxOverrides, origin: &str) -> Result<Self> {
        let mut b = Self::of_spec(spec);
        let check = |name: &str, [lo, hi]: [f64; 2]| {
            if !(lo.is_finite() && hi.is_finite()) || lo >= hi {
                return Err(SimError::config(origin, format!("box.{name} = [{lo}, {hi}] is empty or not finite")));
            }
            Ok([lo, hi])
        };
        if let Some(r) = overrides.x {
            let r = check("x", r)?;
            b.x.iter_mut().for_each(|v| *v = r);
        }
        if let Some(r) = overrides.a {
            let r = check("a", r)?;
            for (v, q) in b.a.iter_mut().zip(&spec.params) {
                if r[0] < q.lo || r[1] > q.hi {
                    return Err(SimError::config(
                        origin,
                        format!(
                            "box.a = [{}, {}] leaves the physical bounds [{}, {}] of {}",
                            r[0], r[1], q.lo, q.hi, q.name
                        ),
                    ));
                }
                *v = r;
            }
        }
        Ok(b)
    }

    /// Total number of coordinates (inputs plus parameters).
    pub fn dim(&self) -> usize {
        self.x.len() + self.a.len()
    }

    /// Maps a unit-cube point `u` (length [`DomainBox::dim`]) into (x, A).
    pub fn map_unit(&self, u: &[f64], x: &mut [f64], a: &mut [f64]) {
        let (ux, ua) = u.split_at(self.x.len());
        for ((v, &t), [lo, hi]) in x.iter_mut().zip(ux).zip(&self.x) {
            *v = lo + (hi - lo) * t;
        }
        for ((v, &t), [lo, hi]) in a.iter_mut().zip(ua).zip(&self.a) {
            *v = lo + (hi - lo) * t;
        }
    }

    /// Whether (x, A) lies inside the box, with a relative slack `tol` of each width.
    pub fn contains(&self, x: &[f64], a: &[f64], tol: f64) -> bool {
        let inside = |v: f64, [lo, hi]: [f64; 2]| {
            let s = tol * (hi - lo);
            v >= lo - s && v <= hi + s
        };
        x.iter().zip(&self.x).all(|(&v, &r)| inside(v, r)) && a.iter().zip(&self.a).all(|(&v, &r)| inside(v, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Quantity;

    fn spec() -> DeviceSpec {
        DeviceSpec {
            kind: "t".into(),
            summary: String::new(),
            inputs: Quantity::family("x", "V", -1.0, 1.0, 2),
            params: Quantity::family("A", "1", -1.0, 1.0, 1),
            outputs: vec![Quantity::new("y", "V", -1.0, 1.0)],
            constants: Default::default(),
            source: String::new(),
        }
    }

    #[test]
    fn overrides_map_and_contain() {
        let o = BoxOverrides { x: Some([0.0, 2.0]), a: Some([-0.5, 0.5]) };
        let b = DomainBox::from_overrides(&spec(), &o, "c").unwrap();
        let (mut x, mut a) = ([0.0; 2], [0.0; 1]);
        b.map_unit(&[0.5, 1.0, 0.0], &mut x, &mut a);
        assert_eq!((x, a), ([1.0, 2.0], [-0.5]));
        assert!(b.contains(&x, &a, 0.0));
        assert!(!b.contains(&[2.1, 0.0], &a, 0.0) && b.contains(&[2.1, 0.0], &a, 0.1));
    }

    #[test]
    fn a_outside_physical_bounds_or_empty_range_is_rejected() {
        let o = BoxOverrides { x: None, a: Some([-2.0, 0.5]) };
        let err = DomainBox::from_overrides(&spec(), &o, "c.toml").unwrap_err().to_string();
        assert!(err.contains("physical bounds") && err.contains("c.toml"), "{err}");
        let o = BoxOverrides { x: Some([1.0, 1.0]), a: None };
        assert!(DomainBox::from_overrides(&spec(), &o, "c").unwrap_err().to_string().contains("empty"));
    }
}
