/* ready — systemd's readiness protocol for exitflowd (ready.h).
 *
 * libsystemd's sd_notify rather than a hand-written datagram: it knows
 * the socket's forms (a path, an abstract name, a vsock address) and
 * returns 0 at once when NOTIFY_SOCKET is unset. A failed notification is
 * not a reason to stop serving: systemd then times the start out by
 * itself, which says more than a log line here would. */
#include "ready.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

void
ready_serving (uint64_t last_seq)
{
    char message[96];
    snprintf (message, sizeof message, "READY=1\nSTATUS=serving, last seq %llu",
              (unsigned long long) last_seq);
    sd_notify (0, message);
}

void
ready_stopping (void)
{
    sd_notify (0, "STOPPING=1\nSTATUS=stopping");
}
