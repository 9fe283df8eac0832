//! Elman cell: `h = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)`.

use super::add_input_and_bias;
use crate::Float;

#[inline]
pub(super) fn update<T: Float>(
    xp: &[T],
    rec: &mut [T],
    b_hh: &[T],
    h: &mut [T],
    activation: fn(&mut [T]),
) {
    add_input_and_bias(rec, xp, b_hh);
    activation(rec);
    h.copy_from_slice(rec);
}

/// `x <- max(x, 0)`, keeping NaN (as `torch.relu` does).
pub(super) fn relu_inplace<T: Float>(x: &mut [T]) {
    let zero = T::from_f64(0.0);
    x.iter_mut().for_each(|v| {
        if *v < zero {
            *v = zero
        }
    });
}
