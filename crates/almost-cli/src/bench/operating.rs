//! The floor of the physics training modes: every device of a network priced at the points
//! the network drives it to ([`almost_sim::DeviceModel::solve_floor`]), recorded during an
//! evaluation on the physics.

use std::sync::Mutex;

use anyhow::Result;

use almost_net::{Hardware, NominalHardware};
use almost_sim::floor::Floor;
use almost_sim::{DerivativeSource, Jacobian};

/// Points kept per layer: the first of each run of lanes, up to this many.
const KEEP: usize = 192;

/// Nominal hardware that keeps a sample of the points `p = [x, A]` each layer is solved at.
pub struct Recording<'a> {
    inner: &'a NominalHardware,
    points: Mutex<Vec<Vec<Vec<f64>>>>,
}

impl<'a> Recording<'a> {
    /// Records what `inner` is asked to solve.
    pub fn new(inner: &'a NominalHardware) -> Self {
        Self { inner, points: Mutex::new(vec![Vec::new(); inner.devices.len()]) }
    }

    /// Each layer's solve and forward-sensitivity solve (what the exact mode asks) against
    /// their floors at the recorded points (`None` where the device cannot be priced or was
    /// not asked anything), one thread.
    pub fn floors(&self, repeats: usize) -> Result<Vec<LayerFloors>> {
        let points = self.points.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut floors = Vec::with_capacity(points.len());
        for (device, points) in self.inner.devices.iter().zip(&points) {
            if points.is_empty() {
                floors.push(LayerFloors { solve: None, sens: None });
                continue;
            }
            let solve = device.solve_floor(points, repeats).transpose()?;
            let sens = device.sens_floor(points, repeats).transpose()?;
            floors.push(LayerFloors { solve, sens });
        }
        Ok(floors)
    }
}

/// One layer's device priced at its operating points: its plain solve and its
/// forward-sensitivity solve, each against its floor where it can be priced.
pub struct LayerFloors {
    /// The plain solve (the physics evaluation and the physics-aware mode).
    pub solve: Option<Floor>,
    /// The forward-sensitivity solve (the exact mode).
    pub sens: Option<Floor>,
}

impl Hardware for Recording<'_> {
    fn respond(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> almost_sim::Result<Vec<f64>> {
        self.inner.respond(layer, device, x, a)
    }

    fn jacobian(&self, layer: usize, device: usize, x: &[f64], a: &[f64]) -> Option<almost_sim::Result<Jacobian>> {
        self.inner.jacobian(layer, device, x, a)
    }

    fn derivative_source(&self, layer: usize) -> Option<DerivativeSource> {
        self.inner.derivative_source(layer)
    }

    fn kind(&self, layer: usize) -> String {
        self.inner.kind(layer)
    }

    fn respond_points(
        &self,
        layer: usize,
        device: usize,
        points: &[(&[f64], &[f64])],
    ) -> Vec<almost_sim::Result<Vec<f64>>> {
        if let Some((x, a)) = points.first() {
            let mut kept = self.points.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(layer) = kept.get_mut(layer)
                && layer.len() < KEEP
            {
                layer.push(x.iter().chain(*a).copied().collect());
            }
        }
        self.inner.respond_points(layer, device, points)
    }
}

/// Seconds of device solves at their floor for one image: every layer's devices times its
/// floor per solve; `None` if a layer has no floor.
pub fn floor_seconds_per_image(devices: &[usize], floors: &[Option<&Floor>]) -> Option<f64> {
    devices.iter().zip(floors).map(|(&d, f)| f.map(|f| d as f64 * f.floor_us() * 1e-6)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floor(us: f64) -> Floor {
        Floor { rhs_per_solve: 100.0, jac_per_solve: 0.0, rhs_ns: us * 10.0, jac_ns: 0.0, solve_us: 1.0, batch_us: 1.0 }
    }

    #[test]
    fn an_images_floor_sums_every_layers_devices_at_their_floor() {
        // 100 evaluations of 10 ns = 1 us a solve, 20 us = 2 us a solve
        let (one, two) = (floor(1.0), floor(2.0));
        let got = floor_seconds_per_image(&[10, 3], &[Some(&one), Some(&two)]).unwrap();
        assert!((got - (10.0 * 1e-6 + 3.0 * 2e-6)).abs() < 1e-15, "{got}");
        assert_eq!(floor_seconds_per_image(&[10, 3], &[Some(&one), None]), None);
    }
}
