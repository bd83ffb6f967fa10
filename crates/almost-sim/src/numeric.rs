//! Elementary functions for right-hand sides, computed in Rust rather than by a call into the
//! C library.
//!
//! Why: in the training modes that solve the physics (`physics-aware`, `exact`) the device
//! solves share their threads with burn's AVX-512 matrix kernels, and there glibc's `exp`
//! measured about 100 ns a call against 3 ns alone: the profile put the time on the first
//! instruction after each switch between the caller's SSE code and glibc's VEX-coded
//! routine, the pattern of an SSE/AVX state-transition penalty. A physics-aware epoch of the
//! digit network took 4-6 s with glibc's `exp` and 0.6 s with an `exp` inlined into the
//! right-hand side (`almost-train bench modes --init runs/digits-diode`). Device code that
//! calls `exp` in its right-hand side should call [`exp`] here.

/// e^x to within 2 units in the last place (tested against the standard library over
/// [-700, 700]), inlined into the caller: `x = (32 m + j) ln 2 / 32 + r` with `|r| <= ln 2 /
/// 64`, `e^x = 2^m 2^(j/32) e^r`, a table of the 32 values 2^(j/32) and the Taylor
/// polynomial of e^r to degree 6 (truncation below 4e-18). Outside (-708, 709) (overflow,
/// underflow, subnormal results) and for NaN it defers to `f64::exp`.
#[inline]
pub fn exp(x: f64) -> f64 {
    if !(x > -708.0 && x < 709.0) {
        return x.exp();
    }
    let (k, r) = reduce(x);
    let (even, odd) = taylor(r);
    scaled(k, even + r * odd)
}

/// `(e^x, e^-x)` from one reduction and one polynomial (the even and odd parts of e^r give
/// e^r and e^-r), each as accurate as [`exp`]: what `sinh`, `cosh` and a diode pair's
/// current `e^z - e^-z` need, without a division. Outside (-708, 708), `f64::exp` twice.
#[inline]
pub fn exp_pair(x: f64) -> (f64, f64) {
    if !exp_pair_covers(x) {
        return (x.exp(), (-x).exp());
    }
    exp_pair_unguarded(x)
}

/// Where [`exp_pair_unguarded`] is [`exp_pair`]: x in (-708, 708) (false for NaN).
#[inline(always)]
pub fn exp_pair_covers(x: f64) -> bool {
    x > -708.0 && x < 708.0
}

/// [`exp_pair`] without its guard: the same value, bit for bit, where [`exp_pair_covers`]
/// x, and a meaningless (finite or not) one elsewhere. With no branch and no call, a loop of
/// it over many solves vectorises; such a loop clamps x into the range and then recomputes
/// the rare value outside it with [`exp_pair`].
#[inline(always)]
pub fn exp_pair_unguarded(x: f64) -> (f64, f64) {
    let (k, r) = reduce(x);
    let (even, odd) = taylor(r);
    (scaled(k, even + r * odd), scaled(-k, even - r * odd))
}

/// 2^(j/32), j = 0..31, each the nearest double.
const TWO_TO_J_32: [f64; 32] = [
    1.0,
    1.0218971486541166,
    1.0442737824274138,
    1.0671404006768237,
    1.0905077326652577,
    1.1143867425958924,
    1.1387886347566916,
    1.1637248587775775,
    1.189207115002721,
    1.215247359980469,
    1.241857812073484,
    1.2690509571917332,
    1.2968395546510096,
    1.3252366431597413,
    1.3542555469368927,
    1.383909881963832,
    std::f64::consts::SQRT_2,
    1.4451808069770467,
    1.4768261459394993,
    1.5091644275934228,
    1.5422108254079407,
    1.5759808451078865,
    1.6104903319492543,
    1.645755478153965,
    1.681792830507429,
    1.718619298122478,
    1.7562521603732995,
    1.7947090750031072,
    1.8340080864093424,
    1.8741676341103,
    1.9152065613971474,
    1.9571441241754002,
];

/// `x = k ln 2 / 32 + r` with k an integer and `|r| <= ln 2 / 64`, for |x| < 709.
#[inline(always)]
fn reduce(x: f64) -> (i64, f64) {
    // ln 2 / 32 in two parts: the high one has 32 trailing zero bits, so k times it is exact
    // fdlibm's ln2_hi and ln2_lo, by their bits
    const HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000) / 32.0;
    const LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76) / 32.0;
    // round to the nearest integer by the 1.5 * 2^52 shift (no call to `round`)
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let shifted = x * (32.0 * std::f64::consts::LOG2_E) + SHIFT;
    let k = shifted - SHIFT;
    // the shifted value's mantissa is 2^51 + k: its low 32 bits are k (two's complement),
    // cheaper than the saturating `k as i64`
    (i64::from(shifted.to_bits() as u32 as i32), (x - k * HI) - k * LO)
}

/// `e^r - 1 ~ (even - 1) + r odd` by Taylor to degree 6, with `even - 1` and `odd` polynomials
/// in r^2; returned as `(even - 1, odd)`.
#[inline(always)]
fn taylor(r: f64) -> (f64, f64) {
    let s = r * r;
    let even = s * (1.0 / 2.0 + s * (1.0 / 24.0 + s * (1.0 / 720.0)));
    let odd = 1.0 + s * (1.0 / 6.0 + s * (1.0 / 120.0));
    (even, odd)
}

/// `2^(k/32) (1 + q)` for an integer k with |k| < 32,760: the table value times 2^(k div 32),
/// and q added last so that the table value's digits stay.
#[inline(always)]
fn scaled(k: i64, q: f64) -> f64 {
    let t = TWO_TO_J_32[(k & 31) as usize];
    (t + t * q) * two_to(k >> 5)
}

/// 2^m for an integer m in [-1022, 1023], through the exponent bits.
#[inline(always)]
const fn two_to(m: i64) -> f64 {
    f64::from_bits(((m + 1023) as u64) << 52)
}

/// `x^(-1/10)` (the Tsitouras step controller's power of the error norm) to within a few
/// units in the last place for x in [1e-9, 1e9] ([`inverse_tenth_root_in_range`]);
/// elsewhere `f64::powf`.
#[inline]
pub fn inverse_tenth_root(x: f64) -> f64 {
    if !(1e-9..=1e9).contains(&x) {
        return x.powf(-0.1);
    }
    inverse_tenth_root_in_range(x)
}

/// The binary exponents e of [1e-9, 1e9]: -30 ..= 29.
const LOWEST_EXPONENT: i64 = -30;
const EXPONENTS: usize = 60;

/// 2^(-e/10) for every binary exponent e of [1e-9, 1e9], as `2^(-s/10) 2^(-q)` with e = 10 q
/// + s: a table value of 2^(-s/10) times a power of two, so every entry is exact.
const TENTH_POWERS: [f64; EXPONENTS] = {
    // 2^(-s/10), s = 0..9
    const TENTHS: [f64; 10] = [
        1.0,
        0.933_032_991_536_807_4,
        0.870_550_563_296_124_1,
        0.812_252_396_356_235_6,
        0.757_858_283_255_199,
        std::f64::consts::FRAC_1_SQRT_2,
        0.659_753_955_386_447_1,
        0.615_572_206_672_458_2,
        0.574_349_177_498_517_4,
        0.535_886_731_268_146_6,
    ];
    let mut table = [0.0; EXPONENTS];
    let mut i = 0;
    while i < EXPONENTS {
        let e = i as i64 + LOWEST_EXPONENT;
        table[i] = TENTHS[e.rem_euclid(10) as usize] * two_to(-e.div_euclid(10));
        i += 1;
    }
    table
};

/// `x^(-1/10)` for x in [1e-9, 1e9] (elsewhere meaningless), without a branch, so that a
/// loop of it vectorises: x = m 2^e, x^(-1/10) = m^(-1/10) 2^(-e/10), the second from a
/// table ([`TENTH_POWERS`]), the first by Newton's method on the mantissa m in [1, 2).
#[inline(always)]
pub fn inverse_tenth_root_in_range(x: f64) -> f64 {
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    // m^(-1/10) for m in [1, 2): a Chebyshev fit of degree 4 (within 8.3e-6), then two
    // steps of Newton's y <- y (11 - m y^10) / 10 (the error squares at each: 4e-10, then
    // rounding)
    let mut y = 1.181_738_987_699_979_8
        + m * (-0.301_511_878_550_270_23
            + m * (0.163_728_907_894_268_78 + m * (-0.050_354_490_509_581_865 + m * 0.006_390_260_905_784_491)));
    for _ in 0..2 {
        let y2 = y * y;
        let y4 = y2 * y2;
        let y10 = y4 * y4 * y2;
        y *= (11.0 - m * y10) * 0.1;
    }
    y * TENTH_POWERS[((e - LOWEST_EXPONENT).max(0) as usize).min(EXPONENTS - 1)]
}

#[cfg(test)]
mod tests {
    use super::{exp, exp_pair, inverse_tenth_root};

    #[test]
    fn inverse_tenth_root_is_within_four_ulps_of_powf() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = 10f64.powf(-9.0 + 18.0 * i as f64 / 200_000.0);
            let (ours, std) = (inverse_tenth_root(x), x.powf(-0.1));
            worst = worst.max((ours - std).abs() / (std * f64::EPSILON));
        }
        assert!(worst <= 4.0, "worst error {worst} ulp");
        assert_eq!(inverse_tenth_root(1.0), 1.0);
        assert!((inverse_tenth_root(1e12) - 1e-12f64.powf(0.1)).abs() < 1e-15);
    }

    #[test]
    fn the_tenth_powers_are_exact_scalings_of_ten_values() {
        use super::{EXPONENTS, LOWEST_EXPONENT, TENTH_POWERS};
        for (i, &t) in TENTH_POWERS.iter().enumerate() {
            let e = i as i64 + LOWEST_EXPONENT;
            let want = 2f64.powf(-e as f64 / 10.0);
            assert!((t - want).abs() <= want * f64::EPSILON, "2^({e}/10): {t} vs {want}");
            if i + 10 < EXPONENTS {
                // ten exponents on, the same value halved: the products with y stay exact
                assert_eq!((TENTH_POWERS[i + 10] * 2.0).to_bits(), t.to_bits());
            }
        }
    }

    #[test]
    fn exp_is_within_two_ulps_of_the_standard_library() {
        let mut worst = 0.0f64;
        let count = 400_000;
        for i in 0..=count {
            let x = -700.0 + 1400.0 * i as f64 / count as f64;
            for x in [x, x * 1e-3, x * 1e-9] {
                let (ours, std) = (exp(x), x.exp());
                worst = worst.max((ours - std).abs() / (std * f64::EPSILON));
            }
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
    }

    #[test]
    fn exp_pair_is_exp_of_both_signs() {
        let mut worst = 0.0f64;
        for i in 0..=100_000 {
            let x = -707.0 + 1414.0 * i as f64 / 100_000.0;
            for x in [x, x * 1e-2, x * 1e-7] {
                let (up, down) = exp_pair(x);
                for (ours, std) in [(up, x.exp()), (down, (-x).exp())] {
                    worst = worst.max((ours - std).abs() / (std * f64::EPSILON));
                }
            }
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp_pair(800.0), (f64::INFINITY, 0.0));
    }

    #[test]
    fn exp_at_the_edges() {
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert!(exp(-745.0) >= 0.0 && exp(-745.0) < 1e-300);
        assert!((exp(1.0) - std::f64::consts::E).abs() <= f64::EPSILON * 3.0);
        assert!((exp(-708.0) / (-708.0f64).exp() - 1.0).abs() < 1e-15);
        assert!((exp(708.9) / 708.9f64.exp() - 1.0).abs() < 1e-15);
    }
}
