//! The ridge readout of a fit with far fewer rows than features, solved in its dual form.
//!
//! With `s` rows of `n` features, the normal equations of [`super::gram`] are `n × n`: O(s·n²)
//! to accumulate, O(n³) to solve and `8·n²` bytes. Their solution lies in the span of the rows,
//! though. With the rows and targets centred (which is what leaving the intercept unpenalised
//! amounts to), the push-through identity gives, for `α > 0`,
//!
//! `w = Xcᵀ (Xc Xcᵀ + α I)⁻¹ Yc`, `b = ȳ - x̄ᵀ w`,
//!
//! an `s × s` system: O(s²·n) and `8·s·n` bytes for the rows, which are kept instead of folded.
//! The two forms give the same coefficients up to rounding, the dual's the smaller: with fewer
//! rows than features, `n - s` eigenvalues of the primal matrix are `α` alone, so its condition
//! number is about `λ_max / α`, while `Xc Xcᵀ + α I` keeps only the rows' own spread. The dual
//! is used up to [`DUAL_MAX_ROW_SHARE`] rows per feature and only for `α > 0` (with `α = 0` and
//! singular systems the two minimum-norm solutions differ in how they weigh the intercept).

use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatRef, Side};

use super::gram::{Chunk, Solution, lower_gram, pseudo_solve};
use crate::{Result, RnnError, par};

/// The dual form is used when the rows number at most this share of the features: its
/// `s × n` rows and their centred copy then take no more memory than the `n × n` normal
/// equations, and its O(s²·n) products are at most half of theirs.
pub(crate) const DUAL_MAX_ROW_SHARE: f64 = 0.5;

/// Whether a fit of `rows` rows on `features` features with penalty `alpha` is solved in the
/// dual form.
pub(crate) fn dual_pays(rows: usize, features: usize, alpha: f64) -> bool {
    alpha > 0.0 && rows > 0 && (rows as f64) <= DUAL_MAX_ROW_SHARE * features as f64
}

/// Solves the ridge problem with penalty `alpha` on the coefficients (not the intercept) from
/// the kept `chunks` (rows of `width - 1` features and a trailing 1, in order), on at most
/// `threads` threads; `empty` is the error when there is no row.
pub(crate) fn solve_dual(
    chunks: Vec<Chunk>,
    width: usize,
    outputs: usize,
    alpha: f64,
    threads: usize,
    empty: impl FnOnce() -> RnnError,
) -> Result<Solution> {
    let n = width - 1;
    let s: usize = chunks.iter().map(|c| c.rows).sum();
    if s == 0 {
        return Err(empty());
    }
    let (x_mean, y_mean) = means(&chunks, n, outputs, s);
    // The centred rows, row-major, each chunk freed once copied.
    let mut xc = Vec::with_capacity(s * n);
    let mut yc = Mat::<f64>::zeros(s, outputs);
    let mut at = 0;
    for chunk in chunks {
        for r in 0..chunk.rows {
            let row = &chunk.row(r)[..n];
            xc.extend(row.iter().zip(&x_mean).map(|(v, m)| v - m));
            for (k, &target) in chunk.targets(r).iter().enumerate() {
                yc[(at, k)] = target - y_mean[k];
            }
            at += 1;
        }
    }
    let xc = MatRef::from_row_major_slice(&xc, s, n);
    let weights = par::install(threads, || {
        let par = par::faer_par(threads);
        // Lower triangle of Xc Xcᵀ + α I, then the dual coefficients A = (…)⁻¹ Yc.
        let mut kernel = Mat::<f64>::zeros(s, s);
        lower_gram(kernel.as_mut(), xc.transpose(), par);
        for i in 0..s {
            kernel[(i, i)] += alpha;
        }
        let dual = match kernel.llt(Side::Lower) {
            Ok(llt) => {
                let mut a = yc.clone();
                llt.solve_in_place(a.as_mut());
                a
            }
            // K + αI is positive definite for α > 0, but α may sit below rounding at K's scale.
            Err(_) => pseudo_solve(kernel, &yc)?,
        };
        let mut w = Mat::<f64>::zeros(n, outputs);
        matmul(
            w.as_mut(),
            Accum::Replace,
            xc.transpose(),
            dual.as_ref(),
            1.0,
            par,
        );
        Ok::<_, RnnError>(w)
    })??;
    let coef = (0..outputs)
        .flat_map(|k| weights.col(k).iter().copied())
        .collect();
    let intercept = (0..outputs)
        .map(|k| y_mean[k] - (0..n).map(|j| x_mean[j] * weights[(j, k)]).sum::<f64>())
        .collect();
    Ok(Solution {
        coef,
        intercept,
        n_samples: s,
    })
}

/// The column means of the features and of the targets over the `s` rows of `chunks`.
fn means(chunks: &[Chunk], n: usize, outputs: usize, s: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut x_sum, mut y_sum) = (vec![0.0; n], vec![0.0; outputs]);
    for chunk in chunks {
        for r in 0..chunk.rows {
            let (row, target) = (&chunk.row(r)[..n], chunk.targets(r));
            x_sum.iter_mut().zip(row).for_each(|(a, v)| *a += v);
            y_sum.iter_mut().zip(target).for_each(|(a, v)| *a += v);
        }
    }
    let scale = 1.0 / s as f64;
    x_sum.iter_mut().chain(&mut y_sum).for_each(|v| *v *= scale);
    (x_sum, y_sum)
}

#[cfg(test)]
mod tests {
    use super::super::gram::{Sums, solve_ridge};
    use super::*;
    use crate::rng::SplitMix64;
    use faer::linalg::solvers::SolveLstsq;

    /// `rows` random rows of `n` features (some nearly collinear) and `outputs` targets, in
    /// chunks, and the primal sums of the same rows.
    fn problem(rows: usize, n: usize, outputs: usize) -> (Vec<Chunk>, Sums) {
        let mut rng = SplitMix64::new(11, 0);
        let (width, mut chunks) = (n + 1, vec![Chunk::new(n + 1, outputs)]);
        let mut sums = Sums::new(width, outputs);
        for _ in 0..rows {
            let mut features: Vec<f64> = (0..n).map(|_| rng.symmetric_unit() + 0.3).collect();
            features[n - 1] = features[0] + 1e-3 * rng.symmetric_unit();
            let targets: Vec<f64> = (0..outputs)
                .map(|k| features[k] - 2.0 * features[n / 2] + 0.5 + 0.1 * rng.symmetric_unit())
                .collect();
            let last = chunks.last_mut().expect("one chunk at least");
            if last.push(&features, &targets) {
                sums.fold(last);
                chunks.push(Chunk::new(width, outputs));
            }
        }
        sums.fold(chunks.last().expect("one chunk at least"));
        (chunks, sums)
    }

    /// The ridge coefficients by a QR least-squares solve of the centred rows stacked on
    /// `√α I` (no normal equations at all), and the intercept.
    fn reference(chunks: &[Chunk], n: usize, outputs: usize, alpha: f64) -> (Mat<f64>, Vec<f64>) {
        let s: usize = chunks.iter().map(|c| c.rows).sum();
        let (x_mean, y_mean) = means(chunks, n, outputs, s);
        let rows: Vec<(&[f64], &[f64])> = chunks
            .iter()
            .flat_map(|c| (0..c.rows).map(move |r| (&c.row(r)[..n], c.targets(r))))
            .collect();
        let a = Mat::<f64>::from_fn(s + n, n, |i, j| match i < s {
            true => rows[i].0[j] - x_mean[j],
            false => f64::from(u8::from(i - s == j)) * alpha.sqrt(),
        });
        let b = Mat::<f64>::from_fn(s + n, outputs, |i, k| match i < s {
            true => rows[i].1[k] - y_mean[k],
            false => 0.0,
        });
        let w = a.qr().solve_lstsq(&b);
        let intercept = (0..outputs)
            .map(|k| y_mean[k] - (0..n).map(|j| x_mean[j] * w[(j, k)]).sum::<f64>())
            .collect();
        (w, intercept)
    }

    #[test]
    fn the_dual_form_matches_a_least_squares_reference_and_the_normal_equations() {
        // 300 rows (a full chunk and a partial one) of 700 features, two outputs; one feature
        // nearly repeats another, so that small penalties leave an ill-conditioned problem.
        let (rows, n, outputs) = (300, 700, 2);
        let none = || RnnError::param("rows", "none");
        for alpha in [1e-6, 1e-2, 10.0] {
            let (chunks, sums) = problem(rows, n, outputs);
            let (want, want_intercept) = reference(&chunks, n, outputs, alpha);
            let scale = want.norm_max();
            let primal = solve_ridge([sums], n + 1, outputs, alpha, none).unwrap();
            let dual = solve_dual(chunks, n + 1, outputs, alpha, 2, none).unwrap();
            assert_eq!(dual.n_samples, rows);
            let error = |fit: &Solution| {
                let coef = (0..outputs * n)
                    .map(|i| (fit.coef[i] - want[(i % n, i / n)]).abs())
                    .fold(0.0, f64::max);
                let intercept = (0..outputs)
                    .map(|k| (fit.intercept[k] - want_intercept[k]).abs())
                    .fold(0.0, f64::max);
                coef.max(intercept) / scale
            };
            let (primal_error, dual_error) = (error(&primal), error(&dual));
            // The dual's error stays near rounding (5e-14 at alpha 1e-6); the normal equations
            // square the condition number of the rows (9e-6 at alpha 1e-6, 4e-13 at 10).
            assert!(
                dual_error < 1e-11,
                "alpha {alpha}: dual error {dual_error:e}"
            );
            assert!(
                primal_error < 1e-4,
                "alpha {alpha}: primal error {primal_error:e}"
            );
        }
    }

    #[test]
    fn the_dual_form_is_chosen_for_few_rows_and_a_penalty() {
        assert!(dual_pays(50, 15_000, 1e-6));
        assert!(dual_pays(500, 1000, 1e-6));
        assert!(!dual_pays(501, 1000, 1e-6));
        assert!(!dual_pays(50, 15_000, 0.0));
        assert!(!dual_pays(0, 15_000, 1.0));
        let empty = solve_dual(vec![Chunk::new(3, 1)], 3, 1, 1.0, 1, || {
            RnnError::param("washout", "nothing left")
        });
        assert!(empty.unwrap_err().to_string().contains("washout"));
    }
}
