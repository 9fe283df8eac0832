//! The fused step against the plain one (packed product, then the cell's update row by row):
//! the same bits, on awkward sizes, with and without bias, for every tile height.

use super::*;
use crate::packed::PackedMatrix;
use crate::rng::SplitMix64;

fn values(len: usize, scale: f64, rng: &mut SplitMix64) -> Vec<f32> {
    (0..len)
        .map(|_| (rng.symmetric_unit() * scale) as f32)
        .collect()
}

/// The plain path of `crate::network::recurrent_step`: `(h', c')`.
fn plain(
    (cell, hidden): (CellKind, usize),
    w_hh: &[f32],
    (xp, b_hh): (&[f32], &[f32]),
    (h, c): (&[f32], &[f32]),
) -> (Vec<f32>, Vec<f32>) {
    let gates = cell.gates() * hidden;
    let rows = h.len() / hidden;
    let packed = PackedMatrix::new(w_hh, gates, hidden, None);
    let mut rec = vec![0.0; rows * gates];
    packed.product(&mut rec, h, rows);
    let (mut h, mut c) = (h.to_vec(), c.to_vec());
    crate::simd::with_simd(|| {
        for i in 0..rows {
            let c_i = if c.is_empty() {
                &mut [][..]
            } else {
                &mut c[i * hidden..(i + 1) * hidden]
            };
            cell.update(
                &xp[i * gates..(i + 1) * gates],
                &mut rec[i * gates..(i + 1) * gates],
                b_hh,
                &mut h[i * hidden..(i + 1) * hidden],
                c_i,
            );
        }
    });
    (h, c)
}

#[test]
fn fused_steps_have_the_bits_of_plain_steps() {
    let mut checked = 0;
    for cell in [CellKind::Lstm, CellKind::Gru] {
        for hidden in [1, 5, 16, 19, 33, 64] {
            for rows in [1, 2, 5, 6, 7, 13, 100] {
                for bias in [true, false] {
                    let mut rng = SplitMix64::new(hidden as u64, rows as u64);
                    let gates = cell.gates() * hidden;
                    // Large inputs saturate the gates, small ones take tanh's polynomial branch.
                    let w_hh = values(gates * hidden, 1.5, &mut rng);
                    let xp = values(rows * gates, 4.0, &mut rng);
                    let b_hh = if bias {
                        values(gates, 0.5, &mut rng)
                    } else {
                        Vec::new()
                    };
                    let h = values(rows * hidden, 1.0, &mut rng);
                    let c = if cell == CellKind::Lstm {
                        values(rows * hidden, 2.0, &mut rng)
                    } else {
                        Vec::new()
                    };
                    let fused = GateBlocks::new(cell, &w_hh, hidden);
                    if crate::simd::active_arch() != crate::simd::Arch::Avx512 {
                        // The plain path serves every batch there: nothing else to compare.
                        assert!(fused.is_none(), "a fused kernel without AVX-512");
                        return;
                    }
                    let fused = fused.expect("AVX-512 has a fused kernel");
                    let (mut c_got, mut h_got) = (c.clone(), vec![f32::NAN; rows * hidden]);
                    fused.step(&xp, &b_hh, &h, &mut c_got, &mut h_got);
                    let (h_want, c_want) = plain((cell, hidden), &w_hh, (&xp, &b_hh), (&h, &c));
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    let case = format!("{cell:?}, hidden {hidden}, rows {rows}, bias {bias}");
                    assert_eq!(bits(&h_got), bits(&h_want), "h: {case}");
                    assert_eq!(bits(&c_got), bits(&c_want), "c: {case}");
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 2 * 6 * 7 * 2);
}

#[test]
fn only_gated_cells_are_fused() {
    let w = vec![0.5f32; 16];
    assert!(GateBlocks::new(CellKind::RnnTanh, &w, 4).is_none());
    assert!(GateBlocks::<f64>::new(CellKind::Lstm, &[0.5; 64], 4).is_none());
}

#[test]
fn parts_of_a_layer_give_the_bits_of_the_whole_step() {
    if crate::simd::active_arch() != crate::simd::Arch::Avx512 {
        return;
    }
    for cell in [CellKind::Lstm, CellKind::Gru] {
        let gates = cell.gates();
        for (hidden, cut) in [(40, 16), (40, 19), (64, 32), (33, 1)] {
            for rows in [1, 3, 7] {
                let mut rng = SplitMix64::new(hidden as u64, 7 + rows as u64);
                let w_hh = values(gates * hidden * hidden, 1.5, &mut rng);
                let xp = values(rows * gates * hidden, 4.0, &mut rng);
                let b_hh = values(gates * hidden, 0.5, &mut rng);
                let h = values(rows * hidden, 1.0, &mut rng);
                let c = if cell == CellKind::Lstm {
                    values(rows * hidden, 2.0, &mut rng)
                } else {
                    Vec::new()
                };
                let whole = GateBlocks::new(cell, &w_hh, hidden).expect("AVX-512");
                let (mut c_want, mut h_want) = (c.clone(), vec![0.0; rows * hidden]);
                whole.step(&xp, &b_hh, &h, &mut c_want, &mut h_want);
                // Each part: its units' gate rows, projections and biases, in the plain layout.
                let (mut c_got, mut h_got) = (c.clone(), vec![f32::NAN; rows * hidden]);
                for units in [0..cut, cut..hidden] {
                    let gate_rows = |g: usize| g * hidden + units.start..g * hidden + units.end;
                    let pick = |m: &[f32], width: usize| -> Vec<f32> {
                        (0..m.len() / (gates * hidden * width))
                            .flat_map(|r| (0..gates).map(move |g| (r, g)))
                            .flat_map(|(r, g)| {
                                let base = r * gates * hidden * width;
                                let range = gate_rows(g);
                                m[base + range.start * width..base + range.end * width].to_vec()
                            })
                            .collect()
                    };
                    let part =
                        GateBlocks::for_units(cell, &pick(&w_hh, hidden), units.len(), hidden)
                            .expect("AVX-512");
                    let c_ptr = if c_got.is_empty() {
                        std::ptr::null_mut()
                    } else {
                        c_got.as_mut_ptr()
                    };
                    // SAFETY: `c_got` and `h_got` hold rows × hidden values, exclusively ours.
                    unsafe {
                        part.step_units(
                            &pick(&xp, 1),
                            &pick(&b_hh, 1),
                            &h,
                            c_ptr,
                            h_got.as_mut_ptr(),
                            units.start,
                        )
                    };
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let case = format!("{cell:?}, hidden {hidden}, cut {cut}, rows {rows}");
                assert_eq!(bits(&h_got), bits(&h_want), "h: {case}");
                assert_eq!(bits(&c_got), bits(&c_want), "c: {case}");
            }
        }
    }
}
