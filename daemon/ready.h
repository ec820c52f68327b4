/* ready — telling a service manager how the daemon is doing.
 *
 * Owns: systemd's readiness protocol (sd_notify): READY=1 once the store
 * is open and both sockets are bound, STOPPING=1 when a SIGTERM/SIGINT
 * ends the loop. Outside systemd (no NOTIFY_SOCKET in the environment)
 * every call does nothing, so `make run`, the tests and any other
 * supervisor see no difference. */
#ifndef EXF_READY_H
#define EXF_READY_H

#include <stdint.h>

/* The daemon serves: the store is open and checked, both sockets bound.
 * `last_seq` goes into the unit's status line (`systemctl status`). */
void ready_serving (uint64_t last_seq);

/* The loop has ended on a signal; what follows is the orderly shutdown
 * (a backup in progress is waited for, the store closed). */
void ready_stopping (void);

#endif
