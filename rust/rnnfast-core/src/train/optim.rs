//! Optimizers over the flat parameter vector, and clipping by global norm.
//!
//! The update rules are scikit-learn's MLP ones (SGD with momentum or Nesterov momentum; Adam
//! with its bias correction folded into the step size) plus AdamW (Adam with `weight_decay`), whose weight decay acts on
//! the weights directly instead of through the gradient (Loshchilov & Hutter, 2019).

use std::ops::Range;

use crate::{Float, Result, RnnError};

/// An update rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    Sgd {
        momentum: f64,
        nesterov: bool,
    },
    /// Adam; with `weight_decay > 0` it is AdamW: `w -= learning_rate · weight_decay · w` on
    /// the weights, besides (not through) the gradient.
    Adam {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
        weight_decay: f64,
    },
}

/// The optimizer's memory, owned by the caller so that training can stop and resume.
pub struct OptimizerState<'a, T> {
    /// Updates made so far (Adam's bias correction counts them).
    pub step: u64,
    /// SGD: the velocity; Adam: the first-moment estimate. Same length as the parameters.
    pub first: &'a mut [T],
    /// Adam: the second-moment estimate. Unused by SGD.
    pub second: &'a mut [T],
}

impl Optimizer {
    /// Checks the hyper-parameters.
    pub fn validate(&self) -> Result<()> {
        let unit = |name: &str, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(RnnError::param(name, format!("must be in [0, 1), got {v}")))
            }
        };
        match *self {
            Self::Sgd { momentum, .. } => unit("momentum", momentum),
            Self::Adam {
                beta1,
                beta2,
                epsilon,
                weight_decay,
            } => {
                unit("beta_1", beta1)?;
                unit("beta_2", beta2)?;
                if !(epsilon > 0.0 && epsilon.is_finite()) {
                    return Err(RnnError::param("epsilon", "must be a finite number > 0"));
                }
                if !(weight_decay >= 0.0 && weight_decay.is_finite()) {
                    return Err(RnnError::param(
                        "weight_decay",
                        "must be a finite number >= 0",
                    ));
                }
                Ok(())
            }
        }
    }

    /// Applies one update of `grad` to `params` with step size `lr`; `weights` are the ranges
    /// that decoupled weight decay acts on.
    pub fn step<T: Float>(
        &self,
        params: &mut [T],
        grad: &[T],
        state: &mut OptimizerState<'_, T>,
        lr: f64,
        weights: impl Iterator<Item = Range<usize>>,
    ) {
        state.step += 1;
        match *self {
            Self::Sgd { momentum, nesterov } => {
                let (mu, lr_t) = (T::from_f64(momentum), T::from_f64(lr));
                for ((p, &g), v) in params.iter_mut().zip(grad).zip(state.first.iter_mut()) {
                    *v = mu * *v - lr_t * g;
                    *p += if nesterov { mu * *v - lr_t * g } else { *v };
                }
            }
            Self::Adam {
                beta1,
                beta2,
                epsilon,
                weight_decay,
            } => {
                if weight_decay > 0.0 {
                    let shrink = T::from_f64(1.0 - lr * weight_decay);
                    for range in weights {
                        params[range].iter_mut().for_each(|p| *p *= shrink);
                    }
                }
                // Exponent of the bias correction; a step count beyond i32 has long converged.
                let t = i32::try_from(state.step).unwrap_or(i32::MAX);
                let lr_t = lr * (1.0 - beta2.powi(t)).sqrt() / (1.0 - beta1.powi(t));
                let (b1, b2) = (T::from_f64(beta1), T::from_f64(beta2));
                let (one, eps, lr_t) = (T::from_f64(1.0), T::from_f64(epsilon), T::from_f64(lr_t));
                let moments = state.first.iter_mut().zip(state.second.iter_mut());
                for ((p, &g), (m, v)) in params.iter_mut().zip(grad).zip(moments) {
                    *m = b1 * *m + (one - b1) * g;
                    *v = b2 * *v + (one - b2) * g * g;
                    *p -= lr_t * *m / (Float::sqrt(*v) + eps);
                }
            }
        }
    }
}

/// Scales `grad` so that its Euclidean norm is at most `max_norm`; returns the norm before.
pub fn clip_global_norm<T: Float>(grad: &mut [T], max_norm: f64) -> f64 {
    let norm = grad
        .iter()
        .map(|g| g.to_f64() * g.to_f64())
        .sum::<f64>()
        .sqrt();
    if norm > max_norm {
        let scale = T::from_f64(max_norm / norm);
        grad.iter_mut().for_each(|g| *g *= scale);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` updates of `opt` with the constant gradient `grad` from `params`; returns
    /// the parameters and the step count.
    fn run(
        opt: Optimizer,
        params: &[f64],
        grad: &[f64],
        (lr, steps): (f64, usize),
        decayed: std::ops::Range<usize>,
    ) -> (Vec<f64>, u64) {
        let (mut first, mut second) = (vec![0.0; params.len()], vec![0.0; params.len()]);
        let mut state = OptimizerState {
            step: 0,
            first: &mut first,
            second: &mut second,
        };
        let mut p = params.to_vec();
        for _ in 0..steps {
            opt.step(
                &mut p,
                grad,
                &mut state,
                lr,
                std::iter::once(decayed.clone()),
            );
        }
        (p, state.step)
    }

    fn adam(epsilon: f64, weight_decay: f64) -> Optimizer {
        Optimizer::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon,
            weight_decay,
        }
    }

    #[test]
    fn sgd_with_momentum_follows_the_velocity() {
        let opt = Optimizer::Sgd {
            momentum: 0.9,
            nesterov: false,
        };
        let (p, steps) = run(opt, &[1.0], &[2.0], (0.1, 2), 0..0);
        // v1 = -0.2, v2 = 0.9·(-0.2) - 0.2 = -0.38.
        assert!((p[0] - (1.0 - 0.2 - 0.38)).abs() < 1e-15);
        assert_eq!(steps, 2);
    }

    #[test]
    fn first_adam_step_moves_each_parameter_by_the_learning_rate() {
        let (p, _) = run(adam(1e-12, 0.0), &[0.0, 0.0], &[3.0, -0.5], (0.01, 1), 0..0);
        assert!((p[0] + 0.01).abs() < 1e-9 && (p[1] - 0.01).abs() < 1e-9);
    }

    #[test]
    fn adamw_decays_only_the_given_ranges() {
        let (p, _) = run(adam(1e-8, 0.5), &[2.0, 2.0], &[0.0, 0.0], (0.1, 1), 0..1);
        assert!((p[0] - 1.9).abs() < 1e-12 && (p[1] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn clipping_rescales_to_the_bound() {
        let mut g = [3.0f32, 4.0];
        assert_eq!(clip_global_norm(&mut g, 1.0), 5.0);
        assert!((g[0] - 0.6).abs() < 1e-7 && (g[1] - 0.8).abs() < 1e-7);
        let mut small = [0.3f32];
        clip_global_norm(&mut small, 1.0);
        assert_eq!(small, [0.3]);
    }

    #[test]
    fn out_of_range_hyper_parameters_are_refused() {
        let sgd = Optimizer::Sgd {
            momentum: 1.0,
            nesterov: true,
        };
        assert!(sgd.validate().is_err());
        assert!(adam(0.0, 0.0).validate().is_err());
        assert!(adam(1e-8, -1.0).validate().is_err());
    }
}
