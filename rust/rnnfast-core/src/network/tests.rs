//! Network-level properties: ragged batches equal sequences run alone, thread counts do not
//! change results, and every bad argument is an error rather than a panic.

use super::*;

const CELLS: [CellKind; 4] = [
    CellKind::RnnTanh,
    CellKind::RnnRelu,
    CellKind::Lstm,
    CellKind::Gru,
];

fn values(len: usize, seed: usize) -> Vec<f64> {
    (0..len)
        .map(|i| (((i * 7919 + seed * 104_729) % 1000) as f64 / 1000.0 - 0.5) * 0.8)
        .collect()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    let err = got
        .iter()
        .zip(want)
        .map(|(a, w)| (a - w).abs())
        .fold(0.0, f64::max);
    assert!(err <= tol, "max abs error {err:e} > {tol:e}");
}

fn network(cell: CellKind, layers: usize, bidirectional: bool, bias: bool) -> Network<f64> {
    network_sized(cell, layers, bidirectional, bias, 5)
}

fn network_sized(
    cell: CellKind,
    layers: usize,
    bidirectional: bool,
    bias: bool,
    hidden_size: usize,
) -> Network<f64> {
    let config = NetworkConfig {
        cell,
        input_size: 3,
        hidden_size,
        num_layers: layers,
        bidirectional,
        bias,
    };
    let rows = config.gate_rows();
    let weights = (0..layers * config.directions())
        .map(|i| LayerWeights {
            w_ih: values(
                rows * config.layer_input_size(i / config.directions()),
                4 * i,
            ),
            w_hh: values(rows * config.hidden_size, 4 * i + 1),
            b_ih: if bias {
                values(rows, 4 * i + 2)
            } else {
                vec![]
            },
            b_hh: if bias {
                values(rows, 4 * i + 3)
            } else {
                vec![]
            },
        })
        .collect();
    Network::new(config, weights).expect("valid network")
}

fn run(
    net: &Network<f64>,
    x: &[f64],
    batch: usize,
    steps: usize,
    lengths: Option<&[usize]>,
) -> Forward<f64> {
    let seqs = Sequences {
        data: x,
        batch,
        steps,
        lengths,
    };
    let h0 = values(net.config().state_len(batch), 99);
    let c0 = values(net.config().state_len(batch), 98);
    let init = InitialState {
        h0: Some(&h0),
        c0: net.config().cell.has_cell_state().then_some(&c0[..]),
    };
    net.forward_with_threads(&seqs, &init, 1).expect("forward")
}

#[test]
fn ragged_batch_equals_each_sequence_alone() {
    let (steps, lengths) = (6, [4usize, 6, 1, 3]);
    let batch = lengths.len();
    for cell in CELLS {
        for (layers, bidi, bias) in [(1, false, true), (2, true, true), (3, true, false)] {
            let net = network(cell, layers, bidi, bias);
            let (hidden, dirs) = (5, net.config().directions());
            let x = values(batch * steps * 3, 7);
            let all = run(&net, &x, batch, steps, Some(&lengths));
            for (b, &len) in lengths.iter().enumerate() {
                let xb = &x[b * steps * 3..(b * steps + len) * 3];
                // The initial state of sequence b inside the batch, as a batch of one.
                let pick = |s: &[f64]| -> Vec<f64> {
                    (0..layers * dirs)
                        .flat_map(|k| {
                            s[(k * batch + b) * hidden..(k * batch + b + 1) * hidden].to_vec()
                        })
                        .collect()
                };
                let h0 = pick(&values(net.config().state_len(batch), 99));
                let c0 = pick(&values(net.config().state_len(batch), 98));
                let init = InitialState {
                    h0: Some(&h0),
                    c0: cell.has_cell_state().then_some(&c0[..]),
                };
                let seqs = Sequences {
                    data: xb,
                    batch: 1,
                    steps: len,
                    lengths: None,
                };
                let alone = net.forward_with_threads(&seqs, &init, 1).expect("forward");
                let width = dirs * hidden;
                for t in 0..steps {
                    let got = &all.output[(b * steps + t) * width..(b * steps + t + 1) * width];
                    if t < len {
                        let want = &alone.output[t * width..(t + 1) * width];
                        let err = got
                            .iter()
                            .zip(want)
                            .map(|(a, w)| (a - w).abs())
                            .fold(0.0, f64::max);
                        assert!(err < 1e-14, "{cell:?} seq {b} step {t}: {err}");
                    } else {
                        assert!(got.iter().all(|&v| v == 0.0), "padding must be zero");
                    }
                }
                // A product's rounding depends on its row count, so a sequence run alone may
                // differ from the same sequence in a batch in the last bits.
                assert_close(&pick(&all.h_n), &alone.h_n, 1e-14);
                if cell.has_cell_state() {
                    assert_close(&pick(&all.c_n), &alone.c_n, 1e-14);
                }
            }
        }
    }
}

#[test]
fn thread_count_does_not_change_results() {
    for cell in CELLS {
        let net = network(cell, 2, true, true);
        let (batch, steps) = (77, 50);
        let lengths: Vec<usize> = (0..batch).map(|b| 1 + (b * 13) % steps).collect();
        let x = values(batch * steps * 3, 3);
        let seqs = Sequences {
            data: &x,
            batch,
            steps,
            lengths: Some(&lengths),
        };
        let one = net.forward_with_threads(&seqs, &InitialState::default(), 1);
        for threads in [2, 3, 8] {
            let many = net.forward_with_threads(&seqs, &InitialState::default(), threads);
            assert_eq!(one, many, "{cell:?} with {threads} threads");
        }
    }
}

#[test]
fn kept_inner_outputs_do_not_change_results() {
    // A call leaves its inner layers' outputs to the next one: a smaller ragged batch written
    // over a larger batch's values must equal the same call on a fresh copy (nothing kept).
    let net = in_precision::<f32>(&network_sized(CellKind::Lstm, 3, true, true, 20));
    let (steps, lengths) = (9, [9usize, 2, 5]);
    let big = narrow::<f32>(&values(8 * steps * 3, 5));
    let small = narrow::<f32>(&values(lengths.len() * steps * 3, 6));
    for threads in [1, 2] {
        let init = InitialState::default();
        let seqs = |data, batch, lengths| Sequences {
            data,
            batch,
            steps,
            lengths,
        };
        let fresh = net.clone();
        net.forward_with_threads(&seqs(&big, 8, None), &init, threads)
            .expect("forward");
        let ragged = seqs(&small, lengths.len(), Some(&lengths[..]));
        let reused = net.forward_with_threads(&ragged, &init, threads);
        assert_eq!(reused, fresh.forward_with_threads(&ragged, &init, threads));
    }
}

#[test]
fn split_recurrences_match_one_thread_bit_for_bit() {
    // 187 hidden units: two uneven parts (96, 91); batch 1 and a small ragged batch with an initial
    // state take the split path on several threads. In f32 on AVX-512 one thread runs the whole
    // layer's fused step (`cells::fused`) and each part the fused step of its own units; f64 and
    // the Elman cells keep the plain products and updates on both paths. All must agree bit for
    // bit.
    for cell in CELLS {
        for bias in [true, false] {
            let net = network_sized(cell, 2, false, bias, 187);
            assert!(!net.split_parts(1).is_empty());
            split_matches_one_thread(&net);
            split_matches_one_thread(&in_precision::<f32>(&net));
        }
    }
}

/// One thread against two and three, on batch 1 and a small ragged batch.
fn split_matches_one_thread<T: Float>(net: &Network<T>) {
    let cell = net.config.cell;
    for (batch, lengths) in [(1, vec![300]), (3, vec![120, 300, 7])] {
        let steps = 300;
        let x = narrow::<T>(&values(batch * steps * 3, 5));
        let h0 = narrow::<T>(&values(net.config.state_len(batch), 6));
        let c0 = narrow::<T>(&values(net.config.state_len(batch), 7));
        let seqs = Sequences {
            data: &x,
            batch,
            steps,
            lengths: Some(&lengths),
        };
        let init = InitialState {
            h0: Some(&h0),
            c0: cell.has_cell_state().then_some(c0.as_slice()),
        };
        let one = net.forward_with_threads(&seqs, &init, 1).unwrap();
        for threads in [2, 3] {
            let many = net.forward_with_threads(&seqs, &init, threads).unwrap();
            assert_eq!(
                one,
                many,
                "{cell:?} {} batch {batch}, {threads} threads",
                T::NAME
            );
        }
    }
}

/// `values` rounded to `T`.
fn narrow<T: Float>(values: &[f64]) -> Vec<T> {
    values.iter().map(|&v| T::from_f64(v)).collect()
}

/// `net` with its weights rounded to `T`.
fn in_precision<T: Float>(net: &Network<f64>) -> Network<T> {
    let layers = net
        .layers()
        .iter()
        .map(|w| LayerWeights {
            w_ih: narrow(&w.w_ih),
            w_hh: narrow(&w.w_hh),
            b_ih: narrow(&w.b_ih),
            b_hh: narrow(&w.b_hh),
        })
        .collect();
    Network::new(*net.config(), layers).expect("valid network")
}

#[test]
fn bad_calls_are_errors() {
    let net = network(CellKind::Gru, 1, false, true);
    let x = values(2 * 4 * 3, 1);
    let call = |data: &[f64],
                batch,
                steps,
                lengths: Option<&[usize]>,
                h0: Option<&[f64]>,
                c0: Option<&[f64]>| {
        let seqs = Sequences {
            data,
            batch,
            steps,
            lengths,
        };
        net.forward(&seqs, &InitialState { h0, c0 })
    };
    assert!(matches!(
        call(&[], 0, 4, None, None, None),
        Err(RnnError::Shape { .. })
    ));
    assert!(matches!(
        call(&x, 2, 0, None, None, None),
        Err(RnnError::Shape { .. })
    ));
    assert!(matches!(
        call(&x[1..], 2, 4, None, None, None),
        Err(RnnError::Shape { .. })
    ));
    assert!(matches!(
        call(&x, 2, 4, Some(&[4]), None, None),
        Err(RnnError::Shape { .. })
    ));
    assert!(matches!(
        call(&x, 2, 4, Some(&[4, 0]), None, None),
        Err(RnnError::Shape { .. })
    ));
    assert!(matches!(
        call(&x, 2, 4, Some(&[5, 1]), None, None),
        Err(RnnError::Shape { .. })
    ));
    assert!(matches!(
        call(&x, 2, 4, None, Some(&[0.0; 3]), None),
        Err(RnnError::Shape { .. })
    ));
    let c0 = [0.0; 10];
    assert!(matches!(
        call(&x, 2, 4, None, None, Some(&c0)),
        Err(RnnError::InvalidParameter { .. })
    ));
    let mut bad = x.clone();
    bad[5] = f64::NAN;
    assert!(matches!(
        call(&bad, 2, 4, None, None, None),
        Err(RnnError::NonFinite { index: 5, .. })
    ));
    // NaN in padding is never read, so it is accepted.
    let mut padded = x.clone();
    padded[4 * 3 + 3 * 3] = f64::NAN;
    assert!(call(&padded, 2, 4, Some(&[4, 3]), None, None).is_ok());
}

#[test]
fn bad_weights_are_errors() {
    let good = network(CellKind::Lstm, 1, false, true);
    let mut w = good.layers().to_vec();
    w[0].w_hh.pop();
    assert!(matches!(
        Network::new(*good.config(), w),
        Err(RnnError::Shape { .. })
    ));
    let mut w = good.layers().to_vec();
    w[0].b_ih[0] = f64::INFINITY;
    assert!(matches!(
        Network::new(*good.config(), w),
        Err(RnnError::NonFinite { .. })
    ));
    let zero = NetworkConfig {
        hidden_size: 0,
        ..*good.config()
    };
    assert!(matches!(
        Network::<f64>::new(zero, vec![]),
        Err(RnnError::InvalidParameter { .. })
    ));
}

#[test]
fn outputs_written_with_streaming_stores_equal_plain_ones() {
    // 8 sequences of 3300 steps, hidden 5 in both directions, f64: a 2.1 MB output, written
    // with non-temporal stores; each sequence alone (26 KB) is written with plain ones. Rows
    // of 40 bytes start at both 8-byte offsets modulo 16, so both edges of the aligned part of
    // a write are exercised.
    let (batch, steps, width) = (8, 3300, 10);
    assert!(batch * steps * width * size_of::<f64>() >= STREAM_MIN_BYTES);
    let net = network(CellKind::Lstm, 1, true, true);
    let x = values(batch * steps * 3, 5);
    let none = InitialState { h0: None, c0: None };
    for threads in [1, 2] {
        let seqs = Sequences {
            data: &x,
            batch,
            steps,
            lengths: None,
        };
        let all = net
            .forward_with_threads(&seqs, &none, threads)
            .expect("forward");
        for b in 0..batch {
            let one = Sequences {
                data: &x[b * steps * 3..(b + 1) * steps * 3],
                batch: 1,
                steps,
                lengths: None,
            };
            let alone = net.forward_with_threads(&one, &none, 1).expect("forward");
            let rows = &all.output[b * steps * width..(b + 1) * steps * width];
            assert_eq!(rows, &alone.output[..], "sequence {b}, {threads} threads");
        }
    }
}
