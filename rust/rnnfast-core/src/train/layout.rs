//! Where each parameter lives in the flat vector training works on.
//!
//! Training treats all parameters as one vector so that optimizers, clipping and the reduction
//! of gradients across threads are single loops. The order is PyTorch's `state_dict` order of
//! the recurrent layers (per layer and direction: `weight_ih`, `weight_hh`, `bias_ih`,
//! `bias_hh`), then the linear head (`weight` `(outputs, directions·hidden)`, `bias`).

use std::ops::Range;

use super::ModelSpec;

/// Offsets of one layer-direction's tensors; the biases are empty ranges without bias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetRanges {
    pub w_ih: Range<usize>,
    pub w_hh: Range<usize>,
    pub b_ih: Range<usize>,
    pub b_hh: Range<usize>,
}

/// One layer-direction's tensors, borrowed from a flat vector.
pub struct SetSlices<'a, T> {
    pub w_ih: &'a [T],
    pub w_hh: &'a [T],
    pub b_ih: &'a [T],
    pub b_hh: &'a [T],
}

/// One layer-direction's tensors, borrowed mutably (gradients accumulate into them).
pub struct SetSlicesMut<'a, T> {
    pub w_ih: &'a mut [T],
    pub w_hh: &'a mut [T],
    pub b_ih: &'a mut [T],
    pub b_hh: &'a mut [T],
}

/// The flat layout of a recurrent network plus its linear head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub sets: Vec<SetRanges>,
    pub head_weight: Range<usize>,
    pub head_bias: Range<usize>,
}

impl Layout {
    /// The layout of `spec`'s parameters.
    pub fn new(spec: &ModelSpec) -> Self {
        let mut at = 0;
        let mut take = |len: usize| {
            at += len;
            at - len..at
        };
        let mut sets = Vec::new();
        for layer in 0..spec.layers() {
            let cfg = spec.layer(layer);
            let rows = cfg.gate_rows();
            let bias = if cfg.bias { rows } else { 0 };
            for _ in 0..spec.directions() {
                sets.push(SetRanges {
                    w_ih: take(rows * cfg.input_size),
                    w_hh: take(rows * cfg.hidden_size),
                    b_ih: take(bias),
                    b_hh: take(bias),
                });
            }
        }
        let head_weight = take(spec.outputs * spec.output_width());
        let head_bias = take(spec.outputs);
        Self {
            sets,
            head_weight,
            head_bias,
        }
    }

    /// Length of the flat vector.
    pub fn len(&self) -> usize {
        self.head_bias.end
    }

    /// Whether the layout is empty (never, for a valid configuration).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ranges that hold weights rather than biases: what the L2 penalty and weight decay
    /// act on.
    pub fn weight_ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.sets
            .iter()
            .flat_map(|s| [s.w_ih.clone(), s.w_hh.clone()])
            .chain(std::iter::once(self.head_weight.clone()))
    }

    /// Layer-direction `index`'s tensors in `flat`.
    pub fn set<'a, T>(&self, flat: &'a [T], index: usize) -> SetSlices<'a, T> {
        let r = &self.sets[index];
        SetSlices {
            w_ih: &flat[r.w_ih.clone()],
            w_hh: &flat[r.w_hh.clone()],
            b_ih: &flat[r.b_ih.clone()],
            b_hh: &flat[r.b_hh.clone()],
        }
    }

    /// Layer-direction `index`'s tensors in `flat`, mutably. The four ranges are consecutive.
    pub fn set_mut<'a, T>(&self, flat: &'a mut [T], index: usize) -> SetSlicesMut<'a, T> {
        let r = &self.sets[index];
        let block = &mut flat[r.w_ih.start..r.b_hh.end];
        let (w_ih, rest) = block.split_at_mut(r.w_ih.len());
        let (w_hh, rest) = rest.split_at_mut(r.w_hh.len());
        let (b_ih, b_hh) = rest.split_at_mut(r.b_ih.len());
        SetSlicesMut {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CellKind;
    use crate::train::{Loss, Target};

    #[test]
    fn ranges_tile_the_vector_in_pytorch_order() {
        let spec = ModelSpec {
            cell: CellKind::Gru,
            input_size: 3,
            hidden_sizes: vec![4, 2],
            bidirectional: true,
            bias: true,
            outputs: 5,
            target: Target::LastStep,
            loss: Loss::SquaredError,
        };
        let layout = Layout::new(&spec);
        let mut end = 0;
        for s in &layout.sets {
            for r in [&s.w_ih, &s.w_hh, &s.b_ih, &s.b_hh] {
                assert_eq!(r.start, end);
                end = r.end;
            }
        }
        assert_eq!(layout.sets[0].w_ih.len(), 12 * 3);
        assert_eq!(layout.sets[2].w_ih.len(), 6 * 8);
        assert_eq!(layout.sets[2].w_hh.len(), 6 * 2);
        assert_eq!(layout.head_weight, end..end + 5 * 4);
        assert_eq!(layout.len(), end + 5 * 4 + 5);
        assert_eq!(layout.weight_ranges().count(), 9);
    }
}
