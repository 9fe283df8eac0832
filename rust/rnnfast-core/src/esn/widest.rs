//! Hot loops compiled for the widest instruction set of this CPU.
//!
//! The crate is built for baseline x86-64 (SSE2, 4 `f32` lanes). `simd::with_simd` cannot
//! help a loop of any size: the closure absorbs the loop and is then too large to be inlined
//! into the wide wrapper, so it stays baseline code. [`widest!`] instead defines a dispatcher
//! with one `#[target_feature]` variant per level, each calling the `#[inline(always)]` portable
//! function directly, so that the whole loop is compiled inside each variant.

/// `widest! { fn name<T: Bound, ...>(ArgsType) -> Ret = portable; }` defines `fn name(args:
/// ArgsType) -> Ret` (the return type optional) that runs `portable(args)` compiled for AVX-512, AVX2 + FMA or baseline,
/// whichever [`crate::simd::active_arch`] reports. `portable` must be `#[inline(always)]`;
/// its arguments travel as one value (a tuple) so that every variant has the same signature.
macro_rules! widest {
    (
        $(#[$doc:meta])*
        fn $name:ident<$($g:ident: $b:path),*>($ty:ty) $(-> $ret:ty)? = $portable:ident;
    ) => {
        $(#[$doc])*
        fn $name<$($g: $b),*>(args: $ty) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn avx512<$($g: $b),*>(args: $ty) $(-> $ret)? {
                    $portable(args)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2<$($g: $b),*>(args: $ty) $(-> $ret)? {
                    $portable(args)
                }
                match crate::simd::active_arch() {
                    // SAFETY: `active_arch` only reports levels this CPU supports.
                    crate::simd::Arch::Avx512 => return unsafe { avx512(args) },
                    // SAFETY: as above.
                    crate::simd::Arch::Avx2 => return unsafe { avx2(args) },
                    crate::simd::Arch::Scalar => {}
                }
            }
            $portable(args)
        }
    };
}

pub(crate) use widest;
