//! Online readouts for `partial_fit`: recursive least squares (RLS, with a forgetting factor)
//! and least mean squares (LMS).
//!
//! Both update the weights one time step at a time, in `f64`, as the states are produced. The
//! result depends on the order of the steps, so every sequence of a batch runs in one group:
//! steps are taken in time order, and within a step in order of decreasing sequence length
//! (ties by batch index), whatever the thread count.

use super::Reservoir;
use super::reservoir::{StateSink, check_targets};
use crate::error::expect_len;
use crate::float::check_finite;
use crate::network::Sequences;
use crate::{Float, Result, RnnError};

/// The update rule of an online readout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OnlineRule {
    /// Recursive least squares; `forgetting` in (0, 1] discounts old steps (1: none).
    Rls { forgetting: f64 },
    /// Least mean squares (stochastic gradient on the squared error) with a fixed step size.
    Lms { learning_rate: f64 },
}

/// The running state of an online readout, all `f64`, with `width = units + 1` (the last row
/// is the intercept).
#[derive(Clone, Debug, PartialEq)]
pub struct OnlineState {
    /// `(width, outputs)`, row-major.
    pub weights: Vec<f64>,
    /// RLS only: the inverse correlation matrix `(width, width)`; empty for LMS.
    pub p: Vec<f64>,
}

struct Online<'a, T> {
    rule: OnlineRule,
    state: OnlineState,
    targets: &'a [T],
    steps: usize,
    outputs: usize,
    washout: usize,
    x: Vec<f64>,
    px: Vec<f64>,
    err: Vec<f64>,
}

impl<T: Float> StateSink<T> for Online<'_, T> {
    fn push(&mut self, _c: usize, seq: usize, t: usize, state: &[T]) {
        if t < self.washout {
            return;
        }
        let (w, o) = (self.x.len(), self.outputs);
        self.x
            .iter_mut()
            .zip(state)
            .for_each(|(d, &s)| *d = s.to_f64());
        self.x[w - 1] = 1.0;
        let start = (seq * self.steps + t) * o;
        for (k, e) in self.err.iter_mut().enumerate() {
            let predicted: f64 = (0..w)
                .map(|i| self.state.weights[i * o + k] * self.x[i])
                .sum();
            *e = self.targets[start + k].to_f64() - predicted;
        }
        match self.rule {
            OnlineRule::Lms { learning_rate } => {
                for (i, &xi) in self.x.iter().enumerate() {
                    let row = &mut self.state.weights[i * o..(i + 1) * o];
                    row.iter_mut()
                        .zip(&self.err)
                        .for_each(|(wk, &e)| *wk += learning_rate * xi * e);
                }
            }
            OnlineRule::Rls { forgetting } => {
                let p = &mut self.state.p;
                for (i, pxi) in self.px.iter_mut().enumerate() {
                    *pxi = p[i * w..(i + 1) * w]
                        .iter()
                        .zip(&self.x)
                        .map(|(a, b)| a * b)
                        .sum();
                }
                let denom =
                    forgetting + self.x.iter().zip(&self.px).map(|(a, b)| a * b).sum::<f64>();
                // gain k = P x / denom; w += k eᵀ; P = (P - k (P x)ᵀ) / forgetting
                for i in 0..w {
                    let ki = self.px[i] / denom;
                    let row = &mut self.state.weights[i * o..(i + 1) * o];
                    row.iter_mut()
                        .zip(&self.err)
                        .for_each(|(wk, &e)| *wk += ki * e);
                    let prow = &mut p[i * w..(i + 1) * w];
                    for (pij, &pxj) in prow.iter_mut().zip(&self.px) {
                        *pij = (*pij - ki * pxj) / forgetting;
                    }
                }
            }
        }
    }
}

/// Runs the reservoir over `seqs` from `h0` and updates `state` with every step after
/// `washout` of each sequence; returns the last states `(batch, units)`.
#[allow(clippy::too_many_arguments)] // one call carries the whole update across the binding
pub fn fit_online<T: Float>(
    reservoir: &Reservoir<T>,
    seqs: &Sequences<T>,
    h0: Option<&[T]>,
    targets: &[T],
    outputs: usize,
    washout: usize,
    rule: OnlineRule,
    state: &mut OnlineState,
) -> Result<Vec<T>> {
    let width = reservoir.units() + 1;
    check_targets(seqs, targets, outputs)?;
    expect_len(
        "online weights (units + 1) x outputs",
        width * outputs,
        state.weights.len(),
    )?;
    check_finite("online weights", &state.weights)?;
    match rule {
        OnlineRule::Rls { forgetting } if !(forgetting > 0.0 && forgetting <= 1.0) => {
            return Err(RnnError::param(
                "forgetting_factor",
                format!("must be in (0, 1], got {forgetting}"),
            ));
        }
        OnlineRule::Rls { .. } => {
            expect_len("RLS matrix (units + 1)²", width * width, state.p.len())?;
            check_finite("RLS matrix", &state.p)?;
        }
        OnlineRule::Lms { learning_rate }
            if !(learning_rate > 0.0 && learning_rate.is_finite()) =>
        {
            return Err(RnnError::param(
                "learning_rate",
                format!("must be finite and > 0, got {learning_rate}"),
            ));
        }
        OnlineRule::Lms { .. } => {}
    }
    let start = std::mem::replace(
        state,
        OnlineState {
            weights: Vec::new(),
            p: Vec::new(),
        },
    );
    let mut start = Some(start);
    let (sinks, last) = reservoir.drive(seqs, h0, 1, 1, |_| Online {
        rule,
        state: start.take().unwrap_or(OnlineState {
            weights: Vec::new(),
            p: Vec::new(),
        }),
        targets,
        steps: seqs.steps,
        outputs,
        washout,
        x: vec![0.0; width],
        px: vec![0.0; width],
        err: vec![0.0; outputs],
    })?;
    if let Some(sink) = sinks.into_iter().next() {
        *state = sink.state;
    }
    Ok(last)
}
