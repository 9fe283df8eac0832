//! How a time step multiplies the states by the recurrent matrix `W`: through the CSR matrix,
//! or, for one sequence through a small reservoir, through a dense packed copy.
//!
//! A single sequence's sparse product issues about three loads per non-zero (index, value, the
//! state it picks) and runs at about one non-zero per cycle; AVX-512 gathers, row by row or over
//! SELL-16 slices, were measured no faster. A dense matrix-vector product reads whole registers
//! of weights instead: once the packed copy fits in the L2 cache, it costs less than the sparse
//! one even though it multiplies the zeros too (100 units at density 0.1: 0.13 instead of 0.4
//! µs a step). A block of sequences keeps the sparse product, which already fills a register per
//! non-zero with one value for each of 16 sequences.

use super::Csr;
use crate::Float;
use crate::packed::PackedMatrix;
use std::ops::Range;

/// Largest packed copy: half the L2 cache of the cores we target (1 MiB), leaving the rest to
/// the state, the input projections and the readout.
const DENSE_MAX_BYTES: usize = 512 << 10;

/// The dense product is chosen when the matrix has at least one non-zero in this many entries:
/// below, the sparse product's one non-zero per cycle beats reading every entry.
const DENSE_MIN_FILL: usize = 12;

/// Steps a run needs before packing (O(units²)) pays for itself.
const DENSE_MIN_STEPS: usize = 64;

/// The recurrent product of one run.
pub(crate) enum Recurrence<T: Float> {
    /// Through the CSR matrix.
    Sparse,
    /// One packed matrix per layer (its rows of `W`, all columns), for a single sequence.
    Dense(Vec<PackedMatrix<T>>),
}

impl<T: Float> Recurrence<T> {
    /// The cheaper product for `stride` sequences side by side over `steps` steps of `w`, whose
    /// rows form `layers` equal layers.
    pub(crate) fn choose(w: &Csr<T>, layers: usize, stride: usize, steps: usize) -> Self {
        if !(stride == 1 && Self::dense_pays(w, steps)) {
            return Self::Sparse;
        }
        let n = w.rows();
        let size = n / layers;
        let full = w.to_dense();
        Self::Dense(
            full.chunks_exact(size * n)
                .map(|rows| PackedMatrix::new(rows, size, n, None))
                .collect(),
        )
    }

    /// Whether one sequence of `steps` steps runs faster through a dense copy of `w`.
    pub(crate) fn dense_pays(w: &Csr<T>, steps: usize) -> bool {
        let n = w.rows();
        steps >= DENSE_MIN_STEPS
            && n * n * size_of::<T>() <= DENSE_MAX_BYTES
            && n * n <= DENSE_MIN_FILL * w.nnz()
    }

    /// `out[:, :active] = W[rows, :] · x[:, :active]` for layer `layer` (`rows` its units), as
    /// [`Csr::mul_block`].
    #[inline(always)]
    pub(crate) fn multiply(
        &self,
        w: &Csr<T>,
        (layer, rows): (usize, Range<usize>),
        x: &[T],
        out: &mut [T],
        (stride, active): (usize, usize),
    ) {
        match self {
            Self::Dense(layers) => layers[layer].product(out, x, 1),
            Self::Sparse => w.mul_block(x, out, rows, stride, active),
        }
    }
}
