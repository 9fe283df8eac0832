//! The ridge readout, accumulated in `f64` while the states are produced.
//!
//! States never exist all at once: each group copies its post-washout states (plus a constant 1
//! for the intercept) into a chunk of at most `CHUNK_ROWS` rows and folds the chunk into
//! `XᵀX` (lower triangle only) and `XᵀY` with one GEMM each (the shared machinery of
//! [`super::gram`]). Memory is O(units²) per group;
//! the number of groups is capped so that all Gram matrices together stay within
//! `GRAM_BUDGET` bytes. Group sums are added in group order, so the result does not depend on
//! the thread count. A single series is one group: when its steps split across threads
//! (`Reservoir::splits`), both threads fold each chunk together between segments; otherwise,
//! with two or more threads and at least [`PIPE_MIN_UNITS`] units, its chunks are folded on a
//! second thread while the reservoir produces the next ones. The normal equations are then
//! solved by Cholesky. A fit with far fewer rows than units ([`super::dual`]) keeps its chunks
//! instead and solves the dual form, O(rows²) rather than O(units²).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::Reservoir;
use super::dual::{dual_pays, solve_dual};
use super::gram::{CHUNK_ROWS, Chunk, GRAM_BUDGET, Sums, check_alpha, solve_ridge};
use super::reservoir::{StateSink, check_targets};
use crate::float::check_finite;
use crate::network::Sequences;
use crate::{Float, Result, RnnError, par};

/// Groups of a batch fitted side by side, each folding its own Gram matrix. Fewer than the
/// runs' `MAX_GROUPS`: a Gram matrix per group costs its memory, its page faults and a final
/// sum, and wider groups keep each row's indices in L1 across more columns. 500 sequences
/// through 300 units on two threads: 56 ms with 8 groups of 64, 62 ms with 16 of 32, 81 ms
/// with 32 of 16; after the block product learned to fill two registers per non-zero, 8 groups
/// of 64 and 16 of 32 measured the same (114 ms for the whole fit, medians of five), and the
/// fewer Gram matrices win. (It also caps a ridge fit at 8 threads.)
const RIDGE_MAX_GROUPS: usize = 8;

/// Fewest units for which a single series (not split across threads) folds its Gram chunks on
/// a second thread: below, a chunk's products take about as long as handing it over. Measured
/// on two cores, 10,000 steps (`esn_fit_ridge` alone): 32 units 1.08 ms inline against 1.26
/// piped, 64 units 2.16 against 1.91, 100 units 3.9 against 3.0, 150 units 10.2 against 7.9.
const PIPE_MIN_UNITS: usize = 64;

/// Chunks in flight between a piped series and its folding thread. With two, the loop and the
/// folder took turns, each often asleep waiting for the other (at 100 units a chunk takes about
/// as long to fill as to fold); more let each run on while the other is briefly behind.
const PIPE_CHUNKS: usize = 4;

/// A fitted ridge readout, in `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct RidgeFit<T> {
    /// `(outputs, units)`, row-major.
    pub coef: Vec<f64>,
    /// `(outputs,)`.
    pub intercept: Vec<f64>,
    /// `(batch, units)`: each sequence's state after its last step.
    pub last: Vec<T>,
    /// Number of time steps the readout was fitted on (after washout).
    pub n_samples: usize,
}

/// Where a group's full chunks go.
enum Folder {
    /// Folded on the thread that runs the group.
    Inline(Sums),
    /// Sent to a folding thread, which sends the emptied buffer back: the reservoir loop of a
    /// single long series and the `XᵀX` products then run side by side on two cores. Chunks
    /// are folded in order, by the same operations, so the sums are identical either way.
    Piped {
        full: SyncSender<Chunk>,
        empty: Receiver<Chunk>,
    },
    /// Kept, in order, for the dual form ([`super::dual`]).
    Keep(Vec<Chunk>),
}

/// The state sink of one group: fills chunks and hands them to its [`Folder`].
struct Gram<'a, T> {
    targets: &'a [T],
    outputs: usize,
    steps: usize,
    washout: usize,
    chunk: Chunk,
    folder: Folder,
}

impl<T: Float> Gram<'_, T> {
    fn flush(&mut self) {
        if self.chunk.rows == 0 {
            return;
        }
        match &mut self.folder {
            Folder::Inline(sums) => sums.fold(&self.chunk),
            Folder::Piped { full, empty } => {
                // Both calls fail only if the folding thread panicked, which joining it reports.
                let spare = empty.recv().unwrap_or_else(|_| self.chunk.emptied());
                let chunk = std::mem::replace(&mut self.chunk, spare);
                let _ = full.send(chunk);
            }
            Folder::Keep(kept) => {
                let spare = self.chunk.emptied();
                kept.push(std::mem::replace(&mut self.chunk, spare));
            }
        }
        self.chunk.rows = 0;
    }
}

impl<T: Float> StateSink<T> for Gram<'_, T> {
    fn push(&mut self, _c: usize, seq: usize, t: usize, state: &[T]) {
        if t < self.washout {
            return;
        }
        let o = self.outputs;
        let start = (seq * self.steps + t) * o;
        if self.chunk.push(state, &self.targets[start..start + o]) {
            self.flush();
        }
    }

    fn push_block(&mut self, members: &[usize], t: usize, block: &[T], stride: usize, _: &mut [T]) {
        if t < self.washout {
            return;
        }
        let (o, steps, targets) = (self.outputs, self.steps, self.targets);
        let mut done = 0;
        // Chunks hold CHUNK_ROWS rows exactly, as when the rows are pushed one by one.
        while done < members.len() {
            let part = &members[done..];
            let target = |c: usize| &targets[(part[c] * steps + t) * o..][..o];
            done += self
                .chunk
                .push_columns(block, stride, done..members.len(), target);
            if self.chunk.rows == CHUNK_ROWS {
                self.flush();
            }
        }
    }
}

/// The next chunk, polled for a while before sleeping: the next one is usually a few
/// microseconds away, and a thread that sleeps and is woken for every chunk costs two context
/// switches each time (13% of a 100-unit fit).
fn receive_soon(chunks: &Receiver<Chunk>) -> Option<Chunk> {
    const POLLS: u32 = 2000;
    for _ in 0..POLLS {
        match chunks.try_recv() {
            Ok(chunk) => return Some(chunk),
            Err(std::sync::mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => return None,
        }
    }
    chunks.recv().ok()
}

fn inline(width: usize, outputs: usize) -> Folder {
    Folder::Inline(Sums::new(width, outputs))
}

/// Flushes every group's last chunk and returns the sums folded inline, in group order (a
/// piped sink's sums come from its folding thread).
fn finish<T: Float>(sinks: Vec<Gram<'_, T>>) -> Vec<Sums> {
    sinks
        .into_iter()
        .filter_map(|mut g| {
            g.flush();
            match g.folder {
                Folder::Inline(sums) => Some(sums),
                Folder::Piped { .. } | Folder::Keep(_) => None,
            }
        })
        .collect()
}

/// Every group's kept chunks, its last partial one included, in group order.
fn kept<T: Float>(sinks: Vec<Gram<'_, T>>) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    for g in sinks {
        if let Folder::Keep(kept) = g.folder {
            chunks.extend(kept);
        }
        if g.chunk.rows > 0 {
            chunks.push(g.chunk);
        }
    }
    chunks
}

/// Runs the reservoir over `seqs` from `h0` and fits `targets` (`(batch, steps, outputs)`) on
/// the states after `washout` steps of each sequence, with penalty `alpha` on the coefficients
/// (not on the intercept).
#[allow(clippy::too_many_arguments)] // one call carries the whole fit across the binding
pub fn fit_ridge<T: Float>(
    reservoir: &Reservoir<T>,
    seqs: &Sequences<T>,
    h0: Option<&[T]>,
    targets: &[T],
    outputs: usize,
    washout: usize,
    alpha: f64,
    threads: usize,
) -> Result<RidgeFit<T>> {
    check_targets(seqs, targets, outputs)?;
    check_alpha(alpha)?;
    let n = reservoir.units();
    let width = n + 1;
    let gram = |folder| Gram {
        targets,
        outputs,
        steps: seqs.steps,
        washout,
        chunk: Chunk::new(width, outputs),
        folder,
    };
    let nothing_left = || {
        RnnError::param(
            "washout",
            format!("{washout} discards every time step: nothing is left to fit"),
        )
    };
    let rows = match seqs.lengths {
        Some(lengths) => lengths.iter().map(|&l| l.saturating_sub(washout)).sum(),
        None => seqs.batch * seqs.steps.saturating_sub(washout),
    };
    // A series split across threads runs its steps on both, then folds each chunk on both.
    let split = reservoir.splits(seqs.batch, Some(seqs.steps), threads);
    let (fit, last) = if dual_pays(rows, n, alpha) {
        let (sinks, last) = reservoir.drive(seqs, h0, RIDGE_MAX_GROUPS, threads, |_| {
            gram(Folder::Keep(Vec::new()))
        })?;
        let fit = solve_dual(kept(sinks), width, outputs, alpha, threads, nothing_left)?;
        (fit, last)
    } else if !split && seqs.batch == 1 && threads > 1 && n >= PIPE_MIN_UNITS {
        std::thread::scope(|scope| {
            let (full, chunks) = sync_channel::<Chunk>(PIPE_CHUNKS);
            let (spares, empty) = sync_channel::<Chunk>(PIPE_CHUNKS);
            for _ in 1..PIPE_CHUNKS {
                spares
                    .send(Chunk::new(width, outputs))
                    .expect("the receiver is alive");
            }
            let folding = scope.spawn(move || {
                let mut sums = Sums::new(width, outputs);
                while let Some(mut chunk) = receive_soon(&chunks) {
                    sums.fold(&chunk);
                    chunk.rows = 0;
                    // The loop may have finished and dropped `empty`: nothing to give back to.
                    let _ = spares.send(chunk);
                }
                sums
            });
            // One sequence makes one group, hence one sink, which takes the channel.
            let mut folder = Some(Folder::Piped { full, empty });
            let run = reservoir.drive(seqs, h0, 1, 1, |_| {
                gram(folder.take().unwrap_or_else(|| inline(width, outputs)))
            });
            // A batch rejected before any sink was made leaves the channel here: close it too.
            drop(folder);
            let run = run.map(|(sinks, last)| (finish(sinks), last));
            // The sinks are gone, and with them the channel: the folding thread has ended.
            let folded = folding
                .join()
                .map_err(|_| RnnError::param("threads", "the Gram folding thread panicked"))?;
            let (mut sums, last) = run?;
            sums.push(folded);
            let fit = solve_ridge(sums, width, outputs, alpha, nothing_left)?;
            Ok::<_, RnnError>((fit, last))
        })?
    } else {
        let max_groups = (GRAM_BUDGET / (width * width * 8)).clamp(1, RIDGE_MAX_GROUPS);
        let (sinks, last) = reservoir.drive(seqs, h0, max_groups, threads, |_| {
            gram(Folder::Inline(Sums::new(width, outputs).parallel(split)))
        })?;
        let fit = solve_ridge(finish(sinks), width, outputs, alpha, nothing_left)?;
        (fit, last)
    };
    Ok(RidgeFit {
        coef: fit.coef,
        intercept: fit.intercept,
        last,
        n_samples: fit.n_samples,
    })
}

/// Ridge regression of `targets` (`rows × outputs`, row-major) on the rows of `features`
/// (`rows × n`) with an unpenalised intercept and penalty `alpha` on the coefficients, on at
/// most `threads` threads: the readout of features computed elsewhere (the classifier's
/// pooled states), solved as [`fit_ridge`] solves a reservoir's (the normal equations, or the
/// dual form for far fewer rows than features). Returns `coef` (`outputs × n`, row-major) and
/// `intercept` (`outputs`).
///
/// ```
/// // y = 2 a - b + 1 on four rows of two features.
/// let features = [0.0, 1.0, 1.0, 0.0, 2.0, 1.0, 3.0, 3.0];
/// let targets = [0.0, 3.0, 4.0, 4.0];
/// let (coef, intercept) = rnnfast_core::esn::ridge_on_rows(&features, &targets, 2, 1, 0.0, 1).unwrap();
/// assert!((coef[0] - 2.0).abs() < 1e-9 && (coef[1] + 1.0).abs() < 1e-9);
/// assert!((intercept[0] - 1.0).abs() < 1e-9);
/// ```
pub fn ridge_on_rows(
    features: &[f64],
    targets: &[f64],
    n: usize,
    outputs: usize,
    alpha: f64,
    threads: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    check_alpha(alpha)?;
    if n == 0 || outputs == 0 || features.is_empty() {
        return Err(RnnError::shape(
            "features",
            "at least one row, one feature and one output",
            format!(
                "{} values of {n} features, {outputs} outputs",
                features.len()
            ),
        ));
    }
    let rows = features.len() / n;
    crate::error::expect_len("features (rows × features)", rows * n, features.len())?;
    crate::error::expect_len("targets (rows × outputs)", rows * outputs, targets.len())?;
    check_finite("features", features)?;
    check_finite("targets", targets)?;
    let width = n + 1;
    // The rows in chunks: all kept for the dual form, folded one chunk at a time otherwise.
    let mut rows_in_chunks = features.chunks_exact(n).zip(targets.chunks_exact(outputs));
    let mut fill = |chunk: &mut Chunk| {
        chunk.rows = 0;
        for (row, target) in rows_in_chunks.by_ref() {
            if chunk.push(row, target) {
                break;
            }
        }
        chunk.rows > 0
    };
    let none = || RnnError::shape("features", "at least one row", "none");
    let fit = if dual_pays(rows, n, alpha) {
        let mut chunks = Vec::new();
        let mut chunk = Chunk::new(width, outputs);
        while fill(&mut chunk) {
            let spare = chunk.emptied();
            chunks.push(std::mem::replace(&mut chunk, spare));
        }
        solve_dual(chunks, width, outputs, alpha, threads, none)?
    } else {
        let sums = par::install(threads, || {
            let mut sums = Sums::new(width, outputs).parallel(threads > 1);
            let mut chunk = Chunk::new(width, outputs);
            while fill(&mut chunk) {
                sums.fold(&chunk);
            }
            sums
        })?;
        solve_ridge([sums], width, outputs, alpha, none)?
    };
    Ok((fit.coef, fit.intercept))
}
