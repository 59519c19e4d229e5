// CWorkerPool: the CPU backend's worker threads. A parallel region hands out the indices
// 0 ..< count to the calling thread and to `cores - 1` workers, which keep spinning for a few
// milliseconds after each region and only then sleep: the backend's regions come a few hundred
// microseconds apart, and waking a sleeping thread costs 20 to 110 microseconds on the KVM
// guests it was measured on (Dispatch's concurrentPerform paid that on every region).
#ifndef CWORKERPOOL_H
#define CWORKERPOOL_H

/// One index of a parallel region; `context` is the caller's.
typedef void (*worker_pool_task)(void *context, long index);

/// Runs `task(context, index)` for every index in `0 ..< count`, on the calling thread and the
/// pool's workers, and returns when all have finished. Indices are handed out one at a time in
/// increasing order, so uneven tasks balance. When the pool is already running a region (a
/// region started inside a task, or another thread's), the calling thread runs every index itself,
/// as it does in a child process forked after the pool started (the workers are not copied).
void worker_pool_run(long count, worker_pool_task task, void *context);

/// Threads that run a region's indices (the caller and the workers), starting the pool on first
/// use with `workers` threads besides the caller (later calls ignore `workers`).
long worker_pool_start(long workers);

/// How long an idle worker spins before it sleeps, in microseconds (default 5000).
void worker_pool_set_spin_microseconds(long microseconds);

#endif
