//! Activation kernels on every available SIMD level against the scalar twin.
//!
//! `cargo bench -p rnnfast-core --bench kernels`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rnnfast_core::simd::{Arch, sigmoid_f32_on, tanh_f32_on};

/// An in-place activation kernel run on a chosen SIMD level.
type Kernel = fn(Arch, &mut [f32]);

fn activations(c: &mut Criterion) {
    let kernels: [(&str, Kernel); 2] = [("sigmoid", sigmoid_f32_on), ("tanh", tanh_f32_on)];
    for (name, kernel) in kernels {
        let mut group = c.benchmark_group(name);
        for len in [128usize, 1024] {
            group.throughput(Throughput::Elements(len as u64));
            let input: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin() * 6.0).collect();
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
