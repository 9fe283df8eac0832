//! LSTM cell, gates stacked i, f, g, o.

use super::add_input_and_bias;
use crate::Float;

#[inline]
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
