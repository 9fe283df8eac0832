//! Scalar twins of the SIMD kernels: the same approximations, one element at a time.
//!
//! `exp` follows Cephes' `expf`: round `x / ln 2` to `n`, reduce `r = x - n ln 2` with ln 2 split
//! in two parts, evaluate a degree-6 polynomial on `|r| <= ln2 / 2`, scale by `2^n`. It is within
//! 1 ulp over the clamped domain (8.5e-8 relative; every third float checked). `tanh(|x|)` is
//! `m / (m + 2)` with `m = exp(2|x|) - 1` taken from the same reduction: `m = 2^n·p + (2^n - 1)`
//! (where `exp(r) = 1 + p`) has no cancellation near zero, so one formula holds over the whole
//! range: within 3 ulp, 1.8e-7 relative (every float in [0, 10] checked).

/// Inputs to `exp` are clamped to this range so that `2^n` stays a normal float.
pub const EXP_HI: f32 = 88.0;
/// Lower clamp of `exp`'s input; `exp(-87)` is about 1.6e-38, the smallest normal float's order.
pub const EXP_LO: f32 = -87.0;
/// `log2(e)`.
pub const LOG2E: f32 = std::f32::consts::LOG2_E;
/// High part of `ln 2` (exact in 9 bits, so `n * LN2_HI` is exact).
pub const LN2_HI: f32 = 0.693_359_4;
/// Low part of `ln 2`: `LN2_HI + LN2_LO` is `ln 2` to about 1e-11.
pub const LN2_LO: f32 = -2.121_944_4e-4;
/// Polynomial for `(exp(r) - 1 - r) / r^2` on `|r| <= ln2 / 2`, highest degree first: a
/// minimax fit of degree 4 with its constant term held at 1/2, exact near zero (Lawson's
/// iteration on the relative error of `exp(r)`, then the best rounding to `f32` of each
/// coefficient): 3.8e-9 relative at worst, a thirtieth of an ulp.
pub const EXP_POLY: [f32; 5] = [
    1.386_378_2e-3,
    8.367_475e-3,
    4.166_724e-2,
    1.666_653_5e-1,
    0.5,
];

/// Horner evaluation of `coeffs` (highest degree first, at least one) at `x`, with fused
/// multiply-adds.
#[inline]
pub fn horner(coeffs: &[f32], x: f32) -> f32 {
    coeffs[1..]
        .iter()
        .fold(coeffs[0], |acc, &c| acc.mul_add(x, c))
}

/// `(n, p)` with `exp(x) = 2^n · (1 + p)`: `n` is `x / ln 2` rounded, `p` the polynomial for
/// `exp(r) - 1` on the remainder `r = x - n ln 2`. `x` must lie in `[EXP_LO, EXP_HI]` (or be NaN).
#[inline]
fn exp_reduced(x: f32) -> (f32, f32) {
    let n = (x * LOG2E).round_ties_even();
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, x));
    (n, horner(&EXP_POLY, r).mul_add(r * r, r))
}

/// `2^n` for an integral `n` in `[-126, 127]`, built in the exponent field.
#[inline]
fn pow2(n: f32) -> f32 {
    f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `exp(x)` by the kernels' approximation.
#[inline]
pub fn exp_f32(x: f32) -> f32 {
    // `clamp` keeps NaN, as the SIMD kernels' operand order does.
    let (n, p) = exp_reduced(x.clamp(EXP_LO, EXP_HI));
    (p + 1.0) * pow2(n)
}

/// `1 / (1 + exp(-x))`.
#[inline]
pub fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// `tanh(x)`.
#[inline]
pub fn tanh_f32(x: f32) -> f32 {
    // Past the clamp `m + 2` rounds to `m`: tanh is 1 there (it is from |x| = 9.02 on).
    let (n, p) = exp_reduced((2.0 * x.abs()).clamp(0.0, EXP_HI));
    let scale = pow2(n);
    // `scale - 1` is exact while n < 24, and the fused multiply-add rounds once.
    let m = scale.mul_add(p, scale - 1.0);
    (m / (m + 2.0)).copysign(x)
}

/// Inputs to `exp_f64` are clamped to this range so that `2^n` stays a normal double.
pub const EXP_HI_F64: f64 = 709.0;
/// Lower clamp of `exp_f64`'s input (`exp(-708)` is about 3e-308, near the smallest normal).
pub const EXP_LO_F64: f64 = -708.0;
/// High part of `ln 2` for `f64` (Cephes' `C1`: `n * LN2_HI_F64` is exact for `|n| < 2^11`).
pub const LN2_HI_F64: f64 = 6.931_457_519_531_25e-1;
/// Low part: `LN2_HI_F64 + LN2_LO_F64` is `ln 2` to double precision.
#[allow(clippy::excessive_precision)] // Cephes' published digits, kept verbatim
pub const LN2_LO_F64: f64 = 1.428_606_820_309_417_232_12e-6;
/// Taylor coefficients of `(exp(r) - 1 - r) / r^2`, `1/13!` down to `1/2!`: on `|r| <= ln2 / 2`
/// the first omitted term is below 5e-18.
pub const EXP_POLY_F64: [f64; 12] = [
    1.0 / 6_227_020_800.0,
    1.0 / 479_001_600.0,
    1.0 / 39_916_800.0,
    1.0 / 3_628_800.0,
    1.0 / 362_880.0,
    1.0 / 40_320.0,
    1.0 / 5040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
];
/// Below this magnitude `tanh_f64` uses Cephes' rational approximation (relative error 2.2e-16
/// there); above it `1 - 2 / (exp(2|x|) + 1)` loses at most one bit to cancellation.
pub const TANH_SMALL_F64: f64 = 0.625;
/// Numerator of Cephes' `tanh` on `|x| < 0.625`, in powers of `x^2`, highest degree first.
#[allow(clippy::excessive_precision)] // Cephes' published digits, kept verbatim
pub const TANH_P_F64: [f64; 3] = [
    -9.643_991_794_250_522_386_28e-1,
    -9.928_772_310_019_185_865_64e1,
    -1.614_687_684_417_084_479_52e3,
];
/// Denominator (monic, leading 1 included), highest degree first.
#[allow(clippy::excessive_precision)] // Cephes' published digits, kept verbatim
pub const TANH_Q_F64: [f64; 4] = [
    1.0,
    1.128_116_784_916_329_314_02e2,
    2.235_488_390_601_004_485_83e3,
    4.844_063_053_251_254_860_48e3,
];

/// [`horner`] in double precision.
#[inline(always)]
pub fn horner_f64(coeffs: &[f64], x: f64) -> f64 {
    coeffs[1..]
        .iter()
        .fold(coeffs[0], |acc, &c| acc.mul_add(x, c))
}

/// `2^n` for an integral `n` in `[-1022, 1023]`, built in the exponent field.
///
/// Adding `1.5 * 2^52` leaves `n` in the low mantissa bits without a float-to-int conversion,
/// which AVX2 lacks for 64-bit lanes: the whole function vectorises on every level.
#[inline(always)]
fn pow2_f64(n: f64) -> f64 {
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    f64::from_bits((n + SHIFTER).to_bits().wrapping_add(1023) << 52)
}

/// `exp(x)` in double precision: Cephes' reduction, a degree-13 Taylor polynomial; within 2 ulp
/// of the standard library over the clamped domain.
///
/// Branch-free and `#[inline(always)]`, so a loop over it vectorises inside
/// [`super::with_simd`]; every level computes the same bits (fused multiply-adds throughout).
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    let x = x.clamp(EXP_LO_F64, EXP_HI_F64);
    let n = (x * std::f64::consts::LOG2_E).round_ties_even();
    let r = (-n).mul_add(LN2_LO_F64, (-n).mul_add(LN2_HI_F64, x));
    let p = horner_f64(&EXP_POLY_F64, r).mul_add(r * r, r) + 1.0;
    p * pow2_f64(n)
}

/// `1 / (1 + exp(-x))` in double precision.
#[inline(always)]
pub fn sigmoid_f64(x: f64) -> f64 {
    1.0 / (1.0 + exp_f64(-x))
}

/// `tanh(x)` in double precision, within a few ulp of the standard library.
#[inline(always)]
pub fn tanh_f64(x: f64) -> f64 {
    let a = x.abs();
    let z = x * x;
    let is_small = a < TANH_SMALL_F64;
    // Both branches are computed (the loop vectorises); they share one division, the costly
    // part: `P/Q` for the rational form, `-2/(e+1)` for `1 - 2/(e+1)`.
    let (num, den) = if is_small {
        (horner_f64(&TANH_P_F64, z), horner_f64(&TANH_Q_F64, z))
    } else {
        (-2.0, exp_f64(2.0 * a) + 1.0)
    };
    let ratio = num / den;
    if is_small {
        (x * z).mul_add(ratio, x)
    } else {
        (1.0 + ratio).copysign(x)
    }
}
