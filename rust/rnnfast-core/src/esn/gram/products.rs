//! The Gram sums' products, `C += Aᵀ·B` over a chunk of rows, as AVX-512 tiles.
//!
//! A chunk stores its rows row-major, each padded to a whole number of 64-byte lines, so that
//! row `k` holds both what a tile broadcasts (`a[k, i]`, the tile's rows of `C`) and what it
//! loads as vectors (`b[k, j..j + 8]`, the tile's columns). A tile of 6 rows by 4 vectors of
//! `C` keeps 24 sums in registers; the chunk's rows are taken [`DEPTH_BLOCK`] at a time, so that
//! the block of `b` under one column block (128 rows of 32 values, 32 KiB) stays in the L1
//! cache while the tiles below it pass over it. Every element of `C` is computed as
//! `c + a[0, i]·b[0, j] + a[1, i]·b[1, j] + ...`, one fused multiply-add at a time in the order
//! of the rows, whatever tile computes it: the scalar twin (the tests' reference) gives the same
//! bits, and the same rows folded in one product or two have the same sums.
//!
//! On a Sapphire Rapids core, for 256-row chunks of 101 to 1001 columns, the tiles reach 59-66
//! useful GFLOP/s against 43-57 for faer's triangular product (criterion group `gram_*`,
//! `benches/RESULTS.md`).

use std::ops::Range;

/// Values of one vector of `f64` (and the padding unit of a chunk's rows).
pub(crate) const LANES: usize = 8;

/// Chunk rows a tile's sums accumulate before they go back to memory: measured on a Sapphire
/// Rapids core (48 KiB L1), 128 beat 64 (more passes over `C`) and 256 (`b`'s block no longer
/// fits the L1) by 5-10% at 100 to 1000 columns.
const DEPTH_BLOCK: usize = 128;

/// Widest Gram matrix the tiles serve: measured at 25,600 rows on a Sapphire Rapids core, 1001
/// columns (8 MB) took 433 ms against faer's 486, 2001 columns (32 MB) 2.32 s against 1.74.
const MAX_WIDTH: usize = 1024;

/// Rows of `C` per tile.
const TILE_ROWS: usize = 6;

/// Vectors of `C` per tile row.
const TILE_VECTORS: usize = 4;

/// `c[i, j] += Σ_k a[k, i]·b[k, j]` for `k < depth`, `i` in `rows` and `j < columns`, only
/// `j <= i` when `lower`. Row-major: `a[k, i] = a[k·lda + i]`, `b[k, j] = b[k·ldb + j]`,
/// `c[i, j] = c[i·ldc + j]`.
pub(crate) struct Product<'a> {
    pub(crate) a: &'a [f64],
    pub(crate) lda: usize,
    /// `ldb` is a multiple of [`LANES`]: whole vectors of a row may be loaded (the values past
    /// `columns` only reach lanes that are never stored).
    pub(crate) b: &'a [f64],
    pub(crate) ldb: usize,
    pub(crate) columns: usize,
    pub(crate) depth: usize,
    pub(crate) rows: Range<usize>,
    pub(crate) lower: bool,
}

impl Product<'_> {
    /// Whether the AVX-512 tiles serve a Gram matrix of `width` columns on this CPU (else the
    /// caller uses another product). Above [`MAX_WIDTH`] the matrix outgrows the caches: every
    /// depth block then streams it from memory and back, and faer's blocked product is faster.
    pub(crate) fn serves(width: usize) -> bool {
        width <= MAX_WIDTH && Self::available()
    }

    /// Whether this CPU runs the AVX-512 tiles at all.
    fn available() -> bool {
        crate::simd::active_arch() == crate::simd::Arch::Avx512
    }

    /// The columns of row `i` of `C` that the product touches.
    fn width(&self, i: usize) -> usize {
        if self.lower {
            self.columns.min(i + 1)
        } else {
            self.columns
        }
    }

    /// Adds the product into `c`, which holds the rows `rows` of `C` (row `i` from `(i -
    /// rows.start)·ldc`), with the AVX-512 tiles; call only where they serve (see
    /// [`Product::serves`]).
    pub(crate) fn accumulate(&self, c: &mut [f64], ldc: usize) {
        assert!(Self::available(), "the Gram tiles need AVX-512");
        assert!(
            self.ldb.is_multiple_of(LANES),
            "b's rows must be whole vectors"
        );
        assert!(self.columns <= self.ldb && self.rows.end <= self.lda);
        assert!(self.a.len() >= self.depth * self.lda && self.b.len() >= self.depth * self.ldb);
        if let Some(last) = self.rows.clone().last() {
            let end = (last - self.rows.start) * ldc + self.width(last);
            assert!(
                c.len() >= end && self.columns <= ldc,
                "c must hold the rows"
            );
        }
        // SAFETY: AVX-512 is available (checked above), and every access lies in the buffers:
        // `a` to row `depth - 1`, column `rows.end - 1`; whole vectors of `b` in rows of `ldb`
        // values; `c` only in the masked lanes `j < width(i)` of rows in `rows`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::accumulate(self, c.as_mut_ptr(), ldc)
        }
    }
}

/// The element-by-element twin of [`Product::accumulate`]: the same sums in the same order.
#[cfg(test)]
pub(crate) fn accumulate_scalar(p: &Product<'_>, c: &mut [f64], ldc: usize) {
    for i in p.rows.clone() {
        let row = &mut c[(i - p.rows.start) * ldc..];
        for (j, value) in row[..p.width(i)].iter_mut().enumerate() {
            for k in 0..p.depth {
                *value = p.a[k * p.lda + i].mul_add(p.b[k * p.ldb + j], *value);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{DEPTH_BLOCK, LANES, Product, TILE_ROWS, TILE_VECTORS};

    /// The tile loop: depth blocks, then column blocks, then the tiles of rows under them.
    ///
    /// # Safety
    /// AVX-512 F must be available and the buffers as [`Product::accumulate`] checks them.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn accumulate(p: &Product<'_>, c: *mut f64, ldc: usize) {
        let block = TILE_VECTORS * LANES;
        for k0 in (0..p.depth).step_by(DEPTH_BLOCK) {
            let depth = DEPTH_BLOCK.min(p.depth - k0);
            for j0 in (0..p.columns).step_by(block) {
                // Rows above the block's first column have nothing in it when `lower`.
                let first = if p.lower {
                    p.rows.start.max(j0)
                } else {
                    p.rows.start
                };
                for i0 in (first..p.rows.end).step_by(TILE_ROWS) {
                    let rows = TILE_ROWS.min(p.rows.end - i0);
                    let widest = p.width(i0 + rows - 1);
                    let vectors = (widest - j0).div_ceil(LANES).min(TILE_VECTORS);
                    let at = Tile { k0, depth, i0, j0 };
                    // SAFETY: forwarded from the caller; the tile lies inside the product.
                    unsafe { tile_dispatch(p, c, ldc, &at, rows, vectors) }
                }
            }
        }
    }

    /// Where a tile sits: rows `i0..` and columns `j0..` of `C`, chunk rows `k0..k0 + depth`.
    struct Tile {
        k0: usize,
        depth: usize,
        i0: usize,
        j0: usize,
    }

    /// [`tile`] for `rows × vectors`, both at least 1.
    ///
    /// # Safety
    /// As [`tile`].
    #[inline(always)]
    unsafe fn tile_dispatch(
        p: &Product<'_>,
        c: *mut f64,
        ldc: usize,
        at: &Tile,
        rows: usize,
        vectors: usize,
    ) {
        macro_rules! by_vectors {
            ($r:literal) => {
                match vectors {
                    1 => tile::<$r, 1>(p, c, ldc, at),
                    2 => tile::<$r, 2>(p, c, ldc, at),
                    3 => tile::<$r, 3>(p, c, ldc, at),
                    _ => tile::<$r, TILE_VECTORS>(p, c, ldc, at),
                }
            };
        }
        // SAFETY: forwarded from the caller.
        unsafe {
            match rows {
                1 => by_vectors!(1),
                2 => by_vectors!(2),
                3 => by_vectors!(3),
                4 => by_vectors!(4),
                5 => by_vectors!(5),
                _ => by_vectors!(6),
            }
        }
    }

    /// `R × V` vectors of `C` from row `at.i0` and column `at.j0`: loaded, accumulated over the
    /// tile's chunk rows, stored back, each in the lanes of its row's columns alone.
    ///
    /// # Safety
    /// AVX-512 F must be available; rows `i0..i0 + R` lie in `p.rows`, and `j0 + 8·(V - 1)` is
    /// below the widest of those rows' widths (so each row's vectors lie in `b`'s rows).
    #[inline(always)]
    unsafe fn tile<const R: usize, const V: usize>(
        p: &Product<'_>,
        c: *mut f64,
        ldc: usize,
        at: &Tile,
    ) {
        let masks: [[__mmask8; V]; R] = std::array::from_fn(|r| {
            let width = p.width(at.i0 + r);
            std::array::from_fn(|v| {
                let start = at.j0 + v * LANES;
                let valid = width.saturating_sub(start).min(LANES);
                ((1u32 << valid) - 1) as __mmask8
            })
        });
        // SAFETY: the masked lanes lie in row i of `C` below its width; `a` and `b` are read
        // within the chunk rows `k0..k0 + depth` (the caller's contract).
        unsafe {
            let c_at =
                |r: usize, v: usize| c.add((at.i0 - p.rows.start + r) * ldc + at.j0 + v * LANES);
            let mut acc: [[__m512d; V]; R] = std::array::from_fn(|r| {
                std::array::from_fn(|v| _mm512_maskz_loadu_pd(masks[r][v], c_at(r, v)))
            });
            let mut a = p.a.as_ptr().add(at.k0 * p.lda + at.i0);
            let mut b = p.b.as_ptr().add(at.k0 * p.ldb + at.j0);
            for _ in 0..at.depth {
                let bv: [__m512d; V] = std::array::from_fn(|v| _mm512_loadu_pd(b.add(v * LANES)));
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let x = _mm512_set1_pd(*a.add(r));
                    for (acc_rv, &b_v) in acc_r.iter_mut().zip(&bv) {
                        *acc_rv = _mm512_fmadd_pd(x, b_v, *acc_rv);
                    }
                }
                a = a.add(p.lda);
                b = b.add(p.ldb);
            }
            for (r, acc_r) in acc.iter().enumerate() {
                for (v, &sum) in acc_r.iter().enumerate() {
                    _mm512_mask_storeu_pd(c_at(r, v), masks[r][v], sum);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn tiles_have_the_bits_of_the_scalar_twin() {
        if !Product::available() {
            return;
        }
        let mut rng = SplitMix64::new(3, 5);
        for (columns, depth) in [
            (1_usize, 1),
            (7, 3),
            (8, 64),
            (33, 65),
            (301, 256),
            (70, 130),
        ] {
            let ld = columns.next_multiple_of(LANES);
            let a: Vec<f64> = (0..depth * ld).map(|_| rng.symmetric_unit()).collect();
            let b: Vec<f64> = (0..depth * ld).map(|_| rng.symmetric_unit()).collect();
            for (rows, lower) in [
                (0..columns, true),
                (columns / 3..columns, true),
                (0..columns, false),
            ] {
                let product = Product {
                    a: &a,
                    lda: ld,
                    b: &b,
                    ldb: ld,
                    columns,
                    depth,
                    rows: rows.clone(),
                    lower,
                };
                let start: Vec<f64> = (0..rows.len() * columns)
                    .map(|_| rng.symmetric_unit())
                    .collect();
                let (mut got, mut want) = (start.clone(), start.clone());
                product.accumulate(&mut got, columns);
                accumulate_scalar(&product, &mut want, columns);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "{columns} columns, depth {depth}, rows {rows:?}, lower {lower}"
                );
            }
        }
    }
}
