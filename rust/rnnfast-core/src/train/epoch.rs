//! One pass over a training set in mini-batches, with optimizer updates.

use super::batch::{Dataset, Problem};
use super::optim::clip_global_norm;
use super::{GradientOptions, ModelSpec, Optimizer, OptimizerState};
use crate::error::expect_len;
use crate::network::InitialState;
use crate::{Float, Result, RnnError};

/// How an epoch trains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainOptions {
    /// Sequences per update (the last mini-batch may be smaller).
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Largest Euclidean norm of the whole gradient; larger ones are scaled down.
    pub clip_norm: Option<f64>,
    pub optimizer: Optimizer,
    pub gradient: GradientOptions,
}

/// What an epoch did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// Mean loss over the epoch's samples (each mini-batch's loss, penalty included, weighted
    /// by its samples), measured before each update as scikit-learn's MLP reports it.
    pub loss: f64,
    pub updates: usize,
}

/// Trains `params` for one epoch over the sequences `order` (a permutation, or any list of
/// sequence indices), `batch_size` at a time, updating `state`.
///
/// Results do not depend on `threads`. On a non-finite loss the epoch stops with
/// [`RnnError::Numerical`]; `params` then hold the last finite update.
pub fn train_epoch<T: Float>(
    spec: &ModelSpec,
    params: &mut [T],
    state: &mut OptimizerState<'_, T>,
    data: &Dataset<'_, T>,
    order: &[usize],
    options: &TrainOptions,
    threads: usize,
) -> Result<EpochReport> {
    let init = InitialState::default();
    let problem = Problem::new(spec, params, data, &init, options.gradient)?;
    validate(options, params.len(), state, order, data.n)?;
    let mut weighted = 0.0;
    let mut samples = 0;
    let mut updates = 0;
    for rows in order.chunks(options.batch_size) {
        let mut g = problem.gradient(params, rows, &init, false, threads)?;
        if !g.loss.is_finite() {
            return Err(RnnError::Numerical {
                what: format!(
                    "training diverged at update {}: the loss became NaN or infinite; lower \
                     learning_rate_init or set clip_grad_norm",
                    state.step + 1
                ),
            });
        }
        if let Some(max_norm) = options.clip_norm {
            clip_global_norm(&mut g.params, max_norm);
        }
        let weights = problem.layout.weight_ranges();
        options
            .optimizer
            .step(params, &g.params, state, options.learning_rate, weights);
        weighted += g.loss * g.samples as f64;
        samples += g.samples;
        updates += 1;
    }
    Ok(EpochReport {
        loss: if samples > 0 {
            weighted / samples as f64
        } else {
            0.0
        },
        updates,
    })
}

fn validate<T>(
    options: &TrainOptions,
    n_params: usize,
    state: &OptimizerState<'_, T>,
    order: &[usize],
    n: usize,
) -> Result<()> {
    if options.batch_size == 0 {
        return Err(RnnError::param("batch_size", "must be at least 1"));
    }
    if !(options.learning_rate > 0.0 && options.learning_rate.is_finite()) {
        return Err(RnnError::param(
            "learning_rate",
            "must be a finite number > 0",
        ));
    }
    if let Some(c) = options.clip_norm
        && !(c > 0.0 && c.is_finite())
    {
        return Err(RnnError::param(
            "clip_grad_norm",
            "must be a finite number > 0",
        ));
    }
    options.optimizer.validate()?;
    expect_len(
        "optimizer state (first moment)",
        n_params,
        state.first.len(),
    )?;
    if !matches!(options.optimizer, Optimizer::Sgd { .. }) {
        expect_len(
            "optimizer state (second moment)",
            n_params,
            state.second.len(),
        )?;
    }
    if let Some(&bad) = order.iter().find(|&&b| b >= n) {
        return Err(RnnError::shape(
            "order",
            format!("sequence indices in 0..{n}"),
            bad,
        ));
    }
    Ok(())
}
