use super::*;
use crate::rng::SplitMix64;

/// Random bipolar rows from a seed.
fn bipolar(rows: usize, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed, 0);
    (0..rows * n)
        .map(|_| if rng.next_u64() >> 63 == 0 { -1.0 } else { 1.0 })
        .collect()
}

/// `pattern` with the units `flip` changed.
fn corrupt(pattern: &[f64], flip: &[usize]) -> Vec<f64> {
    let mut p = pattern.to_vec();
    flip.iter().for_each(|&i| p[i] = -p[i]);
    p
}

fn energy(w: &[f64], s: &[f64]) -> f64 {
    let n = s.len();
    -0.5 * (0..n)
        .map(|i| s[i] * (0..n).map(|j| w[i * n + j] * s[j]).sum::<f64>())
        .sum::<f64>()
}

fn hebbian(patterns: &[f64], n: usize) -> Vec<f64> {
    let mut w = vec![0.0; n * n];
    rules::hebbian_add(&mut w, patterns, n, 1).unwrap();
    w
}

fn dynamics(mode: UpdateMode) -> Dynamics<f64> {
    Dynamics {
        mode,
        threshold: 0.0,
        max_iter: 50,
    }
}

const ASYNC: UpdateMode = UpdateMode::Async {
    seed: 7,
    shuffle: true,
};

#[test]
fn splitmix_matches_the_reference_stream() {
    // First outputs of SplitMix64 seeded with 0 (Vigna's reference implementation).
    let mut rng = SplitMix64::new(0, 0);
    assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
}

#[test]
fn shuffle_is_a_permutation() {
    let mut items: Vec<usize> = (0..100).collect();
    SplitMix64::new(3, 1).shuffle(&mut items);
    assert_ne!(items, (0..100).collect::<Vec<_>>());
    items.sort_unstable();
    assert_eq!(items, (0..100).collect::<Vec<_>>());
}

#[test]
fn hebbian_weights_are_symmetric_with_zero_diagonal() {
    let n = 12;
    let w = hebbian(&bipolar(3, n, 1), n);
    for i in 0..n {
        assert_eq!(w[i * n + i], 0.0);
        for j in 0..n {
            assert_eq!(w[i * n + j], w[j * n + i]);
        }
    }
}

#[test]
fn storkey_matches_the_definition() {
    // 70 patterns: three blocks, the last one partial.
    let n = 24;
    let patterns = bipolar(70, n, 2);
    let mut want = vec![0.0; n * n];
    for xi in patterns.chunks_exact(n) {
        let old = want.clone();
        // h_ij = Σ_{k≠i,j} w_ik ξ_k, straight from Storkey (1997).
        let h = |i: usize, j: usize| -> f64 {
            (0..n)
                .filter(|&k| k != i && k != j)
                .map(|k| old[i * n + k] * xi[k])
                .sum()
        };
        for i in 0..n {
            for j in (0..n).filter(|&j| j != i) {
                want[i * n + j] += (xi[i] * xi[j] - xi[i] * h(j, i) - h(i, j) * xi[j]) / n as f64;
            }
        }
    }
    let mut got = vec![0.0; n * n];
    rules::storkey_add(&mut got, &patterns, n, 1).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-10 * w.abs().max(1.0), "{g} vs {w}");
    }
}

#[test]
fn stored_patterns_are_recalled_from_noisy_probes() {
    let n = 200;
    let patterns = bipolar(4, n, 3);
    let w = hebbian(&patterns, n);
    let probe = corrupt(&patterns[..n], &[0, 5, 17, 33, 101, 150]);
    for mode in [UpdateMode::Sync, ASYNC] {
        let got = recall(
            &Memory::Dense { weights: &w },
            n,
            &probe,
            &dynamics(mode),
            1,
        )
        .unwrap();
        assert_eq!(got.states, &patterns[..n], "{mode:?}");
        assert!(got.converged[0]);
        assert!(got.sweeps[0] >= 2);
    }
}

#[test]
fn low_rank_and_dense_weights_recall_the_same_states() {
    let n = 64;
    let patterns = bipolar(5, n, 4);
    // Integer counts in both forms: W = ΞᵀΞ - p I, so both are exact.
    let counts: Vec<f64> = hebbian(&patterns, n).iter().map(|w| w * n as f64).collect();
    // The same weights as `W = Aᵀ B - diag(d)` with `A = B = Ξ`, `d = p`.
    let diag = vec![5.0; n];
    let probes = bipolar(70, n, 5);
    for mode in [UpdateMode::Sync, ASYNC] {
        let d = dynamics(mode);
        let dense = recall(&Memory::Dense { weights: &counts }, n, &probes, &d, 1).unwrap();
        let low = Memory::LowRank {
            a: &patterns,
            b: &patterns,
            diag: &diag,
        };
        assert_eq!(recall(&low, n, &probes, &d, 1).unwrap(), dense, "{mode:?}");
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let n = 48;
    let mut w = vec![0.0; n * n];
    rules::storkey_add(&mut w, &bipolar(6, n, 6), n, 1).unwrap();
    let probes = bipolar(100, n, 7);
    for mode in [UpdateMode::Sync, ASYNC] {
        let memory = Memory::Dense { weights: &w };
        let one = recall(&memory, n, &probes, &dynamics(mode), 1).unwrap();
        let two = recall(&memory, n, &probes, &dynamics(mode), 2).unwrap();
        assert_eq!(one, two);
    }
}

#[test]
fn asynchronous_updates_never_raise_the_energy() {
    let n = 30;
    let mut w = vec![0.0; n * n];
    rules::storkey_add(&mut w, &bipolar(8, n, 8), n, 1).unwrap();
    let probe = bipolar(1, n, 9);
    let mut last = energy(&w, &probe);
    let mut state = probe;
    for _ in 0..5 {
        let d = Dynamics {
            max_iter: 1,
            ..dynamics(ASYNC)
        };
        state = recall(&Memory::Dense { weights: &w }, n, &state, &d, 1)
            .unwrap()
            .states;
        let e = energy(&w, &state);
        assert!(e <= last + 1e-9);
        last = e;
    }
}

#[test]
fn synchronous_updates_detect_two_cycles() {
    // Two units coupled negatively flip together forever from (+1, +1).
    let w = [0.0, -1.0, -1.0, 0.0];
    let got = recall(
        &Memory::Dense { weights: &w },
        2,
        &[1.0, 1.0],
        &dynamics(UpdateMode::Sync),
        1,
    )
    .unwrap();
    assert!(got.cycled[0] && !got.converged[0]);
    assert_eq!(got.sweeps[0], 2);
    assert_eq!(got.states, [-1.0, -1.0]);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let w = hebbian(&bipolar(2, 4, 1), 4);
    let memory = Memory::Dense { weights: &w };
    let d = dynamics(UpdateMode::Sync);
    assert!(recall(&memory, 4, &[1.0, 0.0, 1.0, 1.0], &d, 1).is_err());
    assert!(recall(&memory, 4, &[1.0; 5], &d, 1).is_err());
    assert!(recall(&memory, 3, &[1.0; 3], &d, 1).is_err());
    let no_iter = Dynamics { max_iter: 0, ..d };
    assert!(recall(&memory, 4, &[1.0; 4], &no_iter, 1).is_err());
    let mut w = vec![0.0; 16];
    assert!(rules::hebbian_add(&mut w, &[2.0, 1.0, 1.0, 1.0], 4, 1).is_err());
    assert!(rules::storkey_add(&mut w, &[1.0; 3], 4, 1).is_err());
    assert!(modern::retrieve(&[1.0; 4], 4, &[0.0; 4], 0.0, 1, 1).is_err());
    assert!(modern::retrieve::<f64>(&[], 4, &[0.0; 4], 1.0, 1, 1).is_err());
    assert!(bam::recall(&[1.0; 6], (2, 3), &[1.0; 3], 5, 1).is_err());
}

#[test]
fn modern_retrieval_finds_the_nearest_pattern_in_one_step() {
    let n = 64;
    let patterns = bipolar(20, n, 10);
    let query = corrupt(&patterns[3 * n..4 * n], &[1, 2, 3, 4, 5, 6, 7, 8]);
    let got = modern::retrieve(&patterns, n, &query, 1.0, 1, 1).unwrap();
    for (g, w) in got.iter().zip(&patterns[3 * n..4 * n]) {
        assert!((g - w).abs() < 1e-6);
    }
}

#[test]
fn softmax_is_shift_invariant_and_normalised() {
    let mut a = [1000.0, 1001.0, 999.0];
    let mut b = [0.0, 1.0, -1.0];
    modern::softmax(&mut a, 2.0);
    modern::softmax(&mut b, 2.0);
    assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-12));
}

#[test]
fn bam_recalls_pairs_in_both_directions() {
    let (nx, ny) = (40, 24);
    let xs = bipolar(3, nx, 11);
    let ys = bipolar(3, ny, 12);
    let mut w = vec![0.0; nx * ny];
    for (x, y) in xs.chunks_exact(nx).zip(ys.chunks_exact(ny)) {
        for i in 0..nx {
            for j in 0..ny {
                w[i * ny + j] += x[i] * y[j];
            }
        }
    }
    let forward = bam::recall(&w, (nx, ny), &xs, 20, 2).unwrap();
    assert_eq!(forward.y, ys);
    assert!(forward.converged.iter().all(|&c| c));
    let w_t = rules::transpose(&w, nx, ny);
    let backward = bam::recall(&w_t, (ny, nx), &ys, 20, 1).unwrap();
    assert_eq!(backward.y, xs);
}
