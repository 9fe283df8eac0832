//! The ridge readout, accumulated in `f64` while the states are produced.
//!
//! States never exist all at once: each group copies its post-washout states (plus a constant 1
//! for the intercept) into a chunk of at most [`CHUNK_ROWS`] rows and folds the chunk into
//! `XᵀX` (lower triangle only) and `XᵀY` with one GEMM each. Memory is O(units²) per group;
//! the number of groups is capped so that all Gram matrices together stay within
//! [`GRAM_BUDGET`] bytes. Group sums are added in group order, so the result does not depend on
//! the thread count. A single series is one group, so with two or more threads and at least
//! [`PIPE_MIN_UNITS`] units its chunks are folded on a second thread while the reservoir
//! produces the next ones. The normal equations
//! are then solved by Cholesky.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::Reservoir;
use super::reservoir::{MAX_GROUPS, StateSink, check_targets, scatter_columns};
use crate::network::Sequences;
use crate::{Float, Result, RnnError};

/// Rows of states folded into the Gram matrix at once.
const CHUNK_ROWS: usize = 256;

/// Fewest units for which a single series folds its Gram chunks on a second thread: below, a
/// chunk's products take less time than handing it over (measured: 100 units slower, 300 no
/// faster, 1000 units 30% faster on two cores).
const PIPE_MIN_UNITS: usize = 512;

/// Bytes all groups' Gram matrices may take together.
const GRAM_BUDGET: usize = 64 << 20;

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

/// A chunk of rows: post-washout states with a trailing 1, and their targets.
struct Chunk {
    x: Vec<f64>,
    y: Vec<f64>,
    rows: usize,
}

impl Chunk {
    fn new(width: usize, outputs: usize) -> Self {
        Self {
            x: vec![0.0; CHUNK_ROWS * width],
            y: vec![0.0; CHUNK_ROWS * outputs],
            rows: 0,
        }
    }
}

/// The running sums `XᵀX` (lower triangle) and `XᵀY`, `X` having a trailing column of ones.
struct Sums {
    width: usize,
    outputs: usize,
    count: usize,
    xtx: Vec<f64>,
    xty: Vec<f64>,
    /// Fold the two blocks of `XᵀX` on two threads of the current pool.
    parallel: bool,
}

impl Sums {
    fn new(width: usize, outputs: usize, parallel: bool) -> Self {
        Self {
            width,
            outputs,
            count: 0,
            xtx: vec![0.0; width * width],
            xty: vec![0.0; width * outputs],
            parallel,
        }
    }

    /// Adds a chunk's rows. The lower triangle of `XᵀX` is cut into two blocks of about equal
    /// work, the triangle of its first `width / √2` rows and the rows below it, each one
    /// product whether or not they run side by side: the sums then have the same bits with one
    /// thread or two.
    fn fold(&mut self, chunk: &Chunk) {
        let (w, o, r) = (self.width, self.outputs, chunk.rows);
        if r == 0 {
            return;
        }
        let x = MatRef::from_row_major_slice(&chunk.x[..r * w], r, w);
        let y = MatRef::from_row_major_slice(&chunk.y[..r * o], r, o);
        let cut = (w as f64 / std::f64::consts::SQRT_2) as usize;
        let (top, bottom) = self.xtx.split_at_mut(cut * w);
        let xty = &mut self.xty;
        let mut first = move || {
            let dst = MatMut::from_row_major_slice_mut(top, cut, w).subcols_mut(0, cut);
            lower_gram(dst, x.subcols(0, cut));
        };
        let mut rest = move || {
            let below = MatMut::from_row_major_slice_mut(bottom, w - cut, w);
            let (left, right) = below.split_at_col_mut(cut);
            let lead = x.subcols(cut, w - cut);
            matmul(
                left,
                Accum::Add,
                lead.transpose(),
                x.subcols(0, cut),
                1.0,
                Par::Seq,
            );
            lower_gram(right, lead);
            let dst = MatMut::from_row_major_slice_mut(xty, w, o);
            matmul(dst, Accum::Add, x.transpose(), y, 1.0, Par::Seq);
        };
        if self.parallel {
            rayon::join(first, rest);
        } else {
            first();
            rest();
        }
        self.count += r;
    }
}

/// `dst += xᵀx`, lower triangle only (`dst` square).
fn lower_gram(dst: MatMut<'_, f64>, x: MatRef<'_, f64>) {
    triangular::matmul(
        dst,
        BlockStructure::TriangularLower,
        Accum::Add,
        x.transpose(),
        BlockStructure::Rectangular,
        x,
        BlockStructure::Rectangular,
        1.0,
        Par::Seq,
    );
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
}

/// The state sink of one group: fills chunks and hands them to its [`Folder`].
struct Gram<'a, T> {
    targets: &'a [T],
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
                let spare = empty.recv().unwrap_or_else(|_| Chunk {
                    x: vec![0.0; self.chunk.x.len()],
                    y: vec![0.0; self.chunk.y.len()],
                    rows: 0,
                });
                let chunk = std::mem::replace(&mut self.chunk, spare);
                let _ = full.send(chunk);
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
        let w = state.len() + 1;
        let r = self.chunk.rows;
        let xr = &mut self.chunk.x[r * w..(r + 1) * w];
        xr.iter_mut().zip(state).for_each(|(d, &s)| *d = s.to_f64());
        xr[w - 1] = 1.0;
        self.copy_target(r, seq, t);
        self.advance(1);
    }

    fn push_block(&mut self, members: &[usize], t: usize, block: &[T], stride: usize, _: &mut [T]) {
        if t < self.washout {
            return;
        }
        let w = block.len() / stride + 1;
        let mut done = 0;
        // Chunks hold CHUNK_ROWS rows exactly, as when the rows are pushed one by one.
        while done < members.len() {
            let (r, part) = (self.chunk.rows, &members[done..]);
            let take = part.len().min(CHUNK_ROWS - r);
            let x = &mut self.chunk.x;
            scatter_columns(&block[done..], stride, take, |c, i, v| {
                x[(r + c) * w + i] = v.to_f64();
            });
            for (c, &seq) in part[..take].iter().enumerate() {
                self.chunk.x[(r + c) * w + w - 1] = 1.0;
                self.copy_target(r + c, seq, t);
            }
            done += take;
            self.advance(take);
        }
    }
}

impl<T: Float> Gram<'_, T> {
    /// Copies the targets of `seq` at step `t` into row `r` of the chunk.
    fn copy_target(&mut self, r: usize, seq: usize, t: usize) {
        let o = self.chunk.y.len() / CHUNK_ROWS;
        let start = (seq * self.steps + t) * o;
        self.chunk.y[r * o..(r + 1) * o]
            .iter_mut()
            .zip(&self.targets[start..start + o])
            .for_each(|(d, &s)| *d = s.to_f64());
    }

    /// Counts `rows` more rows, folding the chunk once it is full.
    fn advance(&mut self, rows: usize) {
        self.chunk.rows += rows;
        if self.chunk.rows == CHUNK_ROWS {
            self.flush();
        }
    }
}

fn inline(width: usize, outputs: usize) -> Folder {
    Folder::Inline(Sums::new(width, outputs, false))
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
                Folder::Piped { .. } => None,
            }
        })
        .collect()
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
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(RnnError::param(
            "alpha",
            format!("must be finite and >= 0, got {alpha}"),
        ));
    }
    let n = reservoir.units();
    let width = n + 1;
    let gram = |folder| Gram {
        targets,
        steps: seqs.steps,
        washout,
        chunk: Chunk::new(width, outputs),
        folder,
    };
    let (sums, last) = if reservoir.splits(seqs.batch, Some(seqs.steps), threads) {
        // Both threads run the reservoir's steps, then fold each chunk together.
        let folder = Folder::Inline(Sums::new(width, outputs, true));
        let mut folder = Some(folder);
        let (sinks, last) = reservoir.drive(seqs, h0, 1, threads, |_| {
            gram(folder.take().unwrap_or_else(|| inline(width, outputs)))
        })?;
        (finish(sinks), last)
    } else if seqs.batch == 1 && threads > 1 && n >= PIPE_MIN_UNITS {
        std::thread::scope(|scope| {
            let (full, chunks) = sync_channel::<Chunk>(1);
            let (spares, empty) = sync_channel::<Chunk>(2);
            spares
                .send(Chunk::new(width, outputs))
                .expect("the receiver is alive");
            let folding = scope.spawn(move || {
                let mut sums = Sums::new(width, outputs, false);
                for mut chunk in chunks {
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
            Ok::<_, RnnError>((sums, last))
        })?
    } else {
        let max_groups = (GRAM_BUDGET / (width * width * 8)).clamp(1, MAX_GROUPS);
        let (sinks, last) = reservoir.drive(seqs, h0, max_groups, threads, |_| {
            gram(inline(width, outputs))
        })?;
        (finish(sinks), last)
    };
    // The first group's sums become the total (no extra O(units²) buffer), then the others
    // are added in group order.
    let mut groups = sums.into_iter();
    let mut total = groups
        .next()
        .unwrap_or_else(|| Sums::new(width, outputs, false));
    for g in groups {
        total.xtx.iter_mut().zip(&g.xtx).for_each(|(a, b)| *a += b);
        total.xty.iter_mut().zip(&g.xty).for_each(|(a, b)| *a += b);
        total.count += g.count;
    }
    let Sums {
        xtx, xty, count, ..
    } = total;
    if count == 0 {
        return Err(RnnError::param(
            "washout",
            format!("{washout} discards every time step: nothing is left to fit"),
        ));
    }
    let solution = solve_normal_equations(xtx, &xty, width, outputs, alpha)?;
    let coef = (0..outputs)
        .flat_map(|k| solution.col(k).iter().take(n).copied().collect::<Vec<_>>())
        .collect();
    let intercept = (0..outputs).map(|k| solution[(n, k)]).collect();
    Ok(RidgeFit {
        coef,
        intercept,
        last,
        n_samples: count,
    })
}

/// Solves `(XᵀX + alpha·I') B = XᵀY` by Cholesky, `I'` sparing the last (intercept) row.
/// `xtx` holds the lower triangle only; it is freed once copied into the full matrix.
fn solve_normal_equations(
    xtx: Vec<f64>,
    xty: &[f64],
    width: usize,
    outputs: usize,
    alpha: f64,
) -> Result<Mat<f64>> {
    let a = Mat::<f64>::from_fn(width, width, |i, j| {
        let (r, c) = if i >= j { (i, j) } else { (j, i) };
        xtx[r * width + c] + if i == j && i + 1 < width { alpha } else { 0.0 }
    });
    // Only the matrix and its factor need to coexist (at 2000 units each is 32 MB).
    drop(xtx);
    let mut b = Mat::<f64>::from_fn(width, outputs, |i, k| xty[i * outputs + k]);
    let llt = a.llt(Side::Lower).map_err(|_| {
        RnnError::param(
            "alpha",
            format!("the state covariance is singular with alpha={alpha}; increase alpha"),
        )
    })?;
    drop(a);
    llt.solve_in_place(b.as_mut());
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_equations_recover_an_exact_fit() {
        // X = [[1, 1], [2, 1], [3, 1]] (last column: intercept), y = 2 x + 1.
        let rows = [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]];
        let y = [3.0, 5.0, 7.0];
        let mut xtx = vec![0.0; 4];
        let mut xty = vec![0.0; 2];
        for (r, &t) in rows.iter().zip(&y) {
            for i in 0..2 {
                xty[i] += r[i] * t;
                for j in 0..=i {
                    xtx[i * 2 + j] += r[i] * r[j];
                }
            }
        }
        let b = solve_normal_equations(xtx, &xty, 2, 1, 0.0).unwrap();
        assert!((b[(0, 0)] - 2.0).abs() < 1e-12);
        assert!((b[(1, 0)] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn singular_system_asks_for_alpha() {
        let err = solve_normal_equations(vec![0.0; 4], &[0.0; 2], 2, 1, 0.0).unwrap_err();
        assert!(err.to_string().contains("alpha"));
    }
}
