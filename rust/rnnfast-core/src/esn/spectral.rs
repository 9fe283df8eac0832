//! The spectral radius of a reservoir: the largest eigenvalue modulus, complex pairs included.
//!
//! Power iteration converges to the modulus only when one real eigenvalue dominates; random
//! reservoirs usually lead with a complex pair. Small matrices get the full spectrum in `f64`
//! from a dense Hessenberg QR solver, exact to rounding but O(n³): up to [`DENSE_MAX`] units the
//! unblocked one of `eigenvalues`, otherwise faer's multishift one (about 0.3 s at a
//! thousand units). Above [`DENSE_MAX`] units a thick-restart Arnoldi iteration
//! (`arnoldi`) converges the outermost eigenvalues (relative residual 1e-8), falling back to the
//! dense solver if it does not converge. ARPACK's `eigs(k=1)` is not a substitute: on random
//! reservoirs, whose eigenvalues crowd the edge of a disk, it was measured 0.8% off at 1000
//! units.

use faer::Mat;
use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{self, ComputeEigenvectors};

use super::Csr;
use super::arnoldi::spectral_radius_arnoldi;
use super::eigenvalues::largest_modulus;
use crate::{Float, Result, RnnError, par};

/// Largest size solved densely: below it the dense solver takes a few milliseconds and the
/// Arnoldi space would cover much of the matrix anyway. The crossing point, on one Zen 4 core
/// (best of 18 solves over six random reservoirs, density 0.1, with the unblocked dense solver
/// of `eigenvalues`): 100 units dense 1.2 ms against Arnoldi 2.8 ms, 150 units 3.4 against 4.0,
/// 200 units 7.5 against 5.1, 256 units 25 against 8.8; at densities 0.02 and 0.5 the same
/// (200 units 6.8 against 4.3 and 7.5 against 7.2).
pub const DENSE_MAX: usize = 160;

/// The largest eigenvalue modulus of the square matrix `w`, on at most `threads` threads of
/// rnnfast's pool (faer's `Mat::eigenvalues` would use its own global parallelism instead, which
/// ignores `set_num_threads` and, at small sizes, costs more to start than the work).
pub fn spectral_radius<T: Float>(w: &Csr<T>, threads: usize) -> Result<f64> {
    if w.rows() != w.cols() {
        return Err(RnnError::shape(
            "reservoir matrix",
            "a square matrix",
            format!("{}x{}", w.rows(), w.cols()),
        ));
    }
    let n = w.rows();
    if n == 0 {
        return Ok(0.0);
    }
    if n > DENSE_MAX {
        if let Ok(radius) = spectral_radius_arnoldi(&w.to_f64(), threads) {
            return Ok(radius);
        }
    } else if let Some(radius) = largest_modulus(&mut w.to_dense_f64(), n) {
        return Ok(radius);
    }
    dense_spectral_radius(w, threads)
}

/// The largest eigenvalue modulus from faer's full spectrum (square, non-empty `w`).
pub(crate) fn dense_spectral_radius<T: Float>(w: &Csr<T>, threads: usize) -> Result<f64> {
    let n = w.rows();
    let dense = w.to_dense_f64();
    let m = Mat::<f64>::from_fn(n, n, |i, j| dense[i * n + j]);
    let (mut re, mut im) = (Diag::<f64>::zeros(n), Diag::<f64>::zeros(n));
    // Up to DENSE_MAX units (where this is only the fallback of the unblocked solver) a second
    // thread costs more than it saves (100 units: 1.9 against 1.7 ms), and so does handing the
    // solve to a pool thread at all (2.3 against 1.8 ms): it runs on the calling thread. Larger
    // matrices get here when Arnoldi did not converge.
    let threads = if n > DENSE_MAX { threads } else { 1 };
    let solved = par::install(threads, || {
        let par = par::faer_par(threads);
        let no = ComputeEigenvectors::No;
        let scratch = evd::evd_scratch::<f64>(n, no, no, par, Default::default());
        let mut buffer = MemBuffer::new(scratch);
        let stack = MemStack::new(&mut buffer);
        let (s_re, s_im) = (re.as_mut(), im.as_mut());
        evd::evd_real(
            m.as_ref(),
            s_re,
            s_im,
            None,
            None,
            par,
            stack,
            Default::default(),
        )
    })?;
    solved
        .map_err(|e| RnnError::param("reservoir matrix", format!("eigensolver failed: {e:?}")))?;
    let (re, im) = (re.column_vector(), im.column_vector());
    Ok(re
        .iter()
        .zip(im.iter())
        .map(|(a, b)| a.hypot(*b))
        .fold(0.0, f64::max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esn::sparse::random_csr;

    /// Checks `solve` against faer's dense radius, to `tolerance` relative, on random reservoirs
    /// `(units, density, seed, normal)`.
    fn agrees_with_faer(
        cases: &[(usize, f64, u64, bool)],
        tolerance: f64,
        solve: impl Fn(&Csr<f64>) -> f64,
    ) {
        for &(n, density, seed, normal) in cases {
            let w = random_csr::<f64>(n, density, seed, normal);
            let (got, want) = (solve(&w), dense_spectral_radius(&w, 1).unwrap());
            assert!(
                (got - want).abs() <= tolerance * want,
                "n={n} density={density}: {got} against faer's {want}"
            );
        }
    }

    #[test]
    fn arnoldi_matches_the_dense_solver_on_random_reservoirs() {
        // The dense solver is exact to rounding; the estimators promise 1e-6 relative.
        let cases = [
            (300, 0.1, 1, true),
            (500, 0.05, 2, false),
            (1000, 0.1, 3, true),
            (700, 0.02, 4, true),
            (400, 0.5, 5, false),
        ];
        agrees_with_faer(&cases, 1e-9, |w| {
            let fast = spectral_radius_arnoldi(w, 1).unwrap();
            assert_eq!(spectral_radius_arnoldi(w, 2).unwrap(), fast, "two threads");
            fast
        });
    }

    #[test]
    fn small_dense_solver_matches_faers() {
        let cases = [
            (3, 1.0, 9, false),
            (50, 0.3, 10, true),
            (100, 0.1, 11, false),
            (160, 0.02, 12, true),
            (160, 0.5, 13, false),
        ];
        agrees_with_faer(&cases, 1e-12, |w| {
            largest_modulus(&mut w.to_dense_f64(), w.rows()).unwrap()
        });
    }

    #[test]
    fn larger_krylov_spaces_match_the_dense_solver() {
        // The spaces used above 2048 units and when a smaller one does not converge, checked on
        // matrices the dense solver takes in moments.
        use super::super::arnoldi::arnoldi;
        for (n, density, seed, dim) in [
            (600, 0.02, 6, 96),
            (1000, 0.008, 7, 96),
            (900, 0.05, 8, 192),
        ] {
            let w = random_csr::<f64>(n, density, seed, true);
            let dense = dense_spectral_radius(&w, 1).unwrap();
            let got = arnoldi(&w, false, dim).unwrap();
            let two = crate::par::install(2, || arnoldi(&w, true, dim)).unwrap();
            assert_eq!(two.unwrap(), got, "n={n} dim={dim}: two threads");
            assert!(
                (got - dense).abs() <= 1e-9 * dense,
                "n={n} dim={dim}: arnoldi {got} dense {dense}"
            );
        }
    }

    #[test]
    fn rotation_has_complex_eigenvalues_of_modulus_two() {
        // 2 * rotation by 90 degrees: eigenvalues +-2i, where power iteration never converges.
        let w = Csr::new(2, 2, &[0, 1, 2], &[1, 0], &[-2.0f64, 2.0]).unwrap();
        assert!((spectral_radius(&w, 1).unwrap() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn triangular_matrix_reads_its_diagonal() {
        let w = Csr::new(
            3,
            3,
            &[0, 2, 3, 4],
            &[0, 2, 1, 2],
            &[0.5f32, 9.0, -1.5, 1.0],
        )
        .unwrap();
        assert!((spectral_radius(&w, 1).unwrap() - 1.5).abs() < 1e-6);
    }
}
