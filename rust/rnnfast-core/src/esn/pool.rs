//! Sequence features for classification: each sequence's states averaged while they are
//! produced, so a batch needs O(batch × units) memory, not O(batch × steps × units).

use super::Reservoir;
use super::reservoir::MAX_GROUPS;
use super::reservoir::{StateSink, scatter_columns};
use crate::network::Sequences;
use crate::par::written_zeros;
use crate::{Float, Result, RnnError};

/// What [`pool_states`] returns, both `(batch, units)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pooled<T> {
    /// The mean of each sequence's states after `washout` steps.
    pub mean: Vec<T>,
    /// Each sequence's state after its last step.
    pub last: Vec<T>,
}

/// Running `f64` sums of one group's members, `(members, units)`.
struct Sums {
    washout: usize,
    units: usize,
    sums: Vec<f64>,
}

impl<T: Float> StateSink<T> for Sums {
    fn push(&mut self, c: usize, _seq: usize, t: usize, state: &[T]) {
        if t < self.washout {
            return;
        }
        let row = &mut self.sums[c * self.units..(c + 1) * self.units];
        row.iter_mut()
            .zip(state)
            .for_each(|(s, &v)| *s += v.to_f64());
    }

    fn push_block(&mut self, members: &[usize], t: usize, block: &[T], stride: usize, _: &mut [T]) {
        if t < self.washout {
            return;
        }
        let (units, sums) = (self.units, &mut self.sums);
        scatter_columns(block, stride, 0..members.len(), |c, i, v| {
            sums[c * units + i] += v.to_f64();
        });
    }
}

/// Runs every sequence of `seqs` from the zero state and returns the mean of its states after
/// `washout` steps (summed in `f64`) and its last state. Every sequence must be longer than
/// `washout`.
pub fn pool_states<T: Float>(
    reservoir: &Reservoir<T>,
    seqs: &Sequences<T>,
    washout: usize,
    threads: usize,
) -> Result<Pooled<T>> {
    let lengths = seqs.checked_lengths(reservoir.features())?;
    if let Some(&shortest) = lengths.iter().min()
        && shortest <= washout
    {
        return Err(RnnError::param(
            "washout",
            format!("{washout} leaves a sequence of {shortest} steps with no state to pool"),
        ));
    }
    let n = reservoir.units();
    let mut groups = Vec::new();
    let (sinks, last) = reservoir.drive(seqs, None, MAX_GROUPS, threads, |members| {
        groups.push(members.to_vec());
        Sums {
            washout,
            units: n,
            sums: written_zeros(members.len() * n),
        }
    })?;
    let mut mean = vec![T::from_f64(0.0); seqs.batch * n];
    for (members, sink) in groups.iter().zip(&sinks) {
        for (&b, sums) in members.iter().zip(sink.sums.chunks_exact(n)) {
            let count = (lengths[b] - washout) as f64;
            mean[b * n..(b + 1) * n]
                .iter_mut()
                .zip(sums)
                .for_each(|(m, &s)| *m = T::from_f64(s / count));
        }
    }
    Ok(Pooled { mean, last })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esn::{Activation, Csr};

    #[test]
    fn means_match_the_stored_states() {
        let w = Csr::new(3, 3, &[0, 1, 2, 3], &[1, 2, 0], &[0.5, -0.4, 0.9]).unwrap();
        let (w_in, bias) = ([0.3, -0.2, 0.7], [0.1, 0.0, -0.1]);
        let res = Reservoir::new(&w, &w_in, 1, &bias, 0.6, Activation::Tanh).unwrap();
        let data: Vec<f64> = (0..40).map(|i| (i as f64 * 0.3).sin()).collect();
        let lengths = [10, 7, 3, 1];
        let seqs = Sequences {
            data: &data,
            batch: 4,
            steps: 10,
            lengths: Some(&lengths[..]),
        };
        // washout 1 leaves the 1-step sequence nothing to average.
        assert!(pool_states(&res, &seqs, 1, 1).is_err());
        let seqs = Sequences {
            lengths: Some(&[10, 7, 3, 2][..]),
            ..seqs
        };
        let states = res.run(&seqs, None, None, 1).unwrap();
        for threads in [1, 2] {
            let pooled = pool_states(&res, &seqs, 1, threads).unwrap();
            assert_eq!(pooled.last, states.last);
            for (b, len) in [10, 7, 3, 2].into_iter().enumerate() {
                for i in 0..3 {
                    let want: f64 = (1..len)
                        .map(|t| states.values[(b * 10 + t) * 3 + i])
                        .sum::<f64>()
                        / (len - 1) as f64;
                    assert!((pooled.mean[b * 3 + i] - want).abs() < 1e-12);
                }
            }
        }
    }
}
