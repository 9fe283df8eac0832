//! Associative memories: classical Hopfield networks, modern (dense) Hopfield retrieval and
//! Kosko's bidirectional associative memory.
//!
//! Conventions shared by every kernel here:
//! - States are bipolar, stored as `±1` in the kernel's float type. Callers with binary `{0, 1}`
//!   patterns map them to bipolar (`2x - 1`) before learning and recall, and back afterwards.
//! - A unit's new state is `+1` when its local field is at or above the threshold, else `-1`
//!   ([`activate`]): ties go to `+1`.
//! - Weight matrices have a zero diagonal and are symmetric (every rule in [`rules`] keeps both).
//! - Batches are row-major `(probes, units)`; work is split over probes in fixed chunks of
//!   [`PROBE_CHUNK`] rows, so results do not depend on the thread count.

pub mod bam;
pub mod modern;
pub mod recall;
pub mod rules;

#[cfg(test)]
mod tests;

pub use recall::{Dynamics, Memory, Recall, UpdateMode, recall};

use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
pub(crate) use crate::simd::with_simd;
use crate::{Float, Result, RnnError, par};

/// Probes per parallel task: a fixed split, because a matrix product's rounding may depend on
/// how many rows it has, and results must not change with `set_num_threads`.
pub const PROBE_CHUNK: usize = 32;

/// The new bipolar state of a unit with local field `field`: `+1` at or above `threshold`.
#[inline(always)]
pub fn activate<T: Float>(field: T, threshold: T) -> T {
    if field >= threshold {
        T::from_f64(1.0)
    } else {
        T::from_f64(-1.0)
    }
}

/// Fails unless every value of `states` is exactly `-1` or `+1`.
pub fn check_bipolar<T: Float>(what: &str, states: &[T]) -> Result<()> {
    let (one, minus) = (T::from_f64(1.0), T::from_f64(-1.0));
    let is_bipolar = |&v: &T| (v == one) | (v == minus);
    // A branch-free pass over blocks (vectorised); the position only once one fails.
    if states
        .chunks(256)
        .all(|c| c.iter().fold(true, |ok, v| ok & is_bipolar(v)))
    {
        return Ok(());
    }
    match states.iter().position(|v| !is_bipolar(v)) {
        None => Ok(()),
        Some(index) => Err(RnnError::param(
            what,
            format!(
                "expected bipolar values -1 or +1, got {:?} at flat index {index}",
                states[index]
            ),
        )),
    }
}

/// Fails unless `max_iter` allows at least one sweep.
pub(crate) fn check_max_iter(max_iter: usize) -> Result<()> {
    if max_iter == 0 {
        return Err(RnnError::param("max_iter", "must be at least 1"));
    }
    Ok(())
}

/// Fails unless `values` holds `rows × cols` elements, naming the argument.
pub(crate) fn expect_matrix(what: &str, values: usize, rows: usize, cols: usize) -> Result<()> {
    if rows.checked_mul(cols) == Some(values) {
        Ok(())
    } else {
        Err(RnnError::shape(
            what,
            format!("{rows} x {cols} = {} values", rows.saturating_mul(cols)),
            values,
        ))
    }
}

/// Rows of a row-major matrix of width `cols`, or an error when `values` is not a multiple.
pub(crate) fn rows_of(what: &str, values: usize, cols: usize) -> Result<usize> {
    if cols == 0 {
        return Err(RnnError::shape(what, "at least one unit", 0));
    }
    if !values.is_multiple_of(cols) {
        return Err(RnnError::shape(
            what,
            format!("a multiple of {cols} values"),
            values,
        ));
    }
    Ok(values / cols)
}

/// Runs `f(index, a_chunk, b_chunk)` over matching chunks of `a` and `b` (chunk `index` of both),
/// on the pool when `threads > 1`, else on the calling thread (outside [`par::install`] rayon
/// would use its global pool). Chunk sizes must be non-zero.
pub(crate) fn par_rows<A: Send, B: Send>(
    threads: usize,
    a: &mut [A],
    a_chunk: usize,
    b: &mut [B],
    b_chunk: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Send + Sync,
) -> Result<()> {
    par::install(threads, || {
        if threads > 1 {
            a.par_chunks_mut(a_chunk)
                .zip(b.par_chunks_mut(b_chunk))
                .enumerate()
                .for_each(|(i, (x, y))| f(i, x, y));
        } else {
            a.chunks_mut(a_chunk)
                .zip(b.chunks_mut(b_chunk))
                .enumerate()
                .for_each(|(i, (x, y))| f(i, x, y));
        }
    })
}
