//! GRU cell, gates stacked r, z, n, reset applied after the hidden product (PyTorch's form).

use crate::Float;

#[inline(always)]
pub(super) fn update<T: Float>(xp: &[T], rec: &mut [T], b_hh: &[T], h: &mut [T]) {
    let n = h.len();
    if !b_hh.is_empty() {
        rec.iter_mut().zip(b_hh).for_each(|(r, &b)| *r += b);
    }
    let (rz, hn) = rec.split_at_mut(2 * n);
    rz.iter_mut().zip(&xp[..2 * n]).for_each(|(p, &x)| *p += x);
    T::sigmoid_inplace(rz);
    let (r, z) = rz.split_at(n);
    let xn = &xp[2 * n..];
    for j in 0..n {
        hn[j] = xn[j] + r[j] * hn[j];
    }
    T::tanh_inplace(hn);
    for j in 0..n {
        h[j] = hn[j] + z[j] * (h[j] - hn[j]);
    }
}

/// Backward through one step. `gates` are `r, z, n` (activated), `aux` is the hidden projection
/// of the candidate `h_prev·W_hnᵀ + b_hn`. On entry `dh` is the loss gradient w.r.t. this step's
/// `h`; on exit it is the part of the gradient w.r.t. `h_prev` that bypasses `W_hh` (`dh·z`).
/// `dgx` receives the gradient w.r.t. the input-side pre-activations and `dgh` w.r.t. the
/// hidden-side ones: they differ in the candidate block, where the reset gate scales the latter.
#[inline(always)]
pub(super) fn backward<T: Float>(
    gates: &[T],
    aux: &[T],
    h_prev: &[T],
    dh: &mut [T],
    dgx: &mut [T],
    dgh: &mut [T],
) {
    let n = dh.len();
    let one = T::from_f64(1.0);
    let (r, rest) = gates.split_at(n);
    let (z, cand) = rest.split_at(n);
    for j in 0..n {
        let d = dh[j];
        let d_cand = d * (one - z[j]) * (one - cand[j] * cand[j]);
        let d_r = d_cand * aux[j] * r[j] * (one - r[j]);
        let d_z = d * (h_prev[j] - cand[j]) * z[j] * (one - z[j]);
        dgx[j] = d_r;
        dgh[j] = d_r;
        dgx[n + j] = d_z;
        dgh[n + j] = d_z;
        dgx[2 * n + j] = d_cand;
        dgh[2 * n + j] = d_cand * r[j];
        dh[j] = d * z[j];
    }
}
