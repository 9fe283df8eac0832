//! Recall in classical Hopfield networks: synchronous and asynchronous updates of a batch of
//! probes until a fixed point, a 2-cycle (synchronous only) or `max_iter` sweeps.
//!
//! Two representations of the weights:
//! - [`Memory::Dense`]: the `n × n` matrix (any rule);
//! - [`Memory::LowRank`]: `W = Aᵀ B - diag(d)` with `A`, `B` of `p` rows. Hebbian weights are
//!   `(ΞᵀΞ - p I) / n` and projection weights `Ξᵀ (ΞΞᵀ)⁻¹ Ξ` minus their diagonal, so with
//!   `p` patterns a field costs `O(p)` instead of `O(n)`. Integer-valued factors (Hebbian counts
//!   with the threshold scaled by `n`) keep every sum exact in floating point.
//!
//! Synchronous updates compute the fields of a chunk of probes as one or two matrix products.
//! Asynchronous updates keep each probe's fields (dense) or its overlaps `m = B s` (low rank) up
//! to date: visiting a unit that does not flip costs `O(1)` (dense) or `O(p)`, a flip `O(n)` or
//! `O(p)`.

use crate::float::check_finite;
use crate::linalg::matmul_nt;
use crate::{Float, Result, RnnError};
use faer::Par;

use super::rng::SplitMix64;
use super::rules::dot;
use super::{PROBE_CHUNK, activate, check_bipolar, expect_matrix, par_rows, rows_of};

/// The weights of a network of `n` units; both forms must be symmetric.
#[derive(Clone, Copy, Debug)]
pub enum Memory<'a, T> {
    /// `W`, `n × n`, row-major.
    Dense { weights: &'a [T] },
    /// `W = Aᵀ B - diag(d)`: `a_t` is `Aᵀ` (`n × p`), `b` is `B` (`p × n`), `diag` is `d` (`n`).
    LowRank {
        a_t: &'a [T],
        b: &'a [T],
        diag: &'a [T],
    },
}

/// How units are updated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateMode {
    /// All units at once from the previous state; stops at a fixed point or a 2-cycle.
    Sync,
    /// One unit at a time, each seeing the latest state; a sweep visits every unit once, in a
    /// random order per sweep drawn from `seed` (stream = probe index) when `shuffle`, else in
    /// index order.
    Async { seed: u64, shuffle: bool },
}

/// The update rule: `s_i ← +1` if `field_i ≥ threshold` else `-1`, at most `max_iter` sweeps.
#[derive(Clone, Copy, Debug)]
pub struct Dynamics<T> {
    pub mode: UpdateMode,
    pub threshold: T,
    pub max_iter: usize,
}

/// What [`recall`] returns, per probe.
#[derive(Clone, Debug, PartialEq)]
pub struct Recall<T> {
    /// Final states, `probes × n`, bipolar.
    pub states: Vec<T>,
    /// Whether a sweep changed nothing (the state is a fixed point).
    pub converged: Vec<bool>,
    /// Sweeps run, the last one included (a probe that is already a fixed point reports 1).
    pub sweeps: Vec<usize>,
    /// Synchronous mode: the probe entered a 2-cycle (its last state is returned).
    pub cycled: Vec<bool>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Outcome {
    converged: bool,
    sweeps: usize,
    cycled: bool,
}

impl<T: Float> Memory<'_, T> {
    /// Checks the shapes against `n` units and that every value is finite; returns the rank.
    fn validate(&self, n: usize) -> Result<usize> {
        match *self {
            Memory::Dense { weights } => {
                expect_matrix("weights", weights.len(), n, n)?;
                check_finite("weights", weights)?;
                Ok(n)
            }
            Memory::LowRank { a_t, b, diag } => {
                let p = rows_of("factor B", b.len(), n)?;
                expect_matrix("factor A transposed", a_t.len(), n, p)?;
                expect_matrix("diagonal", diag.len(), n, 1)?;
                for (what, v) in [("factor A", a_t), ("factor B", b), ("diagonal", diag)] {
                    check_finite(what, v)?;
                }
                Ok(p)
            }
        }
    }

    /// `fields (rows × n) = states · Wᵀ`; `overlaps` is scratch of `rows × p` (low rank).
    fn fields(&self, fields: &mut [T], states: &[T], overlaps: &mut [T], rows: usize, n: usize) {
        match *self {
            Memory::Dense { weights } => {
                matmul_nt(fields, states, weights, (rows, n, n), false, Par::Seq);
            }
            Memory::LowRank { a_t, b, diag } => {
                let p = b.len() / n;
                matmul_nt(overlaps, states, b, (rows, p, n), false, Par::Seq);
                matmul_nt(fields, overlaps, a_t, (rows, n, p), false, Par::Seq);
                for (h, s) in fields.chunks_exact_mut(n).zip(states.chunks_exact(n)) {
                    for ((h, &s), &d) in h.iter_mut().zip(s).zip(diag) {
                        *h -= d * s;
                    }
                }
            }
        }
    }
}

/// Recalls a batch of bipolar `probes` (`batch × n`, row-major) with at most `threads` threads;
/// results do not depend on `threads`.
pub fn recall<T: Float>(
    memory: &Memory<T>,
    n: usize,
    probes: &[T],
    dynamics: &Dynamics<T>,
    threads: usize,
) -> Result<Recall<T>> {
    let p = memory.validate(n)?;
    let batch = rows_of("probes", probes.len(), n)?;
    check_bipolar("probes", probes)?;
    if dynamics.max_iter == 0 {
        return Err(RnnError::param("max_iter", "must be at least 1"));
    }
    if !dynamics.threshold.finite() {
        return Err(RnnError::param("threshold", "must be finite"));
    }
    let mut states = probes.to_vec();
    let mut outcomes = vec![Outcome::default(); batch];
    // One chunk costs at least a field evaluation per probe; below the pool's break-even a
    // single chunk is not worth handing over.
    let threads = if batch > PROBE_CHUNK { threads } else { 1 };
    let chunk = PROBE_CHUNK * n;
    if batch > 0 {
        par_rows(
            threads,
            &mut states,
            chunk,
            &mut outcomes,
            PROBE_CHUNK,
            |c, s, out| match dynamics.mode {
                UpdateMode::Sync => sync_chunk(memory, n, p, s, out, dynamics),
                UpdateMode::Async { seed, shuffle } => {
                    let first = c * PROBE_CHUNK;
                    async_chunk(memory, n, p, s, out, dynamics, (seed, shuffle, first));
                }
            },
        )?;
    }
    Ok(Recall {
        states,
        converged: outcomes.iter().map(|o| o.converged).collect(),
        sweeps: outcomes.iter().map(|o| o.sweeps).collect(),
        cycled: outcomes.iter().map(|o| o.cycled).collect(),
    })
}

/// Synchronous updates of one chunk; a probe stops at a fixed point or a 2-cycle.
fn sync_chunk<T: Float>(
    memory: &Memory<T>,
    n: usize,
    p: usize,
    states: &mut [T],
    out: &mut [Outcome],
    dynamics: &Dynamics<T>,
) {
    let rows = out.len();
    let mut fields = vec![T::default(); rows * n];
    let mut overlaps = vec![T::default(); rows * p];
    let mut previous = states.to_vec();
    let mut next = vec![T::default(); n];
    let mut active = rows;
    for sweep in 1..=dynamics.max_iter {
        if active == 0 {
            break;
        }
        memory.fields(&mut fields, states, &mut overlaps, rows, n);
        let rows_iter = states
            .chunks_exact_mut(n)
            .zip(previous.chunks_exact_mut(n))
            .zip(fields.chunks_exact(n))
            .zip(out.iter_mut());
        for (((s, prev), h), o) in rows_iter {
            if o.converged || o.cycled {
                continue;
            }
            o.sweeps = sweep;
            for (x, &h) in next.iter_mut().zip(h) {
                *x = activate(h, dynamics.threshold);
            }
            if next == *s {
                o.converged = true;
            } else if sweep > 1 && next == *prev {
                o.cycled = true;
            } else {
                prev.copy_from_slice(s);
                s.copy_from_slice(&next);
                continue;
            }
            active -= 1;
        }
    }
}

/// The state an asynchronous probe keeps up to date between unit visits.
trait LocalFields<T> {
    /// The local field of unit `i` given the current state `s`.
    fn field(&self, i: usize, s: &[T]) -> T;
    /// Accounts for unit `i` changing by `delta` (`±2`).
    fn flipped(&mut self, i: usize, delta: T);
}

/// Dense weights: all fields, `h = W s`; a flip adds `delta · W[:, i]` (= row `i`, symmetric).
struct DenseFields<'a, T> {
    weights: &'a [T],
    h: &'a mut [T],
}

impl<T: Float> LocalFields<T> for DenseFields<'_, T> {
    #[inline]
    fn field(&self, i: usize, _s: &[T]) -> T {
        self.h[i]
    }

    fn flipped(&mut self, i: usize, delta: T) {
        let n = self.h.len();
        let row = &self.weights[i * n..(i + 1) * n];
        self.h
            .iter_mut()
            .zip(row)
            .for_each(|(h, &w)| *h += delta * w);
    }
}

/// Low-rank weights: the overlaps `m = B s`; a field is `A[:, i] · m - d_i s_i`.
struct LowRankFields<'a, T> {
    a_t: &'a [T],
    b: &'a [T],
    diag: &'a [T],
    m: &'a mut [T],
}

impl<T: Float> LocalFields<T> for LowRankFields<'_, T> {
    #[inline]
    fn field(&self, i: usize, s: &[T]) -> T {
        let p = self.m.len();
        dot(&self.a_t[i * p..(i + 1) * p], self.m) - self.diag[i] * s[i]
    }

    fn flipped(&mut self, i: usize, delta: T) {
        let n = self.diag.len();
        for (k, m) in self.m.iter_mut().enumerate() {
            *m += delta * self.b[k * n + i];
        }
    }
}

/// Asynchronous updates of one chunk, probe after probe; `(seed, shuffle, first)` give the random
/// orders (stream `first + row`).
fn async_chunk<T: Float>(
    memory: &Memory<T>,
    n: usize,
    p: usize,
    states: &mut [T],
    out: &mut [Outcome],
    dynamics: &Dynamics<T>,
    (seed, shuffle, first): (u64, bool, usize),
) {
    let rows = out.len();
    let mut fields = vec![T::default(); rows * n];
    let mut overlaps = vec![T::default(); rows * p];
    // The starting fields (dense) or overlaps (low rank) of the whole chunk in one product.
    match *memory {
        Memory::Dense { weights } => {
            matmul_nt(&mut fields, states, weights, (rows, n, n), false, Par::Seq);
        }
        Memory::LowRank { b, .. } => {
            matmul_nt(&mut overlaps, states, b, (rows, p, n), false, Par::Seq);
        }
    }
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for (r, (s, o)) in states.chunks_exact_mut(n).zip(out.iter_mut()).enumerate() {
        order.clear();
        order.extend(0..n);
        let mut rng = SplitMix64::new(seed, (first + r) as u64);
        let h = &mut fields[r * n..(r + 1) * n];
        let m = &mut overlaps[r * p..(r + 1) * p];
        match *memory {
            Memory::Dense { weights } => {
                let mut state = DenseFields { weights, h };
                *o = sweeps(&mut state, s, &mut order, &mut rng, shuffle, dynamics);
            }
            Memory::LowRank { a_t, b, diag } => {
                let mut state = LowRankFields { a_t, b, diag, m };
                *o = sweeps(&mut state, s, &mut order, &mut rng, shuffle, dynamics);
            }
        }
    }
}

/// Sweeps over the units of one probe until one changes nothing or `max_iter` sweeps ran.
fn sweeps<T: Float>(
    fields: &mut impl LocalFields<T>,
    s: &mut [T],
    order: &mut [usize],
    rng: &mut SplitMix64,
    shuffle: bool,
    dynamics: &Dynamics<T>,
) -> Outcome {
    let two = T::from_f64(2.0);
    for sweep in 1..=dynamics.max_iter {
        if shuffle {
            rng.shuffle(order);
        }
        let mut changed = false;
        for &i in order.iter() {
            let new = activate(fields.field(i, s), dynamics.threshold);
            if new != s[i] {
                s[i] = new;
                fields.flipped(i, two * new);
                changed = true;
            }
        }
        if !changed {
            return Outcome {
                converged: true,
                sweeps: sweep,
                cycled: false,
            };
        }
    }
    Outcome {
        converged: false,
        sweeps: dynamics.max_iter,
        cycled: false,
    }
}
