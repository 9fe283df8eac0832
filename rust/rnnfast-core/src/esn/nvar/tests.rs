//! The NVAR map against a brute-force enumeration of its monomials, history handling, the
//! fit against a known map, the closed loop against step-by-step runs, and the errors.

use super::*;

/// Every non-decreasing index tuple of `degree` indices below `n`, lexicographically (Python's
/// `itertools.combinations_with_replacement(range(n), degree)`).
fn combinations(n: usize, degree: usize) -> Vec<Vec<usize>> {
    if degree == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for first in 0..n {
        for rest in combinations(n - first, degree - 1) {
            let mut tuple = vec![first];
            tuple.extend(rest.iter().map(|&i| i + first));
            out.push(tuple);
        }
    }
    out
}

/// The features of step `t` by definition: delayed inputs (zeros before the start), then each
/// degree's monomials as products over their index tuples.
fn reference(
    data: &[f64],
    d: usize,
    (delay, stride, order): (usize, usize, usize),
    t: usize,
) -> Vec<f64> {
    let mut lin = Vec::new();
    for k in 0..delay {
        match t.checked_sub(k * stride) {
            Some(p) => lin.extend_from_slice(&data[p * d..(p + 1) * d]),
            None => lin.extend(std::iter::repeat_n(0.0, d)),
        }
    }
    let mut row = lin.clone();
    for degree in 2..=order {
        for tuple in combinations(lin.len(), degree) {
            row.push(tuple.iter().map(|&i| lin[i]).product());
        }
    }
    row
}

fn series(steps: usize, d: usize, seed: u64) -> Vec<f64> {
    let mut rng = crate::rng::SplitMix64::new(seed, 0);
    (0..steps * d).map(|_| rng.symmetric_unit()).collect()
}

fn one(data: &[f64], steps: usize) -> Sequences<'_, f64> {
    Sequences {
        data,
        batch: 1,
        steps,
        lengths: None,
    }
}

#[test]
fn widths_count_the_unique_monomials() {
    // Lorenz, delay 2: 6 linear, 21 quadratic, 56 cubic features.
    assert_eq!(Nvar::new(3, 2, 1, 1).unwrap().width(), 6);
    assert_eq!(Nvar::new(3, 2, 1, 2).unwrap().width(), 27);
    assert_eq!(Nvar::new(3, 2, 5, 3).unwrap().width(), 83);
    assert_eq!(Nvar::new(1, 1, 1, 7).unwrap().width(), 7);
    assert_eq!(Nvar::new(3, 4, 2, 1).unwrap().history_len(), 6);
}

#[test]
fn features_match_the_brute_force_enumeration() {
    for &(d, delay, stride, order) in &[(1, 1, 1, 4), (3, 2, 1, 2), (2, 3, 2, 3), (4, 1, 1, 3)] {
        let map = Nvar::new(d, delay, stride, order).unwrap();
        let steps = 9;
        let data = series(steps, d, 7);
        let got = map.run(&one(&data, steps), None, None, 1).unwrap();
        let w = map.width();
        for t in 0..steps {
            let want = reference(&data, d, (delay, stride, order), t);
            assert_eq!(want.len(), w);
            for (g, e) in got[t * w..(t + 1) * w].iter().zip(&want) {
                assert!((g - e).abs() < 1e-14, "{d} {delay} {stride} {order} t={t}");
            }
        }
    }
}

#[test]
fn history_continues_the_series_before() {
    // Running the last 6 steps with the 4 before them as history gives the last 6 rows of the
    // full run; batches and thread counts change nothing.
    let (d, steps) = (2, 10);
    let map = Nvar::new(d, 3, 2, 2).unwrap();
    let data = series(steps, d, 3);
    let full = map.run(&one(&data, steps), None, None, 1).unwrap();
    let w = map.width();
    let tail = &data[4 * d..];
    let hist = &data[..4 * d];
    let cont = map.run(&one(tail, 6), Some(hist), None, 1).unwrap();
    assert_eq!(cont, full[4 * w..]);
    let batch: Vec<f64> = [tail, tail].concat();
    let lengths = [6, 3];
    let seqs = Sequences {
        data: &batch,
        batch: 2,
        steps: 6,
        lengths: Some(&lengths),
    };
    let two_hist = [hist, hist].concat();
    for threads in [1, 2] {
        let both = map.run(&seqs, Some(&two_hist), None, threads).unwrap();
        assert_eq!(both[..6 * w], cont[..]);
        assert_eq!(both[6 * w..9 * w], cont[..3 * w]);
        assert!(both[9 * w..].iter().all(|&v| v == 0.0));
    }
}

#[test]
fn fit_recovers_a_map_of_the_features_and_runs_it() {
    let (d, steps) = (2, 400);
    let map = Nvar::new(d, 2, 1, 2).unwrap();
    let data = series(steps, d, 11);
    let feats = map.run(&one(&data, steps), None, None, 1).unwrap();
    let w = map.width();
    let coef: Vec<f64> = (0..w).map(|i| (i as f64 * 0.37).sin()).collect();
    let y: Vec<f64> = feats
        .chunks_exact(w)
        .map(|r| 0.5 + r.iter().zip(&coef).map(|(a, b)| a * b).sum::<f64>())
        .collect();
    let fit = map.fit(&one(&data, steps), &y, 1, 0.0).unwrap();
    assert_eq!(fit.n_samples, steps - 1);
    for (g, e) in fit.coef.iter().zip(&coef) {
        assert!((g - e).abs() < 1e-8);
    }
    assert!((fit.intercept[0] - 0.5).abs() < 1e-8);
    let readout = Readout {
        coef: &coef,
        intercept: &[0.5],
    };
    let pred = map
        .run(&one(&data, steps), None, Some(&readout), 1)
        .unwrap();
    for (p, e) in pred.iter().zip(&y) {
        assert!((p - e).abs() < 1e-12);
    }
}

#[test]
fn forecast_feeds_each_prediction_back() {
    // A contracting quadratic map; the loop must equal runs over the growing series.
    let (d, delay, stride) = (2, 3, 2);
    let map = Nvar::new(d, delay, stride, 2).unwrap();
    let w = map.width();
    let coef: Vec<f64> = (0..d * w)
        .map(|i| 0.2 * ((i as f64) * 1.3).cos() / w as f64)
        .collect();
    let intercept = [0.1, -0.2];
    let readout = Readout {
        coef: &coef,
        intercept: &intercept,
    };
    let mut known = series(8, d, 5);
    let window = known[(8 - map.history_len() - 1) * d..].to_vec();
    let got = map.forecast(&window, &readout, 5).unwrap();
    for _ in 0..6 {
        let steps = known.len() / d;
        let pred = map
            .run(&one(&known, steps), None, Some(&readout), 1)
            .unwrap();
        known.extend_from_slice(&pred[(steps - 1) * d..]);
    }
    let want = &known[(8 + 1) * d..];
    for (g, e) in got.iter().zip(want) {
        assert!((g - e).abs() < 1e-12);
    }
    assert_eq!(got.len(), 5 * d);
}

#[test]
fn float32_follows_float64() {
    let map = Nvar::new(3, 2, 1, 3).unwrap();
    let data = series(50, 3, 9);
    let data32: Vec<f32> = data.iter().map(|&v| v as f32).collect();
    let a = map.run(&one(&data, 50), None, None, 1).unwrap();
    let seqs32 = Sequences {
        data: &data32,
        batch: 1,
        steps: 50,
        lengths: None,
    };
    let b = map.run(&seqs32, None, None, 1).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!((x - f64::from(*y)).abs() < 1e-6);
    }
}

#[test]
fn bad_input_gives_errors() {
    assert!(Nvar::new(0, 2, 1, 2).is_err());
    assert!(
        Nvar::new(3, 0, 1, 2)
            .unwrap_err()
            .to_string()
            .contains("delay")
    );
    assert!(
        Nvar::new(3, 2, 0, 2)
            .unwrap_err()
            .to_string()
            .contains("stride")
    );
    assert!(
        Nvar::new(3, 2, 1, 0)
            .unwrap_err()
            .to_string()
            .contains("order")
    );
    assert!(
        Nvar::new(30, 10, 1, 3)
            .unwrap_err()
            .to_string()
            .contains("more than")
    );
    assert!(Nvar::new(1, 1, 1, usize::MAX).is_err());
    assert!(Nvar::new(usize::MAX, 2, 1, 1).is_err());
    assert!(Nvar::new(1, usize::MAX, 2, 1).is_err());
    assert!(Nvar::new(1, 2, usize::MAX, 1).is_err());
    let far = Nvar::new(1, 2, usize::MAX - 1, 1).unwrap();
    let seqs = one(&[1.0, 2.0], 2);
    assert!(far.run(&seqs, Some(&[0.0; 3]), None, 1).is_err());
    assert_eq!(far.run(&seqs, None, None, 1).unwrap(), [1.0, 0.0, 2.0, 0.0]);
    let wide = Nvar::new(2, 2, usize::MAX - 1, 1).unwrap();
    let coef4 = [0.0; 8];
    let square = Readout {
        coef: &coef4,
        intercept: &[0.0; 2],
    };
    assert!(wide.forecast(&[0.0; 4], &square, 1).is_err());
    let map = Nvar::new(2, 3, 1, 2).unwrap();
    let data = series(4, 2, 1);
    // Too short to fit: 2 steps of history, 2 steps long.
    let err = map
        .fit(&one(&data[..4], 2), &[0.0; 2], 1, 1e-6)
        .unwrap_err();
    assert!(err.to_string().contains("history"));
    assert!(map.fit(&one(&data, 4), &[0.0; 3], 1, 1e-6).is_err());
    assert!(map.fit(&one(&data, 4), &[0.0; 4], 1, f64::NAN).is_err());
    assert!(map.fit(&one(&data, 4), &[0.0; 4], 0, 1e-6).is_err());
    let mut bad = data.clone();
    bad[3] = f64::NAN;
    assert!(matches!(
        map.run(&one(&bad, 4), None, None, 1),
        Err(RnnError::NonFinite { .. })
    ));
    assert!(map.run(&one(&data, 4), Some(&[0.0; 3]), None, 1).is_err());
    assert!(
        map.run(&one(&data, 4), Some(&[f64::NAN; 4]), None, 1)
            .is_err()
    );
    let w = map.width();
    let coef = vec![0.0; w];
    let readout = Readout {
        coef: &coef,
        intercept: &[0.0],
    };
    let err = map.forecast(&[0.0; 6], &readout, 3).unwrap_err();
    assert!(err.to_string().contains("must match"));
    let coef2 = vec![0.0; 2 * w];
    let readout2 = Readout {
        coef: &coef2,
        intercept: &[0.0; 2],
    };
    assert!(map.forecast(&[0.0; 4], &readout2, 3).is_err());
    assert!(map.forecast(&[0.0; 6], &readout2, usize::MAX).is_err());
    assert_eq!(
        map.forecast(&[0.0; 6], &readout2, 0).unwrap(),
        Vec::<f64>::new()
    );
    let empty = Readout {
        coef: &[],
        intercept: &[],
    };
    assert!(map.run(&one(&data, 4), None, Some(&empty), 1).is_err());
}
