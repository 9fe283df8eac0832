//! The size of this CPU's level-1 data cache, for loops that pick their layout by it.

use std::sync::OnceLock;

/// Assumed when the CPU does not say (and off x86-64): the L1 data cache of Zen 1-4 and of
/// most Intel cores of the last decade.
const DEFAULT_L1D_BYTES: usize = 32 << 10;

/// Bytes of level-1 data cache per core (detected once).
///
/// ```
/// assert!(rnnfast_core::cache::l1_data_bytes() >= 4096);
/// ```
pub fn l1_data_bytes() -> usize {
    static L1D: OnceLock<usize> = OnceLock::new();
    *L1D.get_or_init(|| detect().unwrap_or(DEFAULT_L1D_BYTES))
}

/// The L1 data cache from CPUID's deterministic cache parameters (leaf 4 on Intel, 0x8000_001D
/// on AMD; both describe one cache per sub-leaf in the same format).
#[cfg(target_arch = "x86_64")]
fn detect() -> Option<usize> {
    use std::arch::x86_64::__cpuid_count;
    let (vendor, max_ext) = (__cpuid_count(0, 0), __cpuid_count(0x8000_0000, 0).eax);
    let amd = vendor.ebx == u32::from_le_bytes(*b"Auth");
    let leaf = if amd { 0x8000_001D } else { 4 };
    if (amd && max_ext < leaf) || (!amd && vendor.eax < leaf) {
        return None;
    }
    for sub in 0..8 {
        let r = __cpuid_count(leaf, sub);
        let (kind, level) = (r.eax & 0x1f, (r.eax >> 5) & 0x7);
        if kind == 0 {
            break;
        }
        // Type 1 is a data cache.
        if kind == 1 && level == 1 {
            let ways = ((r.ebx >> 22) & 0x3ff) as usize + 1;
            let partitions = ((r.ebx >> 12) & 0x3ff) as usize + 1;
            let line = (r.ebx & 0xfff) as usize + 1;
            let sets = r.ecx as usize + 1;
            let bytes = ways * partitions * line * sets;
            return (bytes >= 4096).then_some(bytes);
        }
    }
    None
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Option<usize> {
    None
}
