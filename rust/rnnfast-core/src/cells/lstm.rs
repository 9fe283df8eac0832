//! LSTM cell, gates stacked i, f, g, o.

use super::add_input_and_bias;
use crate::Float;

#[inline(always)]
pub(super) fn update<T: Float>(xp: &[T], rec: &mut [T], b_hh: &[T], h: &mut [T], c: &mut [T]) {
    let n = h.len();
    add_input_and_bias(rec, xp, b_hh);
    let (ifg, o) = rec.split_at_mut(3 * n);
    let (i_f, g) = ifg.split_at_mut(2 * n);
    T::sigmoid_inplace(i_f);
    T::tanh_inplace(g);
    T::sigmoid_inplace(o);
    let (i, f) = i_f.split_at(n);
    for j in 0..n {
        c[j] = f[j] * c[j] + i[j] * g[j];
    }
    h.copy_from_slice(c);
    T::tanh_inplace(h);
    h.iter_mut().zip(o.iter()).for_each(|(hv, &ov)| *hv *= ov);
}

/// Backward through one step. `gates` are the activated `i, f, g, o`; `aux` is `[c_prev,
/// tanh(c)]`. On entry `dh`/`dc` are the loss gradients w.r.t. this step's `h` and `c`; on exit
/// `dh` is zero (all of `h_prev`'s gradient flows through `W_hh`) and `dc` is the gradient
/// w.r.t. `c_prev`. `dg` receives the gradient w.r.t. the gate pre-activations.
#[inline(always)]
pub(super) fn backward<T: Float>(gates: &[T], aux: &[T], dh: &mut [T], dc: &mut [T], dg: &mut [T]) {
    let n = dh.len();
    let one = T::from_f64(1.0);
    let (i, rest) = gates.split_at(n);
    let (f, rest) = rest.split_at(n);
    let (g, o) = rest.split_at(n);
    let (c_prev, tanh_c) = aux.split_at(n);
    let (dg_i, rest) = dg.split_at_mut(n);
    let (dg_f, rest) = rest.split_at_mut(n);
    let (dg_g, dg_o) = rest.split_at_mut(n);
    for j in 0..n {
        let tc = tanh_c[j];
        let d_c = dc[j] + dh[j] * o[j] * (one - tc * tc);
        dg_i[j] = d_c * g[j] * i[j] * (one - i[j]);
        dg_f[j] = d_c * c_prev[j] * f[j] * (one - f[j]);
        dg_g[j] = d_c * i[j] * (one - g[j] * g[j]);
        dg_o[j] = dh[j] * tc * o[j] * (one - o[j]);
        dc[j] = d_c * f[j];
        dh[j] = T::default();
    }
}
