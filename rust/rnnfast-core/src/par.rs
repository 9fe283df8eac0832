//! Thread policy: one bounded rayon pool per process, and when to use it.
//!
//! The pool is built lazily on first parallel use and rebuilt when the process id changes, so a
//! child created by `fork` (multiprocessing, joblib's loky fallback) never waits on the parent's
//! dead worker threads. Its size comes from [`set_num_threads`], else `RNNFAST_NUM_THREADS`, else
//! the number of cores (both read once, at first use). Work smaller than a measured threshold runs on the calling thread: handing
//! a job to the pool costs a few microseconds, more than a small batch-1 step takes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rayon::ThreadPool;

use crate::{Result, RnnError};

/// 0 means "not set": fall back to the environment, then to the core count.
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

struct PoolSlot {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

static POOL: Mutex<Option<PoolSlot>> = Mutex::new(None);

/// Floating-point operations below which a layer runs on one thread (about 50 µs of work).
pub const PARALLEL_MIN_FLOPS: usize = 2_000_000;

/// Sets the number of threads the kernels may use (1 disables parallelism).
pub fn set_num_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(RnnError::param("num_threads", "must be at least 1"));
    }
    REQUESTED.store(n, Ordering::Relaxed);
    Ok(())
}

/// The number of threads the kernels may use.
pub fn num_threads() -> usize {
    match REQUESTED.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

/// `RNNFAST_NUM_THREADS`, else the core count; read once: `available_parallelism` reads cgroup
/// files on every call (about 30 µs, more than a whole short forward pass).
fn default_threads() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        std::env::var("RNNFAST_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// The process's pool of `threads` threads (`None`: of any size, else of [`num_threads`]),
/// started or rebuilt if the running one does not fit.
fn pool(threads: Option<usize>) -> Result<Arc<ThreadPool>> {
    let pid = std::process::id();
    let mut slot = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(s) = slot
        .as_ref()
        .filter(|s| s.pid == pid && threads.is_none_or(|t| s.threads == t))
    {
        return Ok(Arc::clone(&s.pool));
    }
    let threads = threads.unwrap_or_else(num_threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rnnfast-{i}"))
        .build()
        .map_err(|e| RnnError::param("num_threads", format!("cannot start threads: {e}")))?;
    let pool = Arc::new(pool);
    *slot = Some(PoolSlot {
        pid,
        threads,
        pool: Arc::clone(&pool),
    });
    Ok(pool)
}

/// Runs `f` inside the pool when `threads > 1`, else on the calling thread.
pub fn install<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    if threads <= 1 {
        Ok(f())
    } else {
        Ok(pool(Some(threads))?.install(f))
    }
}

/// Starts `job` on a pool thread without waiting for it: on the pool the caller runs in (inside
/// [`install`]), else on the process pool as it stands (any size serves one job: asking for
/// another size would rebuild the pool under the next `install`), else on a new one of
/// [`num_threads`] threads. Gives `false` when no pool could be started (the job is then
/// dropped unrun).
pub(crate) fn spawn(job: impl FnOnce() + Send + 'static) -> bool {
    if rayon::current_thread_index().is_some() {
        rayon::spawn(job);
        return true;
    }
    match pool(None) {
        Ok(pool) => {
            pool.spawn(job);
            true
        }
        Err(_) => false,
    }
}

/// The faer parallelism matching a thread count, for use inside [`install`].
pub fn faer_par(threads: usize) -> faer::Par {
    if threads <= 1 {
        faer::Par::Seq
    } else {
        faer::Par::rayon(threads)
    }
}

/// `len` zeros, written now. A zeroed allocation (`vec![0.0; len]`) is left to the kernel, whose
/// untouched pages all map one shared zero page; a buffer that is read before it is written (a
/// sum that is added to) then takes a copy-on-write fault on every page, and each such fault
/// flushes the TLB of every core running the process's other threads, an interrupt per page
/// (18% of a two-thread reservoir fit whose groups each accumulate a Gram matrix). Writing the
/// zeros up front faults the pages in without that flush.
pub(crate) fn written_zeros<T: Copy + Default>(len: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    v.resize(len, T::default());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_threads_is_rejected() {
        assert!(set_num_threads(0).is_err());
    }

    #[test]
    fn install_runs_on_the_pool_and_inline() {
        assert_eq!(install(1, || 1 + 1).ok(), Some(2));
        let inside = install(2, rayon::current_num_threads).ok();
        assert_eq!(inside, Some(2));
    }
}
