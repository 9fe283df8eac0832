//! Packed products against a plain triple loop, and the fixed-order promise: the same bits for a
//! row alone or among others, on every instruction set.

use super::*;

fn values(len: usize, seed: f64) -> Vec<f64> {
    (0..len)
        .map(|i| ((i as f64 + seed) * 0.618_034).sin() * 2.0)
        .collect()
}

fn naive(a: &[f64], w: &[f64], bias: &[f64], (m, n, k): (usize, usize, usize)) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = bias[j] + (0..k).map(|p| a[i * k + p] * w[j * k + p]).sum::<f64>();
        }
    }
    out
}

fn available() -> impl Iterator<Item = Arch> {
    Arch::ALL.into_iter().filter(|a| a.is_available())
}

#[test]
fn products_match_a_triple_loop() {
    for (m, n, k) in [
        (1, 1, 1),
        (3, 17, 5),
        (7, 64, 33),
        (13, 100, 8),
        (1, 512, 128),
        (0, 4, 4),
    ] {
        let (a, w, bias) = (values(m * k, 1.0), values(n * k, 2.0), values(n, 3.0));
        let want = naive(&a, &w, &bias, (m, n, k));
        let packed = PackedMatrix::new(&w, n, k, Some(&bias));
        let mut got = vec![f64::NAN; m * n];
        packed.product(&mut got, &a, m);
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-13 * (1.0 + w.abs()),
                "{m}x{n}x{k}: {g} vs {w}"
            );
        }
        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let packed32 = PackedMatrix::new(&w32, n, k, None);
        let mut got32 = vec![f32::NAN; m * n];
        packed32.product(&mut got32, &a32, m);
        let want32 = naive(&a, &w, &vec![0.0; n], (m, n, k));
        for (g, w) in got32.iter().zip(&want32) {
            assert!((f64::from(*g) - w).abs() <= 1e-5 * (1.0 + w.abs()));
        }
    }
}

fn check_fixed_order<T: PackedElement + PartialEq + std::fmt::Debug>(cast: fn(f64) -> T) {
    // Sizes cover every tile shape: row tails 1..=5, panel tails, the single-row wide tile.
    let (n, k) = (8 * T::LANES + 3, 37);
    let w: Vec<T> = values(n * k, 5.0).into_iter().map(cast).collect();
    let bias: Vec<T> = values(n, 6.0).into_iter().map(cast).collect();
    let packed = PackedMatrix::new(&w, n, k, Some(&bias));
    let m = 23;
    let a: Vec<T> = values(m * k, 7.0).into_iter().map(cast).collect();
    let mut reference = vec![T::default(); m * n];
    packed.product_on(Arch::Scalar, &mut reference, &a, m);
    for arch in available() {
        let mut all = vec![T::default(); m * n];
        packed.product_on(arch, &mut all, &a, m);
        assert_eq!(all, reference, "{arch:?}: whole product");
        for rows in 1..=m {
            let mut part = vec![T::default(); rows * n];
            packed.product_on(arch, &mut part, &a[..rows * k], rows);
            assert_eq!(part, reference[..rows * n], "{arch:?}: first {rows} rows");
        }
        for i in 0..m {
            let mut one = vec![T::default(); n];
            packed.product_on(arch, &mut one, &a[i * k..(i + 1) * k], 1);
            assert_eq!(
                one,
                reference[i * n..(i + 1) * n],
                "{arch:?}: row {i} alone"
            );
        }
    }
}

#[test]
fn every_row_gets_the_same_bits_whatever_computes_it() {
    check_fixed_order::<f32>(|v| v as f32);
    check_fixed_order::<f64>(|v| v);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any shape, with or without bias: close to the triple loop, and each row's bits the same
    /// when computed alone.
    #[test]
    fn any_shape_matches_the_triple_loop(
        m in 0usize..14,
        n in 1usize..90,
        k in 0usize..40,
        seed in 0.0f64..100.0,
        with_bias in proptest::bool::ANY,
    ) {
        let (a, w) = (values(m * k, seed), values(n * k, seed + 1.0));
        let bias = if with_bias { values(n, seed + 2.0) } else { vec![0.0; n] };
        let packed = PackedMatrix::new(&w, n, k, with_bias.then_some(bias.as_slice()));
        let mut got = vec![f64::NAN; m * n];
        packed.product(&mut got, &a, m);
        for (g, want) in got.iter().zip(naive(&a, &w, &bias, (m, n, k))) {
            proptest::prop_assert!((g - want).abs() <= 1e-12 * (1.0 + want.abs()));
        }
        for i in 0..m {
            let mut one = vec![f64::NAN; n];
            packed.product(&mut one, &a[i * k..(i + 1) * k], 1);
            proptest::prop_assert_eq!(&one[..], &got[i * n..(i + 1) * n]);
        }
    }
}
