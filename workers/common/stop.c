/* stop — the stop flag and the stop-aware wait. See stop.h. */
#include "workers/common/stop.h"

#include <string.h>
#include <time.h>

static volatile sig_atomic_t *signal_flag;

static void
on_signal (int sig)
{
    (void) sig;
    if (signal_flag)
        *signal_flag = 1;
}

void
stop_on_signals (volatile sig_atomic_t *flag)
{
    signal_flag = flag;
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
