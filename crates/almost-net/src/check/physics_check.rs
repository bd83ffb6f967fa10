//! The check on the devices' physics that ends every training run.

use serde::{Deserialize, Serialize};

use crate::data::images::ImageSet;
use crate::network::chain::DeviceNetwork;
use crate::physics::evaluate::{PhysicsReport, evaluate};
use crate::physics::hardware::Hardware;

/// The trained network on the physics, on the first `images` test images, next to the
/// surrogate network on the same images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhysicsCheck {
    /// Test images in the whole test set (the check ran on the first `report.images`).
    pub test_images: usize,
    /// Binomial standard error of the physics accuracy on the checked images.
    pub stderr_physics: f64,
    /// Accuracy on physics minus accuracy on surrogates, on the same images.
    pub gap: f64,
    /// Standard error of that gap (paired: images where exactly one of the two is right).
    pub gap_stderr: f64,
    /// The gap is larger than twice its standard error: the surrogate figure is not the device's.
    pub flagged: bool,
    /// The physics evaluation itself (the same as `almost-train evaluate --physics --samples N`).
    pub report: PhysicsReport,
}

/// How many test images the check runs on: all of them when `all`, else `images` (0 = all),
/// at most `solve_budget / devices` (0 = no budget); 0 means the budget does not allow one.
pub fn check_images(test_len: usize, devices: usize, images: usize, solve_budget: usize, all: bool) -> usize {
    let wanted = if all || images == 0 { test_len } else { images.min(test_len) };
    if all || solve_budget == 0 { wanted } else { wanted.min(solve_budget / devices.max(1)) }
}

/// Binomial standard error of an accuracy `p` measured on `n` images.
pub fn binomial_stderr(p: f64, n: usize) -> f64 {
    if n == 0 { f64::NAN } else { (p * (1.0 - p) / n as f64).sqrt() }
}

/// Mean and standard error of the paired per-image difference (physics right) - (surrogate
/// right), from the counts of images only one of the two gets right.
pub fn paired_gap(physics_only: usize, surrogate_only: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let nf = n as f64;
    let mean = (physics_only as f64 - surrogate_only as f64) / nf;
    let second = (physics_only + surrogate_only) as f64 / nf;
    let var = if n > 1 { (second - mean * mean) * nf / (nf - 1.0) } else { 0.0 };
    (mean, (var.max(0.0) / nf).sqrt())
}

/// Runs the check: the network (on the inner, non-autodiff device) on `hardware` for the
/// first `images` test images, the hardware seeing A quantised to `bits`.
pub fn physics_check(
    network: &DeviceNetwork,
    hardware: &dyn Hardware,
    test: &ImageSet,
    images: usize,
    bits: u32,
    progress: bool,
) -> PhysicsCheck {
    let report = evaluate(network, hardware, test, images.max(1), bits, progress);
    let (gap, gap_stderr) = paired_gap(report.physics_only_right, report.surrogate_only_right, report.images);
    PhysicsCheck {
        test_images: test.len(),
        stderr_physics: binomial_stderr(report.accuracy_physics, report.images),
        gap,
        gap_stderr,
        flagged: gap != 0.0 && gap.abs() > 2.0 * gap_stderr,
        report,
    }
}

impl PhysicsCheck {
    /// One line for the end of training, and a warning line when the gap is flagged.
    pub fn summary(&self) -> String {
        let r = &self.report;
        let mut s = format!(
            "physics check on {} of {} test images: accuracy on surrogates {:.2}%, on physics {:.2}% +- {:.2} \
             (gap {:+.2} +- {:.2} points{})",
            r.images,
            self.test_images,
            100.0 * r.accuracy_surrogate,
            100.0 * r.accuracy_physics,
            100.0 * self.stderr_physics,
            100.0 * self.gap,
            100.0 * self.gap_stderr,
            if self.flagged { ", FLAGGED" } else { ", within the noise" }
        );
        if self.flagged {
            s.push_str(&format!(
                "\nWARNING: on the devices' physics the network scores {:.2}% where the surrogates say {:.2}%: \
                 a gap of {:+.2} points, more than twice its standard error. The accuracy on surrogates is not \
                 the device's; look at the surrogate's error where the network operates (metrics.csv) and \
                 fit a better surrogate or fine-tune with --mode physics-aware.",
                100.0 * r.accuracy_physics,
                100.0 * r.accuracy_surrogate,
                100.0 * self.gap
            ));
        }
        s
    }
}

/// The words printed where a figure on surrogates has no physics figure beside it.
pub const NOT_CHECKED: &str = "not checked on physics";

/// The outcome of the closing check on the physics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum PhysicsVerdict {
    /// The network ran on the devices' physics.
    Checked(PhysicsCheck),
    /// It did not, and why: every accuracy on surrogates is printed with these words.
    NotChecked {
        /// Why not.
        reason: String,
    },
}

impl PhysicsVerdict {
    /// The line printed after training.
    pub fn summary(&self) -> String {
        match self {
            Self::Checked(c) => c.summary(),
            Self::NotChecked { reason } => format!("{}: {reason}", NOT_CHECKED),
        }
    }

    /// The check, if it ran.
    pub fn checked(&self) -> Option<&PhysicsCheck> {
        match self {
            Self::Checked(c) => Some(c),
            Self::NotChecked { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_sizes_follow_images_budget_and_all() {
        assert_eq!(check_images(2000, 1452, 500, 2_000_000, false), 500);
        assert_eq!(check_images(2000, 1452, 500, 145_200, false), 100);
        assert_eq!(check_images(2000, 1452, 500, 1000, false), 0);
        assert_eq!(check_images(2000, 1452, 500, 1000, true), 2000);
        assert_eq!(check_images(2000, 10, 0, 0, false), 2000);
        assert_eq!(check_images(300, 10, 500, 0, false), 300);
    }

    #[test]
    fn paired_gap_matches_a_direct_computation() {
        // 10 images: 3 only physics right, 1 only surrogate right, 6 ties
        let d = [1.0, 1.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mean = d.iter().sum::<f64>() / 10.0;
        let var = d.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 9.0;
        let (m, se) = paired_gap(3, 1, 10);
        assert!((m - mean).abs() < 1e-12);
        assert!((se - (var / 10.0).sqrt()).abs() < 1e-12);
        assert_eq!(paired_gap(0, 0, 50), (0.0, 0.0));
        assert!((binomial_stderr(0.5, 100) - 0.05).abs() < 1e-12);
    }
}
