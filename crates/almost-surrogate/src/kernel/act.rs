//! The activations on host f32 slices, with their derivatives: branch-free, so that the
//! compiler turns each loop into SIMD (no libm call per element), and as accurate as f32
//! allows (checked against f64 in the tests below).

use crate::activation::Activation;

/// Largest |z| at which the rational tanh is evaluated; past it tanh(z) rounds to +-1 in f32.
const TANH_CLAMP: f32 = 7.905_311;

/// tanh(z) to a few ulp: the odd/even rational form used by Eigen's vectorised tanh.
#[inline(always)]
fn tanh(z: f32) -> f32 {
    let x = z.clamp(-TANH_CLAMP, TANH_CLAMP);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16_f32;
    p = p.mul_add(x2, 2.000_188e-13);
    p = p.mul_add(x2, -8.604_672e-11);
    p = p.mul_add(x2, 5.122_297e-8);
    p = p.mul_add(x2, 1.485_722_4e-5);
    p = p.mul_add(x2, 6.372_619_3e-4);
    p = p.mul_add(x2, 4.893_524_6e-3);
    let mut q = 1.198_258_4e-6_f32;
    q = q.mul_add(x2, 1.185_347e-4);
    q = q.mul_add(x2, 2.268_434_7e-3);
    q = q.mul_add(x2, 4.893_525e-3);
    let t = x * p / q;
    if z.abs() < 4e-4 { z } else { t }
}

/// e^z to about 1 ulp for z in the f32 range (Cephes' reduction: z = k ln2 + r).
#[inline(always)]
fn exp(z: f32) -> f32 {
    let x = z.clamp(-87.3, 88.7);
    let k = (x * std::f32::consts::LOG2_E).round();
    let r = k.mul_add(-0.693_359_4, x);
    let r = k.mul_add(2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4_f32;
    p = p.mul_add(r, 1.398_199_9e-3);
    p = p.mul_add(r, 8.333_452e-3);
    p = p.mul_add(r, 4.166_579_6e-2);
    p = p.mul_add(r, 1.666_666_5e-1);
    p = p.mul_add(r, 0.5);
    let e = (p * r).mul_add(r, r) + 1.0;
    // 2^k built from its exponent bits (k lies in -126..=128 after the clamp)
    let scale = f32::from_bits(((k as i32 + 127).clamp(1, 254) as u32) << 23);
    e * scale
}

/// erf(z) to ~1.5e-7 (Abramowitz & Stegun 7.1.26).
#[inline(always)]
fn erf(z: f32) -> f32 {
    let x = z.abs();
    let t = 1.0 / 0.327_591_1_f32.mul_add(x, 1.0);
    let mut p = 1.061_405_4_f32;
    p = p.mul_add(t, -1.453_152_1);
    p = p.mul_add(t, 1.421_413_8);
    p = p.mul_add(t, -0.284_496_74);
    p = p.mul_add(t, 0.254_829_6);
    let y = 1.0 - p * t * exp(-x * x);
    y.copysign(z)
}

#[inline(always)]
fn softsign(z: f32) -> (f32, f32) {
    let d = 1.0 / (1.0 + z.abs());
    (z * d, d * d)
}

#[inline(always)]
fn tanh_slope(z: f32) -> (f32, f32) {
    let t = tanh(z);
    (t, 1.0 - t * t)
}

#[inline(always)]
fn sigmoid(z: f32) -> (f32, f32) {
    let s = 1.0 / (1.0 + exp(-z));
    (s, s * (1.0 - s))
}

#[inline(always)]
fn silu(z: f32) -> (f32, f32) {
    let s = 1.0 / (1.0 + exp(-z));
    (z * s, s + z * s * (1.0 - s))
}

#[inline(always)]
fn gelu(z: f32) -> (f32, f32) {
    let cdf = 0.5 * (1.0 + erf(z * std::f32::consts::FRAC_1_SQRT_2));
    let pdf = exp(-0.5 * z * z) * 0.398_942_3;
    (z * cdf, cdf + z * pdf)
}

#[inline(always)]
fn identity(z: f32) -> (f32, f32) {
    (z, 1.0)
}

/// One loop per activation (a `match` inside the loop would keep it from becoming SIMD).
#[inline(always)]
fn each(act: Activation, z: &[f32], h: &mut [f32], mut slope: Option<&mut [f32]>) {
    #[inline(always)]
    fn run(f: impl Fn(f32) -> (f32, f32), z: &[f32], h: &mut [f32], slope: &mut Option<&mut [f32]>) {
        match slope {
            Some(s) => {
                for ((zi, hi), si) in z.iter().zip(h.iter_mut()).zip(s.iter_mut()) {
                    (*hi, *si) = f(*zi);
                }
            }
            None => {
                for (zi, hi) in z.iter().zip(h.iter_mut()) {
                    *hi = f(*zi).0;
                }
            }
        }
    }
    match act {
        Activation::Softsign => run(softsign, z, h, &mut slope),
        Activation::Tanh => run(tanh_slope, z, h, &mut slope),
        Activation::Sigmoid => run(sigmoid, z, h, &mut slope),
        Activation::Silu => run(silu, z, h, &mut slope),
        Activation::Gelu => run(gelu, z, h, &mut slope),
        Activation::Identity => run(identity, z, h, &mut slope),
    }
}

/// The loops above as one operation for pulp's dispatch: its `with_simd` is inlined into a
/// function compiled for the CPU's SIMD (AVX2 and FMA where present), which a closure is not
/// (measured: softsign 2x, tanh 60x slower through a closure).
struct Each<'a> {
    act: Activation,
    z: &'a [f32],
    h: &'a mut [f32],
    slope: Option<&'a mut [f32]>,
}

impl pulp::WithSimd for Each<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        each(self.act, self.z, self.h, self.slope);
    }
}

/// `g *= slope` for pulp's dispatch.
struct Times<'a> {
    g: &'a mut [f32],
    slope: &'a [f32],
}

impl pulp::WithSimd for Times<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        for (gi, si) in self.g.iter_mut().zip(self.slope) {
            *gi *= *si;
        }
    }
}

/// `h = act(z)` and `slope = act'(z)`, element by element.
pub fn apply_with_slope(act: Activation, z: &[f32], h: &mut [f32], slope: &mut [f32]) {
    pulp::Arch::new().dispatch(Each { act, z, h, slope: Some(slope) });
}

/// `h = act(z)`, element by element (no derivative: a forward pass that is not trained).
pub fn apply(act: Activation, z: &[f32], h: &mut [f32]) {
    pulp::Arch::new().dispatch(Each { act, z, h, slope: None });
}

/// `g *= slope`, element by element (the backward pass through an activation).
pub fn times(g: &mut [f32], slope: &[f32]) {
    pulp::Arch::new().dispatch(Times { g, slope });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The activation and its derivative in f64, from their closed forms.
    fn reference(act: Activation, z: f64) -> (f64, f64) {
        let sigmoid = 1.0 / (1.0 + (-z).exp());
        match act {
            Activation::Softsign => (z / (1.0 + z.abs()), 1.0 / ((1.0 + z.abs()) * (1.0 + z.abs()))),
            Activation::Tanh => (z.tanh(), 1.0 - z.tanh() * z.tanh()),
            Activation::Sigmoid => (sigmoid, sigmoid * (1.0 - sigmoid)),
            Activation::Silu => (z * sigmoid, sigmoid + z * sigmoid * (1.0 - sigmoid)),
            Activation::Gelu => {
                let cdf = 0.5 * (1.0 + libm::erf(z / std::f64::consts::SQRT_2));
                let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
                (z * cdf, cdf + z * pdf)
            }
            Activation::Identity => (z, 1.0),
        }
    }

    #[test]
    fn every_activation_and_its_slope_match_f64_within_f32_rounding() {
        let acts = Activation::ALL;
        let zs: Vec<f32> = (-4000..=4000).map(|i| i as f32 * 0.003).chain([-30.0, -9.0, 1e-5, 9.0, 30.0]).collect();
        for act in acts {
            let (mut h, mut s) = (vec![0.0; zs.len()], vec![0.0; zs.len()]);
            apply_with_slope(act, &zs, &mut h, &mut s);
            for (k, &z) in zs.iter().enumerate() {
                let z64 = f64::from(z);
                let (want, slope) = reference(act, z64);
                let tol = 4e-7 * (1.0 + want.abs());
                assert!((f64::from(h[k]) - want).abs() < tol, "{act:?}({z}) = {} vs {want}", h[k]);
                assert!(
                    (f64::from(s[k]) - slope).abs() < 2e-6 * (1.0 + slope.abs()),
                    "{act:?}'({z}) = {} vs {slope}",
                    s[k]
                );
            }
        }
    }
}
