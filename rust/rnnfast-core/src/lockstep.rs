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
//!
//! The caller runs on its own thread (no hop into the pool, whose wake-ups cost tens of
//! microseconds on a virtual machine) and does not wait for a helper that has not started: a
//! [`Seat`] lets the helper in or keeps it out for good, so the borrowed work is touched only
//! by helpers the caller waits for.

use std::any::Any;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

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
///
/// Each part's counters sit on cache lines of their own. Finishing an item is a plain store to
/// its part's `finished` line, which only the thread running that part writes, and the other
/// thread polls it: no line is both polled and read-modify-written by two cores.
pub(crate) struct Lockstep {
    /// Per part, the next step whose item nobody has claimed.
    next: [Padded; PARTS],
    /// Per part, the steps whose item is done: items of a part run one after another (step
    /// `s + 1` waits for every part of step `s`), so whoever ran the last one stores this.
    finished: [Padded; PARTS],
    /// Helpers that have started claiming.
    helpers: Padded,
    /// Set when a thread panicked: the others stop, and `run` re-raises the panic.
    abandoned: AtomicBool,
    steps: usize,
}

impl Lockstep {
    /// A schedule of `steps` steps of [`PARTS`] parts each.
    pub(crate) fn new(steps: usize) -> Self {
        Self {
            next: std::array::from_fn(|_| Padded(AtomicUsize::new(0))),
            finished: std::array::from_fn(|_| Padded(AtomicUsize::new(0))),
            helpers: Padded(AtomicUsize::new(0)),
            abandoned: AtomicBool::new(false),
            steps,
        }
    }

    /// Runs `item(scratch, step, part)` for every item, in step order, on the calling thread
    /// and up to `PARTS - 1` helpers on the pool (see [`crate::par::spawn`]); `make` builds each
    /// thread's scratch. Returns when every item is done; a panic in an item stops the other
    /// threads and is re-raised here.
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
                self.finished[p].0.store(s + 1, Ordering::Release);
            }
        };
        let seats: Vec<Arc<Seat>> = (1..PARTS).map(|own| Seat::offer(&work, own)).collect();
        let caller = catch_unwind(AssertUnwindSafe(|| work(0)));
        // Past this point no helper touches `work`: each either never started or is done.
        let helper = seats.iter().find_map(|seat| seat.close());
        if let Err(panic) = caller {
            resume_unwind(panic);
        }
        if let Some(panic) = helper {
            resume_unwind(panic);
        }
    }

    /// Claims a ready item, `(step, part)`, waiting while none is; `None` once every item is
    /// done (or, for a helper, every item of its part is claimed). A thread holding a claim is
    /// running it, so waits are short; yielding after a while keeps an oversubscribed machine
    /// moving.
    fn claim(&self, own: usize) -> Option<(usize, usize)> {
        let mut spins = 0u32;
        loop {
            if self.abandoned.load(Ordering::Relaxed) {
                return None;
            }
            // Every part of the steps before `ready` is done.
            let ready = self
                .finished
                .iter()
                .map(|f| f.0.load(Ordering::Acquire))
                .min()
                .unwrap_or(self.steps);
            if ready >= self.steps {
                return None;
            }
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
            back_off(&mut spins);
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
}

/// One round of a wait: spin while the wait is young, then yield the core (an oversubscribed
/// machine may be running the thread waited for on this one).
fn back_off(spins: &mut u32) {
    if *spins < YIELD_AFTER_SPINS {
        std::hint::spin_loop();
        *spins += 1;
    } else {
        std::thread::yield_now();
    }
}

/// One helper's place in a split recurrence, shared with the pool job that may run it.
///
/// The job takes the seat (`OPEN` to `TAKEN`) before it touches the caller's borrowed work,
/// and marks it `DONE` after; the caller closes an open seat (`OPEN` to `CLOSED`, after which
/// the job returns untouched whenever it starts) or waits for a taken one to be done. So the
/// borrow outlives every use of it without the caller waiting for a pool thread to wake up.
struct Seat {
    state: AtomicU8,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

const OPEN: u8 = 0;
const TAKEN: u8 = 1;
const DONE: u8 = 2;
const CLOSED: u8 = 3;

/// The caller's work, its lifetime erased so that a pool job may hold it (see [`Seat`]).
struct ErasedWork(*const (dyn Fn(usize) + Sync));

// SAFETY: the pointee is `Sync`, and the seat protocol confines its use to the borrow.
unsafe impl Send for ErasedWork {}

impl Seat {
    /// Offers helper `own`'s part of `work` to the pool; the caller must [`Seat::close`] the
    /// returned seat before `work`'s borrow ends.
    fn offer<'a>(work: &'a (dyn Fn(usize) + Sync + 'a), own: usize) -> Arc<Self> {
        let seat = Arc::new(Seat {
            state: AtomicU8::new(OPEN),
            panic: Mutex::new(None),
        });
        // SAFETY: only the lifetime changes; the job dereferences the pointer between taking
        // the seat and marking it done, and `close` does not return in between.
        let erased: *const (dyn Fn(usize) + Sync + 'static) =
            unsafe { std::mem::transmute::<*const (dyn Fn(usize) + Sync + 'a), _>(work) };
        let (job_seat, work) = (Arc::clone(&seat), ErasedWork(erased));
        let spawned = crate::par::spawn(move || {
            let work = work;
            if job_seat
                .state
                .compare_exchange(OPEN, TAKEN, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                return;
            }
            // SAFETY: the seat is taken, so the caller waits in `close` until it is done.
            let ran = catch_unwind(AssertUnwindSafe(|| unsafe { (*work.0)(own) }));
            if let Err(panic) = ran {
                *job_seat
                    .panic
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(panic);
            }
            job_seat.state.store(DONE, Ordering::Release);
        });
        if !spawned {
            seat.state.store(CLOSED, Ordering::Relaxed);
        }
        seat
    }

    /// Keeps an unstarted helper out for good, or waits for a started one to finish; gives
    /// the helper's panic, if it had one.
    fn close(&self) -> Option<Box<dyn Any + Send>> {
        let mut spins = 0u32;
        loop {
            match self
                .state
                .compare_exchange(OPEN, CLOSED, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) | Err(CLOSED) => return None,
                Err(DONE) => {
                    return self
                        .panic
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .take();
                }
                // Taken: the helper's last items are done or running, so the wait is short.
                Err(_) => back_off(&mut spins),
            }
        }
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
    /// A buffer of values not yet written: only its writes are sound until a range has been
    /// written, and `read` / `read_mut` may then cover that range alone.
    pub(crate) fn uninit(buf: &'a mut [std::mem::MaybeUninit<T>]) -> Self {
        Self {
            ptr: buf.as_mut_ptr().cast(),
            len: buf.len(),
            _borrow: PhantomData,
        }
    }

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

    /// A pointer to `offset`, for a kernel that writes parts of `offset..offset + len` (the
    /// range is checked to lie in the buffer; what the kernel may touch is its own contract).
    pub(crate) fn ptr_at(&self, offset: usize, len: usize) -> *mut T {
        assert!(offset + len <= self.len, "shared pointer out of bounds");
        // SAFETY: in bounds (checked above).
        unsafe { self.ptr.add(offset) }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a lockstep of `steps` steps on the pool of `threads` threads, each item recording
    /// which items of the step before were done when it started.
    fn record(steps: usize, threads: usize) -> Vec<Vec<bool>> {
        let done: Vec<[AtomicBool; PARTS]> = (0..steps)
            .map(|_| std::array::from_fn(|_| AtomicBool::new(false)))
            .collect();
        let seen: Vec<Mutex<Vec<bool>>> = (0..steps * PARTS).map(|_| Mutex::default()).collect();
        let run = || {
            Lockstep::new(steps).run(
                || (),
                |_, s, p| {
                    let before =
                        (s > 0).then(|| done[s - 1].iter().map(|d| d.load(Ordering::SeqCst)));
                    *seen[s * PARTS + p].lock().unwrap() = before.into_iter().flatten().collect();
                    assert!(!done[s][p].swap(true, Ordering::SeqCst), "item ran twice");
                },
            )
        };
        if threads > 1 {
            crate::par::install(threads, run).unwrap();
        } else {
            run();
        }
        assert!(
            done.iter().flatten().all(|d| d.load(Ordering::SeqCst)),
            "an item never ran"
        );
        seen.into_iter().map(|m| m.into_inner().unwrap()).collect()
    }

    #[test]
    fn every_item_runs_once_after_the_step_before() {
        for threads in [1, 2, 4] {
            for (i, before) in record(500, threads).iter().enumerate() {
                let want = if i < PARTS { 0 } else { PARTS };
                assert_eq!(before.len(), want, "item {i}, {threads} threads");
                assert!(
                    before.iter().all(|&d| d),
                    "item {i} ran early, {threads} threads"
                );
            }
        }
    }

    #[test]
    fn a_panic_in_any_part_reaches_the_caller() {
        for part in 0..PARTS {
            for threads in [1, 2] {
                let run = || {
                    catch_unwind(AssertUnwindSafe(|| {
                        Lockstep::new(100).run(
                            || (),
                            |_, s, p| {
                                assert!(!(s == 40 && p == part), "item (40, {part})");
                            },
                        )
                    }))
                };
                let outcome = if threads > 1 {
                    crate::par::install(threads, run).unwrap()
                } else {
                    run()
                };
                let panic = outcome.expect_err("the panic must be re-raised");
                let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                assert!(message.contains("item (40"), "{message}");
            }
        }
    }

    #[test]
    fn a_closed_seat_keeps_a_late_helper_out() {
        let ran = AtomicUsize::new(0);
        let work = |_: usize| {
            ran.fetch_add(1, Ordering::SeqCst);
        };
        let seat = Seat::offer(&work, 1);
        // Closed at once: either the helper had taken the seat (then `close` waits for it to
        // finish) or it never runs the work.
        assert!(seat.close().is_none());
        let after_close = ran.load(Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(ran.load(Ordering::SeqCst), after_close);
        assert!(after_close <= 1);
    }
}
