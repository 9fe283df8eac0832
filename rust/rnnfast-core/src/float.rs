//! The sealed element trait: the engine runs in `f32` and `f64`, nothing else.

use std::fmt::Debug;

use crate::cells::fused::FusedElement;
use crate::packed::PackedElement;
use crate::simd;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element the kernels accept (`f32` or `f64`).
///
/// The activation functions are associated functions so that each precision picks its own
/// runtime-dispatched SIMD kernel without a generic SIMD abstraction in the cell code.
pub trait Float:
    faer::traits::RealField
    + PackedElement
    + FusedElement
    + Copy
    + Debug
    + Default
    + Send
    + Sync
    + 'static
    + sealed::Sealed
{
    /// Short dtype name, as NumPy spells it.
    const NAME: &'static str;
    /// Converts a literal; exact for the small constants the cells use.
    fn from_f64(v: f64) -> Self;
    /// Widens (or keeps) to `f64`, for accumulations that must not lose precision.
    fn to_f64(self) -> f64;
    /// The square root.
    fn sqrt(self) -> Self;
    /// `true` unless NaN or ±inf.
    fn finite(self) -> bool;
    /// `e^self` (the softmax of modern Hopfield retrieval).
    fn exp(self) -> Self;
    /// `x <- 1 / (1 + exp(-x))`, elementwise.
    fn sigmoid_inplace(x: &mut [Self]);
    /// `x <- tanh(x)`, elementwise.
    fn tanh_inplace(x: &mut [Self]);
}

impl Float for f32 {
    const NAME: &'static str = "float32";
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn exp(self) -> Self {
        f32::exp(self)
    }
    #[inline]
    fn sigmoid_inplace(x: &mut [Self]) {
        simd::sigmoid_f32(x)
    }
    #[inline]
    fn tanh_inplace(x: &mut [Self]) {
        simd::tanh_f32(x)
    }
}

impl Float for f64 {
    const NAME: &'static str = "float64";
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline]
    fn sigmoid_inplace(x: &mut [Self]) {
        simd::sigmoid_f64(x)
    }
    #[inline]
    fn tanh_inplace(x: &mut [Self]) {
        simd::tanh_f64(x)
    }
}

/// Fails with [`crate::RnnError::NonFinite`] at the first NaN or infinity in `values`.
pub fn check_finite<T: Float>(what: &str, values: &[T]) -> crate::Result<()> {
    match values.iter().position(|v| !v.finite()) {
        None => Ok(()),
        Some(index) => Err(crate::RnnError::NonFinite {
            what: what.to_string(),
            index,
        }),
    }
}
