//! Modern (dense) Hopfield retrieval (Ramsauer et al., 2020): continuous states updated by
//! `ξ ← Ξᵀ softmax(β Ξ ξ)`, with the stored patterns as the rows of `Ξ` (`p × n`). One update
//! retrieves a well-separated pattern, and the capacity grows exponentially with `n`.

use faer::Par;

use crate::float::check_finite;
use crate::linalg::matmul_nt;
use crate::{Float, Result, RnnError};

use super::rules::transpose;
use super::{PROBE_CHUNK, check_max_iter, par_rows, rows_of};

/// Applies `max_iter` updates to each query (`batch × n`) given `patterns` (`p × n`, `p ≥ 1`);
/// returns the retrieved states, `batch × n`. Results do not depend on `threads`.
pub fn retrieve<T: Float>(
    patterns: &[T],
    n: usize,
    queries: &[T],
    beta: T,
    max_iter: usize,
    threads: usize,
) -> Result<Vec<T>> {
    let p = rows_of("patterns", patterns.len(), n)?;
    let batch = rows_of("queries", queries.len(), n)?;
    if p == 0 {
        return Err(RnnError::shape("patterns", "at least one pattern", 0));
    }
    if !(beta.finite() && beta > T::default()) {
        return Err(RnnError::param("beta", "must be a finite number > 0"));
    }
    check_max_iter(max_iter)?;
    check_finite("patterns", patterns)?;
    check_finite("queries", queries)?;
    let patterns_t = transpose(patterns, p, n);
    let mut states = queries.to_vec();
    let chunks = batch.div_ceil(PROBE_CHUNK);
    let mut scratch = vec![(); chunks];
    let threads = if chunks > 1 { threads } else { 1 };
    if batch > 0 {
        par_rows(
            threads,
            &mut states,
            PROBE_CHUNK * n,
            &mut scratch,
            1,
            |_, q, _| {
                let rows = q.len() / n;
                let mut scores = vec![T::default(); rows * p];
                for _ in 0..max_iter {
                    matmul_nt(&mut scores, q, patterns, (rows, p, n), false, Par::Seq);
                    scores.chunks_exact_mut(p).for_each(|s| softmax(s, beta));
                    matmul_nt(q, &scores, &patterns_t, (rows, n, p), false, Par::Seq);
                }
            },
        )?;
    }
    Ok(states)
}

/// `s ← softmax(beta · s)`, shifted by the maximum so that no exponential overflows.
pub fn softmax<T: Float>(s: &mut [T], beta: T) {
    let max = s.iter().copied().fold(None, |m: Option<T>, v| {
        Some(m.map_or(v, |m| if v > m { v } else { m }))
    });
    let Some(max) = max else { return };
    let mut total = T::default();
    for v in s.iter_mut() {
        *v = (beta * (*v - max)).exp();
        total += *v;
    }
    s.iter_mut().for_each(|v| *v /= total);
}
