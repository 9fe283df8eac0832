//! The spectral radius of a large sparse matrix by thick-restart (Krylov-Schur style) Arnoldi.
//!
//! The leading eigenvalues of a random reservoir crowd the edge of a disk, so a method that
//! converges one Ritz value (ARPACK's `eigs(k=1)`, power iteration) may settle on an eigenvalue
//! near, but not at, the largest modulus. Here a Krylov space of [`krylov_dim`] vectors is
//! built, the quarter of its Ritz vectors of largest modulus are kept at each restart (their real
//! span, an invariant subspace of the projected matrix, so the space stays a Krylov space), and
//! the iteration stops only when the [`WANTED`] outermost Ritz pairs all have relative residuals
//! below [`TOLERANCE`]; if that takes more than [`MAX_RESTARTS`] restarts, it starts again in a
//! space twice as large. The Rayleigh quotient `Vᵀ A V` and the residuals are computed
//! explicitly from the stored products `A V`, so a restart that is not exactly invariant slows
//! convergence but cannot make the answer wrong.
//!
//! What no Krylov method rules out is an outermost eigenvalue whose component in the start
//! vector is still too small to show when the wanted pairs converge. Random reservoirs keep
//! their leading eigenvalues apart enough (three seeds each at 5000, 8000 and 12,000 units gave
//! the same radius to 9 digits with 4, 8 and 12 wanted pairs, and the dense solver's at 8000);
//! a contrived normal matrix of 4000 rotation blocks whose radii crowd the edge 1e-4 apart was
//! answered 4e-5 low in a 96-vector space.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use std::sync::Mutex;

use super::Csr;
use super::eigenvalues::outermost_eigenpairs;
use crate::lockstep::{Lockstep, PARTS, SharedOut};
use crate::rng::SplitMix64;
use crate::{Result, RnnError, par};

/// Fewest non-zeros for which the products run split across two threads. Medians of 30 runs,
/// one and two threads alternating: 300 units (9,000 non-zeros) 10.1 → 8.1 ms, 1000 units
/// 49 → 44 ms (the orthogonalisation and the projected eigenproblems stay on one thread).
const SPLIT_MIN_NONZEROS: usize = 4 * 1024;

/// Dimension of the Krylov space before a restart for an `n × n` matrix. Each restart solves
/// the projected eigenproblem with eigenvectors, O(dimension³): up to a couple of thousand units
/// 48 vectors are the fastest (measured keeping half of them: 10 restarts at 300 units, 23 at
/// 1000: 7 and 38 ms where 96 vectors took 10 and 50 ms; keeping a quarter, 40 and 64 vectors
/// were within noise of 48). Larger reservoirs crowd more eigenvalues near the edge of the spectrum:
/// at 8000 and 12,000 units (eight and twelve connections per unit) 48 vectors had not converged
/// after [`MAX_RESTARTS`] restarts, and the dense fallback took 40 s to 7 minutes, where 96
/// vectors converged in 25 restarts, 1-2.4 s (three seeds each).
fn krylov_dim(n: usize) -> usize {
    if n <= 2048 { 48 } else { 96 }
}

/// Krylov spaces tried, each twice as large as the one before, before the dense solver.
const ATTEMPTS: usize = 2;
/// Outermost Ritz values (a conjugate pair counting once) that must converge: more than one, so
/// that the iteration cannot stop on a converged eigenvalue while a larger one is still
/// forming at the crowded edge of the spectrum.
const WANTED: usize = 4;
/// Relative residual `‖A y - θ y‖ / (|θ| ‖y‖)` a wanted Ritz pair must reach. For the mildly
/// non-normal matrices of reservoirs the eigenvalue error is far below this: on a 1000-unit
/// reservoir whose residuals fell from 1e-7 to 1e-11 over the last restarts, the radius was
/// within 2e-10 of its final value once they were below 1e-8, four orders of magnitude inside
/// the 1e-6 the estimators promise (the tests compare with the dense solver to 1e-9).
const TOLERANCE: f64 = 1e-8;
/// Restarts before giving up (convergence takes 10-25 on random reservoirs).
const MAX_RESTARTS: usize = 300;

/// The orthonormal basis `V` (column-major, `n × (dim + 1)`) and `A V` (`n × dim`).
struct Basis<'a> {
    a: &'a Csr<f64>,
    n: usize,
    /// Dimension of the Krylov space before a restart.
    dim: usize,
    v: Mat<f64>,
    av: Mat<f64>,
}

impl Basis<'_> {
    /// Orthogonalises `w` against the first `size` basis vectors (classical Gram-Schmidt, twice,
    /// which is as stable as modified Gram-Schmidt and runs as matrix products) and returns
    /// its remaining norm.
    fn orthogonalize(&self, w: &mut Mat<f64>, size: usize) -> f64 {
        let v = self.v.as_ref().subcols(0, size);
        let mut h = Mat::<f64>::zeros(size, 1);
        for _ in 0..2 {
            matmul(
                h.as_mut(),
                Accum::Replace,
                v.transpose(),
                w.as_ref(),
                1.0,
                Par::Seq,
            );
            matmul(w.as_mut(), Accum::Add, v, h.as_ref(), -1.0, Par::Seq);
        }
        w.col(0).norm_l2()
    }

    /// Extends the basis from `size` vectors (products known for the first `size - 1`) to
    /// `dim + 1`, applying `A` to the newest vector each time. With `split` (call
    /// inside the pool), each product runs on two threads, each multiplying its half of the
    /// rows (its half of `A` staying in its own L2); the rest stays on the calling thread. The
    /// products have the same bits either way.
    fn expand(&mut self, size: usize, rng: &mut SplitMix64, split: bool) {
        let n = self.n;
        let products = self.dim + 1 - size;
        let (mut x, mut y) = (vec![0.0; n], vec![0.0; n]);
        if !split {
            for j in size - 1..self.dim {
                x.copy_from_slice(
                    self.v
                        .col(j)
                        .try_as_col_major()
                        .expect("contiguous")
                        .as_slice(),
                );
                self.a.mul_block(&x, &mut y, 0..n, 1, 1);
                self.append(j, &y, rng);
            }
            return;
        }
        // Two steps per product: an even step on the calling thread appends the previous
        // product's vector and publishes the next `x`; an odd step multiplies, one half each.
        let parts = [0..n / 2, n / 2..n];
        let a = self.a;
        let serial = Mutex::new((self, rng));
        let (xs, ys) = (SharedOut::new(&mut x), SharedOut::new(&mut y));
        Lockstep::new(2 * products + 1).run(
            || (),
            |_, step, part| {
                let i = step / 2;
                if step % 2 == 1 {
                    let rows = parts[part].clone();
                    // SAFETY: `x` was written by step `step - 1` and is only read here; each
                    // part writes its own rows of `y`.
                    let (x, y) = unsafe { (xs.read(0, n), ys.read_mut(rows.start, rows.len())) };
                    a.mul_block(x, y, rows, 1, 1);
                    return;
                }
                if part != 0 {
                    return;
                }
                // Only even steps of part 0 lock: never contended, and a panic stops the
                // schedule before anyone could see the poisoned lock.
                let mut guard = serial.lock().unwrap_or_else(|e| e.into_inner());
                let (basis, rng) = &mut *guard;
                let j = size - 1 + i;
                if i > 0 {
                    // SAFETY: both halves of `y` were written by the step before; nothing
                    // writes it during an even step.
                    basis.append(j - 1, unsafe { ys.read(0, n) }, rng);
                }
                if i < products {
                    let v = basis.v.col(j).try_as_col_major().expect("contiguous");
                    // SAFETY: no product reads `x` during an even step.
                    unsafe { xs.write(0, v.as_slice()) };
                }
            },
        );
    }

    /// Stores `y = A v_j` and appends the next basis vector: `y` orthogonalised against the
    /// first `j + 1` vectors.
    fn append(&mut self, j: usize, y: &[f64], rng: &mut SplitMix64) {
        let size = j + 1;
        let mut w = Mat::<f64>::from_fn(self.n, 1, |i, _| y[i]);
        self.av.col_mut(j).copy_from(w.col(0));
        let mut norm = self.orthogonalize(&mut w, size);
        // An invariant subspace was found: continue from a fresh random direction (the space
        // stops being a Krylov space, but the Rayleigh-Ritz step stays exact).
        while norm <= 1e-12 * (1.0 + self.av.col(j).norm_l2()) {
            w = Mat::from_fn(self.n, 1, |_, _| rng.symmetric_unit());
            norm = self.orthogonalize(&mut w, size);
        }
        self.v.col_mut(size).copy_from(w.col(0) / norm);
    }
}

/// Ritz pairs of the projected matrix, outermost first.
struct Ritz {
    /// `(re, im, column)`, one entry per conjugate pair: for a complex pair, columns `column`
    /// and `column + 1` of `vectors` hold the real and imaginary parts of the eigenvector of
    /// `re + i·im`.
    values: Vec<(f64, f64, usize)>,
    vectors: Mat<f64>,
}

/// The Ritz pairs of the projected matrix `h`: the outermost ones, enough to fill the kept span,
/// from the unblocked solver of [`super::eigenvalues`]; faer's full eigendecomposition if that
/// does not converge.
fn ritz(h: MatRef<'_, f64>) -> Result<Ritz> {
    let m = h.nrows();
    let rows: Vec<f64> = (0..m * m).map(|e| h[(e / m, e % m)]).collect();
    // The kept span's columns, a conjugate pair possibly straddling its end, and the wanted
    // pairs' (at most two columns each).
    let columns = (m / KEEP_DIVISOR + 1).max(2 * WANTED);
    let Some(pairs) = outermost_eigenpairs(&rows, m, columns) else {
        return full_ritz(h);
    };
    let vectors = Mat::from_fn(m, pairs.vectors.len(), |i, j| pairs.vectors[j][i]);
    Ok(Ritz {
        values: pairs.values,
        vectors,
    })
}

/// Every Ritz pair of `h`, from faer's eigendecomposition.
fn full_ritz(h: MatRef<'_, f64>) -> Result<Ritz> {
    let m = h.nrows();
    let (mut re, mut im) = (Diag::<f64>::zeros(m), Diag::<f64>::zeros(m));
    let mut vectors = Mat::<f64>::zeros(m, m);
    let (no, yes) = (ComputeEigenvectors::No, ComputeEigenvectors::Yes);
    let mut buffer = MemBuffer::new(evd::evd_scratch::<f64>(
        m,
        no,
        yes,
        Par::Seq,
        Default::default(),
    ));
    evd::evd_real(
        h,
        re.as_mut(),
        im.as_mut(),
        None,
        Some(vectors.as_mut()),
        Par::Seq,
        MemStack::new(&mut buffer),
        Default::default(),
    )
    .map_err(|e| RnnError::param("reservoir matrix", format!("eigensolver failed: {e:?}")))?;
    let (re, im) = (re.column_vector(), im.column_vector());
    let mut values = Vec::with_capacity(m);
    let mut j = 0;
    while j < m {
        if im[j] != 0.0 && j + 1 < m {
            // One entry per conjugate pair: the residual norms of the two are equal.
            values.push((re[j], im[j], j));
            j += 2;
        } else {
            values.push((re[j], 0.0, j));
            j += 1;
        }
    }
    values.sort_by(|a, b| b.0.hypot(b.1).total_cmp(&a.0.hypot(a.1)));
    Ok(Ritz { values, vectors })
}

/// `‖A y - θ y‖ / (|θ| ‖y‖)` for the Ritz vector `y = V s` of `θ = re + i·im`.
fn relative_residual(basis: &Basis<'_>, ritz: &Ritz, (re, im, col): (f64, f64, usize)) -> f64 {
    let m = basis.dim;
    let v = basis.v.as_ref().subcols(0, m);
    let s_re = ritz.vectors.as_ref().subcols(col, 1);
    let (vs_re, avs_re) = (v * s_re, basis.av.as_ref() * s_re);
    let modulus = re.hypot(im);
    if im == 0.0 {
        let r = &avs_re - &vs_re * faer::Scale(re);
        return r.norm_l2() / (modulus * vs_re.norm_l2()).max(f64::MIN_POSITIVE);
    }
    // A (x + i z) - (a + i b)(x + i z) = (A x - a x + b z) + i (A z - a z - b x).
    let s_im = ritz.vectors.as_ref().subcols(col + 1, 1);
    let (vs_im, avs_im) = (v * s_im, basis.av.as_ref() * s_im);
    let r_re = &avs_re - &vs_re * faer::Scale(re) + &vs_im * faer::Scale(im);
    let r_im = &avs_im - &vs_im * faer::Scale(re) - &vs_re * faer::Scale(im);
    let norm_y = vs_re.norm_l2().hypot(vs_im.norm_l2());
    r_re.norm_l2().hypot(r_im.norm_l2()) / (modulus * norm_y).max(f64::MIN_POSITIVE)
}

/// Fraction of the Ritz vectors kept at a restart. Each restart solves the projected
/// eigenproblem (most of the time at a few hundred units), so adding more new vectors per
/// restart pays more than keeping more of the old ones. One thread, medians over seeds,
/// keeping a half against a quarter (alternating runs): 300 units 11.2-12.9 against 9.5-10.1 ms,
/// 1000 units 60-76 against 47-48 ms; 3000 and 8000 units at eight connections per unit 286
/// and 1379 against 194 and 1007 ms. (A sixth: 9.2 ms at 300 units, 70 ms at 1000.)
const KEEP_DIVISOR: usize = 4;

/// An orthonormal basis (`m × k`, `k ≤ m / KEEP_DIVISOR + 1`) of the real span of the
/// `m / KEEP_DIVISOR` outermost Ritz vectors of the `m`-dimensional space, a conjugate pair
/// never split.
fn kept_span(ritz: &Ritz) -> Mat<f64> {
    let m = ritz.vectors.nrows();
    let keep = m / KEEP_DIVISOR;
    let mut cols: Vec<usize> = Vec::with_capacity(keep + 1);
    for &(_, im, col) in &ritz.values {
        if cols.len() >= keep {
            break;
        }
        cols.push(col);
        if im != 0.0 {
            cols.push(col + 1);
        }
    }
    let mut q = Mat::<f64>::zeros(m, cols.len());
    let mut k = 0;
    for &c in &cols {
        q.col_mut(k).copy_from(ritz.vectors.col(c));
        // Modified Gram-Schmidt, twice, against the columns already accepted.
        for _ in 0..2 {
            for p in 0..k {
                let dot = q.col(p).transpose() * q.col(k);
                let qp = q.col(p).to_owned();
                q.col_mut(k)
                    .iter_mut()
                    .zip(qp.iter())
                    .for_each(|(a, &b)| *a -= dot * b);
            }
        }
        let norm = q.col(k).norm_l2();
        if norm > 1e-10 {
            let scaled = q.col(k) / norm;
            q.col_mut(k).copy_from(scaled);
            k += 1;
        }
    }
    q.subcols(0, k).to_owned()
}

/// The largest eigenvalue modulus of the square matrix `a` (larger than the dense solver's
/// matrices) on up to `threads` threads, or an error if the iteration converges in none of
/// [`ATTEMPTS`] Krylov spaces of growing size. The result does not depend on the number of
/// threads.
pub(crate) fn spectral_radius_arnoldi(a: &Csr<f64>, threads: usize) -> Result<f64> {
    let split = threads >= PARTS && a.nnz() >= SPLIT_MIN_NONZEROS;
    let run = |dim: usize| -> Result<f64> {
        if split {
            par::install(threads, || arnoldi(a, true, dim))?
        } else {
            arnoldi(a, false, dim)
        }
    };
    let first = krylov_dim(a.rows());
    let mut outcome = run(first);
    for attempt in 1..ATTEMPTS {
        if outcome.is_ok() {
            break;
        }
        outcome = run(first << attempt);
    }
    outcome
}

/// The iteration itself in a Krylov space of `dim` vectors (`dim < n`); `split`: the products
/// run on two threads (call inside the pool).
pub(super) fn arnoldi(a: &Csr<f64>, split: bool, dim: usize) -> Result<f64> {
    let n = a.rows();
    debug_assert!(n > dim);
    let mut rng = SplitMix64::new(0x5eed_a4a0, 0);
    let mut basis = Basis {
        a,
        n,
        dim,
        v: Mat::zeros(n, dim + 1),
        av: Mat::zeros(n, dim),
    };
    let start = Mat::<f64>::from_fn(n, 1, |_, _| rng.symmetric_unit());
    let norm = start.col(0).norm_l2();
    basis.v.col_mut(0).copy_from(start.col(0) / norm);
    let mut size = 1;
    for _ in 0..MAX_RESTARTS {
        basis.expand(size, &mut rng, split);
        let v = basis.v.as_ref().subcols(0, dim);
        let mut h = Mat::<f64>::zeros(dim, dim);
        matmul(
            h.as_mut(),
            Accum::Replace,
            v.transpose(),
            basis.av.as_ref(),
            1.0,
            Par::Seq,
        );
        let ritz = ritz(h.as_ref())?;
        let radius = ritz.values[0].0.hypot(ritz.values[0].1);
        if radius == 0.0 {
            return Ok(0.0);
        }
        let converged = ritz
            .values
            .iter()
            .take(WANTED)
            .all(|&pair| relative_residual(&basis, &ritz, pair) <= TOLERANCE);
        if converged {
            return Ok(radius);
        }
        size = restart(&mut basis, &ritz);
    }
    Err(RnnError::param(
        "reservoir matrix",
        format!(
            "the Arnoldi iteration for the spectral radius did not converge in {MAX_RESTARTS} restarts"
        ),
    ))
}

/// Replaces the basis by the kept Ritz span followed by the newest Arnoldi vector; returns the
/// new size.
fn restart(basis: &mut Basis<'_>, ritz: &Ritz) -> usize {
    let q = kept_span(ritz);
    let k = q.ncols();
    let v = basis.v.as_ref().subcols(0, basis.dim);
    let (new_v, new_av) = (v * &q, basis.av.as_ref() * &q);
    let next = basis.v.col(basis.dim).to_owned();
    basis.v.as_mut().subcols_mut(0, k).copy_from(&new_v);
    basis.v.col_mut(k).copy_from(&next);
    basis.av.as_mut().subcols_mut(0, k).copy_from(&new_av);
    k + 1
}
