//! Gradients against central finite differences in f64, truncation against windowed full BPTT,
//! thread-count invariance, and a smoke test that training lowers the loss.

use super::*;
use crate::network::InitialState;
use crate::{CellKind, Network};

const CELLS: [CellKind; 4] = [
    CellKind::RnnTanh,
    CellKind::RnnRelu,
    CellKind::Lstm,
    CellKind::Gru,
];

/// A deterministic pseudo-random sequence in `[-scale, scale]`.
fn values(len: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * scale
        })
        .collect()
}

struct Case {
    spec: ModelSpec,
    params: Vec<f64>,
    x: Vec<f64>,
    targets: Vec<f64>,
    lengths: Vec<usize>,
    steps: usize,
}

impl Case {
    fn new(cell: CellKind, layers: usize, bidirectional: bool, target: Target, loss: Loss) -> Self {
        let spec = ModelSpec {
            cell,
            input_size: 2,
            hidden_sizes: vec![3; layers],
            bidirectional,
            bias: true,
            outputs: 2,
            target,
            loss,
        };
        let lengths = vec![5, 2, 4];
        let steps = 5;
        let n = lengths.len();
        let params = values(spec.layout().unwrap().len(), 1, 0.6);
        let x = values(n * steps * 2, 2, 1.0);
        let rows = match target {
            Target::LastStep => n,
            Target::EveryStep => n * steps,
        };
        let targets = match loss {
            Loss::SquaredError => values(rows * 2, 3, 1.0),
            // Soft targets exercise the general form of the gradients.
            _ => values(rows * 2, 3, 0.5).iter().map(|v| v + 0.5).collect(),
        };
        Self {
            spec,
            params,
            x,
            targets,
            lengths,
            steps,
        }
    }

    fn data(&self) -> Dataset<'_, f64> {
        Dataset {
            x: &self.x,
            targets: &self.targets,
            lengths: Some(&self.lengths),
            n: self.lengths.len(),
            steps: self.steps,
        }
    }

    fn grads(
        &self,
        params: &[f64],
        x: &[f64],
        h0: Option<&[f64]>,
        opts: GradientOptions,
    ) -> Gradients<f64> {
        let data = Dataset { x, ..self.data() };
        let init = InitialState { h0, c0: None };
        loss_and_gradient(&self.spec, params, &data, &init, &opts, 1).unwrap()
    }
}

const FULL: GradientOptions = GradientOptions {
    alpha: 0.0,
    bptt_steps: None,
};

/// Compares `analytic` with central differences of `loss` at each coordinate of `point`: the
/// relative error of the whole vector, `‖num - ana‖ / (‖num‖ + ‖ana‖)`, must be below 1e-6,
/// and every coordinate within 1e-8 (a coordinate's own relative error is meaningless where the
/// gradient is ~1e-6 and the differences carry ~1e-10 of rounding).
fn check(what: &str, point: &[f64], analytic: &[f64], loss: impl Fn(&[f64]) -> f64) {
    let eps = 1e-6;
    let numeric: Vec<f64> = (0..point.len())
        .map(|k| {
            let mut p = point.to_vec();
            p[k] += eps;
            let up = loss(&p);
            p[k] -= 2.0 * eps;
            (up - loss(&p)) / (2.0 * eps)
        })
        .collect();
    let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
    let diff = norm(&mut numeric.iter().zip(analytic).map(|(a, b)| a - b));
    let scale = norm(&mut numeric.iter().copied()) + norm(&mut analytic.iter().copied());
    assert!(
        scale > 0.0,
        "{what}: the gradient is zero, the check would prove nothing"
    );
    assert!(
        diff / scale < 1e-6,
        "{what}: relative error {}",
        diff / scale
    );
    for (k, (n, a)) in numeric.iter().zip(analytic).enumerate() {
        assert!(
            (n - a).abs() < 1e-8,
            "{what}[{k}]: numeric {n}, analytic {a}"
        );
    }
}

#[test]
fn parameter_gradients_match_finite_differences() {
    for cell in CELLS {
        for (layers, bidi) in [(1, false), (2, true)] {
            for target in [Target::LastStep, Target::EveryStep] {
                let case = Case::new(cell, layers, bidi, target, Loss::SquaredError);
                let g = case.grads(&case.params, &case.x, None, FULL);
                let what = format!("{cell:?} layers={layers} bidi={bidi} {target:?}");
                check(&what, &case.params, &g.params, |p| {
                    case.grads(p, &case.x, None, FULL).loss
                });
            }
        }
    }
}

#[test]
fn layers_of_different_widths_and_no_bias_match_finite_differences() {
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let mut case = Case::new(cell, 2, true, Target::LastStep, Loss::SquaredError);
        case.spec.hidden_sizes = vec![4, 2];
        case.spec.bias = false;
        case.params = values(case.spec.layout().unwrap().len(), 9, 0.6);
        let h0 = values(case.spec.state_len(3), 4, 0.5);
        let g = case.grads(&case.params, &case.x, Some(&h0), FULL);
        check(&format!("{cell:?} params"), &case.params, &g.params, |p| {
            case.grads(p, &case.x, Some(&h0), FULL).loss
        });
        check(&format!("{cell:?} h0"), &h0, &g.h0, |h| {
            case.grads(&case.params, &case.x, Some(h), FULL).loss
        });
    }
}

#[test]
fn input_and_initial_state_gradients_match_finite_differences() {
    for cell in [CellKind::Gru, CellKind::RnnTanh] {
        let case = Case::new(cell, 2, true, Target::EveryStep, Loss::SquaredError);
        let h0 = values(case.spec.state_len(3), 4, 0.5);
        let g = case.grads(&case.params, &case.x, Some(&h0), FULL);
        // Padding is never read, so its gradient is zero and only real steps are checked.
        let loss_x = |x: &[f64]| case.grads(&case.params, x, Some(&h0), FULL).loss;
        check(
            &format!("{cell:?} input"),
            &case.x[..10],
            &g.input[..10],
            |head| {
                let mut x = case.x.clone();
                x[..10].copy_from_slice(head);
                loss_x(&x)
            },
        );
        // Sequence 1 is 2 steps long: the gradient of its padding is exactly zero.
        assert!(g.input[5 * 2 + 2 * 2..2 * 5 * 2].iter().all(|&v| v == 0.0));
        check(&format!("{cell:?} h0"), &h0, &g.h0, |h| {
            case.grads(&case.params, &case.x, Some(h), FULL).loss
        });
    }
}

#[test]
fn lstm_cell_state_gradient_matches_finite_differences() {
    let case = Case::new(
        CellKind::Lstm,
        1,
        false,
        Target::LastStep,
        Loss::SquaredError,
    );
    let c0 = values(case.spec.state_len(3), 5, 0.5);
    let data = case.data();
    let grads = |c: &[f64]| {
        let init = InitialState {
            h0: None,
            c0: Some(c),
        };
        loss_and_gradient(&case.spec, &case.params, &data, &init, &FULL, 1).unwrap()
    };
    check("c0", &c0, &grads(&c0).c0, |c| grads(c).loss);
}

#[test]
fn classification_losses_and_l2_penalty_match_finite_differences() {
    for loss in [Loss::SoftmaxCrossEntropy, Loss::SigmoidCrossEntropy] {
        let case = Case::new(CellKind::Lstm, 1, false, Target::EveryStep, loss);
        let opts = GradientOptions {
            alpha: 0.3,
            bptt_steps: None,
        };
        let g = case.grads(&case.params, &case.x, None, opts);
        check(&format!("{loss:?}"), &case.params, &g.params, |p| {
            case.grads(p, &case.x, None, opts).loss
        });
    }
}

/// Truncated BPTT equals full BPTT run window by window from the state the engine reaches at
/// each window's start, held constant, with each window's mean weighted by its share of steps.
#[test]
fn truncated_gradient_is_the_sum_of_windowed_full_gradients() {
    for cell in CELLS {
        let mut case = Case::new(cell, 2, false, Target::EveryStep, Loss::SquaredError);
        case.lengths = vec![5, 5, 5];
        let k = 2;
        let truncated = GradientOptions {
            alpha: 0.0,
            bptt_steps: Some(k),
        };
        let got = case.grads(&case.params, &case.x, None, truncated);
        let net = network_of(&case);
        let (n, f, o) = (3, 2, 2);
        let mut want = vec![0.0; got.params.len()];
        let mut loss = 0.0;
        for t0 in (0..case.steps).step_by(k) {
            let w = k.min(case.steps - t0);
            let slice = |v: &[f64], width: usize, from: usize, len: usize| -> Vec<f64> {
                (0..n)
                    .flat_map(|b| v[(b * case.steps + from) * width..][..len * width].to_vec())
                    .collect()
            };
            let (h0, c0) = if t0 == 0 {
                (None, None)
            } else {
                let prefix = slice(&case.x, f, 0, t0);
                let seqs = crate::network::Sequences {
                    data: &prefix,
                    batch: n,
                    steps: t0,
                    lengths: None,
                };
                let r = net
                    .forward_with_threads(&seqs, &InitialState::default(), 1)
                    .unwrap();
                (Some(r.h_n), (!r.c_n.is_empty()).then_some(r.c_n))
            };
            let x = slice(&case.x, f, t0, w);
            let targets = slice(&case.targets, o, t0, w);
            let data = Dataset {
                x: &x,
                targets: &targets,
                lengths: None,
                n,
                steps: w,
            };
            let init = InitialState {
                h0: h0.as_deref(),
                c0: c0.as_deref(),
            };
            let g = loss_and_gradient(&case.spec, &case.params, &data, &init, &FULL, 1).unwrap();
            let share = w as f64 / case.steps as f64;
            loss += g.loss * share;
            want.iter_mut()
                .zip(&g.params)
                .for_each(|(a, b)| *a += b * share);
        }
        assert!((got.loss - loss).abs() < 1e-12, "{cell:?} loss");
        for (a, b) in got.params.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12, "{cell:?}: {a} vs {b}");
        }
    }
}

/// The inference engine with the case's recurrent weights.
fn network_of(case: &Case) -> Network<f64> {
    let layout = case.spec.layout().unwrap();
    let sets = (0..layout.sets.len())
        .map(|i| {
            let s = layout.set(&case.params, i);
            crate::LayerWeights {
                w_ih: s.w_ih.to_vec(),
                w_hh: s.w_hh.to_vec(),
                b_ih: s.b_ih.to_vec(),
                b_hh: s.b_hh.to_vec(),
            }
        })
        .collect();
    let spec = &case.spec;
    let config = NetworkConfig {
        num_layers: spec.layers(),
        ..spec.layer(0)
    };
    Network::new(config, sets).unwrap()
}

#[test]
fn training_forward_matches_the_inference_engine() {
    // With a zero head bias and an identity-like head, the squared error of every-step targets
    // set to zero is half the sum of squared outputs: compare it with the engine's output.
    for cell in CELLS {
        let mut case = Case::new(cell, 2, true, Target::EveryStep, Loss::SquaredError);
        let layout = case.spec.layout().unwrap();
        let width = 6;
        case.spec.outputs = width;
        let layout_wide = case.spec.layout().unwrap();
        let mut params = case.params[..layout.head_weight.start].to_vec();
        params.extend((0..width * width).map(|i| if i % (width + 1) == 0 { 1.0 } else { 0.0 }));
        params.extend(vec![0.0; width]);
        assert_eq!(params.len(), layout_wide.len());
        case.targets = vec![0.0; 3 * case.steps * width];
        let g = case.grads(&params, &case.x, None, FULL);
        let seqs = crate::network::Sequences {
            data: &case.x,
            batch: 3,
            steps: case.steps,
            lengths: Some(&case.lengths),
        };
        case.params = params;
        let out = network_of(&case)
            .forward_with_threads(&seqs, &InitialState::default(), 1)
            .unwrap()
            .output;
        let steps: usize = case.lengths.iter().sum();
        let want = 0.5 * out.iter().map(|v| v * v).sum::<f64>() / steps as f64;
        assert!(
            (g.loss - want).abs() < 1e-12,
            "{cell:?}: {} vs {want}",
            g.loss
        );
    }
}

#[test]
fn gradients_do_not_depend_on_the_thread_count() {
    let mut case = Case::new(
        CellKind::Lstm,
        1,
        false,
        Target::LastStep,
        Loss::SquaredError,
    );
    let n = 40;
    case.lengths = (0..n).map(|b| 1 + b % 5).collect();
    case.x = values(n * case.steps * 2, 7, 1.0);
    case.targets = values(n * 2, 8, 1.0);
    let data = case.data();
    let run = |threads| {
        loss_and_gradient(
            &case.spec,
            &case.params,
            &data,
            &InitialState::default(),
            &FULL,
            threads,
        )
        .unwrap()
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

#[test]
fn adam_training_lowers_the_loss() {
    let case = Case::new(
        CellKind::Gru,
        1,
        false,
        Target::EveryStep,
        Loss::SquaredError,
    );
    let mut params = case.params.clone();
    let (mut first, mut second) = (vec![0.0; params.len()], vec![0.0; params.len()]);
    let mut state = OptimizerState {
        step: 0,
        first: &mut first,
        second: &mut second,
    };
    let options = TrainOptions {
        batch_size: 2,
        learning_rate: 0.02,
        clip_norm: Some(5.0),
        optimizer: Optimizer::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
        },
        gradient: FULL,
    };
    let data = case.data();
    let epoch = |params: &mut [f64], state: &mut OptimizerState<'_, f64>| {
        train_epoch(&case.spec, params, state, &data, &[2, 0, 1], &options, 1).unwrap()
    };
    let first_epoch = epoch(&mut params, &mut state);
    assert_eq!(first_epoch.updates, 2);
    let mut last = first_epoch;
    for _ in 0..200 {
        last = epoch(&mut params, &mut state);
    }
    assert_eq!(state.step, 402);
    assert!(
        last.loss < 0.5 * first_epoch.loss,
        "{last:?} vs {first_epoch:?}"
    );
}

#[test]
fn bad_arguments_are_errors() {
    let case = Case::new(
        CellKind::Lstm,
        1,
        true,
        Target::LastStep,
        Loss::SquaredError,
    );
    let data = case.data();
    let init = InitialState::default();
    let truncated = GradientOptions {
        alpha: 0.0,
        bptt_steps: Some(2),
    };
    let run = |params: &[f64], data: &Dataset<'_, f64>, opts: &GradientOptions| {
        loss_and_gradient(&case.spec, params, data, &init, opts, 1)
    };
    assert!(
        run(&case.params, &data, &truncated).is_err(),
        "bidirectional + bptt_steps"
    );
    assert!(
        run(&case.params[1..], &data, &FULL).is_err(),
        "parameter count"
    );
    let short = Dataset {
        targets: &case.targets[1..],
        ..data
    };
    assert!(run(&case.params, &short, &FULL).is_err(), "target count");
    let mut nan = case.targets.clone();
    nan[0] = f64::NAN;
    let with_nan = Dataset {
        targets: &nan,
        ..data
    };
    assert!(matches!(
        run(&case.params, &with_nan, &FULL),
        Err(crate::RnnError::NonFinite { .. })
    ));
}
