//! GRU cell, gates stacked r, z, n, reset applied after the hidden product (PyTorch's form).

use crate::Float;

#[inline]
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
