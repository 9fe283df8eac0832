//! One step of each cell against the textbook equations written out with `std` functions.

use super::CellKind;

fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn inputs(len: usize, seed: f64) -> Vec<f64> {
    (0..len)
        .map(|i| ((i as f64 + seed) * 1.7).sin() * 1.5)
        .collect()
}

#[test]
fn lstm_step_matches_equations() {
    let n = 3;
    let (xp, rec0, bhh) = (inputs(4 * n, 0.1), inputs(4 * n, 0.2), inputs(4 * n, 0.3));
    let (h0, c0) = (inputs(n, 0.4), inputs(n, 0.5));
    let (mut rec, mut h, mut c) = (rec0.clone(), h0.clone(), c0.clone());
    CellKind::Lstm.update(&xp, &mut rec, &bhh, &mut h, &mut c);
    for j in 0..n {
        let pre = |g: usize| xp[g * n + j] + rec0[g * n + j] + bhh[g * n + j];
        let c_want = sig(pre(1)) * c0[j] + sig(pre(0)) * pre(2).tanh();
        let h_want = sig(pre(3)) * c_want.tanh();
        assert!((c[j] - c_want).abs() < 1e-15 && (h[j] - h_want).abs() < 1e-15);
    }
}

#[test]
fn gru_step_matches_equations() {
    let n = 4;
    let (xp, rec0, bhh) = (inputs(3 * n, 1.1), inputs(3 * n, 1.2), inputs(3 * n, 1.3));
    let h0 = inputs(n, 1.4);
    let (mut rec, mut h) = (rec0.clone(), h0.clone());
    CellKind::Gru.update(&xp, &mut rec, &bhh, &mut h, &mut []);
    for j in 0..n {
        let r = sig(xp[j] + rec0[j] + bhh[j]);
        let z = sig(xp[n + j] + rec0[n + j] + bhh[n + j]);
        let cand = (xp[2 * n + j] + r * (rec0[2 * n + j] + bhh[2 * n + j])).tanh();
        let want = (1.0 - z) * cand + z * h0[j];
        assert!((h[j] - want).abs() < 1e-15);
    }
}

#[test]
fn elman_steps_match_equations_with_and_without_bias() {
    let n = 5;
    let (xp, rec0, bhh) = (inputs(n, 2.1), inputs(n, 2.2), inputs(n, 2.3));
    for (kind, act) in [
        (CellKind::RnnTanh, f64::tanh as fn(f64) -> f64),
        (CellKind::RnnRelu, |v: f64| v.max(0.0)),
    ] {
        for bias in [&bhh[..], &[]] {
            let (mut rec, mut h) = (rec0.clone(), vec![0.0; n]);
            kind.update(&xp, &mut rec, bias, &mut h, &mut []);
            for j in 0..n {
                let want = act(xp[j] + rec0[j] + bias.get(j).copied().unwrap_or(0.0));
                assert!((h[j] - want).abs() < 1e-15, "{kind:?}");
            }
        }
    }
}

#[test]
fn names_round_trip_and_unknown_names_are_rejected() {
    for kind in [
        CellKind::RnnTanh,
        CellKind::RnnRelu,
        CellKind::Lstm,
        CellKind::Gru,
    ] {
        assert_eq!(CellKind::parse(kind.name()), Ok(kind));
    }
    assert!(CellKind::parse("jordan").is_err());
}
