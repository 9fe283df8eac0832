//! SIMD kernels against their scalar twins, and the twins against the standard library.

use super::*;

/// Deterministic values covering the interesting ranges: tiny, around the small-|x| switch of
/// `tanh`, moderate, saturating, and beyond `exp`'s clamp.
fn probe_values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 40) as f32 / (1u64 << 24) as f32; // [0, 1)
            let scale = [1e-6, 0.4, 3.0, 12.0, 120.0][(state % 5) as usize];
            (2.0 * u - 1.0) * scale
        })
        .collect()
}

const EXTREMES: [f32; 14] = [
    0.0,
    -0.0,
    1e-30,
    -1e-30,
    0.399_999_98,
    0.4,
    -0.4,
    9.0,
    -9.0,
    87.9,
    -88.5,
    1e30,
    -1e30,
    f32::MIN_POSITIVE,
];

fn ulps(a: f32, b: f32) -> u32 {
    if a == b {
        return 0;
    }
    let (ia, ib) = (a.to_bits() as i32, b.to_bits() as i32);
    let key = |i: i32| if i < 0 { i32::MIN - i } else { i };
    key(ia).abs_diff(key(ib))
}

fn check_against_twin(name: &str, kernel: fn(Arch, &mut [f32]), twin: fn(f32) -> f32) {
    for arch in Arch::ALL.into_iter().filter(|a| a.is_available()) {
        for len in 0..=70 {
            let mut input = probe_values(len, len as u64 + 1);
            if len >= EXTREMES.len() {
                input[..EXTREMES.len()].copy_from_slice(&EXTREMES);
            }
            let mut got = input.clone();
            kernel(arch, &mut got);
            for (i, (&x, &g)) in input.iter().zip(&got).enumerate() {
                let want = twin(x);
                // Same algorithm; the only freedom is FMA contraction and division order.
                assert!(
                    ulps(g, want) <= 2,
                    "{name} on {arch:?}, len {len}, index {i}: x={x:e} got {g:e} want {want:e}"
                );
            }
        }
    }
}

#[test]
fn sigmoid_simd_matches_scalar_twin() {
    check_against_twin("sigmoid", sigmoid_f32_on, scalar::sigmoid_f32);
}

#[test]
fn tanh_simd_matches_scalar_twin() {
    check_against_twin("tanh", tanh_f32_on, scalar::tanh_f32);
}

#[test]
fn infinities_saturate_and_nan_propagates() {
    for arch in Arch::ALL.into_iter().filter(|a| a.is_available()) {
        for len in [1, 5, 16, 17, 33] {
            let mut x = vec![0.5f32; len];
            x[0] = f32::NAN;
            x[len - 1] = if len > 1 { f32::INFINITY } else { f32::NAN };
            let mut s = x.clone();
            sigmoid_f32_on(arch, &mut s);
            let mut t = x.clone();
            tanh_f32_on(arch, &mut t);
            assert!(s[0].is_nan() && t[0].is_nan(), "{arch:?}: NaN lost");
            if len > 1 {
                assert_eq!((s[len - 1], t[len - 1]), (1.0, 1.0), "{arch:?}: +inf");
            }
            let mut neg = vec![f32::NEG_INFINITY; len];
            sigmoid_f32_on(arch, &mut neg);
            assert!(
                neg.iter().all(|&v| (0.0..1e-37).contains(&v)),
                "{arch:?}: -inf"
            );
        }
    }
}

#[test]
fn scalar_twins_match_the_standard_library() {
    // Bounds: the Cephes-style `exp` is within 2 ulp; sigmoid inherits it; tanh loses up to
    // ~3e-7 relative just above the Taylor switch through `1 - 2/(e+1)` cancellation.
    for x in probe_values(20_000, 7).into_iter().chain(EXTREMES) {
        let xd = x as f64;
        let s_ref = 1.0 / (1.0 + (-xd).exp());
        let s = scalar::sigmoid_f32(x) as f64;
        assert!(
            (s - s_ref).abs() <= 3e-7 * s_ref.max(1e-30) + 1e-38,
            "sigmoid({x:e})"
        );
        let t_ref = xd.tanh();
        let t = scalar::tanh_f32(x) as f64;
        assert!(
            (t - t_ref).abs() <= 4e-7 * t_ref.abs() + 1e-45,
            "tanh({x:e}): {t:e} vs {t_ref:e}"
        );
        if x.abs() < 80.0 {
            let e_ref = xd.exp();
            let e = scalar::exp_f32(x) as f64;
            assert!((e - e_ref).abs() <= 2.5e-7 * e_ref, "exp({x:e})");
        }
    }
}

#[test]
fn f64_kernels_match_the_standard_library_exactly() {
    let mut x: Vec<f64> = probe_values(257, 3).into_iter().map(f64::from).collect();
    let input = x.clone();
    tanh_f64(&mut x);
    assert!(input.iter().zip(&x).all(|(a, b)| a.tanh() == *b));
    let mut s = input.clone();
    sigmoid_f64(&mut s);
    assert!(
        input
            .iter()
            .zip(&s)
            .all(|(a, b)| 1.0 / (1.0 + (-a).exp()) == *b)
    );
}

#[test]
fn forced_arch_name_round_trips() {
    for a in Arch::ALL {
        assert_eq!(
            Arch::ALL.into_iter().find(|b| b.name() == a.name()),
            Some(a)
        );
    }
    assert!(active_arch().is_available());
}
