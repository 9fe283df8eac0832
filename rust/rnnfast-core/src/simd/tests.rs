//! SIMD kernels against their scalar twins, and the twins against the standard library.

use super::*;

/// Deterministic values covering the interesting ranges: tiny, small, moderate, saturating, and
/// beyond `exp`'s clamp.
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
    0.173_286_8,
    0.4,
    -0.173_286_8,
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
    // Bounds: the Cephes-style `exp` is within 1 ulp; sigmoid inherits it; so does tanh, whose
    // `m / (m + 2)` has no cancellation (every float in [0, 10] checked once: at most 3 ulp,
    // 1.8e-7 relative).
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
            (t - t_ref).abs() <= 2e-7 * t_ref.abs() + 1e-45,
            "tanh({x:e}): {t:e} vs {t_ref:e}"
        );
        if x.abs() < 80.0 {
            let e_ref = xd.exp();
            let e = scalar::exp_f32(x) as f64;
            assert!((e - e_ref).abs() <= 1.2e-7 * e_ref, "exp({x:e})");
        }
    }
}

fn f64_probe_values() -> Vec<f64> {
    let mut x: Vec<f64> = probe_values(20_000, 3)
        .into_iter()
        .map(|v| f64::from(v) * (1.0 + 1e-9 * f64::from(v).sin()))
        .collect();
    x.extend([
        0.0,
        -0.0,
        1e-300,
        0.625,
        -0.625,
        0.624_999_999,
        354.0,
        -354.5,
        709.5,
        -745.0,
    ]);
    x.extend([1e300, -1e300, f64::MIN_POSITIVE]);
    x
}

#[test]
fn f64_kernels_match_the_standard_library() {
    // Bounds: `exp` is within 2 ulp; `tanh` adds one bit of cancellation above 0.625.
    for x in f64_probe_values() {
        let t_ref = x.tanh();
        let t = scalar::tanh_f64(x);
        assert!(
            (t - t_ref).abs() <= 4.5e-16 * t_ref.abs(),
            "tanh({x:e}): {t:e} vs {t_ref:e}"
        );
        let s_ref = 1.0 / (1.0 + (-x).exp());
        let s = scalar::sigmoid_f64(x);
        assert!(
            (s - s_ref).abs() <= 4.5e-16 * s_ref + 1e-307,
            "sigmoid({x:e}): {s:e} vs {s_ref:e}"
        );
        if x.abs() < 700.0 {
            let e_ref = x.exp();
            assert!(
                (scalar::exp_f64(x) - e_ref).abs() <= 4.5e-16 * e_ref,
                "exp({x:e})"
            );
        }
    }
}

#[test]
fn f64_slice_kernels_match_their_scalar_twins_bit_for_bit() {
    let input = f64_probe_values();
    for (arch, len) in Arch::ALL
        .into_iter()
        .flat_map(|a| [0, 1, 3, 8, 9, 17, input.len()].map(|len| (a, len)))
    {
        let mut t = input[..len].to_vec();
        tanh_f64_on(arch, &mut t);
        let mut s = input[..len].to_vec();
        sigmoid_f64_on(arch, &mut s);
        for (i, &x) in input[..len].iter().enumerate() {
            assert_eq!(t[i].to_bits(), scalar::tanh_f64(x).to_bits(), "tanh({x:e})");
            assert_eq!(
                s[i].to_bits(),
                scalar::sigmoid_f64(x).to_bits(),
                "sigmoid({x:e})"
            );
        }
    }
    let mut special = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    tanh_f64(&mut special);
    assert!(special[0].is_nan() && special[1] == 1.0 && special[2] == -1.0);
    let mut special = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    sigmoid_f64(&mut special);
    assert!(special[0].is_nan() && special[1] == 1.0 && special[2] < 1e-300);
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
