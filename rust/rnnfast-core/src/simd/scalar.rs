//! Scalar twins of the SIMD kernels: the same approximations, one element at a time.
//!
//! `exp` follows Cephes' `expf`: round `x / ln 2` to `n`, reduce `r = x - n ln 2` with ln 2 split
//! in two parts, evaluate a degree-6 polynomial on `|r| <= ln2 / 2`, scale by `2^n`. Relative error
//! is about 2 ulp over the clamped domain. `tanh` uses an odd Taylor polynomial below
//! [`TANH_SMALL`] (truncation error < 3e-8 relative there) and `1 - 2 / (exp(2|x|) + 1)` above.

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
/// Polynomial for `(exp(r) - 1 - r) / r^2`, highest degree first.
pub const EXP_POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5,
];
/// Below this magnitude `tanh` uses its Taylor polynomial.
pub const TANH_SMALL: f32 = 0.4;
/// Taylor coefficients of `(tanh(x) - x) / x^3` in powers of `x^2`, highest degree first.
pub const TANH_POLY: [f32; 6] = [
    21844.0 / 6_081_075.0,
    -1382.0 / 155_925.0,
    62.0 / 2835.0,
    -17.0 / 315.0,
    2.0 / 15.0,
    -1.0 / 3.0,
];

/// Horner evaluation of `coeffs` (highest degree first) at `x`, with fused multiply-adds.
#[inline]
pub fn horner(coeffs: &[f32], x: f32) -> f32 {
    coeffs.iter().fold(0.0, |acc, &c| acc.mul_add(x, c))
}

/// `exp(x)` by the kernels' approximation.
#[inline]
pub fn exp_f32(x: f32) -> f32 {
    // `clamp` keeps NaN, as the SIMD kernels' operand order does.
    let x = x.clamp(EXP_LO, EXP_HI);
    let n = (x * LOG2E).round_ties_even();
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, x));
    let p = horner(&EXP_POLY, r).mul_add(r * r, r) + 1.0;
    // `n` is within [-126, 127] after the clamp, so 2^n is a normal float.
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `1 / (1 + exp(-x))`.
#[inline]
pub fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// `tanh(x)`.
#[inline]
pub fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    if a < TANH_SMALL {
        let x2 = x * x;
        (horner(&TANH_POLY, x2) * x2).mul_add(x, x)
    } else {
        (1.0 - 2.0 / (exp_f32(2.0 * a) + 1.0)).copysign(x)
    }
}

/// `1 / (1 + exp(-x))` in double precision (the standard library's `exp`).
#[inline]
pub fn sigmoid_f64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
