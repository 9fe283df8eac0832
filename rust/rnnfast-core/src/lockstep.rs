//! One sequential recurrence shared by several threads, split into parts: the scheduler.
//!
//! Step `s` of a recurrence needs every part of step `s - 1`; within a step the parts are
//! independent (a network's hidden units, a reservoir's rows). An item is one (step, part)
//! pair. Scheduling never waits on work nobody holds: part `p` of step `s` becomes ready once
//! every part of step `s - 1` is done, and a thread claims only ready items, so whoever holds a
//! claim is running it. Each helper thread keeps to its own part (its weights stay in its
//! cache); the calling thread runs part 0 and also takes any ready item nobody has claimed, so
//! it finishes alone when the pool is busy with other calls and no helper joins. An item
//! computes the same values whoever claims it, so results do not depend on the threads.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Parts of a split recurrence: two cores, each keeping its share of the weights in its own L2.
pub(crate) const PARTS: usize = 2;

/// Spins after which the caller starts taking ready items of parts no helper has claimed.
const STEAL_AFTER_SPINS: u32 = 256;
/// Spins after which a waiting thread yields its core instead.
const YIELD_AFTER_SPINS: u32 = 4096;

/// A counter alone on its cache lines: the threads' counters must not share one, or every
/// update by one thread would evict the line another is polling.
#[repr(align(128))]
struct Padded(AtomicUsize);

/// Sets its flag when dropped during a panic.
struct AbandonOnPanic<'a>(&'a AtomicBool);

impl Drop for AbandonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// The claim counters of one split recurrence.
pub(crate) struct Lockstep {
    /// Per part, the next step whose item nobody has claimed.
    next: [Padded; PARTS],
    /// Items finished so far: every part of steps `< done / PARTS` is done.
    done: Padded,
    /// Helpers that have started claiming.
    helpers: Padded,
    /// Set when a thread panicked: the others stop, and the scope re-raises the panic.
    abandoned: AtomicBool,
    steps: usize,
}

impl Lockstep {
    /// A schedule of `steps` steps of [`PARTS`] parts each.
    pub(crate) fn new(steps: usize) -> Self {
        Self {
            next: std::array::from_fn(|_| Padded(AtomicUsize::new(0))),
            done: Padded(AtomicUsize::new(0)),
            helpers: Padded(AtomicUsize::new(0)),
            abandoned: AtomicBool::new(false),
            steps,
        }
    }

    /// Runs `item(scratch, step, part)` for every item, in step order, on the calling thread
    /// and `PARTS - 1` helpers of the current rayon pool (call inside `par::install`); `make`
    /// builds each thread's scratch. Returns when every item is done; a panic in an item stops
    /// the other threads and is re-raised here.
    pub(crate) fn run<S>(
        &self,
        make: impl Fn() -> S + Sync,
        item: impl Fn(&mut S, usize, usize) + Sync,
    ) {
        let work = |own: usize| {
            let mut scratch = make();
            if own != 0 {
                self.helpers.0.fetch_add(1, Ordering::Relaxed);
            }
            // A thread that panics holding a claim must not leave the others waiting for it.
            let _guard = AbandonOnPanic(&self.abandoned);
            while let Some((s, p)) = self.claim(own) {
                item(&mut scratch, s, p);
                self.finish();
            }
        };
        rayon::scope(|scope| {
            for own in 1..PARTS {
                scope.spawn(move |_| work(own));
            }
            work(0);
        });
    }

    /// Claims a ready item, `(step, part)`, waiting while none is; `None` once every item is
    /// done (or, for a helper, every item of its part is claimed). A thread holding a claim is
    /// running it, so waits are short; yielding after a while keeps an oversubscribed machine
    /// moving.
    fn claim(&self, own: usize) -> Option<(usize, usize)> {
        let mut spins = 0u32;
        loop {
            let done = self.done.0.load(Ordering::Acquire);
            if done >= self.steps * PARTS || self.abandoned.load(Ordering::Relaxed) {
                return None;
            }
            let ready = done / PARTS;
            if let Some(s) = self.try_claim(own, ready) {
                return Some((s, own));
            }
            if own != 0 && self.next[own].0.load(Ordering::Relaxed) >= self.steps {
                return None;
            }
            // The caller takes other parts' items at once while no helper has started, else
            // only after waiting a while: a running helper claims its own within a few spins,
            // and polling its counter every spin would pull that cache line back and forth.
            let helpers_running = self.helpers.0.load(Ordering::Relaxed) > 0;
            if own == 0 && (!helpers_running || spins >= STEAL_AFTER_SPINS) {
                for p in 1..PARTS {
                    if let Some(s) = self.try_claim(p, ready) {
                        return Some((s, p));
                    }
                }
            }
            if spins < YIELD_AFTER_SPINS {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Claims part `p`'s next item if it is ready (every item of the step before is done).
    fn try_claim(&self, p: usize, ready: usize) -> Option<usize> {
        let next = &self.next[p].0;
        let s = next.load(Ordering::Relaxed);
        let claimed = s <= ready
            && s < self.steps
            && next
                .compare_exchange(s, s + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        claimed.then_some(s)
    }

    /// Marks a claimed item done.
    fn finish(&self) {
        self.done.0.fetch_add(1, Ordering::Release);
    }
}

/// A buffer written concurrently in disjoint blocks: a network layer's output (its tasks own
/// disjoint (row, direction) blocks), or the state of a split recurrence, whose items own
/// disjoint units of a step. Holding the exclusive borrow for its lifetime keeps anyone else
/// from touching the buffer meanwhile.
pub(crate) struct SharedOut<'a, T> {
    ptr: *mut T,
    pub(crate) len: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: writes go to disjoint ranges (see above) and `T: Send`.
unsafe impl<T: Send> Sync for SharedOut<'_, T> {}

impl<'a, T: Copy> SharedOut<'a, T> {
    pub(crate) fn new(buf: &'a mut [T]) -> Self {
        Self {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            _borrow: PhantomData,
        }
    }

    /// # Safety
    /// No thread may write `offset..offset + len` while the returned slice lives.
    pub(crate) unsafe fn read(&self, offset: usize, len: usize) -> &[T] {
        assert!(offset + len <= self.len, "shared read out of bounds");
        // SAFETY: in bounds (checked above); no concurrent writer by the caller's contract.
        unsafe { std::slice::from_raw_parts(self.ptr.add(offset), len) }
    }

    /// # Safety
    /// No other thread may access `offset..offset + len` while the returned slice lives.
    #[allow(clippy::mut_from_ref)] // exclusivity is the caller's contract, as for `write`
    pub(crate) unsafe fn read_mut(&self, offset: usize, len: usize) -> &mut [T] {
        assert!(offset + len <= self.len, "shared access out of bounds");
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(offset), len) }
    }

    /// # Safety
    /// No other thread may access `offset..offset + src.len()` concurrently.
    pub(crate) unsafe fn write(&self, offset: usize, src: &[T]) {
        assert!(offset + src.len() <= self.len, "output write out of bounds");
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.add(offset), src.len()) }
    }

    /// [`SharedOut::write`] with non-temporal stores for the 16-byte-aligned part: the data
    /// goes to memory without evicting the weights from the caches. The writing thread must
    /// call [`stream_fence`] before anyone reads what it wrote.
    ///
    /// # Safety
    /// As [`SharedOut::write`].
    pub(crate) unsafe fn write_streaming(&self, offset: usize, src: &[T]) {
        assert!(offset + src.len() <= self.len, "output write out of bounds");
        let size = std::mem::size_of::<T>();
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        let dst = unsafe { self.ptr.add(offset) };
        #[cfg(target_arch = "x86_64")]
        if size > 0 && 16 % size == 0 {
            use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
            let lanes = 16 / size;
            let head = ((16 - dst as usize % 16) % 16 / size).min(src.len());
            let body = (src.len() - head) / lanes * lanes;
            // SAFETY: all within `src` and the checked destination range; the body's
            // destination is 16-byte aligned; SSE2 is part of x86-64.
            unsafe {
                std::ptr::copy_nonoverlapping(src.as_ptr(), dst, head);
                for k in (head..head + body).step_by(lanes) {
                    let v = _mm_loadu_si128(src.as_ptr().add(k).cast::<__m128i>());
                    _mm_stream_si128(dst.add(k).cast::<__m128i>(), v);
                }
                let done = head + body;
                std::ptr::copy_nonoverlapping(
                    src.as_ptr().add(done),
                    dst.add(done),
                    src.len() - done,
                );
            }
            return;
        }
        // SAFETY: as in `write`.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) }
    }
}

/// Orders the calling thread's non-temporal stores ([`SharedOut::write_streaming`]) before its
/// later stores, so that a thread synchronising with it afterwards sees them.
pub(crate) fn stream_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86-64.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}
