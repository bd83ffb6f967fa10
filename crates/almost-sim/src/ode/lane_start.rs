//! Starting one lane of the march ([`super::lane_march`]) in a free slot: its constants,
//! block and initial values, their right-hand side, and diffsol's first step. Lanes start
//! one by one, when the march begins and whenever a lane finishes and another is waiting, so
//! that the slots stay full while lanes that need many steps are still going.

use crate::error::{Result, SimError};
use crate::ode::lanes::{LaneEquations, Slots, mean_square};

/// One lane's values while it is started on its own (rows of one value).
pub(super) struct Starter {
    y: Vec<f64>,
    dy: Vec<f64>,
    ys: Vec<f64>,
    f: Vec<f64>,
    c: Vec<f64>,
    b: Vec<f64>,
}

impl Starter {
    /// Room for a lane of `width` values, `constants` constants and a block of `block`.
    pub fn new(width: usize, constants: usize, block: usize) -> Self {
        let v = || vec![0.0; width];
        Self { y: v(), dy: v(), ys: v(), f: v(), c: vec![0.0; constants], b: vec![0.0; block] }
    }

    /// Starts `lane` of `eq` (tolerances `rtol, atol`, a method of `order`) and returns its
    /// first step as diffsol's `set_step_size` picks it (from the states: Hairer-Norsett-Wanner
    /// II.4, two right-hand sides), clipped to the first sample time of `times`; its values and
    /// their right-hand side wait for [`Starter::place`].
    pub fn start<E: LaneEquations + ?Sized>(
        &mut self,
        eq: &E,
        lane: usize,
        (rtol, atol): (f64, f64),
        order: usize,
        times: &[f64],
    ) -> Result<f64> {
        let ns = eq.states();
        eq.fill(lane, &mut self.c, &mut self.b);
        eq.init(lane, &mut self.y);
        let lanes = [lane];
        let at = Slots { lanes: &lanes, stride: 1, c: &self.c, b: &self.b };
        eq.rhs(&at, &self.y, &[0.0], &mut self.dy);
        let d0 = mean_square(&self.y[..ns], &self.y[..ns], rtol, atol).sqrt();
        let d1 = mean_square(&self.dy[..ns], &self.y[..ns], rtol, atol).sqrt();
        let h0 = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * (d0 / d1) };
        for ((ys, &y), &dy) in self.ys.iter_mut().zip(&self.y).zip(&self.dy) {
            *ys = y + h0 * dy;
        }
        eq.rhs(&at, &self.ys, &[h0], &mut self.f);
        // f - dy over the states, kept in ys (no longer needed)
        for ((d, &f), &dy) in self.ys[..ns].iter_mut().zip(&self.f).zip(&self.dy) {
            *d = f - dy;
        }
        let d2 = mean_square(&self.ys[..ns], &self.y[..ns], rtol, atol).sqrt() / h0;
        let max_d = d1.max(d2);
        let h1 = if max_d < 1e-15 { (h0 * 1e-3).max(1e-6) } else { (0.01 / max_d).powf(1.0 / (1.0 + order as f64)) };
        let mut h = (100.0 * h0).min(h1);
        if let Some(&t_stop) = times.first()
            && at_stop(0.0, &mut h, t_stop)
        {
            return Err(SimError::Solver { time: 0.0, message: "the first sample time is the start time".into() });
        }
        Ok(h)
    }

    /// Puts the started lane's values, their right-hand side, its constants and its block into
    /// slot `s` of the state-major rows of `stride` (`y`, `dy`, `c`) and of the blocks `b`.
    pub fn place(&self, s: usize, stride: usize, y: &mut [f64], dy: &mut [f64], c: &mut [f64], b: &mut [f64]) {
        for (e, (&v, &d)) in self.y.iter().zip(&self.dy).enumerate() {
            y[e * stride + s] = v;
            dy[e * stride + s] = d;
        }
        for (i, &v) in self.c.iter().enumerate() {
            c[i * stride + s] = v;
        }
        let nb = self.b.len();
        b[s * nb..(s + 1) * nb].copy_from_slice(&self.b);
    }
}

/// diffsol's `handle_tstop`: whether a lane at `t` sits on `t_stop`; else its step `h` is
/// clipped so as not to pass it.
pub(super) fn at_stop(t: f64, h: &mut f64, t_stop: f64) -> bool {
    let roundoff = 100.0 * f64::EPSILON * (t.abs() + h.abs());
    if (t - t_stop).abs() <= roundoff {
        return true;
    }
    if t + *h > t_stop + roundoff {
        *h *= (t_stop - t) / *h;
    }
    false
}
