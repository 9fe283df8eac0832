//! Kernels on every available SIMD level against their scalar twin (element throughput; for
//! the packed products and the recurrent steps an element is one floating-point operation of
//! the product, so elem/s reads as FLOP/s).
//!
//! `cargo bench -p rnnfast-core --bench kernels`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use faer::linalg::matmul::triangular::{self, BlockStructure};
use rnnfast_core::CellKind;
use rnnfast_core::cells::fused::GateBlocks;
use rnnfast_core::esn::gram::{Chunk, Sums};
use rnnfast_core::linalg::matmul_nt;
use rnnfast_core::packed::PackedMatrix;
use rnnfast_core::simd::{
    Arch, sigmoid_f32_on, sigmoid_f64_on, tanh_f32_on, tanh_f64_on, with_simd_on,
};

/// An in-place activation kernel run on a chosen SIMD level.
type Kernel<T> = fn(Arch, &mut [T]);

fn activations(c: &mut Criterion) {
    let f32_kernels: [(&str, Kernel<f32>); 2] =
        [("sigmoid_f32", sigmoid_f32_on), ("tanh_f32", tanh_f32_on)];
    bench_activations(c, f32_kernels, |x| x as f32);
    let f64_kernels: [(&str, Kernel<f64>); 2] =
        [("sigmoid_f64", sigmoid_f64_on), ("tanh_f64", tanh_f64_on)];
    bench_activations(c, f64_kernels, |x| x);
}

fn bench_activations<T: Copy>(
    c: &mut Criterion,
    kernels: [(&str, Kernel<T>); 2],
    cast: fn(f64) -> T,
) {
    for (name, kernel) in kernels {
        let mut group = c.benchmark_group(name);
        for len in [128usize, 1024] {
            group.throughput(Throughput::Elements(len as u64));
            let input: Vec<T> = (0..len)
                .map(|i| cast((i as f64 * 0.37).sin() * 6.0))
                .collect();
            for arch in Arch::ALL.into_iter().filter(|a| a.is_available()) {
                let mut buf = input.clone();
                group.bench_with_input(BenchmarkId::new(arch.name(), len), &len, |b, _| {
                    b.iter(|| {
                        buf.copy_from_slice(&input);
                        kernel(arch, black_box(&mut buf));
                    })
                });
            }
        }
        group.finish();
    }
}

/// Packed products against their scalar twin and against faer's general product, at the
/// shapes of one recurrent step: batch 1 (LSTM, 128 hidden), and batch 64 (LSTM, 256 hidden)
/// on one thread or split in two slices of 32.
fn packed_products(c: &mut Criterion) {
    for (m, n, k) in [
        (1usize, 512usize, 128usize),
        (32, 1024, 256),
        (64, 1024, 256),
    ] {
        let mut group = c.benchmark_group(format!("packed_{m}x{n}x{k}"));
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
        let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.11).cos()).collect();
        let packed = PackedMatrix::new(&w, n, k, None);
        let mut out = vec![0.0f32; m * n];
        for arch in Arch::ALL.into_iter().filter(|a| a.is_available()) {
            group.bench_function(arch.name(), |b| {
                b.iter(|| packed.product_on(arch, black_box(&mut out), black_box(&a), m))
            });
        }
        group.bench_function("faer", |b| {
            b.iter(|| {
                matmul_nt(
                    black_box(&mut out),
                    black_box(&a),
                    &w,
                    (m, n, k),
                    false,
                    faer::Par::Seq,
                )
            })
        });
        group.finish();
    }
}

/// The ridge readout's Gram sums `XᵀX` (`f64`, lower triangle, with the intercept's column) of
/// 25,600 rows in 256-row chunks, on one thread: rnnfast's fold against faer's triangular
/// product of the same chunks (throughput: the lower triangle's useful FLOP).
fn gram_sums(c: &mut Criterion) {
    let rows = 25_600;
    for n in [100usize, 300, 1000] {
        let width = n + 1;
        let mut group = c.benchmark_group(format!("gram_{rows}x{width}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements((rows * width * (width + 1)) as u64));
        let mut chunk = Chunk::new(width, 1);
        let mut rows_x = vec![0.0; 256 * width];
        for r in 0..256 {
            let row: Vec<f64> = (0..n).map(|i| ((r * n + i) as f64 * 0.37).sin()).collect();
            chunk.push(&row, &[(r as f64).cos()]);
            rows_x[r * width..r * width + n].copy_from_slice(&row);
            rows_x[r * width + n] = 1.0;
        }
        group.bench_function("fold", |b| {
            b.iter(|| {
                let mut sums = Sums::new(width, 1);
                for _ in 0..rows / 256 {
                    sums.fold(black_box(&chunk));
                }
                sums
            })
        });
        group.bench_function("faer_lower_product", |b| {
            b.iter(|| {
                let mut gram = faer::Mat::<f64>::zeros(width, width);
                let a = faer::MatRef::from_row_major_slice(&rows_x, 256, width);
                for _ in 0..rows / 256 {
                    triangular::matmul(
                        gram.as_mut(),
                        BlockStructure::TriangularLower,
                        faer::Accum::Add,
                        black_box(a).transpose(),
                        BlockStructure::Rectangular,
                        a,
                        BlockStructure::Rectangular,
                        1.0,
                        faer::Par::Seq,
                    );
                }
                gram
            })
        });
        group.finish();
    }
}

/// One recurrent step of a gated cell: the fused step (product and cell equations in one pass
/// over block-major weights, AVX-512 only) against its twin, the plain step (packed product,
/// then the cell's update row by row), with the product on every available SIMD level (the
/// update's activations run on the active level; `activations` compares their levels). The two
/// give the same bits (`cells::fused` tests it). The shapes are a batch of one (LSTM, 128
/// hidden), the stacked bidirectional benchmark's batch of 16 (LSTM, 128) and the throughput
/// benchmarks' batch of 64 (LSTM and GRU, 256). Throughput: the product's FLOP.
fn recurrent_steps(c: &mut Criterion) {
    for (cell, rows, hidden) in [
        (CellKind::Lstm, 1usize, 128usize),
        (CellKind::Lstm, 16, 128),
        (CellKind::Lstm, 64, 256),
        (CellKind::Gru, 64, 256),
    ] {
        let gates = cell.gates() * hidden;
        let name = format!("{cell:?}_step_{rows}x{hidden}").to_lowercase();
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements((2 * rows * gates * hidden) as u64));
        let wave = |len: usize, scale: f32| -> Vec<f32> {
            (0..len).map(|i| (i as f32 * 0.37).sin() * scale).collect()
        };
        let w_hh = wave(gates * hidden, 0.1);
        let (xp, b_hh, h) = (
            wave(rows * gates, 1.0),
            wave(gates, 0.1),
            wave(rows * hidden, 0.5),
        );
        let c_len = if cell.has_cell_state() {
            rows * hidden
        } else {
            0
        };
        let (mut state_c, mut h_next) = (wave(c_len, 0.5), vec![0.0f32; rows * hidden]);
        if let Some(blocks) = GateBlocks::new(cell, &w_hh, hidden) {
            group.bench_function("fused", |b| {
                b.iter(|| blocks.step(&xp, &b_hh, black_box(&h), &mut state_c, &mut h_next))
            });
        }
        let packed = PackedMatrix::new(&w_hh, gates, hidden, None);
        let mut rec = vec![0.0f32; rows * gates];
        for arch in Arch::ALL.into_iter().filter(|a| a.is_available()) {
            group.bench_function(format!("plain_{}", arch.name()), |b| {
                b.iter(|| {
                    packed.product_on(arch, &mut rec, black_box(&h), rows);
                    with_simd_on(arch, || {
                        for i in 0..rows {
                            let units = i * hidden..(i + 1) * hidden;
                            let c_i = if c_len == 0 {
                                &mut [][..]
                            } else {
                                &mut state_c[units.clone()]
                            };
                            cell.update_into(
                                &xp[i * gates..(i + 1) * gates],
                                &mut rec[i * gates..(i + 1) * gates],
                                &b_hh,
                                &h[units.clone()],
                                &mut h_next[units],
                                c_i,
                            );
                        }
                    })
                })
            });
        }
        group.finish();
    }
}

criterion_group!(
    benches,
    activations,
    packed_products,
    recurrent_steps,
    gram_sums
);
criterion_main!(benches);
