//! Streaming: a unidirectional network run one time step at a time, its state kept between
//! calls.
//!
//! A step runs, layer by layer, the same two packed products and cell epilogue as a full
//! forward pass ([`crate::network::recurrent_step`]), so `n` steps give the same bits as one
//! forward call over those `n` steps. Scratch is allocated once, when the state is created: a
//! step allocates nothing.

use crate::error::expect_len;
use crate::float::check_finite;
use crate::network::{RowsState, recurrent_step};
use crate::{Float, Network, Result, RnnError};

/// The recurrent state of a batch of streams, plus the scratch their steps need.
#[derive(Clone, Debug)]
pub struct StreamState<T> {
    batch: usize,
    /// `(layers, batch, hidden)`.
    h: Vec<T>,
    /// Same shape as `h` for LSTM, else empty.
    c: Vec<T>,
    /// `batch × gates`: the input projections of the current layer.
    xp: Vec<T>,
    /// `batch × gates`: the recurrent product.
    rec: Vec<T>,
    /// Same shape as `h`: the step's new state, which then swaps with `h`.
    h_next: Vec<T>,
}

impl<T: Float> StreamState<T> {
    /// Sequences stepped together.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Hidden states, `(layers, batch, hidden)`.
    pub fn h(&self) -> &[T] {
        &self.h
    }

    /// Cell states (LSTM), `(layers, batch, hidden)`; empty for other cells.
    pub fn c(&self) -> &[T] {
        &self.c
    }

    /// Zeroes the state: the next step starts a new sequence.
    pub fn reset(&mut self) {
        self.h.fill(T::default());
        self.c.fill(T::default());
    }

    /// Replaces the state; `c` must be given for LSTM and only for LSTM (`None` otherwise).
    pub fn set(&mut self, h: &[T], c: Option<&[T]>) -> Result<()> {
        expect_len("hidden state", self.h.len(), h.len())?;
        check_finite("hidden state", h)?;
        match (c, self.c.is_empty()) {
            (Some(c), false) => {
                expect_len("cell state", self.c.len(), c.len())?;
                check_finite("cell state", c)?;
                self.c.copy_from_slice(c);
            }
            (None, true) => {}
            (Some(_), true) => {
                return Err(RnnError::param("state", "this network has no cell state"));
            }
            (None, false) => {
                return Err(RnnError::param("state", "an LSTM state needs (h, c)"));
            }
        }
        self.h.copy_from_slice(h);
        Ok(())
    }
}

impl<T: Float> Network<T> {
    /// A zero state for `batch` streams; refused for bidirectional networks, whose backward
    /// direction needs the whole sequence before its first output.
    pub fn stream_state(&self, batch: usize) -> Result<StreamState<T>> {
        let cfg = self.config();
        if cfg.bidirectional {
            return Err(RnnError::param(
                "stream",
                "a bidirectional network cannot run step by step (its backward direction reads \
                 the sequence from the end)",
            ));
        }
        if batch == 0 {
            return Err(RnnError::param("batch_size", "must be at least 1"));
        }
        let h = vec![T::default(); cfg.state_len(batch)];
        let c = if cfg.cell.has_cell_state() {
            h.clone()
        } else {
            Vec::new()
        };
        let scratch = vec![T::default(); batch * cfg.gate_rows()];
        Ok(StreamState {
            batch,
            h,
            c,
            xp: scratch.clone(),
            rec: scratch,
            h_next: vec![T::default(); cfg.state_len(batch)],
        })
    }

    /// One time step: `x` is `(batch, input_size)`; the last layer's new hidden state,
    /// `(batch, hidden)`, is written to `out`. On error the state is left unchanged.
    pub fn step(&self, state: &mut StreamState<T>, x: &[T], out: &mut [T]) -> Result<()> {
        let cfg = self.config();
        let batch = state.batch;
        expect_len("input", batch * cfg.input_size, x.len())?;
        expect_len("out", batch * cfg.hidden_size, out.len())?;
        check_finite("input", x)?;
        let width = batch * cfg.hidden_size;
        for layer in 0..cfg.num_layers {
            let units = layer * width..(layer + 1) * width;
            // Layer `layer` reads its old state from `h` and writes the new one to `h_next`,
            // where the layer above finds it as input.
            let (below, rest) = state.h_next.split_at_mut(layer * width);
            let input = if layer == 0 {
                x
            } else {
                &below[(layer - 1) * width..]
            };
            let packed = &self.packed_layers()[layer];
            packed.input.product(&mut state.xp, input, batch);
            let c = if state.c.is_empty() {
                &mut [][..]
            } else {
                &mut state.c[units.clone()]
            };
            let b_hh = &self.layers()[layer].b_hh;
            let rows = RowsState {
                h: &state.h[units],
                h_next: &mut rest[..width],
                c,
            };
            recurrent_step(cfg.cell, packed, b_hh, &state.xp, &mut state.rec, rows);
        }
        std::mem::swap(&mut state.h, &mut state.h_next);
        out.copy_from_slice(&state.h[(cfg.num_layers - 1) * width..]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::network::{InitialState, Sequences};
    use crate::{CellKind, LayerWeights, Network, NetworkConfig};

    fn network(cell: CellKind, layers: usize) -> Network<f32> {
        let (input, hidden) = (5, 19);
        let config = NetworkConfig {
            cell,
            input_size: input,
            hidden_size: hidden,
            num_layers: layers,
            bidirectional: false,
            bias: true,
        };
        let rows = config.gate_rows();
        let value = |i: usize, seed: usize| ((i * 7 + seed * 13) as f32 * 0.37).sin() * 0.4;
        let weights = (0..layers)
            .map(|l| {
                let cols = config.layer_input_size(l);
                LayerWeights {
                    w_ih: (0..rows * cols).map(|i| value(i, 4 * l)).collect(),
                    w_hh: (0..rows * hidden).map(|i| value(i, 4 * l + 1)).collect(),
                    b_ih: (0..rows).map(|i| value(i, 4 * l + 2)).collect(),
                    b_hh: (0..rows).map(|i| value(i, 4 * l + 3)).collect(),
                }
            })
            .collect();
        Network::new(config, weights).unwrap()
    }

    #[test]
    fn steps_reproduce_a_forward_pass_bit_for_bit() {
        for cell in [
            CellKind::RnnTanh,
            CellKind::RnnRelu,
            CellKind::Lstm,
            CellKind::Gru,
        ] {
            for batch in [1, 3] {
                let net = network(cell, 2);
                let (steps, input, hidden) = (9, 5, 19);
                let x: Vec<f32> = (0..batch * steps * input)
                    .map(|i| (i as f32 * 0.91).cos())
                    .collect();
                let seqs = Sequences {
                    data: &x,
                    batch,
                    steps,
                    lengths: None,
                };
                let full = net
                    .forward_with_threads(&seqs, &InitialState::default(), 1)
                    .unwrap();
                let mut state = net.stream_state(batch).unwrap();
                let mut out = vec![0.0; batch * hidden];
                let mut x_t = vec![0.0; batch * input];
                for t in 0..steps {
                    for b in 0..batch {
                        let at = (b * steps + t) * input;
                        x_t[b * input..(b + 1) * input].copy_from_slice(&x[at..at + input]);
                    }
                    net.step(&mut state, &x_t, &mut out).unwrap();
                    for b in 0..batch {
                        let at = (b * steps + t) * hidden;
                        let want = &full.output[at..at + hidden];
                        assert_eq!(&out[b * hidden..(b + 1) * hidden], want, "{cell:?} t={t}");
                    }
                }
                assert_eq!(state.h(), full.h_n.as_slice());
                assert_eq!(state.c(), full.c_n.as_slice());
            }
        }
    }

    #[test]
    fn bad_calls_are_refused_and_leave_the_state_alone() {
        let net = network(CellKind::Lstm, 1);
        let mut state = net.stream_state(2).unwrap();
        let mut out = vec![0.0; 2 * 19];
        assert!(net.step(&mut state, &[0.0; 9], &mut out).is_err());
        let mut x = vec![0.5; 10];
        x[3] = f32::NAN;
        assert!(net.step(&mut state, &x, &mut out).is_err());
        assert!(state.h().iter().all(|&v| v == 0.0));
        assert!(state.set(&[0.0; 38], None).is_err());
        assert!(state.set(&[0.0; 38], Some(&[0.0; 38])).is_ok());
        assert!(net.stream_state(0).is_err());
    }
}
