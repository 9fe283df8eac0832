//! Elementwise activation kernels with runtime CPU-feature dispatch.
//!
//! Each kernel has a portable scalar twin in [`scalar`] that computes the same approximation one
//! element at a time; the SIMD versions are tested against it (and both against the standard
//! library) on awkward lengths and extreme inputs. The instruction set is detected once; set
//! `RNNFAST_FORCE_ARCH=scalar|avx2|avx512` to force a lower level (for tests and for comparing
//! speed). A forced level the CPU lacks falls back to the best one it has.
//!
//! `f64` kernels are written once, branch-free, in [`scalar`] and vectorised by the compiler
//! inside [`with_simd`]; they stay within a few ulp of the standard library, well inside the
//! engine's 1e-12 double-precision tolerance.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
pub mod scalar;

use std::sync::OnceLock;

/// An instruction-set level the kernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arch {
    /// Portable code, no SIMD intrinsics.
    Scalar,
    /// AVX2 with FMA (x86-64-v3).
    Avx2,
    /// AVX-512 F (x86-64-v4).
    Avx512,
}

impl Arch {
    /// All levels, lowest first.
    pub const ALL: [Arch; 3] = [Arch::Scalar, Arch::Avx2, Arch::Avx512];

    /// Lower-case name, as accepted by `RNNFAST_FORCE_ARCH`.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Scalar => "scalar",
            Arch::Avx2 => "avx2",
            Arch::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run kernels of this level.
    pub fn is_available(self) -> bool {
        match self {
            Arch::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Arch::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Arch::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    fn detect() -> Arch {
        let best = Arch::ALL
            .into_iter()
            .rev()
            .find(|a| a.is_available())
            .unwrap_or(Arch::Scalar);
        let forced = std::env::var("RNNFAST_FORCE_ARCH").ok().and_then(|name| {
            Arch::ALL
                .into_iter()
                .find(|a| a.name() == name.trim().to_ascii_lowercase())
        });
        match forced {
            Some(a) if a <= best => a,
            _ => best,
        }
    }
}

/// The level in use for this process (detected once).
pub fn active_arch() -> Arch {
    static ACTIVE: OnceLock<Arch> = OnceLock::new();
    *ACTIVE.get_or_init(Arch::detect)
}

/// `x <- sigmoid(x)` for `f32`, on the active level.
pub fn sigmoid_f32(x: &mut [f32]) {
    sigmoid_f32_on(active_arch(), x)
}

/// `x <- tanh(x)` for `f32`, on the active level.
pub fn tanh_f32(x: &mut [f32]) {
    tanh_f32_on(active_arch(), x)
}

/// `x <- sigmoid(x)` for `f32` on a chosen level; an unavailable level runs the scalar twin.
pub fn sigmoid_f32_on(arch: Arch, x: &mut [f32]) {
    match arch {
        // SAFETY: each arm runs only after `is_available` confirmed the CPU features.
        #[cfg(target_arch = "x86_64")]
        Arch::Avx512 if arch.is_available() => unsafe { avx512::sigmoid(x) },
        #[cfg(target_arch = "x86_64")]
        Arch::Avx2 if arch.is_available() => unsafe { avx2::sigmoid(x) },
        _ => x.iter_mut().for_each(|v| *v = scalar::sigmoid_f32(*v)),
    }
}

/// `x <- tanh(x)` for `f32` on a chosen level; an unavailable level runs the scalar twin.
pub fn tanh_f32_on(arch: Arch, x: &mut [f32]) {
    match arch {
        // SAFETY: each arm runs only after `is_available` confirmed the CPU features.
        #[cfg(target_arch = "x86_64")]
        Arch::Avx512 if arch.is_available() => unsafe { avx512::tanh(x) },
        #[cfg(target_arch = "x86_64")]
        Arch::Avx2 if arch.is_available() => unsafe { avx2::tanh(x) },
        _ => x.iter_mut().for_each(|v| *v = scalar::tanh_f32(*v)),
    }
}

/// `x <- sigmoid(x)` for `f64`, on the active level.
pub fn sigmoid_f64(x: &mut [f64]) {
    sigmoid_f64_on(active_arch(), x)
}

/// `x <- tanh(x)` for `f64`, on the active level.
pub fn tanh_f64(x: &mut [f64]) {
    tanh_f64_on(active_arch(), x)
}

/// `x <- sigmoid(x)` for `f64` on a chosen level; every level computes the same bits.
pub fn sigmoid_f64_on(arch: Arch, x: &mut [f64]) {
    with_simd_on(arch, || {
        x.iter_mut().for_each(|v| *v = scalar::sigmoid_f64(*v))
    });
}

/// `x <- tanh(x)` for `f64` on a chosen level; every level computes the same bits.
pub fn tanh_f64_on(arch: Arch, x: &mut [f64]) {
    with_simd_on(arch, || {
        x.iter_mut().for_each(|v| *v = scalar::tanh_f64(*v))
    });
}

#[cfg(test)]
mod tests;

/// Runs `f` compiled for the widest instruction set of this CPU ([`active_arch`]).
///
/// The crate is built for baseline x86-64, where plain loops (cell equations, dot products, row
/// updates) vectorise 4 wide at best. `f` and everything it calls in a hot loop must be
/// `#[inline(always)]` (or generic and small), so that it is compiled inside the
/// `#[target_feature]` wrapper below. Vectorising elementwise code reorders no arithmetic, so
/// every level computes the same values.
///
/// A closure that calls a *large* `#[inline(always)]` function absorbs it and is then too large
/// to be inlined into the wrapper, so it stays baseline code: such a function needs wrappers of
/// its own that call it directly (see `train::bptt::run`).
#[inline(always)]
pub fn with_simd<R>(f: impl FnOnce() -> R) -> R {
    with_simd_on(active_arch(), f)
}

/// [`with_simd`] on a chosen level; a level this CPU lacks runs baseline code.
#[inline(always)]
pub fn with_simd_on<R>(arch: Arch, f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    match arch {
        // SAFETY: each arm runs only after `is_available` confirmed the CPU features.
        Arch::Avx512 if arch.is_available() => return unsafe { avx512(f) },
        // SAFETY: as above.
        Arch::Avx2 if arch.is_available() => return unsafe { avx2(f) },
        _ => {}
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
