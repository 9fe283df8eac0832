//! The eigenvalues of a small dense real matrix: Householder reduction to Hessenberg form, then
//! Francis double-shift QR sweeps that update only the active window (eigenvalues only, no Schur
//! vectors: EISPACK's `hqr`, with LAPACK `dlahqr`'s deflation test). The spectral radius of small
//! reservoirs uses the eigenvalues alone ([`largest_modulus`]); the Arnoldi iteration of large
//! ones also needs eigenvectors of the outermost eigenvalues of its projected matrix
//! ([`outermost_eigenpairs`]), found by inverse iteration on the Hessenberg form: on its 48 × 48
//! matrices that took 300-unit radii from 8.5-13 to 7.0-7.8 ms against faer's full
//! eigendecomposition, and 1000-unit ones from 56-65 to 45-55 ms.
//!
//! This is the textbook unblocked algorithm, in row-major storage where a sweep's row updates
//! are contiguous, compiled for the widest instruction set. On the small matrices it is used for
//! it takes about half the time of faer's multishift solver, whose blocking and aggressive early
//! deflation pay only on larger ones (best of 18 solves over six reservoirs at density 0.1, one
//! Zen 4 core: 50 units 0.20 against 0.47 ms, 100 units 1.17 against 2.21, 160 units 4.1-4.3
//! against 6.9-7.4). Above [`super::spectral::DENSE_MAX`] units, where Arnoldi takes over, its
//! time grows faster than faer's (256 units: 22-25 ms).

use super::widest::widest;
use crate::linalg::dot;

/// Sweeps allowed per eigenvalue before giving up (LAPACK allows 30 as well).
const MAX_SWEEPS: usize = 30;

/// The largest eigenvalue modulus of the `n × n` row-major matrix `a` (overwritten), or `None`
/// if the QR iteration did not converge (the caller then uses another solver).
pub(crate) fn largest_modulus(a: &mut [f64], n: usize) -> Option<f64> {
    assert_eq!(a.len(), n * n, "a must be n × n");
    largest_modulus_widest((a, n))
}

widest! {
    /// [`largest_modulus`] compiled for the widest instruction set (every level gives the same
    /// bits: the loops are element-wise, and the dot products keep their order of additions).
    fn largest_modulus_widest<>((&mut [f64], usize)) -> Option<f64> = largest_modulus_portable;
}

#[inline(always)]
fn largest_modulus_portable((a, n): (&mut [f64], usize)) -> Option<f64> {
    // Scaled by a power of two (exactly) so that the largest entry is near 1: the shifts square
    // entries, which would overflow from about 1e154 and lose precision in subnormals.
    let peak = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if peak == 0.0 {
        return Some(0.0);
    }
    let scale = 2f64.powi(-peak.log2().round() as i32);
    a.iter_mut().for_each(|v| *v *= scale);
    reduce_to_hessenberg(a, n, None);
    let mut largest = 0.0f64;
    hessenberg_eigenvalues(a, n, |re, im| largest = largest.max(re.hypot(im)))?;
    Some(largest / scale)
}

/// Eigenvalues of a small matrix and eigenvectors of its outermost ones.
pub(crate) struct Eigenpairs {
    /// `(re, im, column)` for the eigenvalues of largest modulus, largest first, one entry per
    /// conjugate pair (`im > 0`); `column` indexes `vectors`.
    pub values: Vec<(f64, f64, usize)>,
    /// `n`-long columns: an eigenvector of each real value of `values`, the real and the
    /// imaginary part (two columns) of one for `re + i·im`.
    pub vectors: Vec<Vec<f64>>,
}

/// The eigenvalues of the `n × n` row-major matrix `a` of largest modulus, with eigenvectors,
/// until `columns` vector columns are filled (a conjugate pair takes two); `None` if the QR
/// iteration did not converge. The eigenvalues come from the QR sweeps, the eigenvectors from
/// two steps of inverse iteration on the Hessenberg form (O(n²) each), mapped back through
/// the accumulated reflections: O(n³) in all, like the eigenvalues alone.
pub(crate) fn outermost_eigenpairs(a: &[f64], n: usize, columns: usize) -> Option<Eigenpairs> {
    assert_eq!(a.len(), n * n, "a must be n × n");
    eigenpairs_widest((a, n, columns))
}

widest! {
    /// [`outermost_eigenpairs`] compiled for the widest instruction set.
    fn eigenpairs_widest<>((&[f64], usize, usize)) -> Option<Eigenpairs> = eigenpairs_portable;
}

#[inline(always)]
fn eigenpairs_portable((a, n, columns): (&[f64], usize, usize)) -> Option<Eigenpairs> {
    let mut h = a.to_vec();
    let mut q = vec![0.0; n * n];
    (0..n).for_each(|i| q[i * n + i] = 1.0);
    reduce_to_hessenberg(&mut h, n, Some(&mut q));
    let mut all = Vec::with_capacity(n);
    hessenberg_eigenvalues(&mut h.clone(), n, |re, im| {
        if im >= 0.0 {
            all.push((re, im));
        }
    })?;
    all.sort_by(|x, y| y.0.hypot(y.1).total_cmp(&x.0.hypot(x.1)));
    let norm = h.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    // A vector of the Hessenberg form's space in the original one.
    let back = |z: &[f64]| -> Vec<f64> { q.chunks_exact(n).map(|row| dot(row, z)).collect() };
    let mut values = Vec::new();
    let mut vectors: Vec<Vec<f64>> = Vec::new();
    for (re, im) in all {
        if vectors.len() >= columns {
            break;
        }
        values.push((re, im, vectors.len()));
        let (z_re, z_im) = inverse_iteration(&h, n, (re, im), norm);
        vectors.push(back(&z_re));
        if im != 0.0 {
            vectors.push(back(&z_im));
        }
    }
    Some(Eigenpairs { values, vectors })
}

/// An eigenvector `z_re + i·z_im` of the upper Hessenberg row-major `h` for its eigenvalue
/// `re + i·im`: two solves of `(h - λI) z = b` by Gaussian elimination with partial pivoting
/// between neighbouring rows (all a Hessenberg matrix needs), each normalised. A zero pivot
/// (λ exact to the last bit) is replaced by `ε·norm`.
#[inline(always)]
fn inverse_iteration(h: &[f64], n: usize, (re, im): (f64, f64), norm: f64) -> (Vec<f64>, Vec<f64>) {
    type C = (f64, f64);
    let mul = |a: C, b: C| (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0);
    let sub = |a: C, b: C| (a.0 - b.0, a.1 - b.1);
    let div = |a: C, b: C| {
        let d = b.0 * b.0 + b.1 * b.1;
        ((a.0 * b.0 + a.1 * b.1) / d, (a.1 * b.0 - a.0 * b.1) / d)
    };
    let abs = |a: C| a.0.hypot(a.1);
    // U (row-major, complex) of h - λI, overwritten in place, with each step's multiplier and
    // whether rows k and k+1 were swapped.
    let mut u: Vec<C> = h.iter().map(|&x| (x, 0.0)).collect();
    (0..n).for_each(|i| u[i * n + i] = sub(u[i * n + i], (re, im)));
    let tiny = (f64::EPSILON * norm).max(f64::MIN_POSITIVE);
    let mut steps: Vec<(C, bool)> = Vec::with_capacity(n);
    for k in 0..n.saturating_sub(1) {
        let swap = abs(u[(k + 1) * n + k]) > abs(u[k * n + k]);
        if swap {
            for j in k..n {
                u.swap(k * n + j, (k + 1) * n + j);
            }
        }
        if abs(u[k * n + k]) == 0.0 {
            u[k * n + k] = (tiny, 0.0);
        }
        let f = div(u[(k + 1) * n + k], u[k * n + k]);
        for j in k..n {
            u[(k + 1) * n + j] = sub(u[(k + 1) * n + j], mul(f, u[k * n + j]));
        }
        steps.push((f, swap));
    }
    if n > 0 && abs(u[n * n - 1]) == 0.0 {
        u[n * n - 1] = (tiny, 0.0);
    }
    let mut z: Vec<C> = vec![(1.0, 0.0); n];
    for _ in 0..2 {
        for (k, &(f, swap)) in steps.iter().enumerate() {
            if swap {
                z.swap(k, k + 1);
            }
            z[k + 1] = sub(z[k + 1], mul(f, z[k]));
        }
        for i in (0..n).rev() {
            let mut s = z[i];
            for j in i + 1..n {
                s = sub(s, mul(u[i * n + j], z[j]));
            }
            z[i] = div(s, u[i * n + i]);
        }
        let scale = z
            .iter()
            .map(|&c| abs(c))
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        z.iter_mut().for_each(|c| *c = (c.0 / scale, c.1 / scale));
    }
    (
        z.iter().map(|c| c.0).collect(),
        z.iter().map(|c| c.1).collect(),
    )
}

/// `a ← Qᵀ a Q` with `Q` a product of Householder reflections, leaving `a` upper Hessenberg
/// (zero below the first subdiagonal).
#[inline(always)]
fn reduce_to_hessenberg(a: &mut [f64], n: usize, mut q: Option<&mut [f64]>) {
    let mut v = vec![0.0; n];
    let mut w = vec![0.0; n];
    for k in 0..n.saturating_sub(2) {
        // The reflection mapping column k's rows k+1.. onto (beta, 0, ..., 0) (LAPACK dlarfg).
        // Unlike `reflector`'s pre-scaled 3-vectors, these columns are unscaled (the
        // eigenvectors' path does not scale the matrix): beta comes from `hypot`.
        let m = n - k - 1;
        let v = &mut v[..m];
        for (i, vi) in v.iter_mut().enumerate() {
            *vi = a[(k + 1 + i) * n + k];
        }
        let alpha = v[0];
        let tail = v[1..].iter().map(|x| x * x).sum::<f64>().sqrt();
        if tail == 0.0 {
            continue;
        }
        let beta = -alpha.signum() * alpha.hypot(tail);
        let tau = (beta - alpha) / beta;
        let scale = 1.0 / (alpha - beta);
        v[0] = 1.0;
        v[1..].iter_mut().for_each(|x| *x *= scale);
        a[(k + 1) * n + k] = beta;
        // The sweeps read below the subdiagonal (where their bulges pass): zero it.
        for i in 1..m {
            a[(k + 1 + i) * n + k] = 0.0;
        }
        // From the left, on rows k+1.. and columns k+1..: rows -= tau v (vᵀ rows).
        let w = &mut w[..m];
        w.fill(0.0);
        for (i, &vi) in v.iter().enumerate() {
            let row = &a[(k + 1 + i) * n + k + 1..(k + 2 + i) * n];
            w.iter_mut().zip(row).for_each(|(s, &x)| *s += vi * x);
        }
        for (i, &vi) in v.iter().enumerate() {
            let row = &mut a[(k + 1 + i) * n + k + 1..(k + 2 + i) * n];
            let f = tau * vi;
            row.iter_mut().zip(w.iter()).for_each(|(x, &s)| *x -= f * s);
        }
        // From the right, on every row and columns k+1..: row -= tau (row · v) vᵀ; likewise
        // on Q when it is accumulated (Q ← Q (I - tau v vᵀ)).
        let targets = std::iter::once(&mut *a).chain(q.as_deref_mut());
        for matrix in targets {
            for row in matrix.chunks_exact_mut(n) {
                let row = &mut row[k + 1..];
                let f = tau * dot(row, v);
                row.iter_mut()
                    .zip(v.iter())
                    .for_each(|(x, &vi)| *x -= f * vi);
            }
        }
    }
}

/// Calls `each(re, im)` for every eigenvalue of the upper Hessenberg row-major `h` (overwritten),
/// complex pairs once per member; `None` if a window needed more than [`MAX_SWEEPS`] sweeps.
#[inline(always)]
fn hessenberg_eigenvalues(h: &mut [f64], n: usize, mut each: impl FnMut(f64, f64)) -> Option<()> {
    let at = |i: usize, j: usize| i * n + j;
    // The last row of the active window; rows below it have deflated.
    let mut hi = n;
    while hi > 0 {
        let last = hi - 1;
        let mut sweeps = 0;
        loop {
            let lo = deflation_row(h, n, last);
            if lo == last {
                each(h[at(last, last)], 0.0);
                hi -= 1;
                break;
            }
            if lo + 1 == last {
                let (re, im) = block_eigenvalues(
                    h[at(lo, lo)],
                    h[at(lo, last)],
                    h[at(last, lo)],
                    h[at(last, last)],
                );
                each(re[0], im);
                each(re[1], -im);
                hi -= 2;
                break;
            }
            if sweeps == MAX_SWEEPS {
                return None;
            }
            sweeps += 1;
            // The shifts: eigenvalues of the trailing 2 × 2 block (through their sum `s` and
            // product `p`), or ad hoc ones after 10 and 20 sweeps without deflation.
            let (s, p) = if sweeps % 10 == 0 {
                let e = h[at(last, last - 1)].abs() + h[at(last - 1, last - 2)].abs();
                let x = 0.75 * e + h[at(last, last)];
                (2.0 * x, x * x + 0.4375 * e * e)
            } else {
                let (x, y) = (h[at(last, last)], h[at(last - 1, last - 1)]);
                let w = h[at(last, last - 1)] * h[at(last - 1, last)];
                (x + y, x * y - w)
            };
            francis_sweep(h, n, lo, last, s, p);
        }
    }
    Some(())
}

/// The first row of the unreduced window ending at row `last`: the lowest `l` whose subdiagonal
/// entry `h[l][l-1]` is negligible (set to zero), or 0 (LAPACK dlahqr's test, Ahues and Tisseur).
#[inline(always)]
fn deflation_row(h: &mut [f64], n: usize, last: usize) -> usize {
    let at = |i: usize, j: usize| i * n + j;
    let ulp = f64::EPSILON;
    let small = f64::MIN_POSITIVE * (n as f64 / ulp);
    for l in (1..=last).rev() {
        let sub = h[at(l, l - 1)].abs();
        if sub <= small {
            h[at(l, l - 1)] = 0.0;
            return l;
        }
        let mut diag = h[at(l - 1, l - 1)].abs() + h[at(l, l)].abs();
        if diag == 0.0 {
            if l >= 2 {
                diag += h[at(l - 1, l - 2)].abs();
            }
            if l < last {
                diag += h[at(l + 1, l)].abs();
            }
        }
        if sub <= ulp * diag {
            let up = h[at(l - 1, l)].abs();
            let (ab, ba) = (sub.max(up), sub.min(up));
            let gap = (h[at(l - 1, l - 1)] - h[at(l, l)]).abs();
            let dl = h[at(l, l)].abs();
            let (aa, bb) = (dl.max(gap), dl.min(gap));
            let s = aa + ab;
            if ba * (ab / s) <= small.max(ulp * (bb * (aa / s))) {
                h[at(l, l - 1)] = 0.0;
                return l;
            }
        }
    }
    0
}

/// The eigenvalues of `[[a, b], [c, d]]`: `(re, im)` with `re` both real parts and `±im` the
/// imaginary parts (zero for a real pair).
#[inline(always)]
fn block_eigenvalues(a: f64, b: f64, c: f64, d: f64) -> ([f64; 2], f64) {
    let p = 0.5 * (a - d);
    let q = p * p + b * c;
    let z = q.abs().sqrt();
    if q >= 0.0 {
        // Real: d + p ± z, the smaller one from the product to avoid cancellation.
        let big = p + z.copysign(p);
        let small = if big == 0.0 { d } else { d - b * c / big };
        ([d + big, small], 0.0)
    } else {
        ([d + p, d + p], z)
    }
}

/// One implicit double-shift QR sweep over rows and columns `lo..=last` of `h`, with shifts
/// whose sum is `s` and product `p`: a 3-row bulge introduced at the top of the window and
/// chased down by 3 × 3 reflections.
#[inline(always)]
fn francis_sweep(h: &mut [f64], n: usize, lo: usize, last: usize, s: f64, p: f64) {
    let at = |i: usize, j: usize| i * n + j;
    // Start the bulge at the lowest row m whose first column of (H - σ₁)(H - σ₂) is negligible
    // against its neighbours (EISPACK's two-small-subdiagonals test); `lo` by default.
    let mut start = lo;
    let mut first = [0.0; 3];
    for m in (lo..=last - 2).rev() {
        let (h00, h10) = (h[at(m, m)], h[at(m + 1, m)]);
        let (h01, h11, h21) = (h[at(m, m + 1)], h[at(m + 1, m + 1)], h[at(m + 2, m + 1)]);
        let mut v = [
            h00 * h00 + h01 * h10 - s * h00 + p,
            h10 * (h00 + h11 - s),
            h10 * h21,
        ];
        let scale = v.iter().map(|x| x.abs()).sum::<f64>();
        if scale != 0.0 {
            v.iter_mut().for_each(|x| *x /= scale);
        }
        first = v;
        start = m;
        if m == lo {
            break;
        }
        let coupling = h[at(m, m - 1)].abs() * (v[1].abs() + v[2].abs());
        let size = v[0].abs() * (h[at(m - 1, m - 1)].abs() + h00.abs() + h11.abs());
        if coupling <= f64::EPSILON * size {
            break;
        }
    }
    for k in start..last {
        let rows = if k + 1 == last { 2 } else { 3 };
        let mut v = if k == start {
            first
        } else {
            let col = |i: usize| if i < rows { h[at(k + i, k - 1)] } else { 0.0 };
            [col(0), col(1), col(2)]
        };
        let Some((tau, beta)) = reflector(&mut v[..rows]) else {
            continue;
        };
        if k > start {
            h[at(k, k - 1)] = beta;
            for i in 1..rows {
                h[at(k + i, k - 1)] = 0.0;
            }
        } else if start > lo {
            // The reflection also reaches the (negligible) coupling entry above the start.
            h[at(k, k - 1)] *= 1.0 - tau;
        }
        apply_from_left(h, n, k, rows, last, &v, tau);
        // From the right, on rows lo..=min(k+3, last) (the bulge reaches row k+3).
        let below = (k + 3).min(last) + 1 - lo;
        let window = h[lo * n..].chunks_exact_mut(n).take(below);
        if rows == 2 {
            apply_from_right::<2>(window, k, &v, tau);
        } else {
            apply_from_right::<3>(window, k, &v, tau);
        }
    }
}

/// Columns `k..k+R` of each row of `rows`, multiplied from the right by `I - tau v vᵀ`.
#[inline(always)]
fn apply_from_right<'a, const R: usize>(
    rows: impl Iterator<Item = &'a mut [f64]>,
    k: usize,
    v: &[f64; 3],
    tau: f64,
) {
    for row in rows {
        let x: &mut [f64; R] = (&mut row[k..k + R]).try_into().expect("R columns");
        let f = tau * (0..R).map(|c| x[c] * v[c]).sum::<f64>();
        (0..R).for_each(|c| x[c] -= f * v[c]);
    }
}

/// The reflection `I - tau v vᵀ` (with `v[0] = 1` on return) that maps `v` onto
/// `(beta, 0, ...)`; `None` when `v`'s tail is already zero (LAPACK's `dlarfg`). For the
/// sweeps' 3-vectors, already scaled to a unit sum: a plain square root, not `hypot`.
#[inline(always)]
fn reflector(v: &mut [f64]) -> Option<(f64, f64)> {
    let tail = v[1..].iter().map(|x| x * x).sum::<f64>();
    if tail == 0.0 {
        return None;
    }
    let alpha = v[0];
    let beta = -alpha.signum() * (alpha * alpha + tail).sqrt();
    let tau = (beta - alpha) / beta;
    let scale = 1.0 / (alpha - beta);
    v[0] = 1.0;
    v[1..].iter_mut().for_each(|x| *x *= scale);
    Some((tau, beta))
}

/// Rows `k..k+rows` (2 or 3) of `h`, columns `k..=last`, multiplied from the left by the
/// reflection `I - tau v vᵀ`: three contiguous row segments, updated column by column.
#[inline(always)]
fn apply_from_left(
    h: &mut [f64],
    n: usize,
    k: usize,
    rows: usize,
    last: usize,
    v: &[f64; 3],
    tau: f64,
) {
    let cols = k..last + 1;
    let (top, rest) = h[k * n..].split_at_mut(n);
    let (mid, rest) = rest.split_at_mut(n);
    let (r0, r1) = (&mut top[cols.clone()], &mut mid[cols.clone()]);
    let (t1, t2) = (tau * v[1], tau * v[2]);
    if rows == 2 {
        for (x0, x1) in r0.iter_mut().zip(r1.iter_mut()) {
            let s = *x0 + v[1] * *x1;
            *x0 -= tau * s;
            *x1 -= t1 * s;
        }
        return;
    }
    let r2 = &mut rest[cols];
    for ((x0, x1), x2) in r0.iter_mut().zip(r1.iter_mut()).zip(r2.iter_mut()) {
        let s = *x0 + v[1] * *x1 + v[2] * *x2;
        *x0 -= tau * s;
        *x1 -= t1 * s;
        *x2 -= t2 * s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esn::sparse::random_csr;

    fn random_matrix(n: usize, density: f64, seed: u64) -> Vec<f64> {
        random_csr::<f64>(n, density, seed, false).to_dense_f64()
    }

    /// Every eigenvalue, from the solver under test.
    fn eigenvalues(a: &[f64], n: usize) -> Vec<(f64, f64)> {
        let mut h = a.to_vec();
        reduce_to_hessenberg(&mut h, n, None);
        let mut all = Vec::new();
        hessenberg_eigenvalues(&mut h, n, |re, im| all.push((re, im))).unwrap();
        all
    }

    #[test]
    fn known_spectra() {
        // Diagonal, a rotation (±i), a Jordan-like upper triangle, and a companion matrix of
        // (x - 1)(x - 2)(x - 3) = x³ - 6x² + 11x - 6.
        let sorted = |mut v: Vec<(f64, f64)>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v
        };
        type Case = (usize, Vec<f64>, Vec<(f64, f64)>);
        let cases: [Case; 4] = [
            (2, vec![3.0, 0.0, 0.0, -2.0], vec![(-2.0, 0.0), (3.0, 0.0)]),
            (2, vec![0.0, -1.0, 1.0, 0.0], vec![(0.0, -1.0), (0.0, 1.0)]),
            (
                3,
                vec![2.0, 1.0, 0.0, 0.0, 2.0, 1.0, 0.0, 0.0, 5.0],
                vec![(2.0, 0.0), (2.0, 0.0), (5.0, 0.0)],
            ),
            (
                3,
                vec![6.0, -11.0, 6.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                vec![(1.0, 0.0), (2.0, 0.0), (3.0, 0.0)],
            ),
        ];
        for (n, a, want) in cases {
            let got = sorted(eigenvalues(&a, n));
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g.0 - w.0).abs() < 1e-12 && (g.1 - w.1).abs() < 1e-12,
                    "{got:?}"
                );
            }
        }
    }

    #[test]
    fn eigenvalues_satisfy_trace_and_characteristic_identities() {
        // Without an outside solver: the eigenvalues' sum is the trace, the sum of their
        // squares the trace of A², and each λ makes A - λI singular (its smallest pivot in a
        // complex LU with partial pivoting is tiny against the matrix norm).
        for (n, density, seed) in [(1, 1.0, 1), (5, 1.0, 2), (40, 0.3, 3), (120, 0.1, 4)] {
            let a = random_matrix(n, density, seed);
            let all = eigenvalues(&a, n);
            assert_eq!(all.len(), n);
            let trace: f64 = (0..n).map(|i| a[i * n + i]).sum();
            let sum: f64 = all.iter().map(|e| e.0).sum();
            let imag: f64 = all.iter().map(|e| e.1).sum();
            assert!((sum - trace).abs() < 1e-9 * n as f64, "{sum} vs {trace}");
            assert!(imag.abs() < 1e-9, "{imag}");
            let trace2: f64 = (0..n)
                .map(|i| (0..n).map(|j| a[i * n + j] * a[j * n + i]).sum::<f64>())
                .sum();
            let sum2: f64 = all.iter().map(|(re, im)| re * re - im * im).sum();
            assert!(
                (sum2 - trace2).abs() < 1e-8 * n as f64,
                "{sum2} vs {trace2}"
            );
            let norm = a.iter().map(|x| x.abs()).fold(0.0, f64::max).max(1.0);
            for &(re, im) in &all {
                assert!(smallest_pivot(&a, n, re, im) < 1e-9 * norm * n as f64);
            }
        }
    }

    #[test]
    fn outermost_eigenvectors_satisfy_their_equations() {
        // ‖A y - λ y‖ small against ‖A‖ ‖y‖ for every returned pair, complex ones through
        // A (x + i z) = (a + i b)(x + i z); the values come largest first and match the
        // eigenvalues alone.
        for (n, density, seed, columns) in [(2, 1.0, 7, 2), (20, 0.5, 8, 6), (48, 1.0, 9, 13)] {
            let a = random_matrix(n, density, seed);
            let pairs = outermost_eigenpairs(&a, n, columns).unwrap();
            assert!(pairs.vectors.len() >= columns.min(n));
            let moduli: Vec<f64> = pairs.values.iter().map(|v| v.0.hypot(v.1)).collect();
            assert!(moduli.windows(2).all(|w| w[0] >= w[1]), "{moduli:?}");
            let largest = largest_modulus(&mut a.clone(), n).unwrap();
            assert!((moduli[0] - largest).abs() <= 1e-12 * largest);
            let times = |y: &[f64]| -> Vec<f64> {
                a.chunks_exact(n)
                    .map(|row| row.iter().zip(y).map(|(p, q)| p * q).sum())
                    .collect()
            };
            let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
            let scale = a.iter().map(|x| x.abs()).sum::<f64>();
            for &(re, im, col) in &pairs.values {
                let x = &pairs.vectors[col];
                let (ax, mut r) = (times(x), vec![0.0; n]);
                if im == 0.0 {
                    r.iter_mut()
                        .enumerate()
                        .for_each(|(i, v)| *v = ax[i] - re * x[i]);
                    assert!(norm(&r) <= 1e-10 * scale * norm(x), "n={n} λ={re}");
                    continue;
                }
                let z = &pairs.vectors[col + 1];
                let az = times(z);
                let mut r_im = vec![0.0; n];
                for i in 0..n {
                    r[i] = ax[i] - re * x[i] + im * z[i];
                    r_im[i] = az[i] - re * z[i] - im * x[i];
                }
                let size = norm(x).hypot(norm(z));
                assert!(
                    norm(&r).hypot(norm(&r_im)) <= 1e-10 * scale * size,
                    "n={n} λ={re}+{im}i"
                );
            }
        }
    }

    #[test]
    fn scale_does_not_matter() {
        let a = random_matrix(30, 0.5, 6);
        let unit = largest_modulus(&mut a.clone(), 30).unwrap();
        assert!(unit > 0.0);
        for factor in [1e-300, 1e-150, 1e150, 1e300] {
            let mut scaled: Vec<f64> = a.iter().map(|v| v * factor).collect();
            let got = largest_modulus(&mut scaled, 30).unwrap();
            assert!(
                (got / factor - unit).abs() <= 1e-12 * unit,
                "{factor}: {got}"
            );
        }
        assert_eq!(largest_modulus(&mut [0.0; 9], 3), Some(0.0));
    }

    /// The smallest pivot magnitude of `A - (re + i·im) I` in a complex LU factorisation with
    /// partial pivoting.
    fn smallest_pivot(a: &[f64], n: usize, re: f64, im: f64) -> f64 {
        let mut m: Vec<(f64, f64)> = a.iter().map(|&x| (x, 0.0)).collect();
        for i in 0..n {
            m[i * n + i].0 -= re;
            m[i * n + i].1 -= im;
        }
        let abs = |z: (f64, f64)| z.0.hypot(z.1);
        let mut smallest = f64::INFINITY;
        for k in 0..n {
            let piv = (k..n)
                .max_by(|&x, &y| abs(m[x * n + k]).partial_cmp(&abs(m[y * n + k])).unwrap())
                .unwrap();
            for j in 0..n {
                m.swap(k * n + j, piv * n + j);
            }
            let p = m[k * n + k];
            smallest = smallest.min(abs(p));
            let d = p.0 * p.0 + p.1 * p.1;
            if d == 0.0 {
                return 0.0;
            }
            for i in k + 1..n {
                let x = m[i * n + k];
                let f = ((x.0 * p.0 + x.1 * p.1) / d, (x.1 * p.0 - x.0 * p.1) / d);
                for j in k..n {
                    let y = m[k * n + j];
                    let e = &mut m[i * n + j];
                    e.0 -= f.0 * y.0 - f.1 * y.1;
                    e.1 -= f.0 * y.1 + f.1 * y.0;
                }
            }
        }
        smallest
    }
}
