//! Products with a weight matrix packed once, in an accumulation order fixed per element.
//!
//! A recurrent layer multiplies by the same two weight matrices at every call and every step.
//! [`PackedMatrix`] stores `W` (PyTorch layout, `n × k`: gate rows by features) transposed into
//! *panels* of [`PackedElement::LANES`] output columns (64 bytes), grouped [`GROUP`] panels at a
//! time: a group holds, for each `p` in `0..k`, row `p` of each of its panels side by side. A
//! tile over the panels of one group then reads one contiguous run of memory per `p` (separate
//! panel streams 8 KiB apart thrashed the L1 cache on a batch of one), and the product never
//! re-packs the weights.
//!
//! Every output element is computed as `bias[j]`, then `+= a[i, p]·W[j, p]` for `p = 0, 1, ...,
//! k - 1`, one fused multiply-add at a time. That order is the same whatever tile, row count,
//! thread or instruction set computes the element, so a row's result has the same bits whether
//! it is computed alone or among others: a streaming step reproduces a full forward pass exactly,
//! and results never depend on the thread count or on how a batch is split.
//!
//! The tile loop keeps `R × C` panel rows of accumulators in registers (AVX-512: 6 rows × 4
//! panels, 24 of the 32 registers; AVX2, whose panel row takes two of its 16 registers: 6 rows ×
//! 1 panel, three times faster than 2 × 2) and, for a single row, `W` panels at once so that
//! enough independent multiply-adds are in flight to hide their latency.

mod panel;
#[cfg(test)]
mod tests;

use crate::aligned::AlignedVec;
use crate::simd::{Arch, active_arch};
use panel::{PanelOps, Scalar};

/// An element type the packed products support (`f32` and `f64`).
pub trait PackedElement: Copy + Default + Send + Sync + 'static {
    /// Output columns per panel: 64 bytes' worth.
    const LANES: usize;
    /// Runs `job` on `arch` (the scalar twin where `arch` is unavailable).
    ///
    /// # Safety
    /// The pointers and sizes of `job` must describe valid, non-overlapping buffers (see
    /// [`Job`]).
    unsafe fn run(arch: Arch, job: &Job<Self>);
}

/// One product over raw buffers: `c[i, j] = bias[j] + Σ_p a[i, p]·W[j, p]` for rows `0..m`.
pub struct Job<T> {
    a: *const T,
    lda: usize,
    m: usize,
    k: usize,
    weights: *const T,
    bias: *const T,
    c: *mut T,
    ldc: usize,
    n: usize,
    /// Panels of the matrix.
    panels: usize,
}

/// `W` packed for products `a·Wᵀ + bias`; see the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedMatrix<T> {
    n: usize,
    k: usize,
    /// `n.div_ceil(LANES)` panels of `k × LANES`, zero-padded past column `n`, in groups (see
    /// the module documentation).
    weights: AlignedVec<T>,
    /// `n.div_ceil(LANES) × LANES` start values, zero when there is no bias.
    bias: Vec<T>,
}

/// Panels per group: the single-row tile's width.
const GROUP: usize = 8;

/// Bytes of `a` a row chunk may span: small enough to stay in L2 while every panel passes over
/// it, large enough that each panel is loaded once per many rows.
const ROW_CHUNK_BYTES: usize = 96 * 1024;

impl<T: PackedElement> PackedMatrix<T> {
    /// Packs `w` (`n × k`, row-major) and an optional `bias` (`n`).
    pub fn new(w: &[T], n: usize, k: usize, bias: Option<&[T]>) -> Self {
        assert_eq!(w.len(), n * k, "weights must be n × k");
        let lanes = T::LANES;
        let panels = n.div_ceil(lanes);
        // Line-aligned: every panel row is then one cache line, read by one load.
        let mut weights = AlignedVec::zeros(panels * k * lanes);
        for (j, row) in w.chunks_exact(k.max(1)).enumerate().take(n) {
            let (start, stride) = panel_layout(j / lanes, panels, k, lanes);
            for (p, &v) in row.iter().enumerate() {
                weights[start + p * stride + j % lanes] = v;
            }
        }
        let mut padded = vec![T::default(); panels * lanes];
        if let Some(b) = bias {
            assert_eq!(b.len(), n, "bias must have n entries");
            padded[..n].copy_from_slice(b);
        }
        Self {
            n,
            k,
            weights,
            bias: padded,
        }
    }

    /// Output columns `n` (rows of the original `W`).
    pub fn columns(&self) -> usize {
        self.n
    }

    /// Inner dimension `k`.
    pub fn depth(&self) -> usize {
        self.k
    }

    /// Number of panels of [`PackedElement::LANES`] columns.
    pub fn panels(&self) -> usize {
        self.bias.len() / T::LANES
    }

    /// `c (m × n) = a (m × k)·Wᵀ + bias`, row-major, on the active instruction set.
    pub fn product(&self, c: &mut [T], a: &[T], m: usize) {
        self.product_on(active_arch(), c, a, m)
    }

    /// [`PackedMatrix::product`] on a chosen instruction set (the scalar twin where the CPU
    /// lacks it); every level gives the same bits.
    pub fn product_on(&self, arch: Arch, c: &mut [T], a: &[T], m: usize) {
        assert_eq!(a.len(), m * self.k, "a must be m × k");
        assert_eq!(c.len(), m * self.n, "c must be m × n");
        // SAFETY: both buffers were checked to hold m rows of their widths; `c` is exclusive.
        unsafe { T::run(arch, &self.job(c.as_mut_ptr(), a.as_ptr(), m)) }
    }

    fn job(&self, c: *mut T, a: *const T, m: usize) -> Job<T> {
        Job {
            a,
            lda: self.k,
            m,
            k: self.k,
            weights: self.weights.as_ptr(),
            bias: self.bias.as_ptr(),
            c,
            ldc: self.n,
            n: self.n,
            panels: self.panels(),
        }
    }
}

/// Where panel `panel`'s row 0 starts in the packed weights, and the distance between its rows.
fn panel_layout(panel: usize, panels: usize, k: usize, lanes: usize) -> (usize, usize) {
    let group = panel / GROUP;
    let width = GROUP.min(panels - group * GROUP);
    let start = group * GROUP * k * lanes + (panel % GROUP) * lanes;
    (start, width * lanes)
}

/// The tile loop over a job; `R × C` is the general tile, `W` the panels of a single-row tile.
///
/// # Safety
/// `P`'s instruction set must be available, and `job` valid (see [`PackedElement::run`]).
#[inline(always)]
unsafe fn drive<P: PanelOps, const R: usize, const C: usize, const W: usize>(job: &Job<P::Elem>) {
    let chunk = row_chunk(job.k * std::mem::size_of::<P::Elem>(), R);
    let panels = job.panels;
    let mut r0 = 0;
    while r0 < job.m {
        let rows = chunk.min(job.m - r0);
        let mut p = 0;
        while p < panels {
            // Tiles never straddle a group: their panels must share one row stride. A group's
            // last panels get one tile as wide as they are: one panel at a time would leave a
            // single chain of multiply-adds, each waiting for the previous one's latency.
            let left = ((p / GROUP + 1) * GROUP).min(panels) - p;
            if rows == 1 {
                let width = left.min(W);
                // SAFETY: forwarded from the caller; row r0 and panels p..p+width are in range.
                unsafe { tile_width::<P, W>(job, width, r0, p, panels) };
                p += width;
                continue;
            }
            let width = left.min(C);
            for (r, rr) in even_tiles(r0, rows, R) {
                // SAFETY: as above; rows r..r+rr and the tile's panels are in range.
                unsafe {
                    match width {
                        1 => tile_rows::<P, 1>(job, rr, r, p, panels),
                        2 => tile_rows::<P, 2>(job, rr, r, p, panels),
                        3 => tile_rows::<P, 3>(job, rr, r, p, panels),
                        _ => tile_rows::<P, C>(job, rr, r, p, panels),
                    }
                }
            }
            p += width;
        }
        r0 += rows;
    }
}

/// Rows of `a` processed together, a multiple of the `tile_rows` of a tile: as many as keep
/// [`ROW_CHUNK_BYTES`] of `a` (rows of `row_bytes`) in cache while every panel passes over them.
pub(crate) fn row_chunk(row_bytes: usize, tile_rows: usize) -> usize {
    (ROW_CHUNK_BYTES / row_bytes.max(1)).max(tile_rows) / tile_rows * tile_rows
}

/// The tiles `(first row, rows)` covering rows `start..start + rows`, at most `most` rows each,
/// dealt evenly over the fewest tiles (32 rows: 6, 6, 5, 5, 5, 5, not five of 6 and one of 2):
/// a short tile reloads the same weights for few multiply-adds.
pub(crate) fn even_tiles(
    start: usize,
    rows: usize,
    most: usize,
) -> impl Iterator<Item = (usize, usize)> {
    let tiles = rows.div_ceil(most.max(1));
    (0..tiles).scan(start, move |next, t| {
        let len = rows / tiles + usize::from(t < rows % tiles);
        let first = *next;
        *next += len;
        Some((first, len))
    })
}

/// Where rows `row..row + R` of a row-major matrix (rows `stride` apart) start, as pointers the
/// optimiser cannot relate to one another.
///
/// A tile reads element `p` of each of its rows at every `p`. Left to derive those addresses
/// from one base and the stride, the optimiser spent about six integer instructions per `p` on
/// them; with one opaque pointer per row, each read is a single addressed load. Those integer
/// instructions compete with the multiply-adds for the same ports: without them, an LSTM of
/// batch 64 ran about 4% faster on an Intel Xeon host.
///
/// # Safety
/// The rows must lie inside the allocation `base` points into.
#[inline(always)]
pub(crate) unsafe fn row_starts<T, const R: usize>(
    base: *const T,
    row: usize,
    stride: usize,
) -> [*const T; R] {
    // SAFETY: the caller's contract.
    std::array::from_fn(|r| std::hint::black_box(unsafe { base.add((row + r) * stride) }))
}

/// A single-row [`tile`] `width` panels wide (`1..=W`), chosen at run time.
///
/// # Safety
/// As [`tile`].
#[inline(always)]
unsafe fn tile_width<P: PanelOps, const W: usize>(
    job: &Job<P::Elem>,
    width: usize,
    row: usize,
    panel: usize,
    panels: usize,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match width {
            1 => tile::<P, 1, 1>(job, row, panel, panels),
            2 => tile::<P, 1, 2>(job, row, panel, panels),
            3 => tile::<P, 1, 3>(job, row, panel, panels),
            4 => tile::<P, 1, 4>(job, row, panel, panels),
            5 => tile::<P, 1, 5>(job, row, panel, panels),
            6 => tile::<P, 1, 6>(job, row, panel, panels),
            7 => tile::<P, 1, 7>(job, row, panel, panels),
            _ => tile::<P, 1, W>(job, row, panel, panels),
        }
    }
}

/// [`tile`] with the row count chosen at run time (`1..=6`).
///
/// # Safety
/// As [`tile`].
#[inline(always)]
unsafe fn tile_rows<P: PanelOps, const C: usize>(
    job: &Job<P::Elem>,
    rows: usize,
    row: usize,
    panel: usize,
    panels: usize,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match rows {
            1 => tile::<P, 1, C>(job, row, panel, panels),
            2 => tile::<P, 2, C>(job, row, panel, panels),
            3 => tile::<P, 3, C>(job, row, panel, panels),
            4 => tile::<P, 4, C>(job, row, panel, panels),
            5 => tile::<P, 5, C>(job, row, panel, panels),
            _ => tile::<P, 6, C>(job, row, panel, panels),
        }
    }
}

/// Rows `row..row + R` × panels `panel..panel + C` (of `panels` in all, within one group),
/// accumulators in registers.
///
/// # Safety
/// As [`drive`]; the rows and panels must lie inside the job.
#[inline(always)]
unsafe fn tile<P: PanelOps, const R: usize, const C: usize>(
    job: &Job<P::Elem>,
    row: usize,
    panel: usize,
    panels: usize,
) {
    let lanes = P::LANES;
    let (start, stride) = panel_layout(panel, panels, job.k, lanes);
    // SAFETY: every pointer below stays inside the buffers the job describes.
    unsafe {
        let w = job.weights.add(start);
        let init: [P::Reg; C] = std::array::from_fn(|j| P::load(job.bias.add((panel + j) * lanes)));
        let mut acc = [init; R];
        let a = row_starts::<_, R>(job.a, row, job.lda);
        for p in 0..job.k {
            let b: [P::Reg; C] = std::array::from_fn(|j| P::load(w.add(p * stride + j * lanes)));
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let x = *a[r].add(p);
                for (acc_rj, &b_j) in acc_r.iter_mut().zip(&b) {
                    *acc_rj = P::fma(x, b_j, *acc_rj);
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            for (j, &v) in acc_r.iter().enumerate() {
                let col = (panel + j) * lanes;
                if col < job.n {
                    P::store(
                        job.c.add((row + r) * job.ldc + col),
                        v,
                        lanes.min(job.n - col),
                    );
                }
            }
        }
    }
}

macro_rules! packed_element {
    ($t:ty, $lanes:expr) => {
        impl PackedElement for $t {
            const LANES: usize = $lanes;
            unsafe fn run(arch: Arch, job: &Job<Self>) {
                // SAFETY: each arm runs only on a CPU with its features; `job` is valid by the
                // caller's contract.
                unsafe {
                    match arch {
                        #[cfg(target_arch = "x86_64")]
                        Arch::Avx512 if arch.is_available() => x86::avx512::<$t>(job),
                        #[cfg(target_arch = "x86_64")]
                        Arch::Avx2 if arch.is_available() => x86::avx2::<$t>(job),
                        _ => drive::<Scalar<$t>, 2, 2, 4>(job),
                    }
                }
            }
        }
    };
}
packed_element!(f32, 16);
packed_element!(f64, 8);

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::panel::{Avx2, Avx512, PanelOps};
    use super::{Job, drive};

    /// # Safety
    /// AVX-512 F must be available; `job` valid.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn avx512<T>(job: &Job<T>)
    where
        Avx512<T>: PanelOps<Elem = T>,
    {
        // SAFETY: forwarded from the caller.
        unsafe { drive::<Avx512<T>, 6, 4, 8>(job) }
    }

    /// # Safety
    /// AVX2 and FMA must be available; `job` valid.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2<T>(job: &Job<T>)
    where
        Avx2<T>: PanelOps<Elem = T>,
    {
        // SAFETY: forwarded from the caller.
        unsafe { drive::<Avx2<T>, 6, 1, 4>(job) }
    }
}
