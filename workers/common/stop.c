/* stop — the stop flag, the stop-aware wait and the context watch.
 * See stop.h. */
#define _GNU_SOURCE                 /* pipe2 */
#include "workers/common/stop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static volatile sig_atomic_t *signal_flag;
/* The handler writes 's' here (write is async-signal-safe; a ZeroMQ call
 * is not), the watch thread reads it. Both ends non-blocking: a flood of
 * signals never blocks the handler. */
static int wake[2] = { -1, -1 };

static void
on_signal (int sig)
{
    (void) sig;
    int saved = errno;
    if (signal_flag)
        *signal_flag = 1;
    if (wake[1] >= 0 && write (wake[1], "s", 1) < 0) {
        /* full: the thread has bytes to read already */
    }
    errno = saved;
}

void
stop_on_signals (volatile sig_atomic_t *flag)
{
    signal_flag = flag;
    if (wake[0] < 0 && pipe2 (wake, O_CLOEXEC | O_NONBLOCK) != 0)
        wake[0] = wake[1] = -1;
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset (&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
}

bool
stop_wait_ms (volatile sig_atomic_t *stop, int ms)
{
    while (ms > 0) {
        if (stop && *stop)
            return false;
        int slice = ms < 50 ? ms : 50;
        struct timespec ts = { 0, (long) slice * 1000000L };
        nanosleep (&ts, NULL);
        ms -= slice;
    }
    return !(stop && *stop);
}

/* ---- the watch ---- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;            /* signalled by stop_unwatch */
    pthread_t thread;
    bool running;
    bool quit;                      /* stop_unwatch: leave `ctx` alone */
    void *ctx;
} watch = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Reads what the pipe holds; true when a signal was among it. */
static bool
drain_wake (void)
{
    bool signalled = false;
    char buf[64];
    ssize_t n;
    while ((n = read (wake[0], buf, sizeof buf)) > 0)
        signalled = signalled || memchr (buf, 's', (size_t) n);
    return signalled;
}

/* Waits for a signal (or the unwatch), then gives the program the grace
 * to finish by itself before shutting the context down. */
static void *
watch_thread (void *pending)
{
    bool signalled = pending != NULL;
    pthread_mutex_lock (&watch.lock);
    while (!watch.quit && !signalled) {
        pthread_mutex_unlock (&watch.lock);
        struct pollfd p = { .fd = wake[0], .events = POLLIN };
        poll (&p, 1, -1);
        signalled = drain_wake ();
        pthread_mutex_lock (&watch.lock);
    }
    struct timespec until;
    clock_gettime (CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long) STOP_GRACE_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (!watch.quit
           && pthread_cond_timedwait (&watch.cond, &watch.lock, &until)
                  != ETIMEDOUT)
        ;
    if (!watch.quit)
        zmq_ctx_shutdown (watch.ctx);
    pthread_mutex_unlock (&watch.lock);
    return NULL;
}

bool
stop_watch (void *zmq_ctx)
{
    if (wake[0] < 0 || watch.running || !zmq_ctx)
        return false;
    /* A stop already asked for starts the grace at once; bytes left by an
     * earlier watch's signals say nothing more than the flag. */
    drain_wake ();
    bool pending = signal_flag && *signal_flag;
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&watch.cond, &attr);
    pthread_condattr_destroy (&attr);
    watch.quit = false;
    watch.ctx = zmq_ctx;
    /* The signals stay the main thread's: its blocking waits return. */
    sigset_t block, old;
    sigemptyset (&block);
    sigaddset (&block, SIGTERM);
    sigaddset (&block, SIGINT);
    pthread_sigmask (SIG_BLOCK, &block, &old);
    watch.running = pthread_create (&watch.thread, NULL, watch_thread,
                                    pending ? &watch : NULL) == 0;
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    if (!watch.running)
        pthread_cond_destroy (&watch.cond);
    return watch.running;
}

void
stop_unwatch (void)
{
    if (!watch.running)
        return;
    pthread_mutex_lock (&watch.lock);
    watch.quit = true;
    watch.ctx = NULL;
    pthread_cond_broadcast (&watch.cond);
    pthread_mutex_unlock (&watch.lock);
    if (write (wake[1], "q", 1) < 0) {
        /* full: the thread wakes on what is there */
    }
    pthread_join (watch.thread, NULL);
    pthread_cond_destroy (&watch.cond);
    watch.running = false;
}
