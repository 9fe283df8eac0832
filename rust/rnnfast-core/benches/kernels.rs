//! Activation kernels on every available SIMD level against the scalar twin.
//!
//! `cargo bench -p rnnfast-core --bench kernels`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rnnfast_core::simd::{Arch, sigmoid_f32_on, sigmoid_f64_on, tanh_f32_on, tanh_f64_on};

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

criterion_group!(benches, activations);
criterion_main!(benches);
