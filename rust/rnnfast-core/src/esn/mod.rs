//! Echo state networks: a fixed sparse random reservoir driven by the input, and linear readouts.
//!
//! The weights are drawn by the Python layer (`numpy.random.default_rng(random_state)`, so one
//! seed gives one reservoir on every platform) and passed in as CSR arrays; this module validates
//! them, measures the spectral radius, runs the leaky state update over ragged batches and
//! solves the readout.
//!
//! - [`sparse`]: the CSR matrix and its block product;
//! - `recurrence`: the sparse product, or a dense packed one for one sequence of a small reservoir
//!   (in two halves taken in alternating order when it is somewhat larger than L1);
//! - [`spectral`]: the spectral radius (the dense eigensolver of `eigenvalues` for small
//!   reservoirs, `arnoldi` for large ones, faer's dense solver as their fallback);
//! - [`reservoir`]: the state update, the time loop over groups of sequences, closed-loop runs;
//! - [`ridge`]: the ridge readout accumulated in `f64` while states are produced (through the
//!   normal equations of `gram`, shared with NVAR, or for far fewer rows than units the dual
//!   form of `dual`);
//! - [`nvar`]: next-generation reservoir computing (delayed inputs and their monomials);
//! - [`online`]: RLS and LMS readouts for incremental fits;
//! - [`pool`]: per-sequence mean states for classification, pooled as they are produced.

mod arnoldi;
mod dual;
mod eigenvalues;
#[doc(hidden)]
pub mod gram;
pub mod nvar;
pub mod online;
pub mod pool;
mod recurrence;
pub mod reservoir;
pub mod ridge;
pub mod sparse;
pub mod spectral;
mod widest;

pub use nvar::{Nvar, NvarFit};
pub use online::{OnlineRule, OnlineState, fit_online};
pub use pool::{Pooled, pool_states};
pub use reservoir::{Readout, Reservoir, RunOutput};
pub use ridge::{RidgeFit, fit_ridge, ridge_on_rows};
pub use sparse::Csr;
pub use spectral::spectral_radius;

use crate::{Float, Result, RnnError};

/// The reservoir nonlinearity `f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Tanh,
    Identity,
    Relu,
}

impl Activation {
    /// Parses `"tanh"`, `"identity"` or `"relu"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "tanh" => Ok(Self::Tanh),
            "identity" => Ok(Self::Identity),
            "relu" => Ok(Self::Relu),
            other => Err(RnnError::param(
                "activation",
                format!("expected 'tanh', 'identity' or 'relu', got {other:?}"),
            )),
        }
    }

    /// `x <- f(x)`, elementwise.
    pub fn apply<T: Float>(self, x: &mut [T]) {
        match self {
            Self::Tanh => T::tanh_inplace(x),
            Self::Identity => {}
            Self::Relu => {
                let zero = T::from_f64(0.0);
                x.iter_mut().for_each(|v| {
                    if *v < zero {
                        *v = zero;
                    }
                });
            }
        }
    }
}
