//! The recurrent product of a gated cell with the cell equations fused into it.
//!
//! The plain step ([`crate::network::recurrent_step`]) stores all `gates · hidden`
//! pre-activations of each row, then reads them back in several elementwise passes (input and
//! bias, each activation, the state update). Here `W_hh` is packed *block-major* instead: for
//! each block of [`LANES`] hidden units, the rows of every gate for those units side by side. One
//! tile of the product (up to [`TILE_ROWS`] rows by one block) then holds in registers every gate
//! of those units for those rows, and the cell's equations run on them there: nothing but the new
//! `h` and `c` is stored.
//!
//! The fused kernel performs the plain path's operations in the plain path's order. The product
//! accumulates `h[i, p]·W[j, p]` for `p = 0, 1, ...` from zero, one fused multiply-add each (as
//! [`crate::packed`] does); the epilogue makes the additions, activations (the same AVX-512
//! functions) and products of [`super::CellKind::update`], none contracted. A row gets the same
//! bits on either path, so the choice between them is a matter of speed alone.
//!
//! The kernel exists for `f32` on AVX-512 (the engine's main case); `f64` and the other
//! instruction sets keep the plain path. Where it exists it serves every batch size: measured on
//! a Zen 4 host, it takes 2-4% off batches of 16 to 64 sequences (the epilogue's activations are
//! arithmetic-bound either way) and 5-16% off a batch of one, whose product streams the weights
//! from L2 on either path while the plain epilogue makes several passes over the gates.

use super::CellKind;
use crate::aligned::AlignedVec;

/// Hidden units per block: one AVX-512 register of `f32`.
const LANES: usize = 16;

/// Most rows of one tile: with four gates, 24 of the 32 registers hold sums.
const TILE_ROWS: usize = 6;

/// An element type that may have a fused kernel on the running CPU (`f32` on AVX-512).
pub trait FusedElement: Copy + Default + 'static {
    /// The kernel for this type on the active instruction set, if there is one.
    #[doc(hidden)]
    fn fused_kernel() -> Option<Kernel<Self>>;
}

/// A fused step over raw buffers (see [`Job`]).
#[doc(hidden)]
pub type Kernel<T> = unsafe fn(&Job<T>);

impl FusedElement for f32 {
    fn fused_kernel() -> Option<Kernel<f32>> {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::active_arch() == crate::simd::Arch::Avx512 {
            return Some(avx512::step);
        }
        None
    }
}

impl FusedElement for f64 {
    fn fused_kernel() -> Option<Kernel<f64>> {
        None
    }
}

/// One fused step: `rows` rows of `h` (`rows × depth`) against the block-major weights of
/// `units` hidden units (the units `offset..offset + units` of a layer of `depth` units), with
/// their input projections `xp` (`rows × gates·units`, the plain gate order), the hidden bias
/// `b_hh` (`gates·units`, or null), the cell state `c` (LSTM only, updated in place) and the new
/// hidden state `out`. `c` and `out` are laid out as `h` (`rows × depth`); only the step's units
/// of each row are touched, and `out` does not overlap `h`.
#[doc(hidden)]
pub struct Job<T> {
    cell: CellKind,
    depth: usize,
    units: usize,
    offset: usize,
    rows: usize,
    weights: *const T,
    h: *const T,
    xp: *const T,
    b_hh: *const T,
    c: *mut T,
    out: *mut T,
}

/// `W_hh` of an LSTM or GRU layer packed block-major for the fused step.
///
/// ```
/// use rnnfast_core::CellKind;
/// use rnnfast_core::cells::fused::GateBlocks;
///
/// let hidden = 3;
/// let w_hh = vec![0.1f32; 4 * hidden * hidden];
/// // `None` on a CPU without AVX-512: the plain step then serves every batch.
/// if let Some(blocks) = GateBlocks::new(CellKind::Lstm, &w_hh, hidden) {
///     let (xp, h) = (vec![0.5f32; 2 * 4 * hidden], vec![0.0f32; 2 * hidden]);
///     let (mut c, mut h_next) = (vec![0.0f32; 2 * hidden], vec![0.0f32; 2 * hidden]);
///     blocks.step(&xp, &[], &h, &mut c, &mut h_next);
///     // c = σ(0.5)·tanh(0.5) and h = tanh(c)·σ(0.5) for every unit of both rows.
///     let sig = 1.0 / (1.0 + (-0.5f32).exp());
///     assert!((c[0] - sig * 0.5f32.tanh()).abs() < 1e-6);
///     assert!((h_next[5] - c[5].tanh() * sig).abs() < 1e-6);
/// }
/// ```
#[derive(Clone, Debug)]
pub struct GateBlocks<T> {
    cell: CellKind,
    /// Hidden units these blocks compute.
    units: usize,
    /// Inner dimension: the layer's hidden units (`units` unless the blocks are a part).
    depth: usize,
    kernel: Kernel<T>,
    /// Per block of [`LANES`] units, per `p` in `0..depth`, per gate: `LANES` weights (zero
    /// past the last unit).
    weights: AlignedVec<T>,
}

impl<T: FusedElement> GateBlocks<T> {
    /// Packs `w_hh` (`gates·hidden × hidden`, PyTorch's layout) of a `cell` layer, or gives
    /// `None` where no fused kernel applies (Elman cells; `f64`; a CPU without AVX-512).
    pub fn new(cell: CellKind, w_hh: &[T], hidden: usize) -> Option<Self> {
        Self::for_units(cell, w_hh, hidden, hidden)
    }

    /// [`GateBlocks::new`] for a part of a layer: `w_hh` holds the gate rows of `units`
    /// consecutive hidden units (`gates·units × depth`, gate blocks stacked as in PyTorch) of a
    /// layer of `depth` units.
    pub(crate) fn for_units(
        cell: CellKind,
        w_hh: &[T],
        units: usize,
        depth: usize,
    ) -> Option<Self> {
        if !matches!(cell, CellKind::Lstm | CellKind::Gru) {
            return None;
        }
        let kernel = T::fused_kernel()?;
        let gates = cell.gates();
        assert_eq!(
            w_hh.len(),
            gates * units * depth,
            "w_hh must be gates·units × depth"
        );
        let blocks = units.div_ceil(LANES);
        let mut weights = AlignedVec::zeros(blocks * depth * gates * LANES);
        for (row, values) in w_hh.chunks_exact(depth.max(1)).enumerate() {
            let (gate, unit) = (row / units, row % units);
            let (block, lane) = (unit / LANES, unit % LANES);
            for (p, &v) in values.iter().enumerate() {
                weights[((block * depth + p) * gates + gate) * LANES + lane] = v;
            }
        }
        Some(Self {
            cell,
            units,
            depth,
            kernel,
            weights,
        })
    }

    /// One time step of `h.len() / hidden` rows: `out <- h'`, `c <- c'` (LSTM; `c` empty for
    /// GRU), from the rows' input projections `xp` and the hidden bias `b_hh` (may be empty).
    pub fn step(&self, xp: &[T], b_hh: &[T], h: &[T], c: &mut [T], out: &mut [T]) {
        let n = self.depth;
        assert_eq!(
            self.units, n,
            "a part of a layer steps through `step_units`"
        );
        let rows = h.len() / n.max(1);
        assert_eq!(out.len(), rows * n, "out must be rows × hidden");
        let lstm = self.cell == CellKind::Lstm;
        assert_eq!(
            c.len(),
            if lstm { rows * n } else { 0 },
            "c must be rows × hidden"
        );
        // SAFETY: `c` and `out` hold `rows × hidden` values (checked above) and are exclusive,
        // so `out` cannot overlap `h`; `step_units` checks the rest.
        unsafe { self.step_units(xp, b_hh, h, c.as_mut_ptr(), out.as_mut_ptr(), 0) }
    }

    /// The step of a part whose units start at unit `offset` of the layer: reads `h` (`rows ×
    /// depth`), writes the part's units of each row of `c` and `out`, laid out as `h`.
    ///
    /// # Safety
    /// `out`, and `c` for an LSTM, must be valid for `h.len()` values; the units
    /// `offset..offset + units` of each of their rows must be free of other accesses for the
    /// call, and `out`'s must not overlap `h`.
    pub(crate) unsafe fn step_units(
        &self,
        xp: &[T],
        b_hh: &[T],
        h: &[T],
        c: *mut T,
        out: *mut T,
        offset: usize,
    ) {
        let (n, units, gates) = (self.depth, self.units, self.cell.gates());
        let rows = h.len() / n.max(1);
        assert_eq!(h.len(), rows * n, "h must be rows × depth");
        assert!(
            offset + units <= n,
            "the part's units must lie in the layer"
        );
        assert_eq!(
            xp.len(),
            rows * gates * units,
            "xp must be rows × gates·units"
        );
        assert!(
            b_hh.is_empty() || b_hh.len() == gates * units,
            "b_hh must be gates·units"
        );
        let job = Job {
            cell: self.cell,
            depth: n,
            units,
            offset,
            rows,
            weights: self.weights.as_ptr(),
            h: h.as_ptr(),
            xp: xp.as_ptr(),
            b_hh: if b_hh.is_empty() {
                std::ptr::null()
            } else {
                b_hh.as_ptr()
            },
            c,
            out,
        };
        // SAFETY: the kernel was chosen for this CPU in `for_units`; `h`, `xp` and `b_hh` were
        // checked above to hold what `Job` describes, `c` and `out` by the caller's contract.
        unsafe { (self.kernel)(&job) }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Job, LANES, TILE_ROWS};
    use crate::CellKind;
    use crate::packed::{even_tiles, row_chunk, row_starts};
    use crate::simd::avx512::{sigmoid_v, tanh_v};

    /// # Safety
    /// AVX-512 F must be available and `job` valid (see [`Job`]).
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn step(job: &Job<f32>) {
        let blocks = job.units.div_ceil(LANES);
        // Rows in chunks that stay in cache while every block's weights pass over them, then
        // block by block (each block's weights stay in cache over the chunk's tiles).
        let chunk = row_chunk(job.depth * size_of::<f32>(), TILE_ROWS);
        let mut r0 = 0;
        while r0 < job.rows {
            let rows = chunk.min(job.rows - r0);
            for block in 0..blocks {
                for (row, len) in even_tiles(r0, rows, TILE_ROWS) {
                    // SAFETY: rows row..row+len and the block lie inside the job.
                    unsafe { tile(job, row, len, block) }
                }
            }
            r0 += rows;
        }
    }

    /// Sums of rows `row..row + R` for every gate of `block`: `Σ_p h[r, p]·W[gate, unit, p]`,
    /// from zero in order of `p`, one fused multiply-add each.
    ///
    /// # Safety
    /// As [`step`]; the rows and block must lie inside the job.
    #[inline(always)]
    unsafe fn sums<const R: usize, const G: usize>(
        job: &Job<f32>,
        row: usize,
        block: usize,
    ) -> [[__m512; G]; R] {
        let k = job.depth;
        // SAFETY: the block's weights span `k · G · LANES` values from its start, and rows
        // row..row+R of `h` hold `k` values each (the caller's contract).
        unsafe {
            let w = job.weights.add(block * k * G * LANES);
            let a = row_starts::<_, R>(job.h, row, k);
            let mut acc = [[_mm512_setzero_ps(); G]; R];
            for p in 0..k {
                let b: [__m512; G] =
                    std::array::from_fn(|g| _mm512_load_ps(w.add((p * G + g) * LANES)));
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let x = _mm512_set1_ps(*a[r].add(p));
                    for (acc_rg, &b_g) in acc_r.iter_mut().zip(&b) {
                        *acc_rg = _mm512_fmadd_ps(x, b_g, *acc_rg);
                    }
                }
            }
            acc
        }
    }

    /// The lanes of `block` that hold hidden units.
    #[inline(always)]
    fn lanes(units: usize, block: usize) -> __mmask16 {
        let valid = (units - block * LANES).min(LANES);
        ((1u32 << valid) - 1) as __mmask16
    }

    /// Values `at[0..LANES]` where `mask` is set, zero elsewhere.
    ///
    /// # Safety
    /// AVX-512 F must be available; the masked lanes of `at` must be readable.
    #[inline(always)]
    unsafe fn load(mask: __mmask16, at: *const f32) -> __m512 {
        // SAFETY: the caller's contract.
        unsafe { _mm512_maskz_loadu_ps(mask, at) }
    }

    /// `v + b_hh[at..at + LANES]` in the lanes of `mask`, or `v` for a layer without bias.
    ///
    /// # Safety
    /// AVX-512 F must be available; with a bias, its masked lanes from `at` must be readable.
    #[inline(always)]
    unsafe fn plus_bias(job: &Job<f32>, v: __m512, mask: __mmask16, at: usize) -> __m512 {
        if job.b_hh.is_null() {
            return v;
        }
        // SAFETY: the caller's contract.
        unsafe { _mm512_add_ps(v, load(mask, job.b_hh.add(at))) }
    }

    /// [`sums`] and the cell's epilogue for a tile of `len` rows (`1..=TILE_ROWS`).
    ///
    /// # Safety
    /// As [`sums`].
    #[inline(always)]
    unsafe fn tile(job: &Job<f32>, row: usize, len: usize, block: usize) {
        // SAFETY: forwarded from the caller.
        unsafe {
            match len {
                1 => rows::<1>(job, row, block),
                2 => rows::<2>(job, row, block),
                3 => rows::<3>(job, row, block),
                4 => rows::<4>(job, row, block),
                5 => rows::<5>(job, row, block),
                _ => rows::<TILE_ROWS>(job, row, block),
            }
        }
    }

    /// [`tile`] for `R` rows.
    ///
    /// # Safety
    /// As [`sums`].
    #[inline(always)]
    unsafe fn rows<const R: usize>(job: &Job<f32>, row: usize, block: usize) {
        // SAFETY: forwarded from the caller.
        unsafe {
            match job.cell {
                CellKind::Lstm => lstm_rows::<R>(job, row, block),
                _ => gru_rows::<R>(job, row, block),
            }
        }
    }

    /// `c = σ(f)·c + σ(i)·tanh(g)`, `h = tanh(c)·σ(o)` with each gate's pre-activation `sum +
    /// (x + b)`, as [`crate::cells::CellKind::update`] computes them.
    ///
    /// The epilogue runs in two passes over the tile's rows: the gates' activations and `c`
    /// first, then `tanh(c)`, which waits on them. Row by row, each row's second activation
    /// waited on its first ones while the next rows' work filled the reorder buffer; in two
    /// passes every row's independent activations come first. The fused LSTM step took 2-5%
    /// less at batches of 64 and 3-7% less at batches of 16 (same bits). The GRU epilogue is
    /// split the same way, before its candidate's `tanh`.
    ///
    /// # Safety
    /// As [`sums`].
    #[inline(always)]
    unsafe fn lstm_rows<const R: usize>(job: &Job<f32>, row: usize, block: usize) {
        let (n, unit) = (job.units, block * LANES);
        let mask = lanes(n, block);
        // SAFETY: forwarded from the caller; every access is to a masked lane of a unit of this
        // block in a row of this tile.
        unsafe {
            let mut acc = sums::<R, 4>(job, row, block);
            // The first pass leaves each row's new `c` where `g` was, and `σ(o)` in place.
            for (r, [i, f, g, o]) in acc.iter_mut().enumerate() {
                let xp = job.xp.add((row + r) * 4 * n + unit);
                let pre = |sum: __m512, gate: usize| {
                    let x = load(mask, xp.add(gate * n));
                    _mm512_add_ps(sum, plus_bias(job, x, mask, gate * n + unit))
                };
                (*i, *f) = (sigmoid_v(pre(*i, 0)), sigmoid_v(pre(*f, 1)));
                (*g, *o) = (tanh_v(pre(*g, 2)), sigmoid_v(pre(*o, 3)));
                let at = (row + r) * job.depth + job.offset + unit;
                let c = job.c.add(at);
                *g = _mm512_add_ps(_mm512_mul_ps(*f, load(mask, c)), _mm512_mul_ps(*i, *g));
                _mm512_mask_storeu_ps(c, mask, *g);
            }
            for (r, [_, _, c_new, o]) in acc.into_iter().enumerate() {
                let at = (row + r) * job.depth + job.offset + unit;
                _mm512_mask_storeu_ps(job.out.add(at), mask, _mm512_mul_ps(tanh_v(c_new), o));
            }
        }
    }

    /// `n = tanh(x_n + σ(r)·(sum_n + b_n))`, `h = n + σ(z)·(h - n)` with `r`, `z` from `(sum +
    /// b) + x`, as [`crate::cells::CellKind::update`] computes them.
    ///
    /// # Safety
    /// As [`sums`].
    #[inline(always)]
    unsafe fn gru_rows<const R: usize>(job: &Job<f32>, row: usize, block: usize) {
        let (n, unit) = (job.units, block * LANES);
        let mask = lanes(n, block);
        // SAFETY: as in `lstm_rows`.
        unsafe {
            let mut acc = sums::<R, 3>(job, row, block);
            // The first pass leaves each row's `σ(z)` and its candidate's pre-activation in place
            // (see `lstm_rows` for the two passes).
            for (r, [sr, sz, sn]) in acc.iter_mut().enumerate() {
                let xp = job.xp.add((row + r) * 3 * n + unit);
                let biased = |sum: __m512, gate: usize| plus_bias(job, sum, mask, gate * n + unit);
                let reset = sigmoid_v(_mm512_add_ps(biased(*sr, 0), load(mask, xp)));
                *sz = sigmoid_v(_mm512_add_ps(biased(*sz, 1), load(mask, xp.add(n))));
                let hn = _mm512_mul_ps(reset, biased(*sn, 2));
                *sn = _mm512_add_ps(load(mask, xp.add(2 * n)), hn);
            }
            for (r, [_, update, pre_n]) in acc.into_iter().enumerate() {
                let cand = tanh_v(pre_n);
                let at = (row + r) * job.depth + job.offset + unit;
                let h = load(mask, job.h.add(at));
                let h_new = _mm512_add_ps(cand, _mm512_mul_ps(update, _mm512_sub_ps(h, cand)));
                _mm512_mask_storeu_ps(job.out.add(at), mask, h_new);
            }
        }
    }
}

#[cfg(test)]
mod tests;
