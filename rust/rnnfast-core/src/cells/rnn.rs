//! Elman cell: `h = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)`.

use super::add_input_and_bias;
use crate::Float;

#[inline(always)]
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

/// Backward through one step: `h` is the step's output, `dh` its loss gradient (zeroed on exit:
/// all of `h_prev`'s gradient flows through `W_hh`), `dg` the pre-activation gradient.
#[inline(always)]
pub(super) fn backward<T: Float>(h: &[T], dh: &mut [T], dg: &mut [T], relu: bool) {
    let (zero, one) = (T::default(), T::from_f64(1.0));
    for ((g, d), &hv) in dg.iter_mut().zip(dh.iter_mut()).zip(h) {
        *g = if relu {
            if hv > zero { *d } else { zero }
        } else {
            *d * (one - hv * hv)
        };
        *d = zero;
    }
}
