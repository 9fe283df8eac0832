//! How a time step multiplies the states by the recurrent matrix `W`: through the CSR matrix,
//! or, for one sequence through a small reservoir, through a dense packed copy.
//!
//! A single sequence's sparse product issues about three loads per non-zero (index, value, the
//! state it picks) and runs at about one non-zero per cycle; AVX-512 gathers, row by row or over
//! SELL-16 slices, were measured no faster. A dense matrix-vector product reads whole registers
//! of weights instead: once the packed copy fits in the L2 cache, it costs less than the sparse
//! one even though it multiplies the zeros too, in `f32` (100 units at density 0.1: 0.40 instead
//! of 0.48 µs a step on Zen 4), though in `f64` only from about twice that density. A block of
//! sequences keeps the sparse product, which already fills a register per non-zero with one
//! value for each of 16 sequences.

use super::Csr;
use crate::Float;
use crate::cache::l1_data_bytes;
use crate::packed::PackedMatrix;
use std::cell::Cell;
use std::ops::Range;

/// Largest packed copy: half the L2 cache of the cores we target (1 MiB), leaving the rest to
/// the state, the input projections and the readout.
const DENSE_MAX_BYTES: usize = 512 << 10;

/// The dense product is chosen when the matrix has at least one non-zero in this many bytes of
/// entries (12 `f32` or 6 `f64` entries): below, the sparse product's one non-zero every cycle
/// or two beats reading every entry, and a `f64` entry costs twice the bytes and half the lanes
/// of a `f32` one. One Zen 4 core, product and leaky update per step, CSR against dense (halves
/// where they apply): `f32` at density 0.1, 100 units 0.48 against 0.40 µs, 200 units 1.84
/// against 1.61, 300 units 3.55 against 3.62; `f64` at density 0.1, 100 units 0.50 against
/// 0.83, 200 units 1.70 against 3.11; `f64` at density 0.2, 100 units 1.02 against 0.99.
const DENSE_MIN_FILL_BYTES: usize = 48;

/// Steps a run needs before packing (O(units²)) pays for itself.
const DENSE_MIN_STEPS: usize = 64;

/// The recurrent product of one run.
pub(crate) enum Recurrence<T: Float> {
    /// Through the CSR matrix.
    Sparse,
    /// One packed copy per layer (its rows of `W`, all columns), for a single sequence.
    Dense(Vec<DenseLayer<T>>),
}

/// A layer's rows of `W` packed whole or, when that copy is somewhat larger than the L1 data
/// cache, in two halves of rows multiplied in alternating order: the half one step multiplies
/// last is still in L1 when the next step starts with it, where a single copy larger than L1
/// streams from L2 at every step. Each row's product is the same in either half, so the bits are
/// too. One Zen 4 core (32 KiB of L1), product and leaky update per step at density 0.1, whole
/// against halves: float32 100 units (a 45 KiB copy) 0.425 against 0.38 µs, 120 units 0.73
/// against 0.61, 128 units 0.74 against 0.59, 144 units (83 KiB) 0.96 against 0.87; float64 72
/// units (41 KiB) 0.53 against 0.43, 80 units 0.57 against 0.44. No gain either way at 36 KiB
/// (float32 90 units: 0.30 whole, 0.36 in halves) nor from 83 KiB up, where even half a copy
/// overflows L1 (float64 100 and 112 units, float32 160 units: within 2%).
pub(crate) struct DenseLayer<T> {
    /// `(first row, packed rows)`, in row order.
    parts: Vec<(usize, PackedMatrix<T>)>,
    /// Whether the next product starts with the last part.
    reversed: Cell<bool>,
}

impl<T: Float> DenseLayer<T> {
    /// `w`: the layer's `rows × cols` rows of `W`, row-major.
    fn new(w: &[T], rows: usize, cols: usize) -> Self {
        let panels = rows.div_ceil(T::LANES);
        let bytes = panels * T::LANES * cols * size_of::<T>();
        // Halves pay from a quarter larger than L1 to about two and a half times its size.
        let l1 = l1_data_bytes();
        let parts = if panels >= 2 && 4 * bytes > 5 * l1 && 2 * bytes <= 5 * l1 {
            let split = panels.div_ceil(2) * T::LANES;
            let (top, bottom) = w.split_at(split * cols);
            vec![
                (0, PackedMatrix::new(top, split, cols, None)),
                (split, PackedMatrix::new(bottom, rows - split, cols, None)),
            ]
        } else {
            vec![(0, PackedMatrix::new(w, rows, cols, None))]
        };
        Self {
            parts,
            reversed: Cell::new(false),
        }
    }

    /// `out = W_layer · x` for one sequence.
    #[inline(always)]
    fn product(&self, x: &[T], out: &mut [T]) {
        let reversed = self.reversed.replace(!self.reversed.get());
        let mut multiply = |(first, part): &(usize, PackedMatrix<T>)| {
            part.product(&mut out[*first..*first + part.columns()], x, 1);
        };
        if reversed {
            self.parts.iter().rev().for_each(&mut multiply);
        } else {
            self.parts.iter().for_each(&mut multiply);
        }
    }
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
                .map(|rows| DenseLayer::new(rows, size, n))
                .collect(),
        )
    }

    /// Whether one sequence of `steps` steps runs faster through a dense copy of `w`.
    pub(crate) fn dense_pays(w: &Csr<T>, steps: usize) -> bool {
        let n = w.rows();
        steps >= DENSE_MIN_STEPS
            && n * n * size_of::<T>() <= DENSE_MAX_BYTES
            && n * n * size_of::<T>() <= DENSE_MIN_FILL_BYTES * w.nnz()
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
            Self::Dense(layers) => layers[layer].product(x, out),
            Self::Sparse => w.mul_block(x, out, rows, stride, active),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esn::sparse::random_csr;
    use crate::rng::SplitMix64;

    #[test]
    fn dense_halves_give_the_whole_copys_bits_in_either_order() {
        // 128 float32 units: a 64 KiB copy, larger than the L1 of any core we target, so it
        // is split; each step's product must have the bits of the whole packed copy whichever
        // half goes first (and be the CSR product up to rounding: their orders of additions
        // differ).
        let n = 128;
        let w = random_csr::<f32>(n, 0.1, 3, false);
        let mut rng = SplitMix64::new(3, 1);
        let Recurrence::Dense(layers) = Recurrence::choose(&w, 1, 1, DENSE_MIN_STEPS) else {
            panic!("128 units at density 0.1 take the dense product");
        };
        assert_eq!(layers[0].parts.len(), 2);
        let whole = PackedMatrix::new(&w.to_dense(), n, n, None);
        let mut x: Vec<f32> = (0..n).map(|_| rng.symmetric_unit() as f32).collect();
        let (mut dense, mut want, mut sparse) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for _ in 0..4 {
            layers[0].product(&x, &mut dense);
            whole.product(&mut want, &x, 1);
            assert_eq!(dense, want);
            w.mul_block(&x, &mut sparse, 0..n, 1, 1);
            for (d, s) in dense.iter().zip(&sparse) {
                assert!((d - s).abs() <= 1e-5 * (1.0 + s.abs()), "{d} vs {s}");
            }
            x.iter_mut().zip(&dense).for_each(|(v, &d)| *v = d.tanh());
        }
    }
}
