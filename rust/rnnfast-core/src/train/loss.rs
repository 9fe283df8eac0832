//! Losses on the head's outputs, with their gradients, one row (sample) at a time.
//!
//! Each function returns the loss of the row summed over its outputs and overwrites the row's
//! outputs with the gradient of that loss. Means over samples are taken by the caller, once per
//! mini-batch. Sums run in `f64`: a float32 loss summed over thousands of steps would lose the
//! digits that `tol` compares.

use crate::{Float, Result, RnnError};

/// The loss a network is trained to minimise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// `½ Σ (z - y)²`: regression.
    SquaredError,
    /// `-Σ y log softmax(z)`: one label among several (targets one-hot).
    SoftmaxCrossEntropy,
    /// `-Σ y log σ(z) + (1 - y) log(1 - σ(z))`: independent binary labels (multi-label).
    SigmoidCrossEntropy,
}

impl Loss {
    /// Parses `squared_error`, `softmax_cross_entropy` or `sigmoid_cross_entropy`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "squared_error" => Ok(Self::SquaredError),
            "softmax_cross_entropy" => Ok(Self::SoftmaxCrossEntropy),
            "sigmoid_cross_entropy" => Ok(Self::SigmoidCrossEntropy),
            other => Err(RnnError::param(
                "loss",
                format!(
                    "expected 'squared_error', 'softmax_cross_entropy' or \
                     'sigmoid_cross_entropy', got {other:?}"
                ),
            )),
        }
    }

    /// The loss of one row; `outputs` becomes `∂loss/∂outputs`.
    pub fn row<T: Float>(self, outputs: &mut [T], targets: &[T]) -> f64 {
        match self {
            Self::SquaredError => outputs
                .iter_mut()
                .zip(targets)
                .map(|(z, &y)| {
                    *z -= y;
                    0.5 * z.to_f64() * z.to_f64()
                })
                .sum(),
            Self::SoftmaxCrossEntropy => {
                let max = outputs
                    .iter()
                    .map(|z| z.to_f64())
                    .fold(f64::NEG_INFINITY, f64::max);
                let sum_exp: f64 = outputs.iter().map(|z| (z.to_f64() - max).exp()).sum();
                let log_sum = max + sum_exp.ln();
                let total: f64 = targets.iter().map(|y| y.to_f64()).sum();
                let mut loss = 0.0;
                for (z, &y) in outputs.iter_mut().zip(targets) {
                    let log_p = z.to_f64() - log_sum;
                    loss -= y.to_f64() * log_p;
                    *z = T::from_f64(log_p.exp() * total - y.to_f64());
                }
                loss
            }
            Self::SigmoidCrossEntropy => outputs
                .iter_mut()
                .zip(targets)
                .map(|(z, &y)| {
                    let (zf, yf) = (z.to_f64(), y.to_f64());
                    // softplus(z) - y·z, written so that exp never overflows.
                    let softplus = zf.max(0.0) + (-zf.abs()).exp().ln_1p();
                    *z = T::from_f64(1.0 / (1.0 + (-zf).exp()) - yf);
                    softplus - yf * zf
                })
                .sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central differences of `row`'s loss agree with the gradient it writes.
    fn check_gradient(loss: Loss, z: &[f64], y: &[f64]) {
        let mut grad = z.to_vec();
        loss.row(&mut grad, y);
        for k in 0..z.len() {
            let eps = 1e-6;
            let at = |delta: f64| {
                let mut zz = z.to_vec();
                zz[k] += delta;
                loss.row(&mut zz, y)
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            assert!((numeric - grad[k]).abs() < 1e-7, "{loss:?} output {k}");
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let z = [0.3, -1.2, 2.5];
        check_gradient(Loss::SquaredError, &z, &[1.0, 0.5, -2.0]);
        check_gradient(Loss::SoftmaxCrossEntropy, &z, &[0.0, 1.0, 0.0]);
        check_gradient(Loss::SigmoidCrossEntropy, &z, &[1.0, 0.0, 1.0]);
    }

    #[test]
    fn known_values_and_extreme_logits_stay_finite() {
        let mut z = [0.0f64, 0.0];
        let loss = Loss::SoftmaxCrossEntropy.row(&mut z, &[1.0, 0.0]);
        assert!((loss - 2f64.ln()).abs() < 1e-15);
        assert!((z[0] + 0.5).abs() < 1e-15 && (z[1] - 0.5).abs() < 1e-15);
        let mut big = [1000.0f32, -1000.0];
        let loss = Loss::SigmoidCrossEntropy.row(&mut big, &[0.0, 1.0]);
        assert!((loss - 2000.0).abs() < 1e-9 && big.iter().all(|g| g.is_finite()));
        let mut big = [1000.0f32, -1000.0];
        assert!(
            Loss::SoftmaxCrossEntropy
                .row(&mut big, &[0.0, 1.0])
                .is_finite()
        );
    }

    #[test]
    fn unknown_name_is_refused() {
        assert!(Loss::parse("hinge").is_err());
    }
}
