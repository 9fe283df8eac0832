use super::*;
use crate::esn::fit_ridge;

/// A 5-unit reservoir with a few connections, 2 features.
fn weights() -> (Csr<f64>, Vec<f64>, Vec<f64>) {
    let w = Csr::new(
        5,
        5,
        &[0, 2, 3, 5, 6, 7],
        &[1, 4, 0, 2, 3, 4, 0],
        &[0.5, -0.3, 0.8, 0.2, -0.7, 0.4, 0.6],
    )
    .unwrap();
    let w_in: Vec<f64> = (0..10).map(|i| ((i * 7) % 5) as f64 * 0.2 - 0.4).collect();
    let bias: Vec<f64> = (0..5).map(|i| i as f64 * 0.05 - 0.1).collect();
    (w, w_in, bias)
}

/// `batch` sequences of `steps` steps (`lengths` each when given) over `data`.
fn sequences<'a, T>(
    data: &'a [T],
    batch: usize,
    steps: usize,
    lengths: Option<&'a [usize]>,
) -> Sequences<'a, T> {
    Sequences {
        data,
        batch,
        steps,
        lengths,
    }
}

fn inputs(batch: usize, steps: usize) -> Vec<f64> {
    (0..batch * steps * 2)
        .map(|i| (i as f64 * 0.37).sin())
        .collect()
}

/// The update written out with a dense matrix, one sequence at a time.
fn naive(w: &Csr<f64>, w_in: &[f64], bias: &[f64], leak: f64, u: &[f64], len: usize) -> Vec<f64> {
    let dense = w.to_dense_f64();
    let mut x = vec![0.0; 5];
    let mut out = Vec::new();
    for t in 0..len {
        let pre: Vec<f64> = (0..5)
            .map(|i| {
                let rec: f64 = (0..5).map(|j| dense[i * 5 + j] * x[j]).sum();
                let inp: f64 = (0..2).map(|k| w_in[i * 2 + k] * u[t * 2 + k]).sum();
                (rec + inp + bias[i]).tanh()
            })
            .collect();
        for i in 0..5 {
            x[i] = (1.0 - leak) * x[i] + leak * pre[i];
        }
        out.extend_from_slice(&x);
    }
    out
}

#[test]
fn ragged_batch_matches_the_naive_loop_for_any_thread_count() {
    let (w, w_in, bias) = weights();
    let res = Reservoir::new(&w, &w_in, 2, &bias, 0.3, Activation::Tanh).unwrap();
    // 40 sequences: groups of 2; 300: groups of 16, the last of 12; 680: 21 groups of 32 and
    // one of 8. As ragged sequences finish, the readout inside the loop sees two full registers
    // of 16 lanes, one full and one partial, and a partial one alone.
    for (batch, steps) in [(40, 9), (300, 7), (680, 6)] {
        ragged_batch_case(&res, (&w, &w_in, &bias), batch, steps);
    }
}

fn ragged_batch_case(
    res: &Reservoir<'_, f64>,
    (w, w_in, bias): (&Csr<f64>, &[f64], &[f64]),
    batch: usize,
    steps: usize,
) {
    let data = inputs(batch, steps);
    let lengths: Vec<usize> = (0..batch).map(|b| 1 + (b * 5) % steps).collect();
    let seqs = sequences(&data, batch, steps, Some(&lengths));
    let one = res.run(&seqs, None, None, 1).unwrap();
    let two = res.run(&seqs, None, None, 2).unwrap();
    assert_eq!(one, two);
    // The readout applied inside the loop (to blocks of sequences) gives the readout of the
    // states, on every step a sequence runs.
    let (coef, intercept) = readout_weights(3);
    let readout = Readout {
        coef: &coef,
        intercept: &intercept,
    };
    let outputs = res.run(&seqs, None, Some(&readout), 2).unwrap().values;
    assert_readout_of_states(&one.values, &outputs, &readout, |row| {
        row % steps < lengths[row / steps]
    });
    for b in 0..batch {
        let len = lengths[b];
        let want = naive(w, w_in, bias, 0.3, &data[b * steps * 2..], len);
        let got = &one.values[b * steps * 5..(b * steps + len) * 5];
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "sequence {b}: {g} vs {w}");
        }
        assert_eq!(&one.last[b * 5..(b + 1) * 5], &got[(len - 1) * 5..]);
        assert!(
            one.values[(b * steps + len) * 5..(b + 1) * steps * 5]
                .iter()
                .all(|&v| v == 0.0)
        );
    }
}

#[test]
fn ridge_recovers_a_readout_of_the_states() {
    // Three equal sequences (a group each), then 24 ragged ones: groups of three (a ridge fit
    // makes at most 8 groups), whose blocks of rows straddle the Gram chunks' boundaries.
    let (w, w_in, bias) = weights();
    let res = Reservoir::new(&w, &w_in, 2, &bias, 0.5, Activation::Tanh).unwrap();
    for (batch, steps, ragged) in [(3, 400, false), (24, 400, true)] {
        let data = inputs(batch, steps);
        let lengths: Vec<usize> = (0..batch).map(|b| 20 + (b * 37) % 380).collect();
        let seqs = sequences(&data, batch, steps, ragged.then_some(&lengths[..]));
        let states = res.run(&seqs, None, None, 1).unwrap().values;
        let coef = [0.5, -1.0, 2.0, 0.25, -0.75];
        let targets: Vec<f64> = states
            .chunks_exact(5)
            .map(|s| 0.3 + s.iter().zip(&coef).map(|(a, b)| a * b).sum::<f64>())
            .collect();
        let fit = fit_ridge(&res, &seqs, None, &targets, 1, 10, 0.0, 2).unwrap();
        let rows: usize = if ragged {
            lengths.iter().map(|&l| l - 10).sum()
        } else {
            batch * (steps - 10)
        };
        assert_eq!(fit.n_samples, rows);
        assert_eq!(
            fit,
            fit_ridge(&res, &seqs, None, &targets, 1, 10, 0.0, 1).unwrap()
        );
        for (g, w) in fit.coef.iter().zip(&coef) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
        assert!((fit.intercept[0] - 0.3).abs() < 1e-6);
        let readout_coef: Vec<f64> = fit.coef.clone();
        let readout = Readout {
            coef: &readout_coef,
            intercept: &fit.intercept,
        };
        let predicted = res.run(&seqs, None, Some(&readout), 1).unwrap().values;
        for (p, t) in predicted.iter().zip(&targets) {
            // Padding steps of short sequences are zero in both.
            assert!((p - t).abs() < 1e-6 || *p == 0.0);
        }
    }
}

/// A reservoir of 600 units, `per_row` connections each: large enough for the piped Gram fold
/// (6 connections), or for a step split across threads (60).
fn large_weights<T: Float>(per_row: usize) -> (Csr<T>, Vec<T>, Vec<T>) {
    let n = 600;
    let mut rng = crate::rng::SplitMix64::new(11, 0);
    let mut draw = |scale: f64| T::from_f64(scale * rng.symmetric_unit());
    let indptr: Vec<i64> = (0..=n).map(|i| (per_row * i) as i64).collect();
    let indices: Vec<i64> = (0..per_row * n)
        .map(|k| ((k * 7919 + k / per_row) % n) as i64)
        .collect();
    let values: Vec<T> = (0..per_row * n)
        .map(|_| draw(1.5 / per_row as f64))
        .collect();
    let w = Csr::new(n, n, &indptr, &indices, &values).unwrap();
    let w_in = (0..2 * n).map(|_| draw(1.0)).collect();
    (w, w_in, vec![T::from_f64(0.0); n])
}

#[test]
fn single_series_fit_is_identical_with_a_folding_thread() {
    // Two threads fold the Gram chunks of one series on a second thread: same sums, same bits.
    let (w, w_in, bias) = large_weights::<f64>(6);
    let res = Reservoir::new(&w, &w_in, 2, &bias, 0.5, Activation::Tanh).unwrap();
    assert!(!res.splits(1, Some(700), 2));
    let steps = 700;
    let data = inputs(1, steps);
    let seqs = sequences(&data, 1, steps, None);
    let targets: Vec<f64> = (0..steps).map(|t| (t as f64 * 0.05).cos()).collect();
    let one = fit_ridge(&res, &seqs, None, &targets, 1, 20, 1e-3, 1).unwrap();
    let two = fit_ridge(&res, &seqs, None, &targets, 1, 20, 1e-3, 2).unwrap();
    assert_eq!(one, two);
    assert_eq!(one.n_samples, steps - 20);
    // Rejected before the state loop starts: the folding thread must still end.
    let h0 = Some(&[0.0; 4][..]);
    assert!(fit_ridge(&res, &seqs, h0, &targets, 1, 0, 1e-3, 2).is_err());
    // Every step washed out: the loop runs, nothing is folded, the fit fails cleanly.
    assert!(fit_ridge(&res, &seqs, None, &targets, 1, steps, 1e-3, 2).is_err());
}

#[test]
fn forecast_feeds_outputs_back() {
    let (w, _, bias) = weights();
    let w_in = [0.1, -0.2, 0.3, 0.0, 0.5];
    let res = Reservoir::new(&w, &w_in, 1, &bias, 1.0, Activation::Identity).unwrap();
    let coef = [0.2, 0.1, 0.0, -0.1, 0.3];
    let readout = Readout {
        coef: &coef,
        intercept: &[0.05],
    };
    let h0 = [0.1, 0.2, 0.3, 0.4, 0.5];
    let out = res.forecast(&h0, &readout, 3).unwrap();
    // Closed loop by hand: y = readout(x), x <- W x + W_in y + b.
    let dense = w.to_dense_f64();
    let mut x = h0.to_vec();
    let read = |x: &[f64]| 0.05 + x.iter().zip(&coef).map(|(a, b)| a * b).sum::<f64>();
    for &got in &out {
        let y = read(&x);
        x = (0..5)
            .map(|i| (0..5).map(|j| dense[i * 5 + j] * x[j]).sum::<f64>() + w_in[i] * y + bias[i])
            .collect();
        assert!((got - read(&x)).abs() < 1e-12);
    }
}

#[test]
fn bad_arguments_are_errors() {
    let (w, w_in, bias) = weights();
    assert!(Reservoir::new(&w, &w_in, 2, &bias, 0.0, Activation::Tanh).is_err());
    assert!(Reservoir::new(&w, &w_in, 3, &bias, 0.5, Activation::Tanh).is_err());
    let res = Reservoir::new(&w, &w_in, 2, &bias, 0.5, Activation::Relu).unwrap();
    let data = inputs(1, 4);
    let seqs = sequences(&data, 1, 4, None);
    assert!(fit_ridge(&res, &seqs, None, &[0.0; 4], 1, 4, 1e-6, 1).is_err());
    assert!(fit_ridge(&res, &seqs, None, &[0.0; 3], 1, 0, 1e-6, 1).is_err());
    assert!(res.run(&seqs, Some(&[0.0; 4]), None, 1).is_err());
}

#[test]
fn rls_converges_to_the_least_squares_readout_and_lms_approaches_it() {
    use crate::esn::{OnlineRule, OnlineState, fit_online};
    let (w, w_in, bias) = weights();
    let res = Reservoir::new(&w, &w_in, 2, &bias, 0.5, Activation::Tanh).unwrap();
    let (batch, steps) = (2, 500);
    let data = inputs(batch, steps);
    let seqs = sequences(&data, batch, steps, None);
    let states = res.run(&seqs, None, None, 1).unwrap().values;
    let coef = [0.5, -1.0, 2.0, 0.25, -0.75];
    let targets: Vec<f64> = states
        .chunks_exact(5)
        .map(|s| 0.3 + s.iter().zip(&coef).map(|(a, b)| a * b).sum::<f64>())
        .collect();
    let identity = |scale: f64| -> Vec<f64> {
        (0..36)
            .map(|k| if k % 7 == 0 { scale } else { 0.0 })
            .collect()
    };
    let mut rls = OnlineState {
        weights: vec![0.0; 6],
        p: identity(1e6),
    };
    let rule = OnlineRule::Rls { forgetting: 1.0 };
    let last = fit_online(&res, &seqs, None, &targets, 1, 0, rule, &mut rls).unwrap();
    assert_eq!(last, res.run(&seqs, None, None, 1).unwrap().last);
    for (g, want) in rls.weights.iter().zip(coef.iter().chain(&[0.3])) {
        // P0 = 1e6 I is a ridge penalty of 1e-6 on ill-conditioned states: 1e-3, not exact.
        assert!((g - want).abs() < 1e-3, "rls {g} vs {want}");
    }
    let mut lms = OnlineState {
        weights: vec![0.0; 6],
        p: Vec::new(),
    };
    let rule = OnlineRule::Lms { learning_rate: 0.1 };
    let error = |w: &[f64]| -> f64 {
        states
            .chunks_exact(5)
            .zip(&targets)
            .map(|(s, t)| (w[5] + s.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() - t).powi(2))
            .sum()
    };
    let before = error(&lms.weights);
    fit_online(&res, &seqs, None, &targets, 1, 0, rule, &mut lms).unwrap();
    assert!(error(&lms.weights) < 0.1 * before);
    let bad = OnlineRule::Rls { forgetting: 0.0 };
    assert!(fit_online(&res, &seqs, None, &targets, 1, 0, bad, &mut rls).is_err());
}

#[test]
fn noise_streams_follow_the_sequence_not_the_grouping() {
    let (w, w_in, bias) = weights();
    let res = Reservoir::new(&w, &w_in, 2, &bias, 0.5, Activation::Tanh)
        .unwrap()
        .with_noise(0.1, 42)
        .unwrap();
    let (batch, steps) = (40, 6);
    let data = inputs(batch, steps);
    let seqs = sequences(&data, batch, steps, None);
    let all = res.run(&seqs, None, None, 2).unwrap();
    assert_eq!(all, res.run(&seqs, None, None, 1).unwrap());
    let quiet = Reservoir::new(&w, &w_in, 2, &bias, 0.5, Activation::Tanh).unwrap();
    assert_ne!(all.values, quiet.run(&seqs, None, None, 1).unwrap().values);
    // sequence 0 alone (stream 0) sees the same noise as inside the batch
    let first = sequences(&data[..steps * 2], 1, steps, None);
    let alone = res.run(&first, None, None, 1).unwrap();
    assert_eq!(alone.values, all.values[..steps * 5]);
    assert!(quiet.with_noise(-1.0, 0).is_err());
    assert!(quiet.with_layers(2).is_err()); // 5 units do not split into 2 layers
    assert!(quiet.with_layers(5).is_ok());
}

#[test]
fn long_single_series_takes_the_dense_product_and_matches_the_naive_loop() {
    let (w, w_in, bias) = weights();
    let res = Reservoir::new(&w, &w_in, 2, &bias, 0.3, Activation::Tanh).unwrap();
    let steps = 300;
    assert!(matches!(
        Recurrence::choose(&w, 1, 1, steps),
        Recurrence::Dense(_)
    ));
    assert!(matches!(
        Recurrence::choose(&w, 1, 2, steps),
        Recurrence::Sparse
    ));
    let data = inputs(1, steps);
    let seqs = sequences(&data, 1, steps, None);
    let got = res.run(&seqs, None, None, 1).unwrap().values;
    let want = naive(&w, &w_in, &bias, 0.3, &data, steps);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-12, "{g} vs {w}");
    }
}

/// One series through a reservoir large enough to split its steps across two threads: the
/// states, the readout outputs and the ridge fit have the bits of one thread.
fn split_matches_one_thread<T: Float>() {
    let (w, w_in, bias) = large_weights::<T>(60);
    let res = Reservoir::new(&w, &w_in, 2, &bias, 0.5, Activation::Tanh).unwrap();
    let steps = 700; // several projection chunks
    assert!(res.splits(1, Some(steps), 2));
    let data: Vec<T> = inputs(1, steps).into_iter().map(T::from_f64).collect();
    let seqs = sequences(&data, 1, steps, None);
    let h0: Vec<T> = (0..600)
        .map(|i| T::from_f64((i as f64 * 0.1).sin()))
        .collect();
    let one = res.run(&seqs, Some(&h0), None, 1).unwrap();
    assert_eq!(one, res.run(&seqs, Some(&h0), None, 2).unwrap());
    let (coef, intercept) = (vec![T::from_f64(0.01); 2 * 600], [T::from_f64(0.5); 2]);
    let readout = Readout {
        coef: &coef,
        intercept: &intercept,
    };
    let outputs = res.run(&seqs, None, Some(&readout), 1).unwrap();
    assert_eq!(outputs, res.run(&seqs, None, Some(&readout), 2).unwrap());
    let targets: Vec<T> = (0..steps)
        .map(|t| T::from_f64((t as f64 * 0.05).cos()))
        .collect();
    let fit = |threads| fit_ridge(&res, &seqs, None, &targets, 1, 20, 1e-3, threads).unwrap();
    assert_eq!(fit(1), fit(2));
}

#[test]
fn split_series_has_the_bits_of_one_thread() {
    split_matches_one_thread::<f32>();
    split_matches_one_thread::<f64>();
}

/// Readout weights for `outputs` outputs of the 5-unit reservoir: `(coef, intercept)`.
fn readout_weights(outputs: usize) -> (Vec<f64>, Vec<f64>) {
    let coef = (0..outputs * 5).map(|i| (i as f64 * 0.7).cos()).collect();
    let intercept = (0..outputs).map(|k| 0.1 * k as f64 - 0.2).collect();
    (coef, intercept)
}

/// Every row of `outputs` for which `check(row)` holds is `readout` applied to that row of
/// `states` (5 units), to rounding.
fn assert_readout_of_states(
    states: &[f64],
    outputs: &[f64],
    readout: &Readout<f64>,
    check: impl Fn(usize) -> bool,
) {
    let o = readout.outputs();
    let rows = states.chunks_exact(5).zip(outputs.chunks_exact(o));
    for (row, (state, out)) in rows.enumerate().filter(|&(row, _)| check(row)) {
        for (k, &got) in out.iter().enumerate() {
            let dot: f64 = (0..5).map(|i| readout.coef[k * 5 + i] * state[i]).sum();
            let want = readout.intercept[k] + dot;
            assert!((got - want).abs() < 1e-12, "row {row}: {got} vs {want}");
        }
    }
}

#[test]
fn groups_are_whole_registers_once_above_half_of_one() {
    let sizes = |batch: usize, max_groups: usize| -> Vec<usize> {
        group_sequences(&vec![3; batch], max_groups)
            .iter()
            .map(Vec::len)
            .collect()
    };
    assert_eq!(sizes(5, 32), vec![1; 5]);
    assert_eq!(sizes(40, 32), vec![2; 20]);
    assert_eq!(sizes(20, 2), vec![16, 4]);
    assert_eq!(sizes(500, 32), [vec![16; 31], vec![4]].concat());
    assert_eq!(sizes(500, 8), [vec![64; 7], vec![52]].concat());
    // longest first, whatever the order in the batch
    let groups = group_sequences(&[1, 5, 3, 5], 2);
    assert_eq!(groups, vec![vec![1, 3], vec![2, 0]]);
}
