/* log — the daemon's log lines on stderr, and the limit on how many one
 * kind of event may write.
 *
 * Owns: the line format (time, level, message: ids, codes and certificate
 * names only, never client data) and rate limiting. A peer can make the
 * daemon notice something once per message (a malformed envelope, a key
 * that is no longer known) or once per batch (storage full): those go
 * through log_limited, so no peer can fill the disk with log lines. */
#ifndef EXF_LOG_H
#define EXF_LOG_H

#include <stdint.h>

typedef enum {
    LOG_ENVELOPE,           /* a message dropped as unanswerable */
    LOG_UNKNOWN_KEY,        /* a request from a key no longer known */
    LOG_STORAGE,            /* a batch aborted by a storage fault */
    LOG_CONNECTIONS,        /* a connection refused or cut */
    LOG_KIND_COUNT
} log_kind_t;

/* Lines of one kind written per second at most; the rest are counted and
 * reported in one line when the second is over. */
#define LOG_LIMIT_PER_SECOND 5

void log_line (const char *level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* log_line, unless `kind` has had its share this second. `now_ms` is a
 * monotonic clock. */
void log_limited (log_kind_t kind, int64_t now_ms, const char *level,
                  const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

/* Reports what was suppressed in seconds that are over; call it now and
 * then (the server does, once a second). */
void log_flush (int64_t now_ms);

#endif
