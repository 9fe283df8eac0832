//! Kosko's bidirectional associative memory (1988): bipolar pairs `(x, y)` of sizes `nx`, `ny`
//! stored as `W = Σ xᵀ y` (`nx × ny`). Recall from `x` alternates `y ← f(x W)`, `x ← f(y Wᵀ)`
//! (both layers updated synchronously, ties to `+1` as in [`super::activate`] with threshold 0)
//! until neither layer changes. The energy `-x W yᵀ` never increases along the way.
//!
//! Learning is one matrix product and lives in the Python layer; recall in the other direction
//! is this same function with `Wᵀ`.

use faer::Par;

use crate::float::check_finite;
use crate::linalg::matmul_nt;
use crate::{Float, Result, RnnError};

use super::rules::transpose;
use super::{
    PROBE_CHUNK, activate, check_bipolar, check_max_iter, expect_matrix, par_rows, rows_of,
};

/// What [`recall`] returns, per probe.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BamRecall<T> {
    /// Final input layer, `batch × nx`.
    pub x: Vec<T>,
    /// Final output layer, `batch × ny`.
    pub y: Vec<T>,
    /// Whether a round trip changed neither layer.
    pub converged: Vec<bool>,
    /// Round trips run (`x → y → x`), the last one included.
    pub sweeps: Vec<usize>,
}

/// Recalls the `y` layer for bipolar `probes` (`batch × nx`) with `weights` (`nx × ny`).
pub fn recall<T: Float>(
    weights: &[T],
    (nx, ny): (usize, usize),
    probes: &[T],
    max_iter: usize,
    threads: usize,
) -> Result<BamRecall<T>> {
    expect_matrix("weights", weights.len(), nx, ny)?;
    if ny == 0 {
        return Err(RnnError::shape("weights", "at least one output unit", 0));
    }
    let batch = rows_of("probes", probes.len(), nx)?;
    check_max_iter(max_iter)?;
    check_finite("weights", weights)?;
    check_bipolar("probes", probes)?;
    let weights_t = transpose(weights, nx, ny);
    let mut x = probes.to_vec();
    let chunks = batch.div_ceil(PROBE_CHUNK);
    let mut parts = vec![BamRecall::default(); chunks];
    let threads = if chunks > 1 { threads } else { 1 };
    if batch > 0 {
        par_rows(
            threads,
            &mut x,
            PROBE_CHUNK * nx,
            &mut parts,
            1,
            |_, x, part| {
                part[0] = chunk(weights, &weights_t, (nx, ny), x, max_iter);
            },
        )?;
    }
    let mut out = BamRecall {
        x,
        ..BamRecall::default()
    };
    for part in parts {
        out.y.extend(part.y);
        out.converged.extend(part.converged);
        out.sweeps.extend(part.sweeps);
    }
    Ok(out)
}

/// `out ← f(fields)` elementwise.
fn activate_into<T: Float>(out: &mut [T], fields: &[T]) {
    let zero = T::default();
    out.iter_mut()
        .zip(fields)
        .for_each(|(o, &h)| *o = activate(h, zero));
}

/// Recall of one chunk; `x` is updated in place, the rest returned.
fn chunk<T: Float>(
    w: &[T],
    w_t: &[T],
    (nx, ny): (usize, usize),
    x: &mut [T],
    max_iter: usize,
) -> BamRecall<T> {
    let rows = x.len() / nx;
    let mut field_y = vec![T::default(); rows * ny];
    let mut field_x = vec![T::default(); rows * nx];
    let mut y = vec![T::default(); rows * ny];
    let mut new_x = vec![T::default(); rows * nx];
    let mut new_y = vec![T::default(); rows * ny];
    let mut converged = vec![false; rows];
    let mut sweeps = vec![0; rows];
    matmul_nt(&mut field_y, x, w_t, (rows, ny, nx), false, Par::Seq);
    activate_into(&mut y, &field_y);
    for sweep in 1..=max_iter {
        matmul_nt(&mut field_x, &y, w, (rows, nx, ny), false, Par::Seq);
        activate_into(&mut new_x, &field_x);
        matmul_nt(&mut field_y, &new_x, w_t, (rows, ny, nx), false, Par::Seq);
        activate_into(&mut new_y, &field_y);
        let mut active = 0;
        for r in 0..rows {
            if converged[r] {
                continue;
            }
            sweeps[r] = sweep;
            let (xr, yr) = (r * nx..(r + 1) * nx, r * ny..(r + 1) * ny);
            if new_x[xr.clone()] == x[xr.clone()] && new_y[yr.clone()] == y[yr.clone()] {
                converged[r] = true;
            } else {
                active += 1;
            }
        }
        // A converged row is a fixed point, so copying it is harmless.
        x.copy_from_slice(&new_x);
        y.copy_from_slice(&new_y);
        if active == 0 {
            break;
        }
    }
    BamRecall {
        x: Vec::new(),
        y,
        converged,
        sweeps,
    }
}
