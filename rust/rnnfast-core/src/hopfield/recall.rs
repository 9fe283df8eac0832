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
//! Synchronous updates compute the fields of a chunk of probes as one matrix product (dense) or,
//! per probe, `p` dot products and `p` scaled rows of `A` (low rank).
//! Asynchronous updates keep each probe's fields (dense) or its overlaps `m = B s` (low rank) up
//! to date: visiting a unit that does not flip costs `O(1)` (dense) or `O(p)`, a flip `O(n)` or
//! `O(p)`.

use crate::float::check_finite;
use crate::linalg::matmul_nt;
use crate::{Float, Result, RnnError};
use faer::Par;

use super::rules::transpose;
use super::{
    PROBE_CHUNK, activate, check_bipolar, check_max_iter, expect_matrix, par_rows, rows_of,
    with_simd,
};
use crate::linalg::dot;
use crate::rng::SplitMix64;

/// The weights of a network of `n` units; both forms must be symmetric.
#[derive(Clone, Copy, Debug)]
pub enum Memory<'a, T> {
    /// `W`, `n × n`, row-major.
    Dense { weights: &'a [T] },
    /// `W = Aᵀ B - diag(d)`: `a` and `b` are `p × n`, `diag` is `d` (`n`).
    LowRank {
        a: &'a [T],
        b: &'a [T],
        diag: &'a [T],
    },
}

/// [`Memory`] checked and laid out for the kernels: low-rank recall also needs `Aᵀ` (`n × p`),
/// whose rows are the per-unit coefficients an asynchronous field reads.
enum Couplings<'a, T> {
    Dense(&'a [T]),
    LowRank {
        a: &'a [T],
        a_t: Vec<T>,
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

impl<'a, T: Float> Memory<'a, T> {
    /// Checks the shapes against `n` units and that every value is finite.
    fn prepare(&self, n: usize) -> Result<Couplings<'a, T>> {
        match *self {
            Memory::Dense { weights } => {
                expect_matrix("weights", weights.len(), n, n)?;
                check_finite("weights", weights)?;
                Ok(Couplings::Dense(weights))
            }
            Memory::LowRank { a, b, diag } => {
                let p = rows_of("factor B", b.len(), n)?;
                expect_matrix("factor A", a.len(), p, n)?;
                expect_matrix("diagonal", diag.len(), n, 1)?;
                for (what, v) in [("factor A", a), ("factor B", b), ("diagonal", diag)] {
                    check_finite(what, v)?;
                }
                let a_t = transpose(a, p, n);
                Ok(Couplings::LowRank { a, a_t, b, diag })
            }
        }
    }
}

impl<T: Float> Couplings<'_, T> {
    /// The rank `p` (`n` for dense weights).
    fn rank(&self, n: usize) -> usize {
        match self {
            Couplings::Dense(_) => n,
            Couplings::LowRank { b, .. } => b.len() / n,
        }
    }

    /// `fields (rows × n) = states · Wᵀ`; `overlaps` is scratch of `p` values (low rank).
    #[inline(always)]
    fn fields(&self, fields: &mut [T], states: &[T], overlaps: &mut [T], n: usize) {
        match self {
            Couplings::Dense(weights) => {
                let rows = states.len() / n;
                matmul_nt(fields, states, weights, (rows, n, n), false, Par::Seq);
            }
            // Per probe: p dot products, then p scaled rows of A; with a rank of ten or so this
            // beats a general matrix product, whose blocking is tuned for large inner sizes.
            Couplings::LowRank { a, b, diag, .. } => {
                let rows = fields.chunks_exact_mut(n).zip(states.chunks_exact(n));
                for (h, s) in rows {
                    for (m, b_k) in overlaps.iter_mut().zip(b.chunks_exact(n)) {
                        *m = dot(b_k, s);
                    }
                    for ((h, &s), &d) in h.iter_mut().zip(s).zip(diag.iter()) {
                        *h = -(d * s);
                    }
                    for (&m, a_k) in overlaps.iter().zip(a.chunks_exact(n)) {
                        h.iter_mut().zip(a_k).for_each(|(h, &a)| *h += m * a);
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
    let couplings = memory.prepare(n)?;
    let job = Job {
        p: couplings.rank(n),
        couplings,
        n,
        dynamics: *dynamics,
    };
    let batch = rows_of("probes", probes.len(), n)?;
    check_bipolar("probes", probes)?;
    check_max_iter(dynamics.max_iter)?;
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
                UpdateMode::Sync => with_simd(|| sync_chunk(&job, s, out)),
                UpdateMode::Async { seed, shuffle } => {
                    let orders = (seed, shuffle, c * PROBE_CHUNK);
                    with_simd(|| async_chunk(&job, s, out, orders));
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

/// What every chunk of one [`recall`] call shares.
struct Job<'a, T> {
    couplings: Couplings<'a, T>,
    /// Units.
    n: usize,
    /// Rank of the couplings (`n` when dense).
    p: usize,
    dynamics: Dynamics<T>,
}

/// Synchronous updates of one chunk; a probe stops at a fixed point or a 2-cycle.
#[inline(always)]
fn sync_chunk<T: Float>(job: &Job<T>, states: &mut [T], out: &mut [Outcome]) {
    let (couplings, dynamics, n, p) = (&job.couplings, &job.dynamics, job.n, job.p);
    let rows = out.len();
    let mut fields = vec![T::default(); rows * n];
    let mut overlaps = vec![T::default(); p];
    let mut previous = states.to_vec();
    let mut next = vec![T::default(); n];
    let mut active = rows;
    for sweep in 1..=dynamics.max_iter {
        if active == 0 {
            break;
        }
        couplings.fields(&mut fields, states, &mut overlaps, n);
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
    #[inline(always)]
    fn field(&self, i: usize, _s: &[T]) -> T {
        self.h[i]
    }

    #[inline(always)]
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
    #[inline(always)]
    fn field(&self, i: usize, s: &[T]) -> T {
        let p = self.m.len();
        dot(&self.a_t[i * p..(i + 1) * p], self.m) - self.diag[i] * s[i]
    }

    #[inline(always)]
    fn flipped(&mut self, i: usize, delta: T) {
        let n = self.diag.len();
        for (k, m) in self.m.iter_mut().enumerate() {
            *m += delta * self.b[k * n + i];
        }
    }
}

/// Asynchronous updates of one chunk, probe after probe; `(seed, shuffle, first)` give the random
/// orders (stream `first + row`).
#[inline(always)]
fn async_chunk<T: Float>(
    job: &Job<T>,
    states: &mut [T],
    out: &mut [Outcome],
    (seed, shuffle, first): (u64, bool, usize),
) {
    let (couplings, dynamics, n, p) = (&job.couplings, &job.dynamics, job.n, job.p);
    let rows = out.len();
    let mut fields = vec![T::default(); rows * n];
    let mut overlaps = vec![T::default(); rows * p];
    // The starting fields (dense) or overlaps (low rank) of the whole chunk in one product.
    match couplings {
        Couplings::Dense(weights) => {
            matmul_nt(&mut fields, states, weights, (rows, n, n), false, Par::Seq);
        }
        Couplings::LowRank { b, .. } => {
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
        match couplings {
            Couplings::Dense(weights) => {
                let mut state = DenseFields { weights, h };
                *o = sweeps(&mut state, s, &mut order, &mut rng, shuffle, dynamics);
            }
            Couplings::LowRank { a_t, b, diag, .. } => {
                let mut state = LowRankFields { a_t, b, diag, m };
                *o = sweeps(&mut state, s, &mut order, &mut rng, shuffle, dynamics);
            }
        }
    }
}

/// Sweeps over the units of one probe until one changes nothing or `max_iter` sweeps ran.
#[inline(always)]
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
