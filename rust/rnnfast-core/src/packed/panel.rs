//! The registers a packed product works in, one implementation per instruction set and type.
//!
//! A *panel row* is [`PanelOps::LANES`] consecutive output columns (64 bytes: one AVX-512
//! register, two AVX2 registers, or a plain array for the scalar twin). Every implementation
//! computes `acc + a·b` lane by lane with one fused multiply-add, so all of them produce the
//! same bits; they differ only in speed.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The operations the tile loop needs on one panel row of `Self::Elem`.
///
/// # Safety
/// Implementations for an instruction set may only run on a CPU that has it; pointers must be
/// valid for `LANES` elements (`store`: for `count` elements).
pub(super) trait PanelOps {
    type Elem: Copy;
    type Reg: Copy;
    /// Elements per panel row (same for every level of one element type: the packed layout
    /// does not depend on the CPU).
    const LANES: usize;
    unsafe fn load(ptr: *const Self::Elem) -> Self::Reg;
    /// `acc + a·b` in every lane, fused.
    unsafe fn fma(a: Self::Elem, b: Self::Reg, acc: Self::Reg) -> Self::Reg;
    /// Writes the first `count` lanes (`1..=LANES`).
    unsafe fn store(ptr: *mut Self::Elem, reg: Self::Reg, count: usize);
}

/// Portable twin: arrays of lanes, `mul_add` per lane.
pub(super) struct Scalar<T>(std::marker::PhantomData<T>);

macro_rules! scalar_panel {
    ($t:ty, $lanes:expr) => {
        impl PanelOps for Scalar<$t> {
            type Elem = $t;
            type Reg = [$t; $lanes];
            const LANES: usize = $lanes;
            #[inline(always)]
            unsafe fn load(ptr: *const $t) -> Self::Reg {
                // SAFETY: the caller guarantees LANES readable elements.
                unsafe { ptr.cast::<Self::Reg>().read_unaligned() }
            }
            #[inline(always)]
            unsafe fn fma(a: $t, b: Self::Reg, mut acc: Self::Reg) -> Self::Reg {
                for (s, &x) in acc.iter_mut().zip(&b) {
                    *s = a.mul_add(x, *s);
                }
                acc
            }
            #[inline(always)]
            unsafe fn store(ptr: *mut $t, reg: Self::Reg, count: usize) {
                // SAFETY: the caller guarantees `count <= LANES` writable elements.
                unsafe { std::ptr::copy_nonoverlapping(reg.as_ptr(), ptr, count) }
            }
        }
    };
}
scalar_panel!(f32, 16);
scalar_panel!(f64, 8);

/// AVX-512 F: one register per panel row.
#[cfg(target_arch = "x86_64")]
pub(super) struct Avx512<T>(std::marker::PhantomData<T>);

#[cfg(target_arch = "x86_64")]
macro_rules! avx512_panel {
    ($t:ty, $reg:ty, $lanes:expr, $mask:ty, $loadu:ident, $set1:ident, $fmadd:ident, $storeu:ident, $mstoreu:ident) => {
        impl PanelOps for Avx512<$t> {
            type Elem = $t;
            type Reg = $reg;
            const LANES: usize = $lanes;
            #[inline(always)]
            unsafe fn load(ptr: *const $t) -> $reg {
                // SAFETY: AVX-512 F present and LANES readable elements (caller's contract).
                unsafe { $loadu(ptr) }
            }
            #[inline(always)]
            unsafe fn fma(a: $t, b: $reg, acc: $reg) -> $reg {
                // SAFETY: AVX-512 F present (caller's contract).
                unsafe { $fmadd($set1(a), b, acc) }
            }
            #[inline(always)]
            unsafe fn store(ptr: *mut $t, reg: $reg, count: usize) {
                // SAFETY: AVX-512 F present; the mask enables only the `count` writable lanes.
                unsafe {
                    if count == $lanes {
                        $storeu(ptr, reg)
                    } else {
                        $mstoreu(ptr, ((1u32 << count) - 1) as $mask, reg)
                    }
                }
            }
        }
    };
}
#[cfg(target_arch = "x86_64")]
avx512_panel!(
    f32,
    __m512,
    16,
    __mmask16,
    _mm512_loadu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_storeu_ps,
    _mm512_mask_storeu_ps
);
#[cfg(target_arch = "x86_64")]
avx512_panel!(
    f64,
    __m512d,
    8,
    __mmask8,
    _mm512_loadu_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd,
    _mm512_storeu_pd,
    _mm512_mask_storeu_pd
);

/// AVX2 with FMA: two registers per panel row.
#[cfg(target_arch = "x86_64")]
pub(super) struct Avx2<T>(std::marker::PhantomData<T>);

#[cfg(target_arch = "x86_64")]
macro_rules! avx2_panel {
    ($t:ty, $reg:ty, $lanes:expr, $loadu:ident, $set1:ident, $fmadd:ident, $storeu:ident) => {
        impl PanelOps for Avx2<$t> {
            type Elem = $t;
            type Reg = ($reg, $reg);
            const LANES: usize = $lanes;
            #[inline(always)]
            unsafe fn load(ptr: *const $t) -> Self::Reg {
                // SAFETY: AVX2 present and LANES readable elements (caller's contract).
                unsafe { ($loadu(ptr), $loadu(ptr.add($lanes / 2))) }
            }
            #[inline(always)]
            unsafe fn fma(a: $t, b: Self::Reg, acc: Self::Reg) -> Self::Reg {
                // SAFETY: AVX2 and FMA present (caller's contract).
                unsafe {
                    let a = $set1(a);
                    ($fmadd(a, b.0, acc.0), $fmadd(a, b.1, acc.1))
                }
            }
            #[inline(always)]
            unsafe fn store(ptr: *mut $t, reg: Self::Reg, count: usize) {
                // SAFETY: AVX2 present; the caller guarantees `count <= LANES` writable
                // elements at `ptr`, and a partial row goes through `lanes` (LANES elements).
                unsafe {
                    if count == $lanes {
                        $storeu(ptr, reg.0);
                        $storeu(ptr.add($lanes / 2), reg.1);
                    } else {
                        let mut lanes = [<$t>::default(); $lanes];
                        $storeu(lanes.as_mut_ptr(), reg.0);
                        $storeu(lanes.as_mut_ptr().add($lanes / 2), reg.1);
                        std::ptr::copy_nonoverlapping(lanes.as_ptr(), ptr, count);
                    }
                }
            }
        }
    };
}
#[cfg(target_arch = "x86_64")]
avx2_panel!(
    f32,
    __m256,
    16,
    _mm256_loadu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_storeu_ps
);
#[cfg(target_arch = "x86_64")]
avx2_panel!(
    f64,
    __m256d,
    8,
    _mm256_loadu_pd,
    _mm256_set1_pd,
    _mm256_fmadd_pd,
    _mm256_storeu_pd
);
