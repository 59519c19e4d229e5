// The CPU backend's worker pool (see CWorkerPool.h).
//
// One region at a time: the caller publishes the task and bumps `generation`; every worker takes
// indices from `next` until they run out and then counts itself in `acknowledged`; the caller
// takes indices too and returns once every worker has acknowledged the region. (So no worker can
// still be reading a region's fields when the next region writes them, and none skips a region.)
// An idle worker spins (with the processor's pause hint, yielding its core after the first 50
// microseconds), then sleeps on a condition variable; the caller signals only when one sleeps.
#define _GNU_SOURCE
#include "CWorkerPool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#define relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define relax() __asm__ __volatile__("yield")
#else
#define relax() ((void)0)
#endif

static struct {
    atomic_long generation;   // bumped once per region
    atomic_long next;         // the next index to hand out
    atomic_long acknowledged; // workers done with the current region
    atomic_int busy;          // 1 while a caller owns the pool
    atomic_int sleeping;      // workers waiting on `wake`
    atomic_long spin_nanoseconds;
    long count;               // the region's fields, written before `generation` is bumped
    worker_pool_task task;
    void *context;
    long workers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
} pool = {
    .spin_nanoseconds = 5000000,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int started;

static long monotonic_nanoseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000000000L + now.tv_nsec;
}

/// Takes indices of the current region until none are left.
static void take_indices(void) {
    long index;
    while ((index = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed)) < pool.count) {
        pool.task(pool.context, index);
    }
}

/// Returns the generation after `seen`, spinning first and then sleeping.
static long wait_for_region(long seen) {
    long start = monotonic_nanoseconds();
    for (unsigned long spins = 1;; spins++) {
        long current = atomic_load_explicit(&pool.generation, memory_order_acquire);
        if (current != seen) return current;
        relax();
        if (spins % 64 != 0) continue;
        long waited = monotonic_nanoseconds() - start;
        if (waited > atomic_load_explicit(&pool.spin_nanoseconds, memory_order_relaxed)) break;
        if (waited > 50000) sched_yield();  // let the process's other threads have the core
    }
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.sleeping, 1);
    long current;
    while ((current = atomic_load(&pool.generation)) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
    atomic_fetch_sub(&pool.sleeping, 1);
    pthread_mutex_unlock(&pool.lock);
    return current;
}

static void *worker(void *unused) {
    (void)unused;
    // Regions start only after every worker is created, so the first one a worker waits for is
    // generation 1, however late the thread starts (reading the counter here could skip it).
    long seen = 0;
    for (;;) {
        seen = wait_for_region(seen);
        take_indices();
        atomic_fetch_add_explicit(&pool.acknowledged, 1, memory_order_release);
    }
    return NULL;
}

/// A forked child has only the thread that forked: its regions run on that thread.
static void forget_workers_after_fork(void) {
    atomic_store(&started, 0);
    atomic_store(&pool.busy, 0);
    atomic_store(&pool.sleeping, 0);
    pool.workers = 0;
}

long worker_pool_start(long workers) {
    if (atomic_load_explicit(&started, memory_order_acquire)) return pool.workers + 1;
    pthread_mutex_lock(&start_lock);
    if (!atomic_load(&started)) {
        long created = 0;
        for (long index = 0; index < workers; index++) {
            pthread_t thread;
            if (pthread_create(&thread, NULL, worker, NULL) != 0) break;  // run with fewer
            pthread_detach(thread);
            created++;
        }
        pool.workers = created;
        pthread_atfork(NULL, NULL, forget_workers_after_fork);
        atomic_store_explicit(&started, 1, memory_order_release);
    }
    pthread_mutex_unlock(&start_lock);
    return pool.workers + 1;
}

void worker_pool_set_spin_microseconds(long microseconds) {
    atomic_store(&pool.spin_nanoseconds, (microseconds < 0 ? 0 : microseconds) * 1000);
}

void worker_pool_run(long count, worker_pool_task task, void *context) {
    int idle = 0;
    if (count <= 1 || !atomic_load_explicit(&started, memory_order_acquire) || pool.workers == 0
        || !atomic_compare_exchange_strong(&pool.busy, &idle, 1)) {
        for (long index = 0; index < count; index++) task(context, index);
        return;
    }
    pool.count = count;
    pool.task = task;
    pool.context = context;
    atomic_store_explicit(&pool.acknowledged, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    // Sequentially consistent, against a worker that counts itself sleeping and then rechecks.
    atomic_fetch_add(&pool.generation, 1);
    if (atomic_load(&pool.sleeping) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    take_indices();
    while (atomic_load_explicit(&pool.acknowledged, memory_order_acquire) < pool.workers) relax();
    atomic_store_explicit(&pool.busy, 0, memory_order_release);
}
